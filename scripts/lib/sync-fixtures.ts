/**
 * Row images for the sync tests, the benchmark and the demo: full images of real record tables (every column, SQL
 * names), written the way domain code writes them: the row and its outbox entry in one
 * transaction.
 */
import { getTableConfig } from 'drizzle-orm/sqlite-core'
import type { Storage } from '../../schema/db.ts'
import { replicatedTable } from '../../schema/replicated.ts'
import { idCheckChar } from '../../schema/ids.ts'
import type { ChangeRow } from '../../sync/changeset.ts'
import { appendOutbox } from '../../sync/outbox.ts'
import { newRecordId } from '../../schema/record-ids.ts'

type Row = Record<string, string | number | null>

/** Each table's columns with the filler of a value not given (drizzle's getTableConfig is slow: once per table). */
const fillers = new Map<string, { name: string; filler: string | number | null }[]>()

/** A full row image of `table` with `values`; other NOT NULL columns get a plain filler. */
export function fullRow(table: string, values: Row): Row {
  let columns = fillers.get(table)
  if (!columns) {
    const spec = replicatedTable(table)
    if (!spec) throw new Error(`not replicated: ${table}`)
    columns = getTableConfig(spec.table).columns.map(c => ({
      name: c.name,
      filler: !c.notNull ? null : c.columnType.includes('Integer') || c.columnType.includes('Real') ? 0 : ((c as { enumValues?: string[] }).enumValues?.[0] ?? 'x'),
    }))
    fillers.set(table, columns)
  }
  const row: Row = {}
  for (const c of columns) row[c.name] = c.name in values ? values[c.name] : c.filler
  return row
}

const now = () => new Date().toISOString()

export function schoolRow(home: string, division: string, i = 0): Row {
  return fullRow('schools', {
    id: newRecordId(), home_node: home, version: 1, epoch: 0, created_at: now(), updated_at: now(),
    school_code: `${division}${String(i).padStart(4, '0')}`, name: `第${i}中学`, division_code: division, category: '211',
  })
}

export function classRow(home: string, school: Row, i = 1): Row {
  return fullRow('school_classes', {
    id: newRecordId(), home_node: home, version: 1, epoch: 0, created_at: now(), updated_at: now(),
    school_id: school.id as string, school_code: school.school_code as string, class_code: `1${String(i).padStart(2, '0')}`, name: `一（${i}）班`,
    founded_ym: '2021-09', schooling_length: '6', class_type: '10', grade: 1,
  })
}

/**
 * A valid student (the receivers validate every row as the API does): ID number and 学籍号 with
 * their check characters, unique per school division and `i`, gender agreeing with the ID.
 */
export function studentRow(home: string, school: Row, i: number): Row {
  const division = String(school.division_code)
  const born = new Date(Date.UTC(2015, 0, 1 + Math.floor(i / 1000))).toISOString().slice(0, 10)
  const first17 = `${division}${born.replaceAll('-', '')}${String(i % 1000).padStart(3, '0')}`
  return fullRow('students', {
    id: newRecordId(), home_node: home, version: 1, epoch: 0, created_at: now(), updated_at: now(),
    school_id: school.id as string, school_code: school.school_code as string,
    student_no: `L${division}${born.replaceAll('-', '')}${String(i % 10000).padStart(4, '0')}`, name: `学生${i}`, name_pinyin: `xuesheng${i}`, pinyin_initials: 'xs',
    gender: i % 2 ? '1' : '2', birth_date: born, ethnicity: '01', enrolment_ym: '2021-09', student_category: '00', country: 'CHN', id_doc_type: '1', state: 'in_school', verify_state: 'entered',
    id_number: first17 + idCheckChar(first17),
  })
}

function insertSql(table: string, row: Row): string {
  const cols = Object.keys(row)
  return `insert into "${table}" (${cols.map(c => `"${c}"`).join(', ')}) values (${cols.map(() => '?').join(', ')})
    on conflict (id) do update set ${cols.filter(c => c !== 'id').map(c => `"${c}" = excluded."${c}"`).join(', ')}`
}

/** Writes rows of one table at their home node, with their outbox entries, in one transaction. */
export function writeRows(storage: Storage, table: string, rows: Row[], extra: Partial<ChangeRow> = {}): void {
  if (rows.length === 0) return
  const stmt = storage.sqlite.prepare(insertSql(table, rows[0]))
  storage.write(() => {
    for (const r of rows) stmt.run(Object.values(r))
    appendOutbox(storage, rows.map(r => ({ table, key: { id: r.id as string }, op: 'upsert' as const, row: r, version: r.version as number, ...extra })))
  })
}

/** Deletes a record at its home node: the row and a tombstone. */
export function deleteRow(storage: Storage, table: string, id: string, version: number): void {
  storage.write(() => {
    storage.sqlite.prepare(`delete from "${table}" where id = ?`).run(id)
    appendOutbox(storage, [{ table, key: { id }, op: 'delete', version }])
  })
}

/** The student's 学籍号 changes (L → G): an update recorded as a key change. */
export function changeStudentNo(storage: Storage, row: Row, studentNo: string): Row {
  const next = { ...row, student_no: studentNo, version: (row.version as number) + 1, updated_at: now() }
  writeRows(storage, 'students', [next], { rekey: { from: { student_no: row.student_no as string } } })
  return next
}

/** Every row of `table`, ordered by id, as plain objects (to compare nodes). */
export function dump(storage: Storage, table: string): Row[] {
  return storage.sqlite.prepare(`select * from "${table}" order by id`).all() as Row[]
}
