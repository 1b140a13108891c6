/**
 * A list page's records as the API answers them, as JSON: the row in the API's form, a teacher's
 * age, and every sensitive field masked. The read workers (read-worker.ts) run it beside
 * the query, so a page's mapping, masking and serialisation stay off the main thread; the service
 * runs the same function when it has no workers.
 *
 * The keys are exactly the table's columns (plus `age` for teachers), in their order: the
 * properties of the list's response schema (routes/api/records.ts), which this text is sent in
 * place of.
 */
import { maskValue, SENSITIVE_FIELDS, type SensitiveClass } from '../../auth/sensitive.ts'
import { teacherAge } from './derived.ts'
import type { Column } from './resources.ts'
import type { Rec, SqlRow } from './store.ts'

interface Field {
  name: string
  key: string
  boolean: boolean
  /** Its sensitive class (auth/sensitive.ts), masked on the way. */
  mask?: SensitiveClass
}
const plans = new Map<string, Field[]>()

/**
 * The JSON array of `rows` (SQL rows of `table`, whose columns are `columns`: its spec's, passed
 * in so that a reader need not load the table definitions) as list items. One pass per row does
 * what `fromSql` and then `maskRecord` would.
 */
export function listItemsJson(table: string, columns: readonly Column[], rows: readonly SqlRow[], now: Date): string {
  let plan = plans.get(table)
  if (!plan) {
    const sensitive = SENSITIVE_FIELDS[table] ?? {}
    plan = columns.map(c => ({ name: c.name, key: c.key, boolean: c.type === 'boolean', mask: sensitive[c.key] }))
    plans.set(table, plan)
  }
  const teachers = table.endsWith('_teachers')
  return JSON.stringify(rows.map(row => {
    const rec: Rec = {}
    for (const f of plan) {
      let v = row[f.name]
      if (f.boolean && v !== null && v !== undefined) v = v === 1
      rec[f.key] = f.mask ? maskValue(f.mask, v) : v
    }
    // Computed from the clear value; an age is not sensitive.
    if (teachers) rec.age = teacherAge(row.birth_ym, now)
    return rec
  }))
}
