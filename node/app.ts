import fp from 'fastify-plugin'
import type { FastifyContextConfig, FastifyPluginAsync } from 'fastify'
import type { TSchema } from '@fastify/type-provider-typebox'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { Redis } from 'ioredis'
import type { Config } from '../config/schema.ts'
import type { Storage } from '../schema/db.ts'
import type { NodeIdentity } from './identity.ts'
import { VERSION } from './version.ts'
import errors from './plugins/errors.ts'
import auth from './plugins/auth.ts'
import health from './routes/health.ts'
import sync from './plugins/sync.ts'
import federationRoutes from './routes/federation.ts'
import syncStatusRoutes from './routes/sync-status.ts'
import authRoutes from './routes/auth.ts'
import accountRoutes from './routes/accounts.ts'
import auditRoutes from './routes/audit.ts'
import revealRoutes from './routes/reveal.ts'
import verificationRoutes from './routes/verification.ts'
import records from './plugins/records.ts'
import backup from './backup/plugin.ts'
import certificateRoutes from './certificates/routes.ts'
import recordsRoutes from './routes/api/records.ts'
import statusChanges from './status-changes/routes.ts'
import calendar from './calendar/routes.ts'
import growth from './growth/routes.ts'
import statistics from './statistics/routes.ts'
import exportRoutes from './exports/routes.ts'
import changeRequests from './change-requests/routes.ts'
import importRoutes from './imports/routes.ts'
import problemRoutes from './routes/api/problems.ts'
import codeRoutes from './routes/codes.ts'
import transfers from './transfers/routes.ts'
import web from './plugins/web.ts'
import { ERROR_CATALOGUES, ErrorReplySchema } from './routes/schemas.ts'
import { CSRF_HEADER, SESSION_COOKIE, type RouteAccess } from './plugins/auth.ts'

/** What a node's app is built from; the server (or a test) makes these and hands them in. */
export interface AppDeps {
  config: Config
  storage: Storage
  redis: Redis
  identity: NodeIdentity
  /** keys/secrets.key (node/auth/secrets.ts); handed to the auth plugin only. */
  secretKey: Buffer
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Parts of the route schema shown in /docs instead of the validation schema (see routes/api/records.ts). */
    openapi?: { body?: TSchema }
  }
  interface FastifyInstance {
    config: Config
    storage: Storage
    redis: Redis
    identity: NodeIdentity
  }
}

/**
 * The root plugin: external plugins, then the node's own services, then routes.
 * Closing the app closes what it was given (database and Redis) last, after in-flight work.
 */
const app: FastifyPluginAsync<AppDeps> = async (fastify, deps) => {
  fastify.decorate('config', deps.config)
  fastify.decorate('storage', deps.storage)
  fastify.decorate('redis', deps.redis)
  fastify.decorate('identity', deps.identity)
  let lastRedisError = 0
  const onRedisError = (err: Error) => {
    // One line every 30 s at most while Redis is away; sync resumes by itself when it is back.
    if (Date.now() - lastRedisError > 30000) fastify.log.warn({ err: err.message }, 'redis connection error')
    lastRedisError = Date.now()
  }
  deps.redis.on('error', onRedisError)
  fastify.addHook('onClose', async () => {
    deps.redis.off('error', onRedisError)
    // QUIT waits for an answer; with Redis away it would wait in the offline queue for ever.
    if (deps.redis.status === 'ready') await deps.redis.quit().catch(() => deps.redis.disconnect())
    else deps.redis.disconnect()
    deps.storage.close()
  })

  await fastify.register(errors)
  fastify.addSchema(ErrorReplySchema)
  await fastify.register(swagger, {
    // Shared schemas keep their $id as their name under components.schemas.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      // 3.1: its JSON Schema says "string or null" as the route schemas do.
      openapi: '3.1.0',
      info: { title: `Xueji 学籍 node ${deps.identity.code} ${deps.identity.name}`, version: VERSION, description: apiDescription() },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE, description: 'Set by POST /api/v1/auth/login (HttpOnly).' },
          csrf: { type: 'apiKey', in: 'header', name: CSRF_HEADER, description: 'The csrfToken of the login answer (or GET /api/v1/auth/me); required on every POST, PUT, PATCH and DELETE made with a session.' },
        },
      },
    },
    transform: ({ schema, url, route }) => {
      const config = route.config as FastifyContextConfig | undefined
      const permission = config?.permission
      if (!permission) return { schema, url }
      return { schema: { ...schema, ...config.openapi, security: securityOf(route.method, permission, config.replacesSession) } as typeof schema, url }
    },
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
  // Before any route: it refuses to register an /api/v1 route that declares no permission.
  await fastify.register(auth, { secretKey: deps.secretKey })

  await fastify.register(records)
  await fastify.register(sync)
  await fastify.register(backup)

  await fastify.register(health)
  await fastify.register(federationRoutes)
  await fastify.register(syncStatusRoutes)
  await fastify.register(authRoutes)
  await fastify.register(accountRoutes)
  await fastify.register(auditRoutes)
  await fastify.register(revealRoutes)
  await fastify.register(verificationRoutes)
  await fastify.register(recordsRoutes)
  await fastify.register(statusChanges)
  await fastify.register(calendar)
  await fastify.register(growth)
  await fastify.register(statistics)
  await fastify.register(exportRoutes)
  await fastify.register(changeRequests)
  await fastify.register(importRoutes)
  await fastify.register(problemRoutes)
  await fastify.register(codeRoutes)
  await fastify.register(certificateRoutes)
  await fastify.register(transfers)
  await fastify.register(web)
}

/**
 * The security requirement of a route in the OpenAPI document: login needs nothing (it replaces
 * any session), reads the session cookie, and writes the cookie and the CSRF header.
 */
function securityOf(method: string | string[], permission: RouteAccess, replacesSession?: boolean): Array<Record<string, string[]>> {
  if (replacesSession) return []
  const write = [method].flat().some(m => !['GET', 'HEAD', 'OPTIONS'].includes(m))
  const signedIn: Record<string, string[]> = write ? { session: [], csrf: [] } : { session: [] }
  // Other public routes (the TOTP steps, logout, reference data) work with or without a session.
  return permission === 'public' ? [{}, signedIn] : [signedIn]
}

/** The description of /docs: how to sign in and call, and the error catalogue as a table. */
function apiDescription(): string {
  const rows = Object.entries(ERROR_CATALOGUES).flatMap(([area, c]) => Object.entries(c).map(([code, spec]) => `| \`${code}\` | ${spec.status} | ${area} | ${spec.doc.replaceAll('|', '\\|')} |`))
  return [
    'JSON API of a Xueji node. Sign in with `POST /api/v1/auth/login` (administrators then enrol or send a TOTP code),',
    `keep the \`${SESSION_COOKIE}\` cookie, and send the \`csrfToken\` of the answer in \`${CSRF_HEADER}\` with every write.`,
    'Code fields take a code of the table their description names: `GET /api/v1/codes` lists the tables and editions,',
    '`GET /api/v1/codes/{table}` their codes. Errors answer `{code, message, details}`; `GET /api/v1/errors` lists every code.',
    '',
    '| code | HTTP | area | cause and fix |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n')
}

export default fp(app, { name: 'xueji-app' })
