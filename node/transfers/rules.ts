/**
 * The rules of transfers between nodes, pure: the statuses and which step fits which, the yearly
 * pause of the national system, and which tables make up a person's complete file.
 */
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { transferError } from './errors.ts'

export type TransferKind = 'student' | 'child'
export type TransferRole = 'receiver' | 'sender'

/** Routed message types (sync/routed.ts) of the transfer. */
export const MESSAGES = {
  request: 'transfer.request',
  update: 'transfer.update',
  handoff: 'transfer.handoff',
  withdraw: 'transfer.withdraw',
} as const

/**
 * Statuses: requested (receiving school) → sent (receiving bureau) → received (sending node: its
 * 转出 applied) → approved (sending bureau: handed over) → completed (receiving node imported).
 * Ends without a handoff: rejected, withdrawn, expired, not_found, refused.
 */
export const OPEN: readonly string[] = ['requested', 'sent', 'received']
export const ENDED_WITHOUT_HANDOFF: readonly string[] = ['rejected', 'withdrawn', 'expired', 'not_found', 'refused']

/** The steps each role's bureau or school may take in each status. */
const STEPS: Record<string, { role: TransferRole; from: readonly string[] }> = {
  send: { role: 'receiver', from: ['requested'] },
  withdraw: { role: 'receiver', from: OPEN },
  approve: { role: 'sender', from: ['received'] },
  reject: { role: 'sender', from: ['received'] },
}

/** Refuses a step that does not fit the transfer's role and status. */
export function assertStep(step: keyof typeof STEPS, role: string, status: string): void {
  const s = STEPS[step]
  if (s.role !== role || !s.from.includes(status)) throw transferError('TRANSFER_STEP_INVALID', `转学申请当前状态（${status}）不能${STEP_NAMES[step]}`, { step, role, status })
}

const STEP_NAMES: Record<string, string> = { send: '报送', withdraw: '撤回', approve: '批准', reject: '驳回' }

/** Whether `today` (YYYY-MM-DD, Asia/Shanghai) lies in the yearly pause `from`..`to` (MM-DD, both included; may wrap the new year). */
export function inPause(today: string, pause: { from: string; to: string }): boolean {
  const md = today.slice(5)
  return pause.from <= pause.to ? md >= pause.from && md <= pause.to : md >= pause.from || md <= pause.to
}

/** The person table, the column naming the person in its sub-records, and its class and unit tables. */
export const FILES: Record<TransferKind, { person: 'students' | 'children'; column: string; classes: string; org: string; orgColumn: string; codeColumn: string }> = {
  student: { person: 'students', column: 'student_id', classes: 'school_classes', org: 'schools', orgColumn: 'school_id', codeColumn: 'school_code' },
  child: { person: 'children', column: 'child_id', classes: 'kindergarten_classes', org: 'kindergartens', orgColumn: 'kindergarten_id', codeColumn: 'kindergarten_code' },
}

/** Every replicated table of a person's sub-records (the complete file): those owned through the person. */
export function subTables(kind: TransferKind): string[] {
  const person = FILES[kind].person
  return REPLICATED_TABLES.filter(t => typeof t.owner === 'object' && t.owner.parent === person).map(t => t.name)
}
