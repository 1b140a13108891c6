/**
 * A correction from above (DESIGN.md §2): an upper tier's administrator corrects a record of a
 * school below; the correction travels down as a signed command (`records.correct`, issued by
 * `xueji sync command --type records.correct`) and the home node applies it through the records
 * service, like a local edit: validation, optimistic concurrency and the locks on expiry
 * judge it here, at the home, and a refusal is the command's recorded result.
 * The applied change travels upward as an ordinary change set.
 */
import type { CommandHandler } from '../../../sync/downward.ts'
import { recordError } from '../../records/errors.ts'
import type { RecordInput } from '../../records/validate.ts'
import { RESOURCES } from './resources.ts'
import { systemActor, type RecordsService } from './service.ts'

export const CORRECTION_COMMAND = 'records.correct'

/**
 * Payload: `{ table, id, version, patch }` — the record's table (e.g. `students`, `student_guardians`),
 * its id, the version the issuer read in its replica, and the fields to change.
 */
export function correctionHandler(records: RecordsService): CommandHandler {
  return command => {
    const { table, id, version, patch } = command.payload as { table?: unknown; id?: unknown; version?: unknown; patch?: unknown }
    if (typeof table !== 'string' || !RESOURCES.some(r => r.table === table)) throw recordError('RECORD_FIELD_FORMAT', '更正指令的记录表不存在', { field: 'table', rule: 'table' })
    if (typeof id !== 'string' || id === '') throw recordError('RECORD_FIELD_FORMAT', '更正指令缺少记录编号', { field: 'id', rule: 'required' })
    if (!Number.isInteger(version)) throw recordError('RECORD_FIELD_FORMAT', '更正指令缺少记录版本', { field: 'version', rule: 'required' })
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw recordError('RECORD_FIELD_FORMAT', '更正指令缺少更正内容', { field: 'patch', rule: 'object' })
    const updated = records.update(systemActor(`command:${command.issuer}`), table, id, { ...(patch as RecordInput), version: version as number })
    return { id, version: updated.version }
  }
}
