/**
 * The rules of change requests for locked records, pure: which records a change
 * request may change, which lock refusal it answers and who must approve, the order of the
 * steps, and the chain of decisions as the API shows it. The service and the applier of the
 * province's downward decision share them.
 */
import { XuejiError } from '../../config/errors.ts'
import { LOCK_RULES } from '../calendar/locks.ts'
import { changeRequestError } from './errors.ts'

/** The route a lock refusal points to (its `details.changeRequest`). */
export const CHANGE_REQUEST_ROUTE = 'POST /api/v1/change-requests'

/** The downward command that carries the province's decision to the request's home node. */
export const PROVINCE_DECISION_COMMAND = 'change_requests.decide'

export type Status = 'pending_bureau' | 'pending_province' | 'carried_out' | 'rejected' | 'withdrawn' | 'failed'
export const OPEN: readonly Status[] = ['pending_bureau', 'pending_province']
export const STATUSES: readonly Status[] = ['pending_bureau', 'pending_province', 'carried_out', 'rejected', 'withdrawn', 'failed']

/** Growth records (node/growth) and the growth service's kind for each; the evaluation takes only its comment. */
export const GROWTH_SUBJECTS: Readonly<Record<string, 'courses' | 'practices' | 'qualities' | 'evaluation'>> = {
  growth_courses: 'courses', growth_practices: 'practices', growth_qualities: 'qualities', growth_evaluations: 'evaluation',
}

/**
 * Records a change request may change: every table a lock on expiry holds (node/calendar/locks.ts)
 * and the growth records that lock on reporting. Status changes move only through their own
 * workflow and are left out.
 */
export const SUBJECT_TABLES: ReadonlySet<string> = new Set([
  ...LOCK_RULES.flatMap(r => r.tables).filter(t => !t.endsWith('_status_changes')),
  ...Object.keys(GROWTH_SUBJECTS),
])

/** The person a subject record belongs to: the record itself for a person, else its owner column. */
export function personOf(table: string, row: Record<string, unknown>): { table: 'students' | 'children'; id: string } {
  if (table === 'students' || table === 'children') return { table, id: String(row.id) }
  if (table.startsWith('child_')) return { table: 'children', id: String(row.child_id) }
  return { table: 'students', id: String(row.student_id) }
}

/** Keys a patch may not carry: the version goes apart, system columns are never patched. */
const RESERVED = new Set(['id', 'version', 'homeNode', 'epoch', 'createdAt', 'updatedAt', 'verifyState', 'enteredBy', 'enteredAt', 'verifiedBy', 'verifiedAt', 'firstVerifiedAt', 'returnReason'])

export function assertPatch(patch: unknown): Record<string, unknown> {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch) || Object.keys(patch).length === 0) {
    throw changeRequestError('CHANGE_REQUEST_PATCH_INVALID', '变更内容应为要修改的字段及其新值', { field: 'patch', rule: 'object' })
  }
  const reserved = Object.keys(patch).filter(k => RESERVED.has(k))
  if (reserved.length) throw changeRequestError('CHANGE_REQUEST_PATCH_INVALID', '变更内容不能包含版本号或系统字段', { field: 'patch', rule: 'reserved', fields: reserved })
  return patch as Record<string, unknown>
}

/** The lock a refusal names: its rule and whether the province approves too, or undefined for any other error. */
export function lockOfRefusal(err: unknown): { rule: string; needsProvince: boolean } | undefined {
  if (!(err instanceof XuejiError)) return undefined
  if (err.code === 'CALENDAR_RECORD_LOCKED') return { rule: String(err.details?.rule), needsProvince: false }
  if (err.code === 'GROWTH_REPORTED_LOCKED') {
    const province = err.details?.stage === 'province'
    return { rule: province ? 'R-24.2' : 'R-23.1', needsProvince: province }
  }
  return undefined
}

/**
 * Which decision is due: the bureau's at the home node, the province's at the province. For a
 * school homed at the province, the province is its bureau too: it decides at home ('bureau'),
 * both steps in one decision.
 */
export function assertDecidable(status: string, at: { home: boolean; province: boolean }, homeNode: string): 'bureau' | 'province' {
  if (!OPEN.includes(status as Status)) throw changeRequestError('CHANGE_REQUEST_NOT_PENDING', '该变更申请已办结，不能再审批', { status })
  if (status === 'pending_bureau' && at.home) return 'bureau'
  if (status === 'pending_province' && at.province) return at.home ? 'bureau' : 'province'
  throw changeRequestError(
    'CHANGE_REQUEST_WRONG_TIER',
    status === 'pending_bureau' ? '该变更申请由学校所属教育局在其节点审批' : '该变更申请已经教育局同意，待省级教育行政部门审批',
    { status, homeNode },
  )
}

export function assertWithdrawable(status: string): void {
  if (!OPEN.includes(status as Status)) throw changeRequestError('CHANGE_REQUEST_NOT_PENDING', '只有尚未办结的变更申请可以撤回', { status })
}

export function assertRejectReason(decision: 'approve' | 'reject', reason: string): void {
  if (decision === 'reject' && reason === '') throw changeRequestError('CHANGE_REQUEST_REASON_REQUIRED', '驳回变更申请须填写理由', { field: 'reason', rule: 'required' })
}

/**
 * A failure of the approved patch as the request records it: the record changed since the
 * application (stale), or the patch no longer validates.
 */
export function failureOf(err: XuejiError): XuejiError {
  if (err.code === 'RECORD_VERSION_CONFLICT') {
    return changeRequestError('CHANGE_REQUEST_STALE', '申请后该记录已被修改，变更申请未能办理，请按记录现状重新申请', { cause: err.code, currentVersion: err.details?.currentVersion ?? null })
  }
  return changeRequestError('CHANGE_REQUEST_NO_LONGER_VALID', `变更内容已不符合校验规则，未能办理：${err.message}`, { cause: err.code, field: err.details?.field ?? null, rule: err.details?.rule ?? null })
}

export interface Decision {
  step: 'apply' | 'bureau' | 'province' | 'carry_out' | 'withdraw' | 'fail'
  node: string
  by: string | null
  at: string
  decision?: 'approve' | 'reject'
  reason?: string | null
  code?: string | null
}

/** The chain of decisions of a request (camelCase row), in order: who, where, when, what and why. */
export function chainOf(r: Record<string, unknown>): Decision[] {
  const s = (v: unknown) => (typeof v === 'string' ? v : null)
  const home = String(r.homeNode)
  const chain: Decision[] = [{ step: 'apply', node: home, by: s(r.appliedBy), at: String(r.createdAt), reason: s(r.reason) }]
  if (r.bureauDecision) chain.push({ step: 'bureau', node: home, by: s(r.bureauBy), at: String(r.bureauAt), decision: r.bureauDecision as 'approve' | 'reject', reason: s(r.bureauReason) })
  if (r.provinceDecision) chain.push({ step: 'province', node: String(r.provinceNode), by: s(r.provinceBy), at: String(r.provinceAt), decision: r.provinceDecision as 'approve' | 'reject', reason: s(r.provinceReason) })
  if (r.status === 'carried_out') chain.push({ step: 'carry_out', node: home, by: s(r.carriedOutBy), at: String(r.carriedOutAt) })
  if (r.status === 'withdrawn') chain.push({ step: 'withdraw', node: home, by: s(r.withdrawnBy), at: String(r.withdrawnAt) })
  if (r.status === 'failed') chain.push({ step: 'fail', node: home, by: null, at: String(r.updatedAt), code: s(r.failureCode), reason: s(r.failureMessage) })
  return chain
}
