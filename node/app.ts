import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
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
import problemRoutes from './routes/api/problems.ts'

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
  await fastify.register(swagger, {
    openapi: {
      info: { title: `Xueji 学籍 node ${deps.identity.code} ${deps.identity.name}`, version: VERSION },
    },
  })
  await fastify.register(swaggerUi, { routePrefix: '/docs' })
  // Before any route: it refuses to register an /api/v1 route that declares no permission.
  await fastify.register(auth, { secretKey: deps.secretKey })

  await fastify.register(sync)
  await fastify.register(records)
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
  await fastify.register(problemRoutes)
  await fastify.register(certificateRoutes)
}

export default fp(app, { name: 'xueji-app' })
