import type { Storage } from '../../schema/db.ts'
import type { Target } from './access.ts'

/**
 * Where a stored record sits in the school → class → student tree, for the object check
 * (`inScope`). One place that knows the columns of the record tables (schema/records/), so the
 * verification queue, the reveal action and the records API derive targets the same way.
 * Rows are in SQL column names (`select *`).
 */
type Row = Record<string, unknown>

const str = (v: unknown) => (typeof v === 'string' ? v : undefined)

/** Tables hanging off a student or a child: their target is their person's. */
const PERSON_REF: Record<string, { table: string; column: string }> = {}
for (const t of ['student_resumes', 'student_guardians', 'student_family_members', 'student_registrations', 'student_exams', 'student_awards', 'student_punishments', 'student_enrolments', 'student_completions', 'student_status_changes', 'growth_courses', 'growth_practices', 'growth_qualities', 'growth_evaluations', 'growth_objections']) {
  PERSON_REF[t] = { table: 'students', column: 'student_id' }
}

export function targetOfRow(storage: Storage, table: string, row: Row): Target {
  const homeNode = str(row.home_node)
  switch (table) {
    case 'supervising_units': {
      const codes = storage.sqlite
        .prepare('select school_code c from schools where unit_code = ? union select kindergarten_code c from kindergartens where unit_code = ?')
        .all(row.unit_code, row.unit_code) as { c: string }[]
      return { homeNode, schools: codes.map(r => r.c) }
    }
    case 'schools':
      return { homeNode, school: str(row.school_code) }
    case 'kindergartens':
      return { homeNode, school: str(row.kindergarten_code) }
    case 'school_classes':
      return { homeNode, school: str(row.school_code), classId: str(row.id) }
    case 'kindergarten_classes':
      return { homeNode, school: str(row.kindergarten_code), classId: str(row.id) }
    case 'students':
      return { homeNode, school: str(row.school_code), classId: str(row.class_id), studentId: str(row.id) }
    case 'children':
      return { homeNode, school: str(row.kindergarten_code), classId: str(row.class_id), studentId: str(row.id) }
    case 'school_teachers':
      return { homeNode, school: codeOf(storage, 'schools', 'school_code', row.school_id) }
    case 'kindergarten_teachers':
      return { homeNode, school: codeOf(storage, 'kindergartens', 'kindergarten_code', row.kindergarten_id) }
  }
  const ref = PERSON_REF[table] ?? (table.startsWith('child_') ? { table: 'children', column: 'child_id' } : undefined)
  if (ref) {
    const person = storage.sqlite.prepare(`select * from ${ref.table} where id = ?`).get(row[ref.column]) as Row | undefined
    // A row whose person is gone reaches nobody but the bureau.
    return person ? { ...targetOfRow(storage, ref.table, person), homeNode } : { homeNode, studentId: '' }
  }
  // Unknown table: only a bureau account reaches it (fail closed for everyone else).
  return { homeNode, studentId: '' }
}

function codeOf(storage: Storage, table: string, column: string, id: unknown): string | undefined {
  const r = storage.sqlite.prepare(`select ${column} c from ${table} where id = ?`).get(id) as { c: string } | undefined
  return r?.c
}

/** Loads a record by id (SQL column names), or undefined. `table` must come from a fixed list. */
export function loadRow(storage: Storage, table: string, id: string): Row | undefined {
  return storage.sqlite.prepare(`select * from "${table}" where id = ?`).get(id) as Row | undefined
}
