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
import type Database from 'better-sqlite3'
import { maskValue, SENSITIVE_FIELDS, type SensitiveClass } from '../../auth/sensitive.ts'
import { teacherAge } from './derived.ts'
import type { Column } from './resources.ts'

interface Field {
  /** `"key":`, the field's name in JSON. */
  prefix: string
  /** Its position in a row of the query. */
  at: number
  boolean: boolean
  /** Its sensitive class (auth/sensitive.ts), masked on the way. */
  mask?: SensitiveClass
}
/** Per table and SQL text: how a row of the query becomes a list item. */
const plans = new Map<string, { fields: Field[]; teachers: boolean; birthYm: number }>()

/** A value as JSON: what JSON.stringify writes for it as a property value. */
const json = (v: unknown): string => (v === null || v === undefined ? 'null' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v))

/**
 * The JSON array of the rows `page` (a statement over `table`, whose columns are `columns`: its
 * spec's, passed in so that a reader need not load the table definitions) selects with `params`,
 * as list items. The rows are read as arrays (better-sqlite3's raw mode: a page of 50 students
 * read in 1.2 ms against 2.1 as objects, in one run) and each is written out in one pass.
 */
export function listItemsJson(table: string, columns: readonly Column[], page: Database.Statement, params: unknown[], now: Date): string {
  let rows: unknown[][]
  try {
    rows = page.raw(true).all(...params) as unknown[][]
  } finally {
    // The statement is shared (a statement cache): others read it as objects.
    page.raw(false)
  }
  const key = `${table}\n${page.source}`
  let plan = plans.get(key)
  if (!plan) {
    const names = page.columns().map(c => c.name)
    const sensitive = SENSITIVE_FIELDS[table] ?? {}
    const fields = columns.flatMap(c => (names.includes(c.name) ? [{ prefix: `${JSON.stringify(c.key)}:`, at: names.indexOf(c.name), boolean: c.type === 'boolean', mask: sensitive[c.key] }] : []))
    plan = { fields, teachers: table.endsWith('_teachers'), birthYm: names.indexOf('birth_ym') }
    if (plans.size >= 256) plans.delete(plans.keys().next().value!)
    plans.set(key, plan)
  }
  let out = '['
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    let item = i === 0 ? '{' : ',{'
    for (let j = 0; j < plan.fields.length; j++) {
      const f = plan.fields[j]
      let v = row[f.at]
      if (f.boolean && v !== null) v = v === 1
      if (f.mask) v = maskValue(f.mask, v)
      item += j === 0 ? f.prefix : `,${f.prefix}`
      item += json(v)
    }
    // Computed from the clear value; an age is not sensitive.
    if (plan.teachers) item += `${plan.fields.length ? ',' : ''}"age":${json(teacherAge(row[plan.birthYm], now))}`
    out += `${item}}`
  }
  return `${out}]`
}
