/**
 * The receiving end of upward delivery (DESIGN.md §5): the checks in their fixed order, then
 * apply + record `(origin, seq, hash)` in one transaction, then a signed receipt.
 *
 * 1. the sender is an enrolled child (checked by the caller when it authenticated the request);
 * 2. the origin is in the sender's subtree (`SYNC_ORIGIN_OUTSIDE_SUBTREE`);
 * 3. the signature verifies with the origin's registered key (`verifyChangeSet`); a malformed
 *    body its origin signed, in order, is quarantined as well as refused (`SYNC_MALFORMED`);
 * 4. `seq` is the next one (`SYNC_SEQ_GAP` with `expectedSeq`); an applied seq again is a
 *    duplicate (same hash: success, nothing applied) or a conflict (`SYNC_FORK`/`SYNC_SEQ_REPLAY`);
 * 5. `prev` is the hash of the last one applied (`SYNC_PREV_MISMATCH`);
 * 6. every row is within the origin's ownership (`SYNC_ROW_OUTSIDE_OWNERSHIP`) and passes the
 *    API's field validation and applies (`SYNC_ROW_INVALID`); otherwise nothing is applied, the
 *    change set is quarantined and the origin is told which rows and why (`onRefused`).
 *
 * A person that duplicates another node's does not refuse anything: it is applied, and the two
 * homes are told (`onNotices`, 查重 across nodes).
 */
import type { Storage } from '../schema/db.ts'
import { XuejiError } from '../config/errors.ts'
import type { Applier, BadRow, CheckedBody, Prechecked, RowNotice, RowRules } from './apply.ts'
import { inArea } from './area.ts'
import { sha256Hex } from './canonical.ts'
import { assertBodyAgrees, CHANGESET_TYP, packBody, verifyChangeSet, verifyManifest, type ChangeSetBody, type Manifest, type SignedChangeSet } from './changeset.ts'
import { syncError, type SyncErrorCode } from './errors.ts'
import { isPlainObject, isPositiveInt, openCompactJws, verifyJws, type KeyResolver, type Signer } from './keys.ts'
import { signReceipt, type Receipt } from './receipt.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import { lap, type StageTimes } from './stages.ts'

/** What the inbox needs. */
export interface InboxDeps {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  applier: Applier
  /** The rules the applier has: their checking thread, if any, checks large bodies (`verifyReceived`). */
  rules?: Pick<RowRules, 'checkBody'>
  signer(): Promise<Signer>
  /** True at the province: what it accepts goes no further up. */
  terminal: boolean
  /** Called after a change set was stored (to relay it upward). */
  onStored?(origin: string, seq: number): void
  /** Called when a fork or replay is refused: an ops alarm. */
  onConflict?(info: { origin: string; seq: number; code: string }): void
  /** Called after rows of `origin` seq `seq` were refused and quarantined: tell the origin. */
  onRefused?(origin: string, seq: number, bad: readonly BadRow[]): void
  /** Called after a commit whose rows raised notices (duplicates across nodes): tell the homes. */
  onNotices?(notices: readonly RowNotice[]): void
  /** Called after a change set was applied, with the time of its receiving stages (sync/stages.ts). */
  onTimed?(origin: string, seq: number, rows: number, times: StageTimes): void
}

/** A change set the receiver took: its receipt (JWS) and what it was. */
export interface Accepted {
  receipt: string
  status: Receipt['status']
  origin: string
  seq: number
}

/** One receiver per node: serialises change sets of one origin (they must apply in order anyway). */
export function createInbox(deps: InboxDeps) {
  const db = deps.storage.sqlite
  const head = db.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1')
  const held = db.prepare('select hash, prev from sync_change_sets where origin = ? and seq = ?')
  const insert = db.prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const locks = new Map<string, Promise<unknown>>()
  // origin → claimed seq → settles when that arrival is done: a sender may have several change
  // sets of one origin in flight, and a later one that finishes verifying first waits for them.
  const arriving = new Map<string, Map<number, Promise<void>>>()
  // origin → seq → a verified change set waiting for the earlier ones: the one before it applies
  // it in its own transaction when it continues the chain (fewer commits, issue 15).
  const waiting = new Map<string, Map<number, Waiting>>()

  const receipt = async (origin: string, seq: number, hash: string, status: Receipt['status']): Promise<Accepted> => ({
    receipt: await signReceipt({ receiver: deps.self.code, origin, seq, hash, appliedAt: new Date().toISOString(), status }, await deps.signer()),
    status,
    origin,
    seq,
  })

  async function receive(sender: SelfNode, signed: SignedChangeSet): Promise<Accepted> {
    if (!isPlainObject(signed) || typeof signed.jws !== 'string' || typeof signed.body !== 'string') {
      throw syncError('SYNC_MALFORMED', 'a change set needs string body and jws')
    }
    // (2) before any key lookup: who claims to be the origin, and may this child speak for it?
    const claimed = openCompactJws(signed.jws, CHANGESET_TYP).unverifiedPayload.origin
    if (typeof claimed !== 'string' || !inArea(sender, claimed)) {
      throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', `origin ${String(claimed)} is not in the subtree of ${sender.code}`, { origin: claimed ?? null, sender: sender.code })
    }
    const claimedSeq = openCompactJws(signed.jws, CHANGESET_TYP).unverifiedPayload.seq
    const ordered = isPositiveInt(claimedSeq) ? arrival(claimed, claimedSeq) : undefined
    try {
      // (3)
      const times: StageTimes = {}
      let verified: Verified
      try {
        verified = await verifyReceived(signed, deps.registry, deps.rules ?? {}, originOf, times)
      } catch (err) {
        if (err instanceof XuejiError && err.code === 'SYNC_MALFORMED') await holdIfSigned(sender, signed, err)
        throw err
      }
      const { body } = verified
      // Earlier change sets of this origin still arriving go first (they settle, applied or refused).
      if (ordered && body.origin === claimed && body.seq === claimedSeq) {
        const w: Waiting = { sender, signed, v: verified, times, applied: false }
        let mine = waiting.get(body.origin)
        if (!mine) waiting.set(body.origin, (mine = new Map()))
        const first = !mine.has(body.seq)
        if (first) mine.set(body.seq, w)
        try {
          // One turn of the event loop: the sender's other change sets in flight, read meanwhile,
          // are parsed and verified and wait here too, so the first of them applies them all.
          await new Promise(resolve => setImmediate(resolve))
          await ordered.earlier()
        } finally {
          if (first) mine.delete(body.seq)
          if (mine.size === 0 && waiting.get(body.origin) === mine) waiting.delete(body.origin)
        }
        // Applied and recorded in the transaction of the change set before it.
        if (w.applied) return await receiptFor(w)
      }
      return await withLock(body.origin, () => accept(sender, signed, verified, times))
    } finally {
      ordered?.done()
    }
  }

  /** Registers an arrival of `origin` seq `seq`; `earlier()` settles when no earlier one is in flight. */
  function arrival(origin: string, seq: number): { earlier(): Promise<void>; done(): void } {
    let mine = arriving.get(origin)
    if (!mine) arriving.set(origin, (mine = new Map()))
    let done!: () => void
    const settled = new Promise<void>(resolve => (done = resolve))
    mine.set(seq, settled)
    const table = mine
    return {
      async earlier() {
        // Earlier ones never wait for later ones, so this ends.
        for (;;) {
          const waiting = [...table].filter(([s]) => s < seq).map(([, p]) => p)
          if (waiting.length === 0) return
          await Promise.all(waiting)
        }
      },
      done() {
        done()
        if (mine.get(seq) === settled) mine.delete(seq)
        if (mine.size === 0 && arriving.get(origin) === mine) arriving.delete(origin)
      },
    }
  }

  /**
   * A malformed change set that its origin did sign (the manifest verifies and carries the
   * body's hash) and that is the next one in its chain is quarantined like one with bad rows,
   * so ops see why the origin halted; an unsigned or out-of-order one is only refused.
   */
  async function holdIfSigned(sender: SelfNode, signed: SignedChangeSet, err: XuejiError): Promise<void> {
    let manifest: Record<string, unknown>
    let kid: string
    try {
      const claimed = openCompactJws(signed.jws, CHANGESET_TYP).unverifiedPayload
      if (typeof claimed.origin !== 'string' || !isPositiveInt(claimed.seq)) return
      const at = { seq: claimed.seq }
      ;({ payload: manifest, kid } = await verifyJws(signed.jws, { typ: CHANGESET_TYP, keys: deps.registry, signerOf: () => ({ signer: claimed.origin as string, at }) }))
    } catch {
      return
    }
    const { origin, seq, prev, hash } = manifest as { origin: string; seq: number; prev: unknown; hash: unknown }
    if (hash !== sha256Hex(signed.body)) return
    await withLock(origin, async () => {
      const last = head.get(origin) as { seq: number; hash: string } | undefined
      if ((last?.seq ?? 0) + 1 !== seq || (last?.hash ?? null) !== prev) return
      const reason = typeof err.details?.reason === 'string' ? err.details.reason : err.message.slice(0, 200)
      quarantine(origin, seq, hash, signed, kid, [{ index: -1, table: '', key: {}, code: 'SYNC_MALFORMED', reason }], sender.code)
    })
  }

  /** The origin's node as the applier and the field checks judge it. */
  function originOf(code: string): SelfNode {
    return { code, tier: deps.registry.tierOf(code) ?? 'county' }
  }

  async function accept(sender: SelfNode, signed: SignedChangeSet, v: Verified, times: StageTimes): Promise<Accepted> {
    const { body, kid, prechecked } = v
    const { hash, bytes } = v.manifest
    const { origin, seq } = body
    let t = performance.now()
    const last = head.get(origin) as { seq: number; hash: string } | undefined
    const expected = (last?.seq ?? 0) + 1
    // (4)
    if (seq < expected) {
      const mine = held.get(origin, seq) as { hash: string; prev: string | null }
      if (mine.hash === hash) return receipt(origin, seq, hash, 'duplicate')
      // Same predecessor, other content: the origin signed two histories (a fork). Otherwise
      // an old seq number arrives out of any chain we know: a replay.
      const code = mine.prev === body.prev ? 'SYNC_FORK' : 'SYNC_SEQ_REPLAY'
      deps.storage.write(() =>
        db
          .prepare(`insert into sync_conflicts (origin, seq, hash, held_hash, code, body, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
            on conflict (origin, seq, hash) do update set count = count + 1, received_at = excluded.received_at`)
          .run(origin, seq, hash, mine.hash, code, signed.body, signed.jws, sender.code, new Date().toISOString()),
      )
      deps.onConflict?.({ origin, seq, code })
      throw syncError(code, `seq ${seq} of ${origin} is already applied with another hash`, { origin, seq, expectedSeq: expected })
    }
    if (seq > expected) throw syncError('SYNC_SEQ_GAP', `expected seq ${expected} of ${origin}, got ${seq}`, { origin, expectedSeq: expected })
    // (5)
    if ((last?.hash ?? null) !== body.prev) {
      throw syncError('SYNC_PREV_MISMATCH', `prev of ${origin} seq ${seq} is not the hash of seq ${seq - 1}`, { origin, expectedSeq: expected })
    }
    // (6) + record, in one transaction, with the verified change sets of this origin that wait
    // for this one and continue its chain (each checked and recorded as if it came alone). A bad
    // row among those followers undoes the group, and this one goes alone: they come after it.
    const originNode = originOf(origin)
    const now = new Date().toISOString()
    let bad: BadRow[] = []
    let notices: RowNotice[] = []
    const stored = v.stored ?? signed.packed ?? packBody(signed.body)
    let group = followers(origin, seq, hash)
    const packed = group.map(f => f.v.stored ?? f.signed.packed ?? packBody(f.signed.body))
    try {
      t = lap(times, 'check', t)
      for (;;) {
        try {
          deps.storage.write(() => {
            const result = deps.applier.apply(body.rows, originNode, undefined, prechecked)
            if (result.bad.length > 0) {
              bad = result.bad
              throw new RollBack()
            }
            notices = result.notices
            insert.run(origin, seq, hash, body.prev, stored, signed.jws, kid, body.rows.length, bytes, body.createdAt, sender.code, now, deps.terminal ? now : null)
            group.forEach((f, i) => {
              const r = deps.applier.apply(f.v.body.rows, originNode, undefined, f.v.prechecked)
              if (r.bad.length > 0) throw new GroupRollBack()
              notices.push(...r.notices)
              insert.run(origin, f.v.body.seq, f.v.manifest.hash, f.v.body.prev, packed[i], f.signed.jws, f.v.kid, f.v.body.rows.length, f.v.manifest.bytes, f.v.body.createdAt, f.sender.code, now, deps.terminal ? now : null)
            })
            t = lap(times, 'apply', t)
          })
          break
        } catch (err) {
          if (!(err instanceof GroupRollBack)) throw err
          group = []
        }
      }
      t = lap(times, 'commit', t)
      for (const f of group) f.applied = true
    } catch (err) {
      if (!(err instanceof RollBack)) throw err
      quarantine(origin, seq, hash, signed, kid, bad, sender.code)
      deps.onRefused?.(origin, seq, bad)
      const code = bad.some(b => b.code === 'SYNC_ROW_OUTSIDE_OWNERSHIP') ? 'SYNC_ROW_OUTSIDE_OWNERSHIP' : 'SYNC_ROW_INVALID'
      throw syncError(code, `${bad.length} row(s) of ${origin} seq ${seq} refused and quarantined`, {
        origin,
        seq,
        rows: bad.slice(0, 20).map(b => ({ index: b.index, table: b.table, reason: b.reason, code: b.code })),
      })
    }
    if (notices.length > 0) deps.onNotices?.(notices)
    deps.onStored?.(origin, seq)
    for (const f of group) deps.onStored?.(origin, f.v.body.seq)
    const out = await receipt(origin, seq, hash, 'applied')
    lap(times, 'receipt', t)
    deps.onTimed?.(origin, seq, body.rows.length, times)
    return out
  }

  /** The verified change sets waiting right after `seq` of `origin`, in order, each continuing the chain. */
  function followers(origin: string, seq: number, hash: string): Waiting[] {
    const mine = waiting.get(origin)
    const out: Waiting[] = []
    for (let prev = hash; mine && out.length < GROUP_MAX; ) {
      const f = mine.get(seq + out.length + 1)
      if (!f || f.applied || f.v.body.prev !== prev) break
      out.push(f)
      prev = f.v.manifest.hash
    }
    return out
  }

  /** The receipt of a change set applied in its predecessor's transaction. */
  async function receiptFor(w: Waiting): Promise<Accepted> {
    const t = performance.now()
    const out = await receipt(w.v.body.origin, w.v.body.seq, w.v.manifest.hash, 'applied')
    lap(w.times, 'receipt', t)
    deps.onTimed?.(w.v.body.origin, w.v.body.seq, w.v.body.rows.length, w.times)
    return out
  }

  function quarantine(origin: string, seq: number, hash: string, signed: SignedChangeSet, kid: string, bad: readonly (Omit<BadRow, 'code'> & { code: SyncErrorCode })[], from: string) {
    deps.storage.write(() =>
      db
        .prepare(`insert into sync_quarantine (origin, seq, hash, body, jws, kid, bad_rows, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
          on conflict do update set bad_rows = excluded.bad_rows, received_at = excluded.received_at where status = 'held'`)
        .run(origin, seq, hash, signed.body, signed.jws, kid, JSON.stringify(bad), from, new Date().toISOString()),
    )
  }

  /**
   * An operator's decision on a quarantined change set: apply it without its bad rows (and
   * without rows that then fail because they depended on them), record it, and so let the
   * origin's chain go on. Its signature and chain position are checked again first.
   */
  async function release(origin: string, seq: number, decidedBy: string): Promise<{ skipped: number }> {
    const row = db.prepare("select hash, body, jws, kid, bad_rows, received_from from sync_quarantine where origin = ? and seq = ? and status = 'held' order by received_at desc limit 1").get(origin, seq) as
      | { hash: string; body: string; jws: string; kid: string; bad_rows: string; received_from: string }
      | undefined
    if (!row) throw syncError('SYNC_QUARANTINE_NOT_FOUND', `no held change set ${origin} seq ${seq}`, { origin, seq })
    const { body, manifest, kid } = await verifyChangeSet({ body: row.body, jws: row.jws, hash: row.hash }, deps.registry)
    const stored = packBody(row.body)
    return withLock(origin, async () => {
      const last = head.get(origin) as { seq: number; hash: string } | undefined
      if ((last?.seq ?? 0) + 1 !== seq || (last?.hash ?? null) !== body.prev) {
        throw syncError('SYNC_SEQ_GAP', `${origin} seq ${seq} is not the next change set to apply here`, { origin, expectedSeq: (last?.seq ?? 0) + 1 })
      }
      const skip = new Set<number>((JSON.parse(row.bad_rows) as BadRow[]).map(b => b.index))
      const originNode = originOf(origin)
      const now = new Date().toISOString()
      let notices: RowNotice[] = []
      for (let round = 0; round <= body.rows.length; round++) {
        const done = tryWrite(() => {
          const result = deps.applier.apply(body.rows, originNode, skip)
          if (result.bad.length > 0) {
            result.bad.forEach(b => skip.add(b.index))
            throw new RollBack()
          }
          notices = result.notices
          insert.run(origin, seq, manifest.hash, body.prev, stored, row.jws, kid, body.rows.length, manifest.bytes, body.createdAt, row.received_from, now, deps.terminal ? now : null)
          db.prepare("update sync_quarantine set status = 'released', decided_at = ?, decided_by = ? where origin = ? and seq = ? and status = 'held'").run(now, decidedBy, origin, seq)
        })
        if (done) break
      }
      if (notices.length > 0) deps.onNotices?.(notices)
      deps.onStored?.(origin, seq)
      return { skipped: skip.size }
    })
  }

  function tryWrite(fn: () => void): boolean {
    try {
      deps.storage.write(fn)
      return true
    } catch (err) {
      if (err instanceof RollBack) return false
      throw err
    }
  }

  function withLock<T>(origin: string, fn: () => Promise<T>): Promise<T> {
    const before = locks.get(origin) ?? Promise.resolve()
    const run = before.then(fn, fn)
    const tail = run.catch(() => undefined)
    locks.set(origin, tail)
    void tail.then(() => {
      if (locks.get(origin) === tail) locks.delete(origin)
    })
    return run
  }

  return { receive, release }
}

/** The inbox of one node. */
export type Inbox = ReturnType<typeof createInbox>

/** Bodies of at least this many characters (about 50 students) go to the rules' checking thread; smaller ones cost less than the hop. */
export const CHECK_THREAD_MIN_CHARS = 64 * 1024

/**
 * A received change set, verified; from the checking thread also `prechecked`, its rows' findings,
 * and `stored`, the body as stored (`packBody`).
 */
export type Verified = Awaited<ReturnType<typeof verifyChangeSet>> & { prechecked?: Prechecked; stored?: Uint8Array }

/**
 * `verifyChangeSet`'s checks of a received change set, the body's half on the rules' checking
 * thread when they have one and the body is large (`RowRules.checkBody`, with the field checks
 * of its rows): the signature here, the hash, canonical form, shape and field checks there,
 * while this thread applies what came before; then the text, found canonical, parsed here again.
 * A failure of the thread itself (not a refusal) falls back to checking here.
 */
export async function verifyReceived(signed: SignedChangeSet, keys: KeyResolver, rules: Pick<RowRules, 'checkBody'>, originOf: (code: string) => SelfNode, times: StageTimes): Promise<Verified> {
  if (!rules.checkBody || typeof signed?.body !== 'string' || signed.body.length < CHECK_THREAD_MIN_CHARS) return verifyChangeSet(signed, keys, times)
  const { manifest, kid } = await verifyManifest(signed, keys, times)
  let checked: CheckedBody
  try {
    checked = await rules.checkBody(signed, manifest, originOf(manifest.origin))
  } catch (err) {
    if (err instanceof XuejiError) throw err
    return verifyChangeSet(signed, keys, times)
  }
  // The checking thread's time, in the stages it would have taken here (field checks: apply; compressing: check).
  times.verify = (times.verify ?? 0) + checked.ms.verify
  times.parse = (times.parse ?? 0) + checked.ms.parse
  times.apply = (times.apply ?? 0) + checked.ms.fields
  times.check = (times.check ?? 0) + checked.ms.pack
  const t = performance.now()
  const body = JSON.parse(signed.body) as ChangeSetBody
  lap(times, 'parse', t)
  assertBodyAgrees(body, manifest as Manifest)
  return { body, manifest, kid, prechecked: checked.prechecked, ...(checked.stored ? { stored: checked.stored } : {}) }
}

/** Thrown inside an apply transaction to roll it back (bad rows). */
class RollBack extends Error {}

/** Thrown inside a group's transaction when a follower has bad rows: the first goes alone. */
class GroupRollBack extends Error {}

/** Most change sets of one origin applied and recorded in one transaction. */
const GROUP_MAX = 8

/** A verified change set waiting for the earlier ones of its origin (see `followers`). */
interface Waiting {
  sender: SelfNode
  signed: SignedChangeSet
  v: Verified
  times: StageTimes
  /** Set when the change set before it applied and recorded it in its transaction. */
  applied: boolean
}

/** Whether an error is a refusal of the change set by its content (never retried by the sender). */
export function isRefusal(err: unknown): err is XuejiError {
  return err instanceof XuejiError && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 429
}
