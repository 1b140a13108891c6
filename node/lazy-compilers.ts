import { AjvCompiler } from '@fastify/ajv-compiler'
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler'
import type { FastifyServerOptions } from 'fastify'

type Factories = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>

// One pool per process, shared by every app it builds (tests build dozens): ajv keeps what it
// compiled per schema object, and the routes' schemas are module constants, so a second app's
// route reuses the first one's validator instead of compiling it again (ajv was the largest part of
// a test file's CPU after loading). The pools are keyed by the external schemas and options.
const validators = AjvCompiler()
const serializers = SerializerSelector()
const serialized = new Map<string, WeakMap<object, (data: unknown) => string>>()

/**
 * Fastify's own schema compilers (ajv for requests, fast-json-stringify for replies), each route
 * part compiled on its first request instead of at start-up. A node has a few hundred route
 * schemas and a process uses a handful of them early on: compiling them all made start-up take
 * seconds of CPU (most of a test node's start). Validation and serialisation are unchanged;
 * a schema the compiler rejects fails its route's first request instead of the start.
 */
export function lazyCompilers(): Factories {
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
      const key = JSON.stringify([externalSchemas, options])
      const cache = serialized.get(key) ?? serialized.set(key, new WeakMap()).get(key)!
      return route => {
        let compiled: ((data: unknown) => string) | undefined
        return (data: unknown) => {
          if (!compiled) {
            compiled = cache.get(route.schema as object) ?? (compile(route) as (data: unknown) => string)
            cache.set(route.schema as object, compiled)
          }
          return compiled(data)
        }
      }
    },
  } as Factories
}
