/**
 * Feedback to the node that wrote a record (DESIGN.md §5: "refusals go back to the origin, where
 * the writer sees them"). What a receiver refuses in an origin's change set, or finds about its
 * rows (a person registered at another node too), travels down as a signed command
 * (`sync.feedback`) to that node, which stores it in `sync_feedback` for the writing school and
 * its bureau. Downward commands are pulled, so this reaches a county behind NAT, from any tier.
 */
import type { Storage } from '../schema/db.ts'
import { replicatedTable } from '../schema/replicated.ts'
import type { BadRow, RowNotice } from './apply.ts'
import type { CommandHandler } from './downward.ts'
import { syncError } from './errors.ts'
import { isPlainObject } from './keys.ts'

/** The command type that carries feedback down to a record's home node. */
export const FEEDBACK_COMMAND = 'sync.feedback'

/** Code of a person found registered at another node (also the API's refusal at entry). */
export const DUPLICATE_ELSEWHERE = 'RECORD_DUPLICATE_ELSEWHERE'

export type FeedbackKind = 'refused' | 'duplicate' | 'unchecked'

/** One thing a node learns about one of its own records. Ids and codes only. */
export interface FeedbackEntry {
  kind: FeedbackKind
  table: string
  recordId: string
  code: string
  reason: string
  /** Refusals: the seq of the refused change set. */
  seq?: number
  /** Duplicates: where the other record is. */
  otherNode?: string
  otherSchoolCode?: string | null
}

/** A stored entry, as listed. */
export interface FeedbackItem extends Required<Omit<FeedbackEntry, 'otherSchoolCode'>> {
  id: number
  reportedBy: string
  schoolCode: string | null
  otherSchoolCode: string | null
  createdAt: string
}

/** The rows of a refused change set, as its origin should hear them (field codes included). */
export function refusalEntries(seq: number, bad: readonly BadRow[]): FeedbackEntry[] {
  return bad
    .filter(b => typeof b.key.id === 'string')
    .map(b => ({ kind: 'refused', seq, table: b.table, recordId: b.key.id, code: b.issues?.[0]?.code ?? b.code, reason: b.issues ? b.issues.map(i => `${i.field}:${i.rule}`).join(' ') : b.reason }))
}

/** A duplicate across nodes, once for each of the two homes: [home, entry]. */
export function duplicateEntries(n: RowNotice): Array<[string, FeedbackEntry]> {
  const entry = (id: string, otherNode: string, otherSchoolCode: string): FeedbackEntry => ({ kind: 'duplicate', table: n.table, recordId: id, code: DUPLICATE_ELSEWHERE, reason: n.rule, otherNode, otherSchoolCode })
  return [
    [n.homeNode, entry(n.id, n.otherHomeNode, n.otherSchoolCode)],
    [n.otherHomeNode, entry(n.otherId, n.homeNode, n.schoolCode)],
  ]
}

/** The school (or kindergarten) code of a record held here, following its owners up; null if unknown. */
export function unitCodeOf(storage: Storage, table: string, id: string): string | null {
  for (let depth = 0; depth < 4; depth++) {
    const spec = replicatedTable(table)
    if (!spec) return null
    const row = storage.sqlite.prepare(`select * from "${spec.name}" where id = ?`).get(id) as Record<string, unknown> | undefined
    if (!row) return null
    const code = row.school_code ?? row.kindergarten_code
    if (typeof code === 'string') return code
    if (spec.owner === 'self' || typeof row[spec.owner.column] !== 'string') return null
    ;[table, id] = [spec.owner.parent, row[spec.owner.column] as string]
  }
  return null
}

/** Stores entries reported by `reportedBy`; an entry already stored is kept once. MUST run inside `storage.write()`. */
export function recordFeedback(storage: Storage, reportedBy: string, entries: readonly FeedbackEntry[]): number {
  const insert = storage.sqlite.prepare(`insert into sync_feedback (kind, reported_by, seq, table_name, record_id, school_code, code, reason, other_node, other_school_code, created_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict do nothing`)
  const at = new Date().toISOString()
  let n = 0
  for (const e of entries) {
    n += insert.run(e.kind, reportedBy, e.seq ?? 0, e.table, e.recordId, unitCodeOf(storage, e.table, e.recordId), e.code, e.reason, e.otherNode ?? '', e.otherSchoolCode ?? null, at).changes
  }
  return n
}

const KINDS: ReadonlySet<string> = new Set(['refused', 'duplicate', 'unchecked'])
const short = (v: unknown, max = 500) => typeof v === 'string' && v.length > 0 && v.length <= max

/** The handler of `sync.feedback` at the home node: checks the payload's shape, stores it. */
export const feedbackHandler: CommandHandler = (command, { storage }) => {
  const entries = command.payload.entries
  const ok = (e: unknown): e is FeedbackEntry =>
    isPlainObject(e) && KINDS.has(e.kind as string) && short(e.table, 64) && short(e.recordId, 64) && short(e.code, 64) && short(e.reason) &&
    (e.seq === undefined || Number.isSafeInteger(e.seq)) && (e.otherNode === undefined || typeof e.otherNode === 'string') &&
    (e.otherSchoolCode === undefined || e.otherSchoolCode === null || short(e.otherSchoolCode, 64))
  if (!Array.isArray(entries) || entries.length > 10_000 || !entries.every(ok)) throw syncError('SYNC_MALFORMED', 'sync.feedback: entries', { reason: 'entries' })
  return { stored: recordFeedback(storage, command.issuer, entries) }
}

/** Entries for a list: all of them, or those of the given school codes. */
export function listFeedback(
  storage: Storage,
  opts: { schools?: readonly string[]; kind?: FeedbackKind; limit: number; offset: number },
): { items: FeedbackItem[]; total: number } {
  const where: string[] = []
  const params: unknown[] = []
  if (opts.schools) {
    where.push(`school_code in (${opts.schools.map(() => '?').join(', ') || 'null'})`)
    params.push(...opts.schools)
  }
  if (opts.kind) {
    where.push('kind = ?')
    params.push(opts.kind)
  }
  const w = where.length ? `where ${where.join(' and ')}` : ''
  const db = storage.sqlite
  const total = (db.prepare(`select count(*) n from sync_feedback ${w}`).get(...params) as { n: number }).n
  const items = db
    .prepare(`select id, kind, reported_by reportedBy, seq, table_name "table", record_id recordId, school_code schoolCode, code, reason, other_node otherNode, other_school_code otherSchoolCode, created_at createdAt
      from sync_feedback ${w} order by id desc limit ? offset ?`)
    .all(...params, opts.limit, opts.offset) as FeedbackItem[]
  return { items, total }
}
