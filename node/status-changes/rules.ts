/**
 * The rules of the status-change workflow, pure (no Fastify, no database): which change types a
 * person may have in which state and where each leads, the order of the processing statuses, the
 * deadlines of, and what a write through the generic record routes may not do.
 * The service (service.ts) and any applier of downward commands share them.
 */
import type { WorkingCalendar } from '../../config/calendar.ts'
import { statusChangeError } from './errors.ts'

export type PersonKind = 'student' | 'child'

/** The status-change table, the person table and its owner column, per kind of person. */
export const KINDS: Record<PersonKind, { table: string; person: string; personColumn: string; org: string; orgColumn: string; classes: string; active: string }> = {
  student: { table: 'student_status_changes', person: 'students', personColumn: 'student_id', org: 'schools', orgColumn: 'school_id', classes: 'school_classes', active: 'in_school' },
  child: { table: 'child_status_changes', person: 'children', personColumn: 'child_id', org: 'kindergartens', orgColumn: 'kindergarten_id', classes: 'kindergarten_classes', active: 'in_kindergarten' },
}

/** Tables whose rows only the workflow creates and moves on. */
export const STATUS_CHANGE_TABLES: ReadonlySet<string> = new Set(Object.values(KINDS).map(k => k.table))

/** processing_status codes (schema/codes/data/processing_status.xueji-1.json); 2 审核中 is not used. */
export const PROCESSING = { applied: '1', approved: '3', rejected: '4', carriedOut: '5', withdrawn: '6' } as const

/** Applications not yet finished: they block another application and count as pending business. */
export const OPEN_STATUSES: readonly string[] = [PROCESSING.applied, PROCESSING.approved]

/**
 * Where a change type leads: the states it may start from, the state it sets (null: unchanged)
 * and whether it places the person in a class (targetClassId).
 */
export interface Transition {
  from: readonly string[]
  to: string | null
  targetClass: 'required' | 'optional' | 'none'
}

const STUDENT_HERE = ['in_school', 'suspended', 'stopped'] as const
const CHILD_HERE = ['in_kindergarten', 'suspended'] as const

/**
 * Readings: 转入 here is a student of this school returning after a 转出 (the transfer between
 * schools and nodes of hands the record over and is its own workflow); 转出 out of the
 * province ends here with its certificate. Every type of the code table has an entry.
 */
export const TRANSITIONS: Record<PersonKind, Record<string, Transition>> = {
  student: {
    '02': { from: ['in_school'], to: null, targetClass: 'required' }, // 留级
    '03': { from: ['in_school'], to: null, targetClass: 'required' }, // 降级
    '04': { from: ['in_school'], to: null, targetClass: 'required' }, // 跳级
    '11': { from: ['in_school'], to: 'suspended', targetClass: 'none' }, // 休学
    '12': { from: ['suspended', 'stopped'], to: 'in_school', targetClass: 'optional' }, // 复学
    '13': { from: ['in_school'], to: 'stopped', targetClass: 'none' }, // 停学
    '21': { from: STUDENT_HERE, to: 'transferred_out', targetClass: 'none' }, // 转出
    '22': { from: ['transferred_out'], to: 'in_school', targetClass: 'required' }, // 转入
    '31': { from: STUDENT_HERE, to: 'withdrawn', targetClass: 'none' }, // 退学
    '42': { from: STUDENT_HERE, to: 'expelled', targetClass: 'none' }, // 开除学籍
    '51': { from: STUDENT_HERE, to: 'deceased', targetClass: 'none' }, // 死亡
    '99': { from: STUDENT_HERE, to: null, targetClass: 'optional' }, // 其他
  },
  child: {
    '11': { from: ['in_kindergarten'], to: 'suspended', targetClass: 'none' }, // 休园
    '12': { from: ['suspended'], to: 'in_kindergarten', targetClass: 'optional' }, // 复园
    '21': { from: CHILD_HERE, to: 'left', targetClass: 'none' }, // 转出
    '22': { from: ['left'], to: 'in_kindergarten', targetClass: 'required' }, // 转入
    '31': { from: CHILD_HERE, to: 'left', targetClass: 'none' }, // 退园
    '51': { from: CHILD_HERE, to: 'deceased', targetClass: 'none' }, // 死亡
    '99': { from: CHILD_HERE, to: null, targetClass: 'optional' }, // 其他
  },
}

/**
 * Undoing a death recorded in error: for a deceased person, an application of 其他 (99)
 * is the reversal; carried out, it restores the state before the death. Nothing else proceeds
 * for a deceased person (their pending business is frozen).
 */
export const DEATH = '51'
export const DEATH_REVERSAL = '99'
export const DECEASED = 'deceased'

/** Refuses any step but the reversal for a deceased person. */
export function assertNotFrozen(kind: PersonKind, state: string, changeType: string): void {
  if (state === DECEASED && changeType !== DEATH_REVERSAL) {
    throw statusChangeError('STATUS_CHANGE_PERSON_DECEASED', `该${kind === 'student' ? '学生' : '幼儿'}已办理死亡登记，其未办结业务已冻结；如系误报，请以“其他”类别申请撤销死亡登记`, { state, changeType })
  }
}

/** Highest grade of compulsory education (义务教育): 开除学籍 is forbidden up to it. */
const LAST_COMPULSORY_GRADE = 9

/**
 * Refuses a change the person's state (or grade) does not allow; checked when applying and again
 * when carrying out, since the state may have moved in between. An unknown type is left to the
 * code-table validation.
 */
export function assertTransition(kind: PersonKind, changeType: string, state: string, grade: number | null): Transition | undefined {
  const tr = TRANSITIONS[kind][changeType]
  if (!tr) return undefined
  if (!tr.from.includes(state)) throw statusChangeError('STATUS_CHANGE_STATE_INVALID', `该${kind === 'student' ? '学生' : '幼儿'}当前状态不能办理此类异动`, { state, changeType })
  if (kind === 'student' && changeType === '42' && (grade === null || grade <= LAST_COMPULSORY_GRADE)) {
    throw statusChangeError('STATUS_CHANGE_NOT_ALLOWED', '义务教育阶段不得开除学籍', { changeType, rule: 'no_expulsion_in_compulsory_education' })
  }
  return tr
}

/** Fields the workflow alone writes; the generic record routes refuse them. */
export const WORKFLOW_FIELDS = ['processingStatus', 'result', 'approvalDate', 'approvalDocNo'] as const

/**
 * The guard of the generic record routes over status-change rows: an application may be
 * corrected or deleted while it is only applied for, never its type or date, and nothing the
 * workflow writes may be set there.
 */
export function assertGenericWrite(op: 'update' | 'delete', row: { processingStatus: unknown; changeType: unknown; changeDate: unknown }, patch: Record<string, unknown> = {}): void {
  const reserved = WORKFLOW_FIELDS.filter(k => patch[k] !== undefined)
  if (reserved.length) throw statusChangeError('STATUS_CHANGE_PROCESSING_RESERVED', '处理状态、处理结果和审批信息由异动审核、办理流程填写，不能直接修改', { fields: reserved })
  if (row.processingStatus !== PROCESSING.applied) {
    throw statusChangeError('STATUS_CHANGE_NOT_PENDING', op === 'delete' ? '该异动已进入审核或办理，不能删除' : '该异动已进入审核或办理，不能修改', { processingStatus: row.processingStatus })
  }
  for (const k of ['changeType', 'changeDate'] as const) {
    if (patch[k] !== undefined && patch[k] !== row[k]) throw statusChangeError('STATUS_CHANGE_FIELD_FIXED', '异动类别和异动日期提交后不能修改，请撤回后重新申请', { field: k })
  }
}

/** The transfer between nodes (node/transfers) waiting for this node's bureau that applied a 转出: `store.get(OPEN_TRANSFER_OF_CHANGE, changeId)`. */
export const OPEN_TRANSFER_OF_CHANGE = "select id from transfers where status_change_id = ? and role = 'sender' and status = 'received'"

/**
 * A 转出 applied by a transfer between nodes moves only with that transfer: approved or rejected
 * there, it hands the person over or keeps them; moved on its own it would leave the transfer
 * unable to finish (an approval here hands nothing over, a withdrawal or deletion leaves the
 * sending bureau nothing to decide).
 */
export function assertNotByTransfer(transfer: Record<string, unknown> | undefined): void {
  if (transfer) throw statusChangeError('STATUS_CHANGE_BY_TRANSFER', '该转出由跨节点转学申请产生，请在“转学”中批准或驳回该申请', { transferId: transfer.id })
}

/** Which step may follow which processing status. */
export function assertStep(step: 'review' | 'carry_out' | 'withdraw', processingStatus: string): void {
  const need = step === 'carry_out' ? PROCESSING.approved : PROCESSING.applied
  if (processingStatus !== need) {
    const what = { review: '只有“申请”状态的异动可以审核', carry_out: '只有“已批准”的异动可以办理', withdraw: '只有“申请”状态的异动可以撤回' }[step]
    throw statusChangeError('STATUS_CHANGE_NOT_PENDING', what, { processingStatus })
  }
}

export interface Deadlines {
  /** last day to apply (working days after the change). */
  applyBy: string
  applyByProvisional: boolean
  /** Applied after `applyBy`. */
  late: boolean
  /** last day of the review (working days after the application). */
  reviewBy: string
  reviewByProvisional: boolean
}

/** The deadlines of an application made on `appliedOn` for a change on `changeDate`. */
export function deadlines(cal: WorkingCalendar, days: { apply: number; review: number }, changeDate: string, appliedOn: string): Deadlines {
  const apply = cal.addWorkingDays(changeDate, days.apply)
  const review = cal.addWorkingDays(appliedOn, days.review)
  return { applyBy: apply.date, applyByProvisional: apply.provisional, late: appliedOn > apply.date, reviewBy: review.date, reviewByProvisional: review.provisional }
}

/** An item's place in a queue: working days since it was applied for and whether its review is overdue. */
export function ageOf(cal: WorkingCalendar, appliedOn: string, reviewBy: string, today: string): { ageWorkingDays: number; ageDays: number; overdue: boolean } {
  const ageDays = Math.max(0, Math.round((Date.parse(today) - Date.parse(appliedOn)) / 86_400_000))
  return { ageWorkingDays: cal.workingDaysBetween(appliedOn, today).days, ageDays, overdue: today > reviewBy }
}

