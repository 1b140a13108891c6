/**
 * Downward commands (DESIGN.md §6): approvals, corrections, transfer messages and
 * acknowledgements travel from an upper tier to a record's home node, signed by the issuing
 * node, sequenced per (issuer, destination) and relayed hop by hop unaltered.
 *
 * Signed with the same manifest pattern as change sets rather than as one JWS of the whole
 * command: most commands are small, but a transfer handoff (DESIGN.md §8) carries a student's
 * complete file, and one pattern means one set of verification code and one way to store and
 * relay signed things (`{ body, jws, hash }`).
 */
import { canonicalJson, isSha256Hex, sha256Hex } from './canonical.ts'
import { assertAgrees, isSupportedFormat, openSignedBody, SUPPORTED_FORMATS } from './changeset.ts'
import { syncError } from './errors.ts'
import { isPlainObject, isPositiveInt, signJws, verifyJws, type KeyResolver, type Signer } from './keys.ts'

/** `typ` of a command manifest JWS. */
export const COMMAND_TYP = 'xueji-command+jws'

/** A command from an upper tier to a node below it. */
export interface Command {
  /** Versioned with change sets: the same `SUPPORTED_FORMATS` rule applies. */
  format: 1
  /** Division code of the issuing node (whose key signs). */
  issuer: string
  /** Division code of the node that must apply it (the record's home). */
  destination: string
  /** 1, 2, 3 … per (issuer, destination): the destination applies each exactly once, in order. */
  seq: number
  /** What to do, e.g. `approval`, `correction`, `transfer.handoff`, `death.ack`. */
  type: string
  /** ISO 8601 UTC. */
  createdAt: string
  payload: Record<string, unknown>
}

/** What the issuer signs: the command's identity and the hash of its canonical text. */
export interface CommandManifest {
  format: number
  issuer: string
  destination: string
  seq: number
  type: string
  /** sha256Hex(body text). */
  hash: string
  /** UTF-8 length of the body text. */
  bytes: number
  createdAt: string
}

/** A command as stored and relayed. */
export interface SignedCommand {
  /** canonicalJson(command), exactly as hashed. */
  body: string
  /** Compact JWS over canonicalJson(manifest), header `{alg: 'EdDSA', kid, typ: 'xueji-command+jws'}`. */
  jws: string
  hash: string
}

/** Signs a command as its issuer (manifest pattern, see the file comment). */
export async function signCommand(cmd: Command, signer: Signer): Promise<SignedCommand> {
  const text = canonicalJson(cmd)
  assertCommand(JSON.parse(text))
  const hash = sha256Hex(text)
  const manifest: CommandManifest = {
    format: cmd.format,
    issuer: cmd.issuer,
    destination: cmd.destination,
    seq: cmd.seq,
    type: cmd.type,
    hash,
    bytes: Buffer.byteLength(text, 'utf8'),
    createdAt: cmd.createdAt,
  }
  return { body: text, jws: await signJws(manifest, COMMAND_TYP, signer), hash }
}

/**
 * Verifies a signed command: the shared header gate (EdDSA only, no embedded keys), the key
 * registered for the issuer (`keys.resolve(issuer, kid)` without `at`: a command's seq is
 * per destination, not the issuer's change-set seq, so only a current key is accepted), the
 * signature, the format, the body hash and canonical form, and body/manifest agreement.
 *
 * Whether this node is the destination (or relays towards it) and whether the seq was already
 * applied are the caller's checks (`SYNC_COMMAND_NOT_FOR_ME`, `SYNC_COMMAND_REPLAY`).
 */
export async function verifyCommand(
  signed: SignedCommand,
  keys: KeyResolver,
): Promise<{ command: Command; manifest: CommandManifest; kid: string }> {
  if (!isPlainObject(signed) || typeof signed.body !== 'string' || typeof signed.jws !== 'string') {
    throw syncError('SYNC_MALFORMED', 'signed command must have string body and jws')
  }
  const { payload, kid } = await verifyJws(signed.jws, {
    typ: COMMAND_TYP,
    keys,
    signerOf: (p) => {
      if (typeof p.issuer !== 'string' || p.issuer === '') throw syncError('SYNC_MALFORMED', 'command manifest names no issuer')
      return { signer: p.issuer }
    },
  })
  if (!isSupportedFormat(payload.format)) {
    throw syncError('SYNC_FORMAT_UNSUPPORTED', `command format ${String(payload.format)} is not supported`, {
      format: payload.format ?? null,
      supported: [...SUPPORTED_FORMATS],
    })
  }
  const manifest = assertManifest(payload)
  const command = assertCommand(
    openSignedBody(signed, manifest, { issuer: manifest.issuer, destination: manifest.destination, seq: manifest.seq }),
  )
  assertAgrees(command, manifest, ['format', 'issuer', 'destination', 'seq', 'type', 'createdAt'])
  return { command, manifest, kid }
}

function assertManifest(p: Record<string, unknown>): CommandManifest {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `command manifest: ${why}`, { reason: why })
  for (const f of ['issuer', 'destination', 'type', 'createdAt'] as const) {
    if (typeof p[f] !== 'string' || p[f] === '') throw bad(f)
  }
  if (!isPositiveInt(p.seq)) throw bad('seq')
  if (!isSha256Hex(p.hash)) throw bad('hash')
  if (!Number.isSafeInteger(p.bytes) || (p.bytes as number) < 0) throw bad('bytes')
  const { format, issuer, destination, seq, type, hash, bytes, createdAt } = p as unknown as CommandManifest
  return { format, issuer, destination, seq, type, hash, bytes, createdAt }
}

function assertCommand(c: unknown): Command {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `command: ${why}`, { reason: why })
  if (!isPlainObject(c)) throw bad('not an object')
  // The format-1 shape; commands are versioned with change sets.
  if (c.format !== 1) throw bad('format')
  for (const f of ['issuer', 'destination', 'type'] as const) {
    if (typeof c[f] !== 'string' || c[f] === '') throw bad(f)
  }
  if (!isPositiveInt(c.seq)) throw bad('seq')
  if (typeof c.createdAt !== 'string' || Number.isNaN(Date.parse(c.createdAt))) throw bad('createdAt')
  if (!isPlainObject(c.payload)) throw bad('payload')
  const extra = Object.keys(c).filter((k) => !COMMAND_FIELDS.has(k))
  if (extra.length > 0) throw bad(`unknown fields ${extra.join(',')}`)
  return c as unknown as Command
}

const COMMAND_FIELDS = new Set(['format', 'issuer', 'destination', 'seq', 'type', 'createdAt', 'payload'])
