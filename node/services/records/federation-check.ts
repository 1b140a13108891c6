/**
 * 查重 across the federation at entry (R-10.1, DESIGN.md §5): before a person is registered (or
 * their ID number or 学籍号 changed) the home node asks up the tree whether anyone outside it
 * holds them. Found: refused with the school and node that hold the record and the way to move
 * a student (a transfer, R-19.5). The parent unreachable: the entry goes ahead and is flagged
 * (`sync_feedback` kind `unchecked`), because a school must not stop registering while a link
 * is down; the replicas raise a 查重 problem if it was a duplicate after all.
 */
import { XuejiError } from '../../../config/errors.ts'
import type { PersonHolder, PersonQuery } from '../../../sync/messages.ts'
import { recordError } from '../../records/errors.ts'
import { normaliseIdentifier, type RecordInput } from '../../records/validate.ts'

/**
 * The ID number (with its document type) and 学籍号 of an input, normalised as the validator does
 * (`normaliseIdentifier`: full-width, spaces, case); undefined when none applies. A number of any
 * document type is asked about: the tier that knows compares it as this node compares its own
 * (sync/lookup.ts `sameIdNumberSql`: the same number when either side is a resident ID, or under
 * the same type), so a resident ID number filed as 其他 here or there is found.
 */
export function personQuery(table: string, input: RecordInput): PersonQuery | undefined {
  if (table !== 'students' && table !== 'children') return undefined
  const text = (v: unknown) => (typeof v === 'string' && normaliseIdentifier(v) !== '' ? normaliseIdentifier(v) : undefined)
  const q: PersonQuery = { table }
  const docType = typeof input.idDocType === 'string' && input.idDocType.trim() !== '' ? input.idDocType.trim() : '1'
  const idNumber = text(input.idNumber)
  const studentNo = table === 'students' ? text(input.studentNo) : undefined
  // Only well-formed values are asked about; the validator refuses the others with its own code.
  const wellFormed = docType === '1' ? /^\d{17}[\dX]$/ : /^[^\p{C}\p{Z}]{1,30}$/u
  if (idNumber !== undefined && /^[0-9A-Z]{1,2}$/.test(docType) && wellFormed.test(idNumber)) Object.assign(q, { idNumber, idDocType: docType })
  if (studentNo !== undefined && /^[GJL][0-9A-Z]{18}$/.test(studentNo)) q.studentNo = studentNo
  return q.idNumber || q.studentNo ? q : undefined
}

/**
 * Asks the parent (`ask`) about the person in `input`: throws RECORD_DUPLICATE_ELSEWHERE when
 * another node holds them; returns `'unchecked'` when the parent could not answer.
 */
export async function checkAcrossFederation(ask: (q: PersonQuery) => Promise<PersonHolder | null>, table: string, input: RecordInput): Promise<'clear' | 'unchecked'> {
  const q = personQuery(table, input)
  if (!q) return 'clear'
  let holder: PersonHolder | null
  try {
    holder = await ask(q)
  } catch {
    return 'unchecked'
  }
  if (!holder) return 'clear'
  const unit = holder.table === 'students' ? '学校' : '幼儿园'
  throw recordError(
    'RECORD_DUPLICATE_ELSEWHERE',
    `该${holder.table === 'students' ? '学生' : '幼儿'}已在${holder.unitName ?? ''}（${unit}代码 ${holder.unitCode}，所属节点 ${holder.homeNode}）建立学籍（查重），不能重复建立。如已转入本校，请由本校发起转学申请（学籍异动），经转出${unit}及其教育局办理`,
    { field: q.idNumber ? 'idNumber' : 'studentNo', rule: 'registered_elsewhere', schoolCode: holder.unitCode, schoolName: holder.unitName, homeNode: holder.homeNode, transfer: 'R-19.5' },
  )
}

/**
 * 查重 across the federation for many rows of one file (initial entry, Excel imports): `inputs[i]`
 * undefined is not asked. A holder elsewhere refuses its row. Once the parent has not answered,
 * the rest are not asked and are `unchecked` like the first: a file of thousands would otherwise
 * wait out one timeout per row.
 */
export async function checkEachAcrossFederation(ask: (q: PersonQuery) => Promise<PersonHolder | null>, table: string, inputs: ReadonlyArray<RecordInput | undefined>): Promise<{ refused: Map<number, XuejiError>; unchecked: Set<number> }> {
  const refused = new Map<number, XuejiError>()
  const unchecked = new Set<number>()
  for (const [i, input] of inputs.entries()) {
    if (input === undefined) continue
    if (unchecked.size > 0) {
      unchecked.add(i)
      continue
    }
    try {
      if ((await checkAcrossFederation(ask, table, input)) === 'unchecked') unchecked.add(i)
    } catch (err) {
      if (!(err instanceof XuejiError)) throw err
      refused.set(i, err)
    }
  }
  return { refused, unchecked }
}
