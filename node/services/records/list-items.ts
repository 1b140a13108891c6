/**
 * A list page's records as the API answers them, as JSON: the row in the API's form, a teacher's
 * age, and every sensitive field masked. The read workers (read-worker.ts) run it beside
 * the query, so a page's mapping, masking and serialisation stay off the main thread; the service
 * runs the same function when it has no workers.
 *
 * SQLite writes the JSON (`listSelect`): a row comes back as a few pieces of JSON text with the
 * sensitive values between them, which alone are masked here, instead of one JavaScript value per
 * column to be written out again (a page of 50 students 1.2 → 0.9 ms with its UTF-8 encoding, in
 * one run; a student row is 19 values instead of 50, so less for the reader's garbage collector).
 *
 * The keys are exactly the table's columns (plus `age` for teachers), in their order: the
 * properties of the list's response schema (routes/api/records.ts), which this text is sent in
 * place of.
 */
import type Database from 'better-sqlite3'
import { maskValue, SENSITIVE_CLASSES, SENSITIVE_FIELDS, type SensitiveClass } from '../../auth/sensitive.ts'
import { teacherAge } from './derived.ts'
import type { Column } from './resources.ts'

/** The name of a result column holding a sensitive value of a class: `mask:id_number`. */
const MASK = 'mask:'
/** The name of the result column holding a teacher's birth month, for the age. */
const AGE = 'age'

/** Per table and set of columns; bounded, as a client chooses the columns (`fields`). */
const selects = new Map<string, string>()

/** A string as an SQL literal. */
const literal = (s: string) => `'${s.replace(/'/g, "''")}'`

/**
 * The select list (alias t) of a list page of `table`, whose columns are `all`: every field, or
 * (`fields`) those named and the id, a teacher's `age` only if named. The JSON of each row in
 * pieces, SQLite's `json_quote` writing each value as JSON.stringify would (text escaped, numbers
 * as numbers, reals to their last digit), 0/1 as false/true for a boolean column; each sensitive
 * value raw in a column of its own named `mask:<class>`, and a teacher's birth month as `age`.
 */
export function listSelect(table: string, all: readonly Column[], fields?: ReadonlySet<string>): string {
  const key = fields ? `${table}\n${[...fields].sort().join(',')}` : table
  let sql = selects.get(key)
  if (sql) return sql
  const columns = fields ? all.filter(c => c.key === 'id' || fields.has(c.key)) : all
  const age = !fields || fields.has('age')
  const sensitive = SENSITIVE_FIELDS[table] ?? {}
  const out: string[] = []
  let piece: string[] = []
  const text = (s: string) => piece.push(literal(s))
  const flush = () => {
    out.push(piece.join(' || '))
    piece = []
  }
  columns.forEach((c, i) => {
    text(`${i === 0 ? '{' : ','}${JSON.stringify(c.key)}:`)
    const v = `t."${c.name}"`
    const cls = sensitive[c.key]
    if (cls) {
      flush()
      out.push(`${v} as "${MASK}${cls}"`)
    } else piece.push(c.type === 'boolean' ? `(case when ${v} is null then 'null' when ${v} then 'true' else 'false' end)` : `json_quote(${v})`)
  })
  if (columns.length === 0) text('{')
  if (age && table.endsWith('_teachers')) {
    text(`${columns.length ? ',' : ''}"age":`)
    flush()
    out.push(`t.birth_ym as "${AGE}"`)
  }
  text('}')
  flush()
  sql = out.join(', ')
  if (selects.size >= 256) selects.delete(selects.keys().next().value!)
  selects.set(key, sql)
  return sql
}

/** What each result column of a page is: JSON text (undefined), a class to mask, or the age. */
const plans = new Map<string, Array<SensitiveClass | typeof AGE | undefined>>()

/** A value as JSON: what JSON.stringify writes for it as a property value. */
const json = (v: unknown): string => (v === null || v === undefined ? 'null' : typeof v === 'number' ? (Number.isFinite(v) ? String(v) : 'null') : JSON.stringify(v))

/**
 * The start of a list's answer as UTF-8, `{"items":[…]`, in a buffer with room after it for the
 * rest (`finishPage`), so that the answer goes out from the buffer the reader filled. Copying it
 * into another buffer allocated as much memory outside V8's heap again as the page's JSON (60 KB
 * for 50 students), and V8 collects the young generation early when that memory grows: under 10
 * searching clients 16-17 of the main thread's 36 scavenges in a run were for "external memory
 * pressure" with the copy, 0-3 of 29-31 without it (--trace-gc, two runs each).
 */
export interface PageHead {
  /** Its own memory (never a slice of Buffer's shared pool): it moves between threads. */
  bytes: Uint8Array<ArrayBuffer>
  /** How many bytes the start takes. */
  length: number
}

/** Room for `,"total":…,"limit":…,"offset":…}` with each integer of up to 16 digits. */
const TAIL_ROOM = 64

export function pageHead(items: string): PageHead {
  const text = `{"items":${items}`
  const bytes = Buffer.allocUnsafeSlow(Buffer.byteLength(text) + TAIL_ROOM)
  return { bytes, length: bytes.write(text) }
}

/** The whole answer: `head` with the total, limit and offset written after its items. */
export function finishPage(head: PageHead, total: number, limit: number, offset: number): Buffer {
  const tail = `,"total":${total},"limit":${limit},"offset":${offset}}`
  if (head.length + tail.length > head.bytes.byteLength) throw new Error(`list page: no room for ${tail}`)
  const buf = Buffer.from(head.bytes.buffer, head.bytes.byteOffset, head.bytes.byteLength)
  buf.write(tail, head.length, 'latin1')
  return buf.subarray(0, head.length + tail.length)
}

/**
 * The JSON array of the rows `page` (a statement selecting `listSelect` of its table) selects
 * with `params`, as list items.
 */
export function listItemsJson(page: Database.Statement, params: unknown[], now: Date): string {
  let rows: unknown[][]
  try {
    rows = page.raw(true).all(...params) as unknown[][]
  } finally {
    // The statement is shared (a statement cache): others read it as objects.
    page.raw(false)
  }
  let plan = plans.get(page.source)
  if (!plan) {
    plan = page.columns().map(({ name }) => {
      if (name === AGE) return AGE
      if (!name.startsWith(MASK)) return undefined
      const cls = name.slice(MASK.length) as SensitiveClass
      if (!SENSITIVE_CLASSES.includes(cls)) throw new Error(`list page: unknown sensitive class ${cls}`)
      return cls
    })
    if (plans.size >= 256) plans.delete(plans.keys().next().value!)
    plans.set(page.source, plan)
  }
  let out = '['
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]
    if (i > 0) out += ','
    for (let j = 0; j < plan.length; j++) {
      const kind = plan[j]
      const v = row[j]
      if (kind === undefined) out += v as string
      else if (kind === AGE) out += json(teacherAge(v, now))
      else out += json(maskValue(kind, v))
    }
  }
  return `${out}]`
}
