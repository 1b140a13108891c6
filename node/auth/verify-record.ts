/**
 * A verification step on a stored record, as the verification routes and the seeds take
 * it: the pure rules of `verification.ts` applied to the row, its new state written with the
 * version raised and its outbox row appended (the change travels upward like any write).
 */
import type { Storage } from '../../schema/db.ts'
import { appendOutbox } from '../../sync/outbox.ts'
import type { Actor } from './access.ts'
import { authError } from './errors.ts'
import { loadRow } from './targets.ts'
import { VERIFY_KIND_OF_TABLE, type VerifyFields } from './verification.ts'
import { assertNotReported } from '../growth/rules.ts'

type Row = Record<string, unknown>

/** A row's verification fields. */
export const verifyFieldsOf = (r: Row): VerifyFields => ({
  verifyState: r.verify_state as VerifyFields['verifyState'],
  enteredBy: (r.entered_by as string | null) ?? null,
  enteredAt: (r.entered_at as string | null) ?? null,
  verifiedBy: (r.verified_by as string | null) ?? null,
  verifiedAt: (r.verified_at as string | null) ?? null,
  returnReason: (r.return_reason as string | null) ?? null,
})

/**
 * Moves record `id` of `table` homed at `homeNode` by `next` (verify, return, resubmit), inside the
 * caller's transaction; `assertReach` is the caller's object check of the row, `now` the time of
 * the step (default: the clock's). Answers the row as stored after it, or undefined when there is
 * no such record.
 */
export function verificationStep(
  storage: Storage,
  homeNode: string,
  table: string,
  id: string,
  actor: Actor,
  next: (r: VerifyFields, actor: Actor, now: string) => VerifyFields,
  opts: { assertReach?: (row: Row) => void; now?: string } = {},
): Row | undefined {
  const row = loadRow(storage, table, id)
  if (!row) return undefined
  opts.assertReach?.(row)
  // Upper tiers hold read-only replicas: only the home node changes a record (DESIGN.md §2).
  if (row.home_node !== homeNode) throw authError('VERIFY_NOT_ALLOWED', '该记录由其他节点管理，只能在其所属节点核对', { rule: 'NOT_HOME' })
  // a reported student's growth records keep their verified state (a return would reopen them).
  if (VERIFY_KIND_OF_TABLE[table] === 'growth') {
    const ev = storage.sqlite.prepare('select reported_at, bureau_reported_at from growth_evaluations where student_id = ?').get(row.student_id) as Row | undefined
    assertNotReported(ev && { reportedAt: ev.reported_at, bureauReportedAt: ev.bureau_reported_at })
  }
  const now = opts.now ?? new Date().toISOString()
  const f = next(verifyFieldsOf(row), actor, now)
  const version = (row.version as number) + 1
  storage.sqlite
    .prepare(`update "${table}" set verify_state = ?, entered_by = ?, entered_at = ?, verified_by = ?, verified_at = ?, return_reason = ?, version = ?, updated_at = ?, first_verified_at = coalesce(first_verified_at, ?) where id = ?`)
    .run(f.verifyState, f.enteredBy, f.enteredAt, f.verifiedBy, f.verifiedAt, f.returnReason, version, now, f.verifyState === 'verified' ? now : null, id)
  const image = loadRow(storage, table, id)!
  appendOutbox(storage, [{ table, key: { id }, op: 'upsert', row: image, version, epoch: image.epoch as number, actor: actor.accountId }], now)
  return image
}
