import { and, eq, inArray, like, sql, type Column, type SQL } from 'drizzle-orm'
import { scopeFilter, type Actor } from './access.ts'

/**
 * The scope of an account as a drizzle WHERE clause for list queries: pass the columns
 * the table has (for a table below the student, join students and pass its class_id and id).
 * A restriction whose column is missing matches nothing, so a forgotten column fails closed
 * (an empty list), never open.
 */
export interface ScopeColumns {
  homeNode?: Column
  /** School (or kindergarten) code column. */
  school?: Column
  classId?: Column
  /** Column holding the student's (or child's) record id: `id` on students, `student_id` below it. */
  studentId?: Column
}

const NOTHING = sql`0 = 1`

export function scopeWhere(actor: Actor, cols: ScopeColumns): SQL | undefined {
  const f = scopeFilter(actor)
  const parts: (SQL | undefined)[] = []
  if (f.homeNodePrefix !== undefined && cols.homeNode) parts.push(like(cols.homeNode, `${f.homeNodePrefix}%`))
  if (f.schools) parts.push(cols.school ? inArray(cols.school, f.schools) : NOTHING)
  // A school-level table (no class or student column) is visible to the school's class-bound
  // staff, as in `inScope`; a table below the student must be joined to it for its class_id.
  if (f.classes && (cols.classId || cols.studentId)) parts.push(cols.classId ? inArray(cols.classId, f.classes) : NOTHING)
  if (f.studentId !== undefined) parts.push(cols.studentId ? eq(cols.studentId, f.studentId) : NOTHING)
  return and(...parts)
}
