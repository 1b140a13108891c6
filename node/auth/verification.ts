import { can, type Actor, type Permission } from './access.ts'
import { authError } from './errors.ts'

/**
 * Entry and same-level verification (R-18.1, Art. 18 分级录入、本级核对), pure. A record is
 * `entered` (unverified) until an account of the verifying role checks it (`verified`) or sends
 * it back with a reason (`returned`); the enterer fixes it and resubmits (`entered` again).
 * Any edit of a verified record makes it `entered` again (`afterEdit`), so verified always means
 * "checked as it is now".
 */
export type VerifyState = 'entered' | 'verified' | 'returned'
export type VerifyKind = 'unit' | 'school' | 'class' | 'student' | 'status_change' | 'growth'

/**
 * Which kind of information each record table holds. Sub-records without their own state
 * (guardians, résumés …) are verified as part of their student.
 */
export const VERIFY_KIND_OF_TABLE: Readonly<Record<string, VerifyKind>> = {
  supervising_units: 'unit',
  schools: 'school',
  kindergartens: 'school',
  school_classes: 'class',
  kindergarten_classes: 'class',
  students: 'student',
  children: 'student',
  student_completions: 'student',
  student_status_changes: 'status_change',
  child_status_changes: 'status_change',
  growth_courses: 'growth',
  growth_practices: 'growth',
  growth_qualities: 'growth',
  growth_evaluations: 'growth',
}

/**
 * Who verifies: unit info → bureau administrator; school info and status changes →
 * school leadership (leader flag); class and student info → grade administrator; growth records
 * → the evaluation leading group, modelled as school leadership.
 */
export const VERIFY_PERMISSION: Readonly<Record<VerifyKind, Permission>> = {
  unit: 'unit:verify',
  school: 'school:verify',
  status_change: 'status_change:verify',
  class: 'class:verify',
  student: 'student:verify',
  growth: 'growth:verify',
}

/** Who enters (and so resubmits) each kind. */
export const ENTRY_PERMISSION: Readonly<Record<VerifyKind, Permission>> = {
  unit: 'unit:write',
  school: 'school:write',
  status_change: 'status_change:write',
  class: 'class:write',
  student: 'student:write',
  growth: 'growth:write',
}

/** The verification columns of a record (camelCase, as schema/records/columns.ts names them). */
export interface VerifyFields {
  verifyState: VerifyState
  enteredBy: string | null
  enteredAt: string | null
  verifiedBy: string | null
  verifiedAt: string | null
  returnReason: string | null
}

export const MAX_RETURN_REASON = 500

export function mayVerify(actor: Actor, kind: VerifyKind): boolean {
  return can(actor, VERIFY_PERMISSION[kind])
}

/** Checks the record: entered → verified. Nobody verifies what they entered themselves. */
export function verify(record: VerifyFields, actor: Actor, kind: VerifyKind, now: string): VerifyFields {
  if (!mayVerify(actor, kind)) throw authError('VERIFY_NOT_ALLOWED', '您无权核对此类信息')
  if (record.verifyState !== 'entered') throw authError('VERIFY_STATE_INVALID', '只有待核对的记录可以核对', { state: record.verifyState })
  if (record.enteredBy === actor.accountId) throw authError('VERIFY_NOT_ALLOWED', '不能核对本人录入的信息', { rule: 'SELF' })
  return { ...record, verifyState: 'verified', verifiedBy: actor.accountId, verifiedAt: now, returnReason: null }
}

/** Sends the record back to its enterer with a reason: entered → returned. */
export function returnRecord(record: VerifyFields, actor: Actor, kind: VerifyKind, reason: string, now: string): VerifyFields {
  if (!mayVerify(actor, kind)) throw authError('VERIFY_NOT_ALLOWED', '您无权核对此类信息')
  if (record.verifyState !== 'entered') throw authError('VERIFY_STATE_INVALID', '只有待核对的记录可以退回', { state: record.verifyState })
  const why = reason.trim()
  if (why.length === 0 || why.length > MAX_RETURN_REASON) throw authError('RETURN_REASON_REQUIRED', `退回时须填写原因（1–${MAX_RETURN_REASON} 字）`)
  return { ...record, verifyState: 'returned', verifiedBy: actor.accountId, verifiedAt: now, returnReason: why }
}

/** The enterer (or anyone who may enter it) resubmits a fixed record: returned → entered. */
export function resubmit(record: VerifyFields, actor: Actor, kind: VerifyKind, now: string): VerifyFields {
  if (!can(actor, ENTRY_PERMISSION[kind])) throw authError('VERIFY_NOT_ALLOWED', '您无权录入此类信息')
  if (record.verifyState !== 'returned') throw authError('VERIFY_STATE_INVALID', '只有被退回的记录可以重新提交', { state: record.verifyState })
  return { verifyState: 'entered', enteredBy: actor.accountId, enteredAt: now, verifiedBy: null, verifiedAt: null, returnReason: null }
}

/** Any edit by the record service: the record is unverified again, entered by the editor. */
export function afterEdit(actor: Actor, now: string): VerifyFields {
  return { verifyState: 'entered', enteredBy: actor.accountId, enteredAt: now, verifiedBy: null, verifiedAt: null, returnReason: null }
}
