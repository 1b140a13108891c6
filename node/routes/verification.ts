import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { appendOutbox } from '../../sync/outbox.ts'
import { can, inScope, type Actor } from '../auth/access.ts'
import { auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { loadRow, targetOfRow } from '../auth/targets.ts'
import { ENTRY_PERMISSION, VERIFY_KIND_OF_TABLE, VERIFY_PERMISSION, returnRecord, resubmit, verify, type VerifyFields, type VerifyKind } from '../auth/verification.ts'
import { actorOf, assertInScope, notFound } from '../plugins/auth.ts'
import { assertNotReported } from '../growth/rules.ts'
import { ErrorReply, IdParams, authErrorReplies } from './schemas.ts'

const State = Type.Union([Type.Literal('entered'), Type.Literal('verified'), Type.Literal('returned')])
const VerifyView = Type.Object({
  table: Type.String(),
  id: Type.String(),
  verifyState: State,
  enteredBy: Type.Union([Type.String(), Type.Null()]),
  enteredAt: Type.Union([Type.String(), Type.Null()]),
  verifiedBy: Type.Union([Type.String(), Type.Null()]),
  verifiedAt: Type.Union([Type.String(), Type.Null()]),
  returnReason: Type.Union([Type.String(), Type.Null()]),
})
const Replies = { 200: VerifyView, 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }

type Row = Record<string, unknown>

const fieldsOf = (r: Row): VerifyFields => ({
  verifyState: r.verify_state as VerifyFields['verifyState'],
  enteredBy: (r.entered_by as string | null) ?? null,
  enteredAt: (r.entered_at as string | null) ?? null,
  verifiedBy: (r.verified_by as string | null) ?? null,
  verifiedAt: (r.verified_at as string | null) ?? null,
  returnReason: (r.return_reason as string | null) ?? null,
})
const viewOf = (table: string, r: Row) => ({ table, id: r.id as string, ...fieldsOf(r) })

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
      const row = loadRow(storage, table, id)
      if (!row) throw notFound()
      assertInScope(req, targetOfRow(storage, table, row))
      // Upper tiers hold read-only replicas: only the home node changes a record (DESIGN.md §2).
      if (row.home_node !== app.identity.code) throw authError('VERIFY_NOT_ALLOWED', '该记录由其他节点管理，只能在其所属节点核对', { rule: 'NOT_HOME' })
      // a reported student's growth records keep their verified state (a return would reopen them).
      if (VERIFY_KIND_OF_TABLE[table] === 'growth') {
        const ev = storage.sqlite.prepare('select reported_at, bureau_reported_at from growth_evaluations where student_id = ?').get(row.student_id) as Row | undefined
        assertNotReported(ev && { reportedAt: ev.reported_at, bureauReportedAt: ev.bureau_reported_at })
      }
      const now = new Date().toISOString()
      const f = next(fieldsOf(row), actor, now)
      const version = (row.version as number) + 1
      storage.sqlite
        .prepare(`update "${table}" set verify_state = ?, entered_by = ?, entered_at = ?, verified_by = ?, verified_at = ?, return_reason = ?, version = ?, updated_at = ?, first_verified_at = coalesce(first_verified_at, ?) where id = ?`)
        .run(f.verifyState, f.enteredBy, f.enteredAt, f.verifiedBy, f.verifiedAt, f.returnReason, version, now, f.verifyState === 'verified' ? now : null, id)
      const image = loadRow(storage, table, id)!
      appendOutbox(storage, [{ table, key: { id }, op: 'upsert', row: image, version, epoch: image.epoch as number, actor: actor.accountId }], now)
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
