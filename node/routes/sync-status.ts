import type { FastifyPluginAsync } from 'fastify'

const Status = { type: 'object', additionalProperties: true } as const
const Err = { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } as const

/**
 * `GET /api/v1/sync/status` (R-D.8): per link the last seq sent, acknowledged and applied, lag
 * in change sets and seconds, queue depths, quarantined rows, conflicts, drift and the last
 * error. The same report as `xueji sync status`.
 */
const syncStatus: FastifyPluginAsync = async app => {
  app.get(
    '/api/v1/sync/status',
    {
      config: { permission: 'sync:operate' },
      schema: { tags: ['sync'], summary: 'sync status of this node and its links', response: { 200: Status, 401: Err, 403: Err } },
    },
    async () => app.sync.status(),
  )
}

export default syncStatus
