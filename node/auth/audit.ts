import { AsyncLocalStorage } from 'node:async_hooks'
import { createHmac } from 'node:crypto'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { XuejiError } from '../../config/errors.ts'
import type { Storage } from '../../schema/db.ts'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'
import { keysDirOf } from '../../sync/signers.ts'
import { authError } from './errors.ts'
import { createKeyFile, readKeyFile } from './secrets.ts'

/**
 * The keyed, hash-chained audit log. Each entry's hash is an HMAC-SHA256, under
 * the node's audit key, of the previous entry's hash and the canonical JSON of the entry itself,
 * so changing, deleting or reordering any entry breaks the chain from that point on, and without
 * the key nobody can recompute the later hashes. The key lives in `keys/audit.key` (0600, with
 * the signing key), never in the database. Against someone who holds the key too, the head of the
 * chain travels in every signed change set (sync/changeset.ts `Manifest.audit`): the parent keeps
 * those anchors, and `xueji audit verify` checks the chain against them. Entries hold ids and
 * field names, never personal values.
 */
export interface AuditEntry {
  /** UTC ISO time. */
  at: string
  actorId: string | null
  actorRole: string | null
  ip: string | null
  action: string
  targetTable: string | null
  targetId: string | null
  /** Field names touched or revealed (never their values). */
  fields: string[] | null
  outcome: 'ok' | 'denied' | 'failed'
  status: number | null
  code: string | null
}

export interface AuditRow extends AuditEntry {
  seq: number
  prevHash: string
  hash: string
}

/** The prev hash of entry 1. */
export const GENESIS_HASH = '0'.repeat(64)

/** The chain's HMAC key, in the node's keys directory. */
export const AUDIT_KEY_FILE = 'audit.key'

export function entryHash(key: Buffer, prevHash: string, seq: number, e: AuditEntry): string {
  return createHmac('sha256', key).update(prevHash + canonicalJson({ seq, ...e })).digest('hex')
}

/** Makes keys/audit.key (`xueji init`). */
export function createAuditKey(keysDir: string): Buffer {
  return createKeyFile(keysDir, AUDIT_KEY_FILE, 'a new key would break the audit chain')
}

const auditKeys = new WeakMap<Storage, Buffer>()

/** The audit key of the node whose database `storage` is (read once). @throws AUDIT_KEY_MISSING */
export function auditKeyOf(storage: Storage): Buffer {
  let key = auditKeys.get(storage)
  if (!key) {
    const dir = keysDirOf(storage)
    if (!existsSync(join(dir, AUDIT_KEY_FILE))) throw authError('AUDIT_KEY_MISSING', `${join(dir, AUDIT_KEY_FILE)} is missing; restore keys/ from the backup of this data directory (a node from before the keyed chain: start it once to make the key)`)
    key = readKeyFile(dir, AUDIT_KEY_FILE)
    auditKeys.set(storage, key)
  }
  return key
}

/**
 * Whether the audit log is already chained under a key: its first entry's hash is not the plain
 * SHA-256 of its prev hash and content. A new node's first entry is keyed, and keying an older
 * node's log re-hashes every entry from the first, so the first entry tells.
 */
function chainIsKeyed(storage: Storage): boolean {
  const row = storage.sqlite.prepare('select * from audit_log order by seq limit 1').get() as Row | undefined
  if (!row) return false
  const { seq, prevHash, hash, ...entry } = fromRow(row)
  return sha256Hex(prevHash + canonicalJson({ seq, ...entry })) !== hash
}

/**
 * Run at start. A node from before the keyed chain has no audit key: it is made now and every
 * existing entry is re-hashed under it, in one transaction. Re-keying must not launder an
 * earlier edit, so the unkeyed chain (plain SHA-256) is checked first and the result is the
 * first entry of the keyed era, `audit.chain_keyed`: outcome 'failed', code AUDIT_CHAIN_BROKEN
 * and the first bad seq as targetId when it did not hold. Seq gaps stay visible. Returns null
 * when the key already existed.
 *
 * Only a log with no keyed entry (an older node's, or an empty one) gets a key here. A keyed log
 * whose key file is gone is refused with AUDIT_KEY_MISSING: a new key would let whoever deleted
 * the file, and can write the database, have edited entries chained again as intact.
 */
export function ensureAuditKey(storage: Storage): { entries: number; brokenAt: number | null } | null {
  const dir = keysDirOf(storage)
  if (existsSync(join(dir, AUDIT_KEY_FILE))) return null
  if (chainIsKeyed(storage)) {
    throw authError('AUDIT_KEY_MISSING', `${join(dir, AUDIT_KEY_FILE)} is missing, and the audit log is chained under that key: the node does not start without it (a new key would let changed entries pass as intact). Restore keys/ from the backup of this data directory (xueji restore puts the database and keys/ back together), then start again.`)
  }
  const db = storage.sqlite
  const page = db.prepare('select * from audit_log where seq > ? order by seq limit 5000')
  const update = db.prepare('update audit_log set prev_hash = ?, hash = ? where seq = ?')
  // The file first: a key lost after the re-hash committed would leave a chain nobody can check.
  const key = createAuditKey(dir)
  try {
    return storage.write(() => {
      auditKeys.set(storage, key)
      let legacyPrev = GENESIS_HASH
      let prev = GENESIS_HASH
      let brokenAt: number | null = null
      let entries = 0
      for (let after = 0; ; ) {
        const rows = (page.all(after) as Row[]).map(fromRow)
        if (rows.length === 0) break
        for (const { seq, prevHash, hash, ...entry } of rows) {
          if (brokenAt === null && (seq !== entries + 1 || prevHash !== legacyPrev || sha256Hex(legacyPrev + canonicalJson({ seq, ...entry })) !== hash)) brokenAt = seq
          legacyPrev = hash
          const linked = prev
          prev = entryHash(key, linked, seq, entry)
          update.run(linked, prev, seq)
          entries++
        }
        after = rows[rows.length - 1].seq
      }
      appendAudit(storage, { actorId: null, actorRole: null, ip: null, action: 'audit.chain_keyed', targetTable: 'audit_log', targetId: brokenAt === null ? null : String(brokenAt), fields: null, outcome: brokenAt === null ? 'ok' : 'failed', status: null, code: brokenAt === null ? null : 'AUDIT_CHAIN_BROKEN' })
      return { entries, brokenAt }
    })
  } catch (err) {
    auditKeys.delete(storage)
    rmSync(join(dir, AUDIT_KEY_FILE), { force: true })
    throw err
  }
}

type Row = { seq: number; at: string; actor_id: string | null; actor_role: string | null; ip: string | null; action: string; target_table: string | null; target_id: string | null; fields_json: string | null; outcome: AuditEntry['outcome']; status: number | null; code: string | null; prev_hash: string; hash: string }

function fromRow(r: Row): AuditRow {
  return {
    seq: r.seq, at: r.at, actorId: r.actor_id, actorRole: r.actor_role, ip: r.ip, action: r.action,
    targetTable: r.target_table, targetId: r.target_id, fields: r.fields_json === null ? null : (JSON.parse(r.fields_json) as string[]),
    outcome: r.outcome, status: r.status, code: r.code, prevHash: r.prev_hash, hash: r.hash,
  }
}

/**
 * Appends one entry. Runs in its own `BEGIN IMMEDIATE` (or joins the caller's transaction, so a
 * domain write and its audit entry commit together). The previous hash is read inside that
 * transaction, which serialises the chain: better-sqlite3 is synchronous, so no other request
 * runs between the read and the insert, and the IMMEDIATE lock keeps other processes out.
 */
export function appendAudit(storage: Storage, entry: Omit<AuditEntry, 'at'> & { at?: string }): AuditRow {
  const e: AuditEntry = { ...entry, at: entry.at ?? new Date().toISOString() }
  return storage.write(() => {
    const last = storage.sqlite.prepare('select seq, hash from audit_log order by seq desc limit 1').get() as { seq: number; hash: string } | undefined
    const seq = (last?.seq ?? 0) + 1
    const prevHash = last?.hash ?? GENESIS_HASH
    const hash = entryHash(auditKeyOf(storage), prevHash, seq, e)
    storage.sqlite
      .prepare('insert into audit_log (seq, at, actor_id, actor_role, ip, action, target_table, target_id, fields_json, outcome, status, code, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
      .run(seq, e.at, e.actorId, e.actorRole, e.ip, e.action, e.targetTable, e.targetId, e.fields === null ? null : JSON.stringify(e.fields), e.outcome, e.status, e.code, prevHash, hash)
    return { ...e, seq, prevHash, hash }
  })
}

// ── The audit entry of a request's write, in the write's own transaction ───────────────────

/** What a handler or service adds to the audit entry of its request. Ids and field names only. */
export interface AuditNote {
  action?: string
  targetTable?: string
  targetId?: string
  fields?: string[]
  /** The account concerned when nobody is signed in yet (a login). */
  actorId?: string
  actorRole?: string
  /** Forces the outcome (e.g. 'denied' for a 404 given for a record out of scope). */
  outcome?: AuditEntry['outcome']
}

/** The audit state of one API request; node/plugins/auth.ts makes it and runs the handler in it. */
export interface RequestAudit {
  /** The request's note (`req.audit`). */
  note: AuditNote
  /** The request's entry as a successful write, from its context (actor, address, route) and note. */
  okEntry(): Omit<AuditEntry, 'at'>
  /** The entry committed with the request's write; the onSend hook then writes none. */
  committed: boolean
  /** What the write in progress noted (inside the outermost `auditedWrite`), else null. */
  writeNote: AuditNote | null
  /** The answer was sent: later work started by the request is not the request's write. */
  closed: boolean
}

const currentRequest = new AsyncLocalStorage<RequestAudit>()

/** Runs `fn` (the rest of a request: hooks and handler) with `ctx` as the current request. */
export function runInRequest(ctx: RequestAudit, fn: () => void): void {
  currentRequest.run(ctx, fn)
}

/**
 * Runs `fn` outside the current request's write context: for a request that commits many
 * transactions of its own (the rollover, one per school), whose writes would otherwise each add
 * the request's entry. onSend writes the request's one entry after it.
 */
export function outsideRequest<T>(fn: () => T): T {
  return currentRequest.exit(fn)
}

/**
 * Runs `fn` as one write transaction that ends by appending the audit entry of the current API
 * request: the write and its entry commit together or not at all, so no crash can leave
 * a committed write unaudited. `note` adds what is known only inside the write (a new record's
 * id). Outside a request (init, seed, imports, sync) it is a plain `storage.write`. Nested calls
 * join the outermost one, which appends one entry for them all, last.
 */
export function auditedWrite<T>(storage: Storage, fn: () => T, note?: (result: T) => AuditNote): T {
  const ctx = currentRequest.getStore()
  if (!ctx || ctx.closed || ctx.writeNote) {
    const result = storage.write(fn)
    if (ctx?.writeNote && note) Object.assign(ctx.writeNote, note(result))
    return result
  }
  // Kept apart from the request's note until commit: a rolled-back write's ids name nothing.
  const writeNote: AuditNote = (ctx.writeNote = {})
  try {
    const result = storage.write(() => {
      const r = fn()
      if (note) Object.assign(writeNote, note(r))
      appendAudit(storage, { ...ctx.okEntry(), ...writeNote })
      return r
    })
    Object.assign(ctx.note, writeNote)
    // Committed only when this was the outermost transaction; inside someone else's plain
    // write, onSend writes the entry again rather than risk losing it.
    if (!storage.sqlite.inTransaction) ctx.committed = true
    return result
  } finally {
    ctx.writeNote = null
  }
}

export function readAudit(storage: Storage, opts: { afterSeq?: number; limit?: number; actorId?: string } = {}): AuditRow[] {
  const where = ['seq > ?']
  const args: unknown[] = [opts.afterSeq ?? 0]
  if (opts.actorId) {
    where.push('actor_id = ?')
    args.push(opts.actorId)
  }
  const sql = `select * from audit_log where ${where.join(' and ')} order by seq limit ?`
  return (storage.sqlite.prepare(sql).all(...args, opts.limit ?? -1) as Row[]).map(fromRow)
}

export type ChainCheck =
  | { ok: true; entries: number; head: string }
  | { ok: false; entries: number; seq: number; problem: 'CHANGED' | 'MISSING_OR_REORDERED' | 'BROKEN_LINK' | 'ANCHOR_MISMATCH' | 'ANCHOR_MISSING' }

/** An entry's seq and hash as the parent holds it (sync/changeset.ts `AuditAnchor`). */
export interface Anchor {
  seq: number
  hash: string
}

/**
 * Pure: walks the entries in storage order (by seq) and checks every link under `key`.
 * - CHANGED: an entry's content no longer matches its hash;
 * - MISSING_OR_REORDERED: seq is not the next number (an entry was deleted or moved);
 * - BROKEN_LINK: prevHash is not the hash of the entry before (deleted and renumbered, or swapped);
 * - ANCHOR_MISMATCH: the entry's hash differs from one the parent was sent (the chain was
 *   rewritten, by someone holding the key);
 * - ANCHOR_MISSING: the parent was sent an entry this log no longer has (deleted from the end).
 * Without anchors, deleting the newest entries leaves a valid shorter chain.
 */
export function verifyAuditChain(rows: readonly AuditRow[], key: Buffer, anchors: readonly Anchor[] = []): ChainCheck {
  const anchored = new Map<number, string[]>()
  for (const a of anchors) anchored.set(a.seq, [...(anchored.get(a.seq) ?? []), a.hash])
  let prev = GENESIS_HASH
  let expectSeq = 1
  for (const r of rows) {
    if (r.seq !== expectSeq) return { ok: false, entries: rows.length, seq: r.seq, problem: 'MISSING_OR_REORDERED' }
    if (r.prevHash !== prev) return { ok: false, entries: rows.length, seq: r.seq, problem: 'BROKEN_LINK' }
    const { seq, prevHash: _p, hash, ...entry } = r
    if (entryHash(key, prev, seq, entry) !== hash) return { ok: false, entries: rows.length, seq: r.seq, problem: 'CHANGED' }
    if (anchored.get(seq)?.some(h => h !== hash)) return { ok: false, entries: rows.length, seq, problem: 'ANCHOR_MISMATCH' }
    prev = hash
    expectSeq++
  }
  const beyond = anchors.reduce((min, a) => (a.seq >= expectSeq && a.seq < min ? a.seq : min), Infinity)
  if (beyond !== Infinity) return { ok: false, entries: rows.length, seq: beyond, problem: 'ANCHOR_MISSING' }
  return { ok: true, entries: rows.length, head: prev }
}

/** Checks the whole log of a node (`xueji audit verify`), against the parent's anchors when given. */
export function verifyAuditLog(storage: Storage, anchors: readonly Anchor[] = []): ChainCheck {
  const rows = (storage.sqlite.prepare('select * from audit_log order by seq').all() as Row[]).map(fromRow)
  return verifyAuditChain(rows, auditKeyOf(storage), anchors)
}

/**
 * `verifyAuditLog` against every anchor the parent holds (`fetchAnchors`: the sync service's
 * `auditAnchors`). When the parent cannot answer (not enrolled, unreachable, refused) the local
 * check still stands and `parentError` says why the parent's was not made.
 */
export async function verifyWithParent(storage: Storage, fetchAnchors: () => Promise<Anchor[]>): Promise<{ check: ChainCheck; anchors: number; parentError: XuejiError | null }> {
  let anchors: Anchor[] = []
  let parentError: XuejiError | null = null
  try {
    anchors = await fetchAnchors()
  } catch (err) {
    if (!(err instanceof XuejiError)) throw err
    parentError = err
  }
  return { check: verifyAuditLog(storage, anchors), anchors: anchors.length, parentError }
}
