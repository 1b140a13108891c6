import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { readAudit, verifyWithParent } from '../auth/audit.ts'
import { authErrorReplies } from './schemas.ts'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(t: T) => Type.Union([t, Type.Null()])
const Entry = Type.Object({
  seq: Type.Integer(),
  at: Type.String(),
  actorId: Nullable(Type.String()),
  actorRole: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  action: Type.String(),
  targetTable: Nullable(Type.String()),
  targetId: Nullable(Type.String()),
  fields: Nullable(Type.Array(Type.String())),
  outcome: Type.String(),
  status: Nullable(Type.Integer()),
  code: Nullable(Type.String()),
  prevHash: Type.String(),
  hash: Type.String(),
})

/** The audit log for the bureau administrator. */
const auditRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get(
    '/api/v1/audit',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        querystring: Type.Object({
          afterSeq: Type.Optional(Type.Integer({ minimum: 0 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
          actorId: Type.Optional(Type.String({ maxLength: 64 })),
        }),
        response: { 200: Type.Object({ entries: Type.Array(Entry) }), ...authErrorReplies },
      },
    },
    async req => ({ entries: readAudit(app.storage, { afterSeq: req.query.afterSeq, limit: req.query.limit ?? 100, actorId: req.query.actorId }) }),
  )

  app.get(
    '/api/v1/audit/verify',
    {
      config: { permission: 'audit:read' },
      schema: {
        tags: ['audit'],
        response: {
          200: Type.Object({
            ok: Type.Boolean(),
            entries: Type.Integer(),
            head: Type.Optional(Type.String()),
            seq: Type.Optional(Type.Integer()),
            problem: Type.Optional(Type.String()),
            anchors: Type.Integer({ description: "anchors of the parent the chain was checked against" }),
            parentError: Nullable(Type.String({ description: 'why the parent anchors were not checked (SYNC_NOT_ENROLLED, SYNC_PARENT_UNAVAILABLE …)' })),
          }),
          ...authErrorReplies,
        },
      },
    },
    async () => {
      const { check, anchors, parentError } = await verifyWithParent(app.storage, () => app.sync.auditAnchors())
      return { ...check, anchors, parentError: parentError?.code ?? null }
    },
  )
}

export default auditRoutes
