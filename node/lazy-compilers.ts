import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for replies), each route
 * part compiled on its first request instead of at start-up. A node has a few hundred route
 * schemas and a process uses a handful of them early on: compiling them all made start-up take
 * seconds of CPU (most of a test node's start). Validation and serialisation are unchanged;
 * a schema the compiler rejects fails its route's first request instead of the start.
 */
export function lazyCompilers(): Factories {
  const validators = AjvCompiler()
  const serializers = SerializerSelector()
  return {
    buildValidator(externalSchemas, options) {
      const compile = validators(externalSchemas, options)
      return route => {
        let compiled: ReturnType<typeof compile> | undefined
        // Fastify reads `.errors` of the validator it called when validation fails.
        const validate = Object.assign((data: unknown) => {
          compiled ??= compile(route)
          const ok = compiled(data)
          validate.errors = (compiled as { errors?: unknown }).errors
          return ok
        }, { errors: undefined as unknown })
        return validate as unknown as ReturnType<typeof compile>
      }
    },
    buildSerializer(externalSchemas, options) {
      const compile = serializers(externalSchemas, options)
      return route => {
        let compiled: ReturnType<typeof compile> | undefined
        return (data: unknown) => (compiled ??= compile(route))(data)
      }
    },
  } as Factories
}
