/**
 * Duplicate detection (查重) within the node (STANDARDS.md "What registrars expect"): the same ID
 * number twice (under any document type when either is a resident ID, else under the same type:
 * sync/lookup.ts `sameIdNumber`, the rule of entry, the replicas and the federation lookup), or
 * the same name, gender and birth date among records without an ID number. Each finding is a
 * problem record (replicated, so the bureau sees it too), resolved by evidence (佐证),
 * correction or deletion. A second record with an ID number already on the node is refused at
 * entry (RECORD_DUPLICATE_ID); the scan still finds such pairs in data that arrived otherwise
 * (imports of old data, replicas of several counties at an upper tier).
 */
import { recordError } from '../../records/errors.ts'
import { PROBLEMS } from './resources.ts'
import { fromSql, type SqlRow, type Store } from './store.ts'
import { newRecordId } from '../../../schema/record-ids.ts'
import { sameIdNumber } from '../../../sync/lookup.ts'

type Kind = 'duplicate_id_number' | 'duplicate_name_gender_birth'
const asId = (row: SqlRow) => ({ idNumber: row.id_number, idDocType: row.id_doc_type })
const PERSON_TABLES = ['students', 'children'] as const

export function createDuplicates(deps: { store: Store; identity: { code: string }; now: () => Date }) {
  const { store, identity, now } = deps
  const schoolCodeOf = (table: string, row: SqlRow) => String(table === 'students' ? row.school_code : row.kindergarten_code)

  /**
   * Opens a problem unless one is already open for the same pair (either way round), or the pair
   * was settled by evidence (佐证: two people after all): that finding stands, so neither a later
   * edit of either record nor a scan opens it again. A pair resolved as corrected that matches
   * again is a new duplicate and is opened.
   */
  function open(kind: Kind, table: string, subject: SqlRow, otherId: string, actor: string): boolean {
    const exists = store.get(
      `select 1 from problem_records where kind = ? and (status = 'open' or resolution = 'evidence') and ((subject_id = ? and other_id = ?) or (subject_id = ? and other_id = ?)) limit 1`,
      kind, subject.id, otherId, otherId, subject.id,
    )
    if (exists) return false
    const at = now().toISOString()
    store.insert(PROBLEMS, {
      id: newRecordId(), homeNode: identity.code, version: 1, epoch: 0, createdAt: at, updatedAt: at,
      kind, subjectTable: table, subjectId: subject.id, otherId, schoolCode: schoolCodeOf(table, subject), status: 'open',
      resolution: null, resolutionNote: null, resolvedBy: null, resolvedAt: null,
    }, actor)
    return true
  }

  function close(row: SqlRow, resolution: 'evidence' | 'corrected' | 'deleted', note: string | null, actor: string): void {
    const at = now().toISOString()
    store.update(PROBLEMS, { ...fromSql(PROBLEMS, row), status: 'resolved', resolution, resolutionNote: note, resolvedBy: actor, resolvedAt: at, version: Number(row.version) + 1, updatedAt: at }, actor)
  }

  /** Same name, gender and birth date, both without an ID number (the 查重 rule for them). */
  const sameWithoutId = (table: string, row: SqlRow) =>
    store.all(`select id from ${table} where name = ? and gender = ? and birth_date = ? and id_number is null and id <> ? order by rowid`, row.name, row.gender, row.birth_date, row.id)

  return {
    /** After a person was written: a record without ID that matches another opens a problem. */
    check(table: string, row: SqlRow, actor: string): void {
      if (table !== 'students' && table !== 'children') return
      if (row.id_number !== null) return
      for (const other of sameWithoutId(table, row)) open('duplicate_name_gender_birth', table, row, String(other.id), actor)
    },

    /**
     * A replica row that duplicates another node's person (查重 across nodes, R-10.1): opens the
     * problem here, at the lowest node holding both (a G 学籍号 is G + the ID number, so both
     * rules are the ID number's). Returns whether it is new.
     */
    openAcross(table: string, subject: SqlRow, otherId: string): boolean {
      return open('duplicate_id_number', table, subject, otherId, 'system:sync')
    },

    /** Open problems that name this person. */
    openFor(id: string): SqlRow[] {
      return store.all(`select * from problem_records where status = 'open' and (subject_id = ? or other_id = ?) order by rowid`, id, id)
    },

    /** The node-wide scan. The earliest record of a group is kept as "other"; the later ones are subjects. */
    scan(actor: string): { created: number; open: number } {
      let created = 0
      for (const table of PERSON_TABLES) {
        // Within a group of one number, each later record against the earliest it matches by the
        // entry rule (sameIdNumber: either a resident ID, or the same document type).
        for (const g of store.all(`select id_number from ${table} where id_number is not null group by id_number having count(*) > 1`)) {
          const rows = store.all(`select * from ${table} where id_number = ? order by rowid`, g.id_number)
          rows.forEach((row, i) => {
            const first = rows.slice(0, i).find(earlier => sameIdNumber(asId(earlier), asId(row)))
            if (first && open('duplicate_id_number', table, row, String(first.id), actor)) created++
          })
        }
        for (const g of store.all(`select name, gender, birth_date from ${table} where id_number is null group by name, gender, birth_date having count(*) > 1`)) {
          const [first, ...rest] = store.all(`select * from ${table} where name = ? and gender = ? and birth_date = ? and id_number is null order by rowid`, g.name, g.gender, g.birth_date)
          for (const row of rest) if (open('duplicate_name_gender_birth', table, row, String(first.id), actor)) created++
        }
      }
      const openCount = Number(store.get(`select count(*) as n from problem_records where status = 'open'`)!.n)
      return { created, open: openCount }
    },

    /** A deleted person resolves every open problem that names it. */
    resolveDeleted(id: string, actor: string): void {
      for (const row of this.openFor(id)) close(row, 'deleted', null, actor)
    },

    /** Evidence needs a note; "corrected" holds only when the two records no longer match. */
    resolve(row: SqlRow, resolution: 'evidence' | 'corrected', note: string | null, actor: string): void {
      if (row.status !== 'open') throw recordError('RECORD_PROBLEM_STATE', '该问题记录已处理', { field: 'status', rule: 'already_resolved' })
      if (resolution === 'evidence' && !note?.trim()) throw recordError('RECORD_FIELD_REQUIRED', '以佐证材料处理时须填写佐证说明', { field: 'note', rule: 'evidence_note' })
      if (resolution === 'corrected') {
        const table = String(row.subject_table)
        const a = store.get(`select * from ${table} where id = ?`, row.subject_id)
        const b = store.get(`select * from ${table} where id = ?`, row.other_id)
        const still = a && b && (row.kind === 'duplicate_id_number'
          ? sameIdNumber(asId(a), asId(b))
          : a.id_number === null && b.id_number === null && a.name === b.name && a.gender === b.gender && a.birth_date === b.birth_date)
        if (still) throw recordError('RECORD_PROBLEM_STATE', '两条记录仍然重复，请先更正其中一条', { field: 'resolution', rule: 'still_duplicate' })
      }
      close(row, resolution, note?.trim() || null, actor)
    },
  }
}
