import type { FastifyPluginAsync } from 'fastify'
import { redisAnswers } from '../redis.ts'

const Status = {
  type: 'object',
  properties: { status: { type: 'string' }, database: { type: 'string' }, redis: { type: 'string' } },
} as const

/** `/healthz`: the process is up. `/readyz`: the database and Redis both answer. */
const health: FastifyPluginAsync = async app => {
  app.get('/healthz', { schema: { hide: true, response: { 200: Status } }, logLevel: 'warn' }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { hide: true, response: { 200: Status, 503: Status } }, logLevel: 'warn' }, async (_req, reply) => {
    let database = 'ok'
    try {
      app.storage.sqlite.prepare('select 1').get()
    } catch {
      database = 'down'
    }
    const redis = (await redisAnswers(app.redis)) ? 'ok' : 'down'
    const ready = database === 'ok' && redis === 'ok'
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not ready', database, redis })
  })
}

export default health
