import { createHash } from 'node:crypto'
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
  return write(value, '$', new Set())
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
  if (canonicalJson(value) !== text) {
    throw syncError('SYNC_MALFORMED', 'JSON text is not in canonical form (key order, whitespace or number spelling)', {
      reason: 'not-canonical',
    })
  }
  return value
}

/** SHA-256 as lowercase hex; strings are hashed as their UTF-8 bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** A SHA-256 as `sha256Hex` writes it: 64 lowercase hex digits. */
export function isSha256Hex(v: unknown): v is string {
  return typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
}
