/**
 * The change-set format (DESIGN.md §4) and its signature.
 *
 * A change set is a canonical-JSON body (origin, seq, prev, rows …). What is signed is a small
 * MANIFEST carrying the body's SHA-256, not the body itself: jose's base64 path makes signing a
 * 1 MB payload ~150× slower than a 1 KB one, while hashing 1 MB takes well under a millisecond.
 * The body travels and is stored as the exact canonical text that was hashed, so any node can
 * re-hash it byte for byte, and relays forward it unaltered.
 */
import { brotliCompressSync, brotliDecompressSync, constants as zlib } from 'node:zlib'
import { canonicalJson, isSha256Hex, parseCanonicalJson, sha256Hex } from './canonical.ts'
import { syncError } from './errors.ts'
import { isPlainObject, isPositiveInt, signJws, verifyJws, type KeyResolver, type Signer } from './keys.ts'
import { lap, type StageTimes } from './stages.ts'

export type { KeyLike, KeyResolver, Signer } from './keys.ts'

/** The format version this node writes. */
export const CHANGESET_FORMAT = 1 as const

/**
 * Format versions this node accepts: the current and the previous one (DESIGN.md §10), so the
 * tiers can be upgraded one at a time. When format 2 arrives: write 2, set this to `[1, 2]`;
 * when 3 arrives, drop 1.
 */
export const SUPPORTED_FORMATS: readonly number[] = [1]

/** Whether this node accepts change sets (and commands) of format `format`. */
export function isSupportedFormat(format: unknown): boolean {
  return typeof format === 'number' && SUPPORTED_FORMATS.includes(format)
}

/** `typ` of a change-set manifest JWS. */
export const CHANGESET_TYP = 'xueji-changeset+jws'

/**
 * One captured write. Keys are natural keys (school code, 学籍号 …), never local ids.
 * A delete is a tombstone carrying the natural key only (no `row`).
 */
export interface ChangeRow {
  table: string
  /** Natural key, column → value. */
  key: Record<string, string>
  op: 'upsert' | 'delete'
  /** Full row image for an upsert; absent for a delete. */
  row?: Record<string, unknown>
  /** Row version at the home node; replicas keep the highest. */
  version: number
  /** Ownership epoch of a student record (DESIGN.md §8); upper tiers accept only the current one. */
  epoch?: number
  /** Who made the change (account id at the home node). */
  actor?: string
  /** A natural-key change (e.g. a local 学籍号 L replaced by the national G): the old key. */
  rekey?: { from: Record<string, string> }
}

/** The body of a change set: hashed as `canonicalJson(body)`. */
export interface ChangeSetBody {
  format: 1
  /** Division code of the node that wrote the rows (not the relay). */
  origin: string
  /** 1, 2, 3 … per origin, no gaps. */
  seq: number
  /** Hash of the origin's previous change set; `null` exactly for seq 1. */
  prev: string | null
  /** ISO 8601 UTC. */
  createdAt: string
  rows: ChangeRow[]
}

/** What the origin signs: the body's identity and hash, small whatever the body's size. */
export interface Manifest {
  format: number
  origin: string
  seq: number
  prev: string | null
  /** sha256Hex(body text). */
  hash: string
  /** Number of rows in the body. */
  rows: number
  /** UTF-8 length of the body text. */
  bytes: number
  createdAt: string
  /**
   * The origin's audit-log head when it packed this change set. Optional (older senders omit
   * it); signed with the rest, so every tier above holds an anchor the origin cannot rewrite.
   */
  audit?: AuditAnchor
}

/** An audit-log entry's seq and keyed chain hash (node/auth/audit.ts). */
export interface AuditAnchor {
  seq: number
  hash: string
}

/** A change set as stored and sent. */
export interface SignedChangeSet {
  /** The canonical JSON text of the body, exactly as hashed. */
  body: string
  /** Compact JWS over canonicalJson(manifest), header `{alg: 'EdDSA', kid, typ: 'xueji-changeset+jws'}`. */
  jws: string
  /** sha256Hex(body): the change set's identity, used for `prev` and receipts. */
  hash: string
  /**
   * The body as stored (`packBody`), when the sender holds it so: what the HTTP transport sends
   * (`CHANGESET_MEDIA_TYPE`), and what the receiver stores when the body came so. Not enumerable,
   * so a JSON copy of the change set leaves it out.
   */
  readonly packed?: Uint8Array
}

/**
 * The media type of a change set pushed over HTTP as its body's bytes, Brotli-compressed
 * (`content-encoding: br`) as stored, its JWS and hash in the `x-xueji-jws` and `x-xueji-hash`
 * headers: the text neither escaped into a JSON string by the sender nor unescaped by the
 * receiver, and a tenth of the bytes on the wire (node/routes/federation.ts).
 */
export const CHANGESET_MEDIA_TYPE = 'application/vnd.xueji.changeset'
/** The request headers of a change set sent as `CHANGESET_MEDIA_TYPE`: its JWS and its hash. */
export const CHANGESET_HEADERS = { jws: 'x-xueji-jws', hash: 'x-xueji-hash' } as const

/**
 * A stored change set as sent: `packed` its stored bytes, and `body` its text, unpacked only
 * when read (the in-memory transport reads it; the HTTP transport sends `packed`).
 */
export function storedChangeSet(cs: { body: Buffer | string; jws: string; hash: string }): SignedChangeSet {
  let text: string | undefined
  const out = {
    get body() {
      return (text ??= unpackBody(cs.body))
    },
    jws: cs.jws,
    hash: cs.hash,
  }
  if (typeof cs.body !== 'string') Object.defineProperty(out, 'packed', { value: cs.body, enumerable: false })
  return out
}

/**
 * A body as stored in `sync_change_sets.body`: its UTF-8 bytes compressed with Brotli at the
 * lowest quality (a 1.2 MB body of 1,000 student rows takes about 2 ms and keeps a few tenths of
 * its size at most; the text is many times the rows' own bytes otherwise, issue 15 (h)). The
 * stored bytes give back the exact text, so hashes, resends and relays are unaltered.
 */
export function packBody(text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  return brotliCompressSync(bytes, { params: { [zlib.BROTLI_PARAM_QUALITY]: 1, [zlib.BROTLI_PARAM_SIZE_HINT]: bytes.length } })
}

/** The body text of a stored change set (`packBody`); a row stored before compression holds the text. */
export function unpackBody(stored: Buffer | string): string {
  return typeof stored === 'string' ? stored : brotliDecompressSync(stored).toString('utf8')
}

/** The change set's hash: SHA-256 hex over its canonical JSON. */
export function hashBody(body: ChangeSetBody): string {
  return sha256Hex(canonicalJson(body))
}

/** Signs a change set as the origin: canonicalises the body, hashes it, signs the manifest. */
export async function signChangeSet(body: ChangeSetBody, signer: Signer, audit?: AuditAnchor): Promise<SignedChangeSet> {
  const text = canonicalJson(body)
  // Refuse to sign what a receiver would refuse: better to fail at the packer than upstream.
  // The body itself is checked, not a parse of the text: canonicalJson has just refused anything
  // JSON would not carry as it is, so the receiver parses this very value (and parsing a
  // 1,000-row body again cost the packer about as much as writing it).
  assertChangeSetBody(body)
  return signText(text, body, body.rows.length, signer, audit)
}

/** A change set's envelope: the body without its rows. */
export type ChangeSetHead = Omit<ChangeSetBody, 'rows'>

/**
 * Signs a change set whose rows are given as their canonical JSON texts (`rowTexts`, each what
 * `canonicalJson` writes for a `ChangeRow`): the body text is assembled around them, byte for
 * byte what `canonicalJson` writes for the whole body, without parsing and writing the rows
 * again. The packer's rows come from the outbox, whose texts are canonical when written
 * (sync/outbox.ts); a row that is not is refused by every receiver's canonical parse.
 */
export async function signChangeSetRows(head: ChangeSetHead, rowTexts: readonly string[], signer: Signer, audit?: AuditAnchor): Promise<SignedChangeSet> {
  assertChangeSetBody({ ...head, rows: [] })
  // The body's keys in canonical order: createdAt, format, origin, prev, rows, seq.
  const text = `{"createdAt":${JSON.stringify(head.createdAt)},"format":${head.format},"origin":${JSON.stringify(head.origin)},"prev":${JSON.stringify(head.prev)},"rows":[${rowTexts.join(',')}],"seq":${head.seq}}`
  return signText(text, head, rowTexts.length, signer, audit)
}

async function signText(text: string, head: ChangeSetHead, rows: number, signer: Signer, audit?: AuditAnchor): Promise<SignedChangeSet> {
  const hash = sha256Hex(text)
  const manifest: Manifest = {
    format: head.format,
    origin: head.origin,
    seq: head.seq,
    prev: head.prev,
    hash,
    rows,
    bytes: Buffer.byteLength(text, 'utf8'),
    createdAt: head.createdAt,
    ...(audit ? { audit: { seq: audit.seq, hash: audit.hash } } : {}),
  }
  return { body: text, jws: await signJws(manifest, CHANGESET_TYP, signer), hash }
}

/**
 * Verifies a signed change set (R-D.2), cheapest and most telling checks first:
 *
 * 1. the protected header, before trusting anything: `alg` must be `EdDSA`
 *    (`SYNC_ALG_NOT_ALLOWED`), no `jwk`/`jku`/`x5u`/`x5c` (`SYNC_EMBEDDED_KEY_REFUSED`);
 * 2. the key: the manifest's origin is read unverified only to ask `keys.resolve(origin, kid,
 *    { seq })`; nothing else is trusted before the signature holds (`SYNC_KEY_UNKNOWN`);
 * 3. the signature, with `algorithms: ['EdDSA']` (`SYNC_SIGNATURE_INVALID`);
 * 4. the manifest's format (`SYNC_FORMAT_UNSUPPORTED`) and shape (`SYNC_MALFORMED`);
 * 5. sha256(body text) = manifest.hash (`SYNC_HASH_MISMATCH`);
 * 6. the body is canonical JSON, well formed, and agrees with the manifest (`SYNC_MALFORMED`).
 *
 * Chain checks (seq, prev, fork) and authority checks (child, subtree, ownership) need the
 * node's state and belong to the inbox, not here.
 */
export async function verifyChangeSet(
  signed: SignedChangeSet,
  keys: KeyResolver,
  times?: StageTimes,
): Promise<{ body: ChangeSetBody; manifest: Manifest; kid: string }> {
  const { manifest, kid } = await verifyManifest(signed, keys, times)
  const t = performance.now()
  const body = assertChangeSetBody(
    openSignedBody(signed, manifest, { origin: manifest.origin, seq: manifest.seq }, times),
  )
  if (times) lap(times, 'parse', t)
  assertBodyAgrees(body, manifest)
  return { body, manifest, kid }
}

/**
 * The signature half of `verifyChangeSet`: the manifest JWS with the origin's key and the
 * manifest's shape. The body is still to be checked against it (`openSignedBody`).
 */
export async function verifyManifest(signed: SignedChangeSet, keys: KeyResolver, times?: StageTimes): Promise<{ manifest: Manifest; kid: string }> {
  const t = performance.now()
  if (!isPlainObject(signed) || typeof signed.body !== 'string' || typeof signed.jws !== 'string') {
    throw syncError('SYNC_MALFORMED', 'signed change set must have string body and jws')
  }
  const { payload, kid } = await verifyJws(signed.jws, {
    typ: CHANGESET_TYP,
    keys,
    signerOf: (p) => {
      if (typeof p.origin !== 'string' || !isPositiveInt(p.seq)) {
        throw syncError('SYNC_MALFORMED', 'manifest names no origin/seq')
      }
      return { signer: p.origin, at: { seq: p.seq } }
    },
  })
  if (!isSupportedFormat(payload.format)) {
    throw syncError('SYNC_FORMAT_UNSUPPORTED', `change-set format ${String(payload.format)} is not supported`, {
      format: payload.format ?? null,
      supported: [...SUPPORTED_FORMATS],
    })
  }
  const manifest = assertManifest(payload)
  if (times) lap(times, 'verify', t)
  return { manifest, kid }
}

/** The fields a change set's body and its manifest both carry agree (`SYNC_MALFORMED` otherwise). */
export function assertBodyAgrees(body: ChangeSetBody, manifest: Manifest): void {
  const { format, origin, seq, prev, createdAt } = body
  assertAgrees({ format, origin, seq, prev, createdAt, rows: body.rows.length }, manifest, [
    'format',
    'origin',
    'seq',
    'prev',
    'createdAt',
    'rows',
  ])
}

/**
 * The body half of the manifest pattern, shared by change sets and commands: the body text
 * must hash to the signed `manifest.hash` (and to the sender's `signed.hash`, if given)
 * (`SYNC_HASH_MISMATCH`), have the signed length and be canonical JSON (`SYNC_MALFORMED`).
 * Returns the parsed body, still to be shape-checked by the caller.
 */
export function openSignedBody(
  signed: { body: string; hash?: string },
  manifest: { hash: string; bytes: number },
  context: Record<string, unknown>,
  times?: StageTimes,
): unknown {
  const t = performance.now()
  const hash = sha256Hex(signed.body)
  if (times) {
    // The hash is the signature's half: moved from the caller's `parse` lap to `verify`.
    const ms = performance.now() - t
    times.verify = (times.verify ?? 0) + ms
    times.parse = (times.parse ?? 0) - ms
  }
  if (hash !== manifest.hash || (signed.hash !== undefined && signed.hash !== hash)) {
    throw syncError('SYNC_HASH_MISMATCH', 'body hash differs from the signed manifest', context)
  }
  // With the hash matching this cannot fail unless the signer lied about the length; cheap.
  if (Buffer.byteLength(signed.body, 'utf8') !== manifest.bytes) {
    throw syncError('SYNC_MALFORMED', 'body length differs from the signed manifest', { ...context, fields: ['bytes'] })
  }
  return parseCanonicalJson(signed.body)
}

/**
 * Fields the body and its manifest both carry must be equal (`SYNC_MALFORMED`): otherwise a
 * validly signed manifest could vouch for a body that says it is something else.
 */
export function assertAgrees<B extends object, M extends object>(body: B, manifest: M, fields: readonly (keyof B & keyof M)[]): void {
  const disagree = fields.filter((f) => (body[f] as unknown) !== (manifest[f] as unknown))
  if (disagree.length > 0) {
    throw syncError('SYNC_MALFORMED', `body and manifest disagree on ${disagree.join(', ')}`, { fields: disagree })
  }
}

function assertManifest(p: Record<string, unknown>): Manifest {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `manifest: ${why}`, { reason: why })
  if (typeof p.origin !== 'string' || p.origin === '') throw bad('origin')
  if (!isPositiveInt(p.seq)) throw bad('seq')
  if (!isPrev(p.prev, p.seq)) throw bad('prev')
  if (!isSha256Hex(p.hash)) throw bad('hash')
  if (!Number.isSafeInteger(p.rows) || (p.rows as number) < 0) throw bad('rows')
  if (!Number.isSafeInteger(p.bytes) || (p.bytes as number) < 0) throw bad('bytes')
  if (typeof p.createdAt !== 'string') throw bad('createdAt')
  const audit = p.audit
  if (audit !== undefined && !(isPlainObject(audit) && isPositiveInt(audit.seq) && isSha256Hex(audit.hash) && Object.keys(audit).length === 2)) throw bad('audit')
  // A signed field nobody reads would be a field the signature vouches for in vain.
  const extra = Object.keys(p).filter(k => !MANIFEST_FIELDS.has(k))
  if (extra.length > 0) throw bad(`unknown fields ${extra.join(',')}`)
  return {
    format: p.format as number,
    origin: p.origin,
    seq: p.seq,
    prev: p.prev,
    hash: p.hash,
    rows: p.rows as number,
    bytes: p.bytes as number,
    createdAt: p.createdAt,
    ...(audit !== undefined ? { audit: audit as unknown as AuditAnchor } : {}),
  }
}

/** `prev` is a SHA-256 hex for seq > 1 and `null` exactly for seq 1. */
function isPrev(prev: unknown, seq: number): prev is string | null {
  return seq === 1 ? prev === null : isSha256Hex(prev)
}

/**
 * Checks that a parsed value is a well-formed format-1 change-set body.
 * @throws XuejiError `SYNC_MALFORMED` with `details.reason` (a field path, no row data).
 */
export function assertChangeSetBody(b: unknown): ChangeSetBody {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `change set: ${why}`, { reason: why })
  if (!isPlainObject(b)) throw bad('not an object')
  // This is the format-1 shape; when format 2 arrives, dispatch on `format` here.
  if (b.format !== 1) throw bad('format')
  if (typeof b.origin !== 'string' || b.origin === '') throw bad('origin')
  if (!isPositiveInt(b.seq)) throw bad('seq')
  if (!isPrev(b.prev, b.seq)) throw bad('prev')
  if (typeof b.createdAt !== 'string' || Number.isNaN(Date.parse(b.createdAt))) throw bad('createdAt')
  if (!Array.isArray(b.rows)) throw bad('rows')
  const extra = Object.keys(b).filter((k) => !BODY_FIELDS.has(k))
  if (extra.length > 0) throw bad(`unknown fields ${extra.join(',')}`)
  b.rows.forEach((r, i) => assertRow(r, `rows[${i}]`, bad))
  return b as unknown as ChangeSetBody
}

const BODY_FIELDS = new Set(['format', 'origin', 'seq', 'prev', 'createdAt', 'rows'])
const MANIFEST_FIELDS = new Set(['format', 'origin', 'seq', 'prev', 'hash', 'rows', 'bytes', 'createdAt', 'audit'])
const ROW_FIELDS = new Set(['table', 'key', 'op', 'row', 'version', 'epoch', 'actor', 'rekey'])

function assertRow(r: unknown, at: string, bad: (why: string) => Error): void {
  if (!isPlainObject(r)) throw bad(at)
  const unknown = Object.keys(r).filter((k) => !ROW_FIELDS.has(k))
  if (unknown.length > 0) throw bad(`${at}: unknown fields ${unknown.join(',')}`)
  if (typeof r.table !== 'string' || r.table === '') throw bad(`${at}.table`)
  if (!isStringRecord(r.key) || Object.keys(r.key).length === 0) throw bad(`${at}.key`)
  if (r.op === 'upsert') {
    if (!isPlainObject(r.row)) throw bad(`${at}.row`)
  } else if (r.op === 'delete') {
    // A tombstone carries the natural key only: no personal data outlives the record.
    if ('row' in r) throw bad(`${at}.row on delete`)
  } else {
    throw bad(`${at}.op`)
  }
  if (!Number.isSafeInteger(r.version) || (r.version as number) < 0) throw bad(`${at}.version`)
  if ('epoch' in r && (!Number.isSafeInteger(r.epoch) || (r.epoch as number) < 0)) throw bad(`${at}.epoch`)
  if ('actor' in r && typeof r.actor !== 'string') throw bad(`${at}.actor`)
  if ('rekey' in r && !(isPlainObject(r.rekey) && isStringRecord(r.rekey.from) && Object.keys(r.rekey).length === 1)) {
    throw bad(`${at}.rekey`)
  }
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string')
}

/**
 * Groups rows, in order, into chunks of at most `maxRows` rows and at most `maxBytes` bytes,
 * counting each row as its canonical JSON (or `bytesOf` it, when its size is known otherwise)
 * plus a separating comma (the body envelope adds a few hundred bytes on top). A single row
 * larger than `maxBytes` goes alone in its own chunk rather than being refused: a student file
 * with many attachments must still travel.
 */
export function splitIntoChangeSets<T = ChangeRow>(
  rows: readonly T[],
  limits: { maxRows: number; maxBytes: number },
  bytesOf: (row: T) => number = row => Buffer.byteLength(canonicalJson(row), 'utf8'),
): T[][] {
  const { maxRows, maxBytes } = limits
  if (!isPositiveInt(maxRows) || !isPositiveInt(maxBytes)) {
    throw new RangeError('splitIntoChangeSets: maxRows and maxBytes must be positive integers')
  }
  const chunks: T[][] = []
  let current: T[] = []
  let bytes = 0
  for (const row of rows) {
    const size = bytesOf(row) + 1
    if (current.length > 0 && (current.length >= maxRows || bytes + size > maxBytes)) {
      chunks.push(current)
      current = []
      bytes = 0
    }
    current.push(row)
    bytes += size
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}
