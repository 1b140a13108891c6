/**
 * 查重 across the federation (R-10.1, DESIGN.md §5): before a home node registers a person it
 * asks up the tree whether the ID number (under any document type, compared as a node compares
 * its own: `sameIdNumberSql`) or 学籍号 is already registered. Each tier answers from
 * its replica (its whole subtree, minus the asking child's, which the child knows best) and asks
 * its own parent only when it knows nothing, so the lowest tier that knows answers and the
 * province knows all. The answer names where the person is (table, home node, school code and
 * name), never personal data.
 */
import { within } from '../config/within.ts'
import type { Storage } from '../schema/db.ts'
import { inArea } from './area.ts'
import { syncError } from './errors.ts'
import type { PersonHolder, PersonQuery } from './messages.ts'
import type { SelfNode } from './registry.ts'
import type { ParentTransport } from './transport.ts'

/** How long an entry waits for the parent's answer before it is accepted and flagged. */
export const LOOKUP_WAIT_MS = 5000

/**
 * Whether an ID number matches a stored person's (查重, R-10.1), as SQL: the numbers are equal (both
 * as stored: node/records/validate.ts `normaliseIdentifier`, ASCII, no blanks, upper case) and
 * either side is filed as a resident ID (居民身份证, document type 1: a resident ID number filed as
 * 其他 is still that person's), or both under the same document type (two passports). The one rule
 * of the node's own check at entry, the replicas' check, the scan and this lookup.
 * `p`: the stored person's alias; `number`, `docType`: SQL expressions of the number asked about.
 */
export function sameIdNumberSql(p: string, number: string, docType: string): string {
  return `(${p}.id_number = ${number} and (${p}.id_doc_type = ${docType} or ${p}.id_doc_type = '1' or ${docType} = '1'))`
}

/** The same rule on two values already read (a document type missing is a resident ID's). */
export function sameIdNumber(a: { idNumber: unknown; idDocType: unknown }, b: { idNumber: unknown; idDocType: unknown }): boolean {
  if (typeof a.idNumber !== 'string' || a.idNumber === '' || a.idNumber !== b.idNumber) return false
  const da = String(a.idDocType ?? '1')
  const db = String(b.idDocType ?? '1')
  return da === db || da === '1' || db === '1'
}

/**
 * The person in this node's database, outside `except`'s area (the asking child's subtree): the
 * same ID number by `sameIdNumberSql` (`q.idDocType` absent: a resident ID, as an asker of before
 * sent only those), or the same 学籍号.
 */
export function findHolder(storage: Storage, q: PersonQuery, except?: SelfNode): PersonHolder | null {
  const { table } = q
  const [units, unitCode] = table === 'students' ? ['schools', 'school_code'] : ['kindergartens', 'kindergarten_code']
  const where: string[] = []
  const params: Record<string, string> = {}
  if (q.idNumber) {
    where.push(sameIdNumberSql('p', '@idNumber', '@idDocType'))
    Object.assign(params, { idNumber: q.idNumber, idDocType: q.idDocType ?? '1' })
  }
  if (q.studentNo && table === 'students') {
    where.push('p.student_no = @studentNo')
    params.studentNo = q.studentNo
  }
  if (where.length === 0) return null
  const rows = storage.sqlite
    .prepare(`select p.home_node homeNode, p.${unitCode} unitCode, u.name unitName from ${table} p left join ${units} u on u.${unitCode} = p.${unitCode} where ${where.join(' or ')} limit 20`)
    .all(params) as Omit<PersonHolder, 'table'>[]
  const found = rows.find(r => !except || !inArea(except, r.homeNode))
  return found ? { table, ...found } : null
}

/**
 * Asks this node's replica, then (unless it is the province) its parent. Resolves `null` when
 * nobody holds the person; rejects (`SYNC_PARENT_UNAVAILABLE` …) when the parent could not
 * answer within `LOOKUP_WAIT_MS`.
 */
export async function lookupPerson(
  deps: { storage: Storage; transport?: ParentTransport; enrolled: boolean },
  q: PersonQuery,
  except?: SelfNode,
): Promise<PersonHolder | null> {
  return findHolder(deps.storage, q, except) ?? askParent(deps, q)
}

/**
 * The parent's answer (`null` at the province, which has none); rejects when the node is not
 * enrolled yet or the answer does not come within `LOOKUP_WAIT_MS`: nobody could be asked.
 */
export async function askParent(deps: { transport?: ParentTransport; enrolled: boolean }, q: PersonQuery): Promise<PersonHolder | null> {
  if (!deps.transport) return null
  if (!deps.enrolled) throw syncError('SYNC_NOT_ENROLLED', 'not enrolled under a parent yet: the person lookup cannot be asked')
  const answer = await within(deps.transport.request({ type: 'person.lookup', ...q }), LOOKUP_WAIT_MS)
  if (!answer) throw syncError('SYNC_PARENT_UNAVAILABLE', 'the parent did not answer the person lookup in time')
  return answer.holder
}
