import { AsyncLocalStorage } from 'node:async_hooks'
import type { Storage } from '../../schema/db.ts'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'

/**
 * The hash-chained audit log. Each entry's hash covers the previous entry's
 * hash and the canonical JSON of the entry itself, so changing, deleting or reordering any entry
 * breaks the chain from that point on. Entries hold ids and field names, never personal values.
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

export function entryHash(prevHash: string, seq: number, e: AuditEntry): string {
  return sha256Hex(prevHash + canonicalJson({ seq, ...e }))
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
    const hash = entryHash(prevHash, seq, e)
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
  | { ok: false; entries: number; seq: number; problem: 'CHANGED' | 'MISSING_OR_REORDERED' | 'BROKEN_LINK' }

/**
 * Pure: walks the entries in storage order (by seq) and checks every link.
 * - CHANGED: an entry's content no longer matches its hash;
 * - MISSING_OR_REORDERED: seq is not the next number (an entry was deleted or moved);
 * - BROKEN_LINK: prevHash is not the hash of the entry before (deleted and renumbered, or swapped).
 * Deleting the newest entries leaves a valid shorter chain: compare `head` with a copy kept
 * elsewhere (the daily backup) to catch that.
 */
export function verifyAuditChain(rows: readonly AuditRow[]): ChainCheck {
  let prev = GENESIS_HASH
  let expectSeq = 1
  for (const r of rows) {
    if (r.seq !== expectSeq) return { ok: false, entries: rows.length, seq: r.seq, problem: 'MISSING_OR_REORDERED' }
    if (r.prevHash !== prev) return { ok: false, entries: rows.length, seq: r.seq, problem: 'BROKEN_LINK' }
    const { seq, prevHash: _p, hash, ...entry } = r
    if (entryHash(prev, seq, entry) !== hash) return { ok: false, entries: rows.length, seq: r.seq, problem: 'CHANGED' }
    prev = hash
    expectSeq++
  }
  return { ok: true, entries: rows.length, head: prev }
}

/** Checks the whole log of a node (`xueji audit verify`). */
export function verifyAuditLog(storage: Storage): ChainCheck {
  const rows = (storage.sqlite.prepare('select * from audit_log order by seq').all() as Row[]).map(fromRow)
  return verifyAuditChain(rows)
}
