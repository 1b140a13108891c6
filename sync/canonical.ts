import { hash } from 'node:crypto'
import { syncError } from './errors.ts'

/**
 * Deterministic JSON: object keys sorted (by UTF-16 code unit, i.e. plain `sort()`) at every
 * depth, no whitespace, numbers and strings as `JSON.stringify` writes them, `null` kept.
 *
 * Change-set hashes are taken over this text (DESIGN.md §4), so every node must produce the
 * very same bytes for the same value. Anything JSON cannot carry faithfully is refused rather
 * than silently dropped or coerced (`JSON.stringify` would turn `NaN` into `null` and omit
 * `undefined` properties, and two nodes could then disagree on what was signed):
 * `undefined` (also as a property value or array hole), functions, symbols, bigints,
 * `NaN`/`±Infinity`, non-plain objects (`Date`, `Map`, `Uint8Array` …) and cycles.
 *
 * @throws XuejiError `SYNC_MALFORMED` with `details.path` pointing at the offending value.
 */
export function canonicalJson(value: unknown): string {
  try {
    return fast(value, 0)
  } catch (err) {
    if (err !== NOT_FAST) throw err
  }
  // Something fast() does not write: the careful writer names the path and the reason.
  return write(value, '$', new Set())
}

/** Thrown by `fast` when the value needs the careful writer (which refuses with a path). */
const NOT_FAST = new Error('not canonicalisable on the fast path')

/**
 * The same text as `write` for values it accepts, without building paths or tracking the
 * stack: a cycle shows as nesting beyond `MAX_JSON_DEPTH`. Throws `NOT_FAST` for anything else.
 */
function fast(value: unknown, depth: number): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw NOT_FAST
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw NOT_FAST
  }
  if (depth >= MAX_JSON_DEPTH) throw NOT_FAST
  if (Array.isArray(value)) {
    let out = '['
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) throw NOT_FAST
      out += (i === 0 ? '' : ',') + fast(value[i], depth + 1)
    }
    return out + ']'
  }
  const proto = Object.getPrototypeOf(value)
  if (proto !== Object.prototype && proto !== null) throw NOT_FAST
  const rec = value as Record<string, unknown>
  const order = keyOrder(Object.keys(rec))
  let out = '{'
  for (let i = 0; i < order.sorted.length; i++) out += order.prefixes[i] + fast(rec[order.sorted[i]], depth + 1)
  return out + '}'
}

/** An object's keys as listed, the same sorted, and each sorted key's `"key":` (after a comma but the first). */
interface KeyOrder {
  keys: string[]
  sorted: string[]
  prefixes: string[]
}
/**
 * Key orders seen, by first key and count: the rows of one table list the same keys in the same
 * order, so sorting and quoting ~50 keys is done once per table instead of once per row (a
 * student row's canonical text: 29 µs before, 12 after, in one run). Bounded: a caller with ever
 * new shapes only replaces entries.
 */
const keyOrders = new Map<string, KeyOrder>()

function keyOrder(keys: string[]): KeyOrder {
  const id = keys.length === 0 ? '' : `${keys.length}\u0000${keys[0]}`
  const seen = keyOrders.get(id)
  if (seen && seen.keys.length === keys.length) {
    let same = true
    for (let i = 1; i < keys.length && same; i++) same = seen.keys[i] === keys[i]
    if (same) return seen
  }
  const sorted = [...keys].sort()
  const order = { keys, sorted, prefixes: sorted.map((k, i) => `${i === 0 ? '' : ','}${JSON.stringify(k)}:`) }
  if (keyOrders.size >= 256) keyOrders.delete(keyOrders.keys().next().value!)
  keyOrders.set(id, order)
  return order
}

/**
 * Deepest nesting written or accepted. Nothing we sign nests beyond a few levels; the bound
 * keeps a hostile value (20,000 levels) from exhausting the stack (a RangeError, a 500).
 */
export const MAX_JSON_DEPTH = 64

function write(value: unknown, path: string, stack: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw refuse(path, `non-finite number ${value}`)
      // -0 would print as "0": canonical all the same, so no special case needed.
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw refuse(path, typeof value)
  }
  const obj = value as object
  if (stack.has(obj)) throw refuse(path, 'cycle')
  if (stack.size >= MAX_JSON_DEPTH) throw refuse(path.slice(0, 80), `nesting deeper than ${MAX_JSON_DEPTH}`)
  stack.add(obj)
  try {
    if (Array.isArray(obj)) {
      const parts: string[] = []
      // An index loop, not map(): map() skips holes and we want to refuse them.
      for (let i = 0; i < obj.length; i++) parts.push(write(obj[i], `${path}[${i}]`, stack))
      return `[${parts.join(',')}]`
    }
    const proto = Object.getPrototypeOf(obj)
    if (proto !== Object.prototype && proto !== null) {
      throw refuse(path, `non-plain object (${obj.constructor?.name ?? 'unknown'})`)
    }
    const rec = obj as Record<string, unknown>
    const keys = Object.keys(rec).sort()
    const parts = keys.map((k) => `${JSON.stringify(k)}:${write(rec[k], `${path}.${k}`, stack)}`)
    return `{${parts.join(',')}}`
  } finally {
    stack.delete(obj)
  }
}

function refuse(path: string, what: string) {
  return syncError('SYNC_MALFORMED', `cannot canonicalise ${path}: ${what}`, { path, what })
}

/**
 * Parses `text` as JSON and requires it to be in canonical form already (re-canonicalising
 * gives the same text). Receivers use it so that the bytes that were hashed are the only
 * reading of the value: no duplicate keys, no whitespace games, no `1.0` vs `1`.
 *
 * @throws XuejiError `SYNC_MALFORMED` when the text is not JSON or not canonical.
 */
export function parseCanonicalJson(text: string): unknown {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw syncError('SYNC_MALFORMED', 'text is not valid JSON', { reason: 'not-json' })
  }
  // Native JSON.stringify gives the canonical text when every object's keys are already in
  // sorted order (and JSON.parse yields only what JSON can carry); otherwise, or when it differs
  // (integer-like keys, which V8 orders numerically), the canonical writer decides.
  if (!(sortedWithin(value, 0) && JSON.stringify(value) === text) && canonicalJson(value) !== text) {
    throw syncError('SYNC_MALFORMED', 'JSON text is not in canonical form (key order, whitespace or number spelling)', {
      reason: 'not-canonical',
    })
  }
  return value
}

/** Whether every object in a parsed JSON value has its keys in sorted order, within `MAX_JSON_DEPTH`. */
function sortedWithin(value: unknown, depth: number): boolean {
  if (value === null || typeof value !== 'object') return true
  if (depth >= MAX_JSON_DEPTH) return false
  const values = Array.isArray(value) ? value : Object.values(value)
  if (values !== value && !sortedKeys(Object.keys(value))) return false
  for (let i = 0; i < values.length; i++) {
    const v: unknown = values[i]
    if (v !== null && typeof v === 'object' && !sortedWithin(v, depth + 1)) return false
  }
  return true
}

/**
 * Key lists found sorted, most recent last: the rows of one table list the same keys, so most
 * objects are matched against one list (the same strings, compared by reference first) instead of
 * comparing neighbours. Bounded like `keyOrders`.
 */
const sortedKeyLists: string[][] = []

function sortedKeys(keys: string[]): boolean {
  for (let s = sortedKeyLists.length - 1; s >= 0; s--) if (sameKeys(sortedKeyLists[s], keys)) return true
  for (let i = 1; i < keys.length; i++) if (!(keys[i - 1] < keys[i])) return false
  if (keys.length > 1) {
    if (sortedKeyLists.length >= 16) sortedKeyLists.shift()
    sortedKeyLists.push(keys)
  }
  return true
}

/** Whether two key lists hold the same keys in the same order. */
export function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * SHA-256 as lowercase hex; strings are hashed as their UTF-8 bytes. One-shot `crypto.hash`: no
 * Hash object (a native object the garbage collector tracks through a weak handle) for each call,
 * as a session lookup hashes its cookie's token on every request. In a loop of small hashes
 * `createHash` took 2.5 times as long and its young-generation collections ten times as long.
 */
export function sha256Hex(data: string | Uint8Array): string {
  return hash('sha256', data, 'hex')
}

/** A SHA-256 as `sha256Hex` writes it: 64 lowercase hex digits. */
export function isSha256Hex(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
}
