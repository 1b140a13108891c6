/**
 * Node keys and the one JWS gate every sync verifier goes through.
 *
 * - Key pairs: each node has an Ed25519 key pair made at `init`; `kid` is the RFC 7638 SHA-256
 *   thumbprint of the public JWK, so a kid names exactly one key everywhere in the federation.
 * - Key records: a node's public key reaches the upper tiers as a record signed by the parent
 *   that enrolled it; the province key (configured out of band) is the root of trust.
 * - The JWS gate (`checkProtectedHeader`, `openCompactJws`, `verifyJws`): change sets,
 *   commands, receipts, key records and node tokens are all checked by the same code, so the
 *   algorithm allow-list and the refusal of embedded keys cannot drift apart between them.
 */
import { chmodSync, closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, writeSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import {
  CompactSign,
  calculateJwkThumbprint,
  compactVerify,
  exportJWK,
  exportPKCS8,
  generateKeyPair,
  importJWK,
  importPKCS8,
  type CryptoKey,
  type JWK,
  type KeyObject,
} from 'jose'
import { canonicalJson } from './canonical.ts'
import { syncError, type SyncErrorCode } from './errors.ts'

// ── Types ───────────────────────────────────────────────────────────────────────────────────

/** An Ed25519 public key as a JWK: exactly the members its RFC 7638 thumbprint covers. */
export interface Ed25519PublicJwk {
  kty: 'OKP'
  crv: 'Ed25519'
  x: string
}

/** A verification key as the registry hands it out (a JWK is imported by jose on use). */
export type KeyLike = CryptoKey | KeyObject | JWK

/** Who signs: the node's key id and its private key. */
export interface Signer {
  kid: string
  privateKey: CryptoKey | KeyObject
}

/**
 * The node's key registry as the verifiers see it. Verifiers never take a key from the
 * message itself; they ask this, and only this.
 *
 * `resolve(signer, kid, at)` returns the public key registered for node `signer` under `kid`,
 * or `undefined` when there is none (→ `SYNC_KEY_UNKNOWN`).
 *
 * Key rotation: `at.seq` is the change-set `seq` of the origin being verified. A key record
 * carries `validFromSeq`/`validUntilSeq`; a resolver SHOULD return `undefined` for a key used
 * outside that range, so that a retired (possibly leaked) key cannot sign new change sets while
 * old change sets it signed still verify for audits and disaster recovery. Where there is no
 * change-set seq (commands, receipts, key records, node tokens) `at` is omitted and the
 * resolver answers for "now": only keys that are still current.
 */
export interface KeyResolver {
  resolve(signer: string, kid: string, at?: { seq: number }): Promise<KeyLike | undefined> | KeyLike | undefined
}

/** The protected header every Xueji JWS must have, and may only have. */
export interface CheckedHeader {
  alg: 'EdDSA'
  kid: string
  typ: string
}

// ── Key pairs ───────────────────────────────────────────────────────────────────────────────

/** A fresh node identity; `privatePem` is PKCS#8 PEM, for `writePrivateKeyFile`. */
export interface NodeKeyPair {
  kid: string
  publicJwk: Ed25519PublicJwk
  privatePem: string
}

/** Makes a node's Ed25519 key pair; `kid` = base64url SHA-256 JWK thumbprint of the public key. */
export async function generateNodeKeyPair(): Promise<NodeKeyPair> {
  const { publicKey, privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
  const jwk = await exportJWK(publicKey)
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: jwk.x as string }
  return { kid: await jwkKid(publicJwk), publicJwk, privatePem: await exportPKCS8(privateKey) }
}

/** The `kid` of a public JWK: its base64url SHA-256 RFC 7638 thumbprint. */
export function jwkKid(publicJwk: Ed25519PublicJwk): Promise<string> {
  return calculateJwkThumbprint(publicJwk, 'sha256')
}

/** Imports a PKCS#8 PEM Ed25519 private key (non-extractable) for signing. */
export function importPrivateKey(pem: string): Promise<CryptoKey> {
  return importPKCS8(pem, 'EdDSA')
}

/**
 * Imports an Ed25519 public JWK for verification.
 * @throws XuejiError `SYNC_MALFORMED` for anything but a public OKP/Ed25519 JWK.
 */
export async function importPublicJwk(jwk: unknown): Promise<CryptoKey> {
  assertEd25519PublicJwk(jwk, 'publicJwk')
  // Import only the thumbprint members: a stray `alg`/`use`/`key_ops` must not change behaviour.
  return (await importJWK({ kty: 'OKP', crv: 'Ed25519', x: jwk.x }, 'EdDSA')) as CryptoKey
}

function assertEd25519PublicJwk(jwk: unknown, field: string): asserts jwk is Ed25519PublicJwk {
  const j = jwk as Record<string, unknown> | null
  const ok =
    isPlainObject(j) &&
    j.kty === 'OKP' &&
    j.crv === 'Ed25519' &&
    typeof j.x === 'string' &&
    /^[A-Za-z0-9_-]{43}$/.test(j.x) && // 32 bytes, base64url, no padding
    !('d' in j) // a private key must never travel or be registered
  if (!ok) throw syncError('SYNC_MALFORMED', `${field} is not a public Ed25519 JWK`, { field })
}

// ── Private key files ───────────────────────────────────────────────────────────────────────

/**
 * Writes the node's private key so only its owner can read it.
 *
 * Written to a temporary file created with mode 0600, fsynced, chmod-ed again (the `mode` of
 * open() is filtered by the umask, chmod is not), then renamed over `path`: the secret is
 * never readable by others, not even for an instant, and a crash leaves the old key or the new
 * one, never half a key.
 */
export function writePrivateKeyFile(path: string, pem: string): void {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const fd = openSync(tmp, 'wx', 0o600)
  try {
    writeSync(fd, pem)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  chmodSync(tmp, 0o600)
  renameSync(tmp, path)
}

/**
 * Reads the node's private key PEM, refusing a file that group or others can access
 * (any of the 0o077 bits), like ssh does: a key others could read may already be copied.
 *
 * @throws XuejiError `KEY_FILE_PERMISSIONS` (status 500) with `details.mode` (octal string).
 */
export function readPrivateKeyFile(path: string): string {
  // Windows has no POSIX modes (stat reports 0o666); nodes run on Linux, so check there only.
  if (process.platform !== 'win32') {
    const mode = statSync(path).mode & 0o777
    if ((mode & 0o077) !== 0) {
      throw syncError(
        'KEY_FILE_PERMISSIONS',
        `private key file ${path} has mode ${mode.toString(8)}; run: chmod 600 ${path}`,
        { mode: mode.toString(8) },
      )
    }
  }
  return readFileSync(path, 'utf8')
}

// ── The JWS gate ────────────────────────────────────────────────────────────────────────────

/** The algorithm allow-list: Ed25519 only. `none`, HMAC and the rest never reach a key lookup. */
export const ALLOWED_ALGORITHMS = ['EdDSA'] as const

/** Header parameters that bring a key with the message; keys come from the registry only. */
const EMBEDDED_KEY_PARAMS = ['jwk', 'jku', 'x5u', 'x5c'] as const

/** Everything else (crit, b64, x5t, cty …) is refused: nothing we sign uses it. */
const ALLOWED_HEADER_PARAMS = new Set(['alg', 'kid', 'typ'])

/**
 * THE header check, used by every verifier before any key is looked up. In order:
 * `alg` must be `EdDSA` (`SYNC_ALG_NOT_ALLOWED`); no `jwk`/`jku`/`x5u`/`x5c`
 * (`SYNC_EMBEDDED_KEY_REFUSED`); no other parameters than alg/kid/typ, a non-empty `kid` and
 * `typ` equal to `expectedTyp` (`SYNC_MALFORMED`). The `typ` check keeps one kind of signed
 * object from being passed off as another (a receipt as a command manifest, say).
 */
export function checkProtectedHeader(header: unknown, expectedTyp: string): CheckedHeader {
  if (!isPlainObject(header)) throw syncError('SYNC_MALFORMED', 'JWS protected header is not a JSON object')
  const h = header as Record<string, unknown>
  if (typeof h.alg !== 'string' || !(ALLOWED_ALGORITHMS as readonly string[]).includes(h.alg)) {
    throw syncError('SYNC_ALG_NOT_ALLOWED', `JWS alg ${JSON.stringify(h.alg)} is not allowed`, {
      alg: typeof h.alg === 'string' ? h.alg : null,
    })
  }
  const embedded = EMBEDDED_KEY_PARAMS.filter((p) => p in h)
  if (embedded.length > 0) {
    throw syncError('SYNC_EMBEDDED_KEY_REFUSED', `JWS header carries ${embedded.join(', ')}`, { params: embedded })
  }
  const extra = Object.keys(h).filter((k) => !ALLOWED_HEADER_PARAMS.has(k))
  if (extra.length > 0) {
    throw syncError('SYNC_MALFORMED', `JWS header has unexpected parameters ${extra.join(', ')}`, { params: extra })
  }
  if (typeof h.kid !== 'string' || h.kid === '') throw syncError('SYNC_MALFORMED', 'JWS header has no kid')
  if (h.typ !== expectedTyp) {
    throw syncError('SYNC_MALFORMED', `JWS typ ${JSON.stringify(h.typ)} is not ${expectedTyp}`, {
      expectedTyp,
    })
  }
  return { alg: 'EdDSA', kid: h.kid, typ: h.typ }
}

const B64URL = /^[A-Za-z0-9_-]+$/

/**
 * Splits a compact JWS and runs `checkProtectedHeader`; returns the checked header and the
 * payload decoded as JSON WITHOUT verifying it. The unverified payload is only good for
 * learning who claims to have signed (origin, issuer …) so the right registered key can be
 * looked up; the signature check that follows covers those very bytes.
 *
 * @throws XuejiError `SYNC_MALFORMED`, `SYNC_ALG_NOT_ALLOWED`, `SYNC_EMBEDDED_KEY_REFUSED`.
 */
export function openCompactJws(
  jws: unknown,
  expectedTyp: string,
): { header: CheckedHeader; unverifiedPayload: Record<string, unknown> } {
  const parts = typeof jws === 'string' ? jws.split('.') : []
  if (parts.length !== 3 || !B64URL.test(parts[0])) {
    throw syncError('SYNC_MALFORMED', 'not a compact JWS (three base64url parts)')
  }
  // The header is judged before the rest is even looked at, so that an `alg: none` token
  // (whose signature part is empty) is reported as what it is.
  const header = checkProtectedHeader(decodeJsonPart(parts[0], 'header'), expectedTyp)
  if (!B64URL.test(parts[1]) || !B64URL.test(parts[2])) {
    throw syncError('SYNC_MALFORMED', 'not a compact JWS (three base64url parts)')
  }
  const payload = decodeJsonPart(parts[1], 'payload')
  if (!isPlainObject(payload)) throw syncError('SYNC_MALFORMED', 'JWS payload is not a JSON object')
  return { header, unverifiedPayload: payload as Record<string, unknown> }
}

function decodeJsonPart(part: string, what: string): unknown {
  try {
    return JSON.parse(utf8Strict.decode(Buffer.from(part, 'base64url')))
  } catch {
    throw syncError('SYNC_MALFORMED', `JWS ${what} is not base64url JSON`, { part: what })
  }
}

/**
 * Looks the key up in the registry; `undefined` (unknown kid, or refused for this seq) is
 * `SYNC_KEY_UNKNOWN`. Resolver failures (database down …) propagate unchanged: they are ours,
 * not the sender's, and must stay retryable.
 */
export async function resolveKey(
  keys: KeyResolver,
  signer: string,
  kid: string,
  at?: { seq: number },
): Promise<KeyLike> {
  const key = await keys.resolve(signer, kid, at)
  if (key === undefined) {
    throw syncError('SYNC_KEY_UNKNOWN', `no registered key ${kid} for ${signer}`, {
      signer,
      kid,
      ...(at ? { seq: at.seq } : {}),
    })
  }
  return key
}

/** What `verifyJws` needs to know about one kind of signed object. */
export interface VerifyJwsOptions {
  /** Required header `typ`. */
  typ: string
  keys: KeyResolver
  /**
   * Reads, from the still unverified payload, which node must have signed and at which
   * change-set seq (for key rotation). Throw `SYNC_MALFORMED` if it cannot tell.
   */
  signerOf(unverifiedPayload: Record<string, unknown>): { signer: string; at?: { seq: number } }
  /** The code for a signature that does not verify; defaults to `SYNC_SIGNATURE_INVALID`. */
  invalidCode?: SyncErrorCode
}

/**
 * Verifies a compact JWS made by `signJws`: the shared header gate, the key from the registry
 * for (signer, kid) only, then jose `compactVerify` with `algorithms: ['EdDSA']` (belt and
 * braces: jose enforces the allow-list again). Returns the VERIFIED payload.
 */
export async function verifyJws(
  jws: unknown,
  opts: VerifyJwsOptions,
): Promise<{ payload: Record<string, unknown>; kid: string; signer: string }> {
  const { header, unverifiedPayload } = openCompactJws(jws, opts.typ)
  const { signer, at } = opts.signerOf(unverifiedPayload)
  const key = await resolveKey(opts.keys, signer, header.kid, at)
  let verified: Uint8Array
  try {
    verified = (await compactVerify(jws as string, key, { algorithms: [...ALLOWED_ALGORITHMS] })).payload
  } catch (err) {
    const code = opts.invalidCode ?? 'SYNC_SIGNATURE_INVALID'
    throw syncError(code, `signature of ${opts.typ} by ${signer} does not verify`, {
      signer,
      kid: header.kid,
      joseCode: (err as { code?: unknown }).code ?? null,
    })
  }
  // The verified bytes are the ones we peeked at, so this parse cannot disagree with the peek.
  const payload = JSON.parse(utf8Strict.decode(verified)) as Record<string, unknown>
  return { payload, kid: header.kid, signer }
}

/** Signs `canonicalJson(payload)` as a compact JWS with header `{alg: 'EdDSA', kid, typ}`. */
export async function signJws(payload: unknown, typ: string, signer: Signer): Promise<string> {
  return new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
    .setProtectedHeader({ alg: 'EdDSA', kid: signer.kid, typ })
    .sign(signer.privateKey)
}

// ── Key records ─────────────────────────────────────────────────────────────────────────────

/** `typ` of a signed key record. */
export const KEY_RECORD_TYP = 'xueji-key+jws'

/** Tiers of the federation. */
export type Tier = 'province' | 'city' | 'county'

/**
 * A node's public key as registered by the parent that enrolled it. `validFromSeq` /
 * `validUntilSeq` bound the node's own change-set seqs this key may sign (rotation: the old
 * record gets `validUntilSeq`, the new one starts at the next seq). The province's own record
 * has `parent: null` and is self-signed; it is trusted only because it is configured.
 */
export interface KeyRecord {
  node: string
  tier: Tier
  parent: string | null
  kid: string
  publicJwk: Ed25519PublicJwk
  validFromSeq: number
  validUntilSeq?: number | null
  issuedAt: string
}

/**
 * Signs a key record with the ENROLLING PARENT's key (`signer`), typ `xueji-key+jws`.
 * The record is checked first (kid = thumbprint of publicJwk …), so a bad one is never signed.
 */
export async function signKeyRecord(record: KeyRecord, signer: Signer): Promise<string> {
  const normal = await assertKeyRecord({ ...record, validUntilSeq: record.validUntilSeq ?? null })
  return signJws(normal, KEY_RECORD_TYP, signer)
}

/**
 * Verifies a key record: the shared header gate, then the signature with the registered key
 * of the record's `parent` (for the province's `parent: null` record, its own configured root
 * key), then the record itself. Returns the record and who signed it.
 *
 * @throws XuejiError `SYNC_ALG_NOT_ALLOWED`, `SYNC_EMBEDDED_KEY_REFUSED`, `SYNC_KEY_UNKNOWN`,
 *   `SYNC_SIGNATURE_INVALID`, `SYNC_MALFORMED`.
 */
export async function verifyKeyRecord(
  jws: string,
  keys: KeyResolver,
): Promise<{ record: KeyRecord; signer: { node: string; kid: string } }> {
  const { payload, kid, signer } = await verifyJws(jws, {
    typ: KEY_RECORD_TYP,
    keys,
    signerOf: (p) => {
      const by = p.parent === null ? p.node : p.parent
      if (typeof by !== 'string' || by === '') throw syncError('SYNC_MALFORMED', 'key record names no signer')
      return { signer: by }
    },
  })
  return { record: await assertKeyRecord(payload), signer: { node: signer, kid } }
}

/**
 * The record of a key record this node holds (`sync_keys`), read WITHOUT verifying it again: it
 * was verified, or signed here, when it was stored. For re-issuing a record this node signed
 * (closing a child's key, re-signing after a rotation of its own): its signing key may have been
 * rotated since, and only the current key of a node answers for key records.
 * @throws XuejiError `SYNC_MALFORMED` when it is not a key record.
 */
export async function readHeldKeyRecord(jws: string): Promise<KeyRecord> {
  return assertKeyRecord(openCompactJws(jws, KEY_RECORD_TYP).unverifiedPayload)
}

const TIERS: readonly Tier[] = ['province', 'city', 'county']
const KEY_RECORD_FIELDS = new Set(['node', 'tier', 'parent', 'kid', 'publicJwk', 'validFromSeq', 'validUntilSeq', 'issuedAt'])

async function assertKeyRecord(r: unknown): Promise<KeyRecord> {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `key record: ${why}`, { reason: why })
  if (!isPlainObject(r)) throw bad('not an object')
  const rec = r as Record<string, unknown>
  const extra = Object.keys(rec).filter(k => !KEY_RECORD_FIELDS.has(k))
  if (extra.length > 0) throw bad(`unknown fields ${extra.join(',')}`)
  if (typeof rec.node !== 'string' || rec.node === '') throw bad('node')
  if (!TIERS.includes(rec.tier as Tier)) throw bad('tier')
  // Only the province is a root; every other node has a parent that vouches for it.
  if ((rec.tier === 'province') !== (rec.parent === null)) throw bad('parent')
  if (rec.parent !== null && (typeof rec.parent !== 'string' || rec.parent === '')) throw bad('parent')
  assertEd25519PublicJwk(rec.publicJwk, 'publicJwk')
  if (typeof rec.kid !== 'string' || rec.kid !== (await jwkKid(rec.publicJwk))) throw bad('kid is not the thumbprint of publicJwk')
  if (!isPositiveInt(rec.validFromSeq)) throw bad('validFromSeq')
  const until = rec.validUntilSeq ?? null
  // until = validFromSeq - 1 is an empty range: a key revoked before it signed anything.
  if (until !== null && !(typeof until === 'number' && Number.isSafeInteger(until) && until >= rec.validFromSeq - 1)) throw bad('validUntilSeq')
  if (typeof rec.issuedAt !== 'string') throw bad('issuedAt')
  return {
    node: rec.node,
    tier: rec.tier as Tier,
    parent: rec.parent as string | null,
    kid: rec.kid,
    publicJwk: { kty: 'OKP', crv: 'Ed25519', x: rec.publicJwk.x },
    validFromSeq: rec.validFromSeq,
    validUntilSeq: until,
    issuedAt: rec.issuedAt,
  }
}

// ── A registry in memory ────────────────────────────────────────────────────────────────────

/** One registered key, as `staticKeyResolver` takes it. */
export interface RegisteredKey {
  node: string
  kid: string
  key: KeyLike
  validFromSeq?: number
  /** Last seq this key may sign; `null`/absent = still current. */
  validUntilSeq?: number | null
}

/**
 * A `KeyResolver` over a fixed list, honouring rotation: with `at.seq`, a key answers only
 * inside `[validFromSeq, validUntilSeq]`; without `at`, only a key that is still current
 * (no `validUntilSeq`). For tests and for the configured root of trust; nodes use their
 * database-backed registry.
 */
export function staticKeyResolver(entries: readonly RegisteredKey[]): KeyResolver {
  return {
    resolve(signer, kid, at) {
      const e = entries.find((x) => x.node === signer && x.kid === kid)
      if (!e) return undefined
      const until = e.validUntilSeq ?? null
      if (at === undefined) return until === null ? e.key : undefined
      if (at.seq < (e.validFromSeq ?? 1)) return undefined
      if (until !== null && at.seq > until) return undefined
      return e.key
    },
  }
}

// ── Small helpers shared by the sync files ──────────────────────────────────────────────────

const utf8Strict = new TextDecoder('utf-8', { fatal: true })

/** A JSON object (not null, not an array, not a class instance). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** An integer ≥ 1 that is exactly representable (seqs, versions). */
export function isPositiveInt(v: unknown): v is number {
  return Number.isSafeInteger(v) && (v as number) >= 1
}
