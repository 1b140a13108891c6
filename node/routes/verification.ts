import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { can, inScope, type Actor } from '../auth/access.ts'
import { auditedWrite } from '../auth/audit.ts'
import { targetOfRow } from '../auth/targets.ts'
import { verificationStep, verifyFieldsOf } from '../auth/verify-record.ts'
import { ENTRY_PERMISSION, VERIFY_KIND_OF_TABLE, VERIFY_PERMISSION, returnRecord, resubmit, verify, type VerifyFields, type VerifyKind } from '../auth/verification.ts'
import { actorOf, assertInScope, notFound } from '../plugins/auth.ts'
import { ErrorReply, IdParams, authErrorReplies } from './schemas.ts'

const State = Type.Union([Type.Literal('entered'), Type.Literal('verified'), Type.Literal('returned')])
const VerifyView = Type.Object({
  table: Type.String(),
  id: Type.String(),
  version: Type.Integer({ description: '核对后的版本号（后续修改、审核时提交）' }),
  verifyState: State,
  enteredBy: Type.Union([Type.String(), Type.Null()]),
  enteredAt: Type.Union([Type.String(), Type.Null()]),
  verifiedBy: Type.Union([Type.String(), Type.Null()]),
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  returnReason: Type.Union([Type.String(), Type.Null()]),
})
const Replies = { 200: VerifyView, 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }

type Row = Record<string, unknown>

const viewOf = (table: string, r: Row) => ({ table, id: r.id as string, version: r.version as number, ...verifyFieldsOf(r) })

/**
 * Entry and same-level verification for every record table with `verify_state`:
 * `POST /api/v1/verification/<table>/:id/verify | return | resubmit` (one route per table, so each
 * declares the exact permission of its kind) and the verifier's queue
 * `GET /api/v1/verification/queue`.
 */
const verificationRoutes: FastifyPluginAsyncTypebox = async app => {
  const storage = app.storage
  const tables = REPLICATED_TABLES.map(t => t.name).filter(name => VERIFY_KIND_OF_TABLE[name] !== undefined)

  /** One state step in one transaction: check, update, outbox row (the change travels upward), audit entry. */
  function step(req: Parameters<typeof actorOf>[0], table: string, id: string, next: (r: VerifyFields, actor: Actor, now: string) => VerifyFields) {
    const actor = actorOf(req)
    req.audit.targetTable = table
    req.audit.targetId = id
    req.audit.fields = ['verify_state']
    return auditedWrite(storage, () => {
      const image = verificationStep(storage, app.identity.code, table, id, actor, next, { assertReach: row => assertInScope(req, targetOfRow(storage, table, row)) })
      if (!image) throw notFound()
      return viewOf(table, image)
    })
  }

  for (const table of tables) {
    const kind: VerifyKind = VERIFY_KIND_OF_TABLE[table]
    const base = `/api/v1/verification/${table}/:id`
    const tags = ['verification']
    app.post(`${base}/verify`, { config: { permission: VERIFY_PERMISSION[kind] }, schema: { tags, params: IdParams, response: Replies } }, async req =>
      step(req, table, req.params.id, (r, actor, now) => verify(r, actor, kind, now)),
    )
    app.post(
      `${base}/return`,
      {
        config: { permission: VERIFY_PERMISSION[kind] },
        schema: { tags, params: IdParams, body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }), response: Replies },
      },
      async req => step(req, table, req.params.id, (r, actor, now) => returnRecord(r, actor, kind, req.body.reason, now)),
    )
    app.post(`${base}/resubmit`, { config: { permission: ENTRY_PERMISSION[kind] }, schema: { tags, params: IdParams, response: Replies } }, async req =>
      step(req, table, req.params.id, (r, actor, now) => resubmit(r, actor, kind, now)),
    )
  }

  app.get(
    '/api/v1/verification/queue',
    {
      config: { permission: 'signed_in' },
      schema: {
        tags: ['verification'],
        description: 'state=entered (default): records waiting for the caller to verify them. state=returned: records returned to be fixed that the caller may resubmit.',
        querystring: Type.Object({
          state: Type.Optional(Type.Union([Type.Literal('entered'), Type.Literal('returned')])),
          table: Type.Optional(Type.String({ maxLength: 64 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })),
        }),
        response: { 200: Type.Object({ items: Type.Array(VerifyView) }), ...authErrorReplies },
      },
    },
    async req => {
      const actor = actorOf(req)
      const state = req.query.state ?? 'entered'
      const limit = req.query.limit ?? 200
      const items: ReturnType<typeof viewOf>[] = []
      for (const table of tables) {
        if (req.query.table && req.query.table !== table) continue
        const kind = VERIFY_KIND_OF_TABLE[table]
        if (!can(actor, state === 'entered' ? VERIFY_PERMISSION[kind] : ENTRY_PERMISSION[kind])) continue
        // Only this node's own records can be verified here; scope is checked per row because
        // targets of some tables need a lookup (the queue is small: unverified rows only).
        const rows = storage.sqlite.prepare(`select * from "${table}" where verify_state = ? and home_node = ? order by updated_at`).all(state, app.identity.code) as Row[]
        for (const r of rows) {
          if (items.length >= limit) break
          if (state === 'entered' && r.entered_by === actor.accountId) continue
          if (inScope(actor, targetOfRow(storage, table, r))) items.push(viewOf(table, r))
        }
      }
      return { items }
    },
  )
}

export default verificationRoutes
