/**
 * The child's side of the link to its parent: processors `(data, deps) => result` for the queue
 * workers (sync/queues.ts holds the BullMQ wiring).
 *
 * - `pushOrigin`: sends an origin's unacknowledged change sets, in seq order, and keeps each
 *   parent receipt; a gap answer re-aligns on the parent's expected seq (resend from there, or
 *   take as acknowledged what the parent already holds). Key records still to relay, and a
 *   rotated key still to register, go first.
 * - `pullCommands`: fetches downward commands for this subtree and applies those for this node.
 * - `sendDigest`: the anti-entropy digest, when everything is packed and acknowledged.
 *
 * Per-parent health lives in `sync_link` (failures, next attempt): while the parent is failing,
 * every processor waits out the same backoff instead of each hammering it.
 */
import { XuejiError } from '../config/errors.ts'
import type { Storage } from '../schema/db.ts'
import type { DeathReports } from './death.ts'
import { computeUnits, type DigestResult } from './digest.ts'
import type { Downward } from './downward.ts'
import { finishRotation, isKeyUnknown, learnParentKeys, tokenKid, unregisteredOwnKey, withParentKeys } from './enrolment.ts'
import { syncError } from './errors.ts'
import { isRefusal } from './inbox.ts'
import type { Signer } from './keys.ts'
import { storedChangeSet } from './changeset.ts'
import type { SignedCommand } from './command.ts'
import { verifyReceipt } from './receipt.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import type { Routed } from './routed.ts'
import { loadSignerByKid } from './signers.ts'
import { lap, rounded, STAGE_LOG_MSG, type StageTimes } from './stages.ts'
import type { ParentTransport } from './transport.ts'

/** The logging the sync layer needs (pino and Fastify loggers fit). */
export interface SyncLog {
  info(obj: object, msg?: string): void
  warn(obj: object, msg?: string): void
  error(obj: object, msg?: string): void
  debug(obj: object, msg?: string): void
  child(bindings: Record<string, unknown>): SyncLog
}

export interface UpstreamDeps {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  /** Undefined at the province. */
  transport: ParentTransport | undefined
  downward: Downward
  /** The current signing key (for a rotation's proof). */
  signer(): Promise<Signer>
  retry: { baseMs: number; maxMs: number }
  log: SyncLog
  now?: () => number
  /** Routed messages (sync/routed.ts): those due upward go before change sets. */
  routed?: Routed
  /** The parent refused a change set of `origin` (first time for that seq and code): tell the origin. */
  onHalt?(origin: string, seq: number, err: XuejiError): void
}

/** The link to the parent is in backoff until `until` (epoch ms): the job should wait, not fail. */
export class LinkBackoff extends Error {
  constructor(readonly until: number) {
    super(`parent link in backoff until ${new Date(until).toISOString()}`)
  }
}

/** Delay before attempt number `failures + 1`: exponential, capped, with "equal jitter". */
export function backoffDelay(failures: number, baseMs: number, maxMs: number, random = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30))
  return Math.round(exp / 2 + (random() * exp) / 2)
}

interface LinkRow {
  parent_code: string
  next_attempt_at: number
  failures: number
  command_cursor: number
}

function link(deps: UpstreamDeps): LinkRow & { transport: ParentTransport } {
  const row = deps.storage.sqlite.prepare('select parent_code, next_attempt_at, failures, command_cursor from sync_link where id = 1').get() as LinkRow | undefined
  if (!row || !deps.transport) throw syncError('SYNC_NOT_ENROLLED', `${deps.self.code} is not enrolled under a parent (xueji enroll)`)
  const now = (deps.now ?? Date.now)()
  if (row.next_attempt_at > now) throw new LinkBackoff(row.next_attempt_at)
  return { ...row, transport: deps.transport }
}

/** Whether an error means "the parent is not available right now" (retried with backoff). */
export function isUnavailable(err: unknown): boolean {
  return !(err instanceof XuejiError) || err.statusCode === 429 || err.statusCode >= 500
}

/** Runs `fn` against the parent, keeping the link's health in SQLite. */
async function onLink<T>(deps: UpstreamDeps, fn: (l: ReturnType<typeof link>) => Promise<T>): Promise<T> {
  const l = link(deps)
  const db = deps.storage.sqlite
  try {
    const out = await fn(l)
    {
      deps.storage.write(() => db.prepare('update sync_link set failures = 0, next_attempt_at = 0, last_success_at = ? where id = 1').run(new Date().toISOString()))
    }
    return out
  } catch (err) {
    if (isUnavailable(err) && !(err instanceof LinkBackoff)) {
      const failures = l.failures + 1
      const until = (deps.now ?? Date.now)() + backoffDelay(failures, deps.retry.baseMs, deps.retry.maxMs)
      deps.storage.write(() =>
        db.prepare('update sync_link set failures = ?, next_attempt_at = ?, last_error = ?, last_error_at = ? where id = 1').run(failures, until, (err as Error).message.slice(0, 500), new Date().toISOString()),
      )
      deps.log.warn({ peer: l.parent_code, failures, retryAt: new Date(until).toISOString(), err: (err as Error).message }, 'parent unavailable')
    }
    throw err
  }
}

/**
 * Relays pending key records and finishes a key rotation: both must precede change sets.
 * `origin`: whose change sets follow. A rotation the parent refuses stops only this node's own
 * change sets (signed with the new key, they would be refused too): relaying its children's
 * change sets, reports and messages goes on, all signed with keys the parent knows.
 */
async function prepareLink(deps: UpstreamDeps, l: ReturnType<typeof link>, origin?: string): Promise<void> {
  const rotated = unregisteredOwnKey(deps.storage, deps.self)
  if (rotated) {
    const current = tokenKid(deps.storage, deps.self)
    if (!current) throw syncError('SYNC_NOT_ENROLLED', 'no key of this node is registered at the parent', { node: deps.self.code })
    const [newSigner, currentSigner] = [await loadSignerByKid(deps.storage, rotated.kid), await loadSignerByKid(deps.storage, current)]
    try {
      await finishRotation({ ...deps, transport: l.transport, newSigner, currentSigner }, rotated, l.parent_code)
    } catch (err) {
      if (origin === deps.self.code || !isRefusal(err)) throw err
      deps.log.error({ peer: l.parent_code, code: err.code, details: err.details }, 'key rotation refused by the parent: only this node\'s own change sets wait for it')
    }
  }
  const pending = deps.registry.pendingRelay()
  if (pending.length > 0) {
    await l.transport.request({ type: 'keys.push', records: pending.map(p => p.record) })
    deps.registry.markRelayed(pending)
  }
  // A handoff must reach the tiers above before the new home's rows do.
  if (deps.routed?.anyDue()) await deps.routed.send(l.transport)
}

/**
 * Change sets of one origin in flight to the parent at once. The parent applies them in seq
 * order (sync/inbox.ts waits for earlier arrivals); the HTTP pool (4 connections) and the
 * parent's per-child limit (4) leave a slot for the other queues.
 */
export const PUSH_WINDOW = 3

/**
 * Sends every unacknowledged change set of `origin` to the parent, in order, up to
 * `PUSH_WINDOW` in flight: their answers are taken in seq order, and each one taken makes room
 * for the next change set, so the parent always has the next ones arriving while it applies.
 * After a refused or failed answer the ones still in flight are let settle and sending goes on
 * from the first unacknowledged (`recover`).
 * @throws LinkBackoff (wait), a refusal `XuejiError` (the origin is halted: unrecoverable), or
 *   an unavailability error (retried).
 */
export async function pushOrigin(data: { origin: string }, deps: UpstreamDeps): Promise<{ sent: number; acked: number }> {
  const { origin } = data
  const db = deps.storage.sqlite
  const next = db.prepare('select seq, hash, body, jws, rows, stored_at from sync_change_sets where origin = ? and acked_at is null and seq > ? order by seq limit ?')
  const stamp = db.prepare('update sync_change_sets set sent_at = ? where origin = ? and seq = ?')
  const ack = db.prepare('update sync_change_sets set acked_at = ?, receipt = ? where origin = ? and seq = ? and acked_at is null')
  const relayed = origin !== deps.self.code
  let sent = 0
  let acked = 0
  let keysResent = false
  // The parent's receipts are signed with its current key: after its rotation, learned once here.
  const checkReceipt = (l: ReturnType<typeof link>, receipt: string, cs: StoredChangeSet) =>
    withParentKeys(deps, l.transport, () => verifyReceipt(receipt, deps.registry, { receiver: l.parent_code, origin, seq: cs.seq, hash: cs.hash }))
  return onLink(deps, async l => {
    await prepareLink(deps, l, origin)
    for (;;) {
      const window: InFlight[] = []
      let last = 0
      let started = 0
      /** Tops the window up with the next unacknowledged change sets after the last one sent. */
      const fill = () => {
        const batch = next.all(origin, last, PUSH_WINDOW - window.length) as StoredChangeSet[]
        if (batch.length === 0) return
        const at = new Date().toISOString()
        // Stamped once the requests are on their way: the commit (an fsync) is not in their path.
        // A failed stamp fails their answers, as a failed send does.
        const stamped = new Promise<void>(resolve => setImmediate(resolve))
          .then(() => deps.storage.write(() => batch.forEach(cs => stamp.run(at, origin, cs.seq))))
          .then(() => undefined, (err: unknown) => err)
        for (const cs of batch) {
          const times: StageTimes = { [relayed ? 'relay' : 'enqueue']: Math.max(0, Date.now() - Date.parse(cs.stored_at)) }
          const t0 = performance.now()
          const sending = l.transport.request({ type: 'changeset.push', changeSet: storedChangeSet(cs) }).then(
            value => (lap(times, 'send', t0), { ok: true as const, value }),
            (reason: unknown) => ({ ok: false as const, reason }),
          )
          const answer = Promise.all([sending, stamped]).then(([a, failed]) => (failed === undefined ? a : { ok: false as const, reason: failed }))
          window.push({ cs, times, answer, first: started++ === 0 })
          last = cs.seq
        }
        sent += batch.length
      }
      fill()
      if (window.length === 0) break
      let again = false
      while (window.length > 0) {
        const { cs, times, answer: pending, first } = window.shift()!
        const answer = await pending
        const log = deps.log.child({ peer: l.parent_code, changeSet: `${origin}/${cs.seq}` })
        if (!answer.ok) {
          const err = answer.reason
          // The rest of the window settles first (a later one may still be applied there).
          const settle = () => Promise.all(window.splice(0).map(w => w.answer))
          // A later one refused for order (it overtook an earlier one, or one before it
          // failed): sent again from the first unacknowledged.
          if (!first && err instanceof XuejiError && (err.code === 'SYNC_SEQ_GAP' || err.code === 'SYNC_PREV_MISMATCH')) {
            await settle()
            again = true
            break
          }
          try {
            again = await recover(deps, l, origin, cs.seq, err, log, keysResent)
          } finally {
            await settle()
          }
          keysResent ||= err instanceof XuejiError && err.code === 'SYNC_KEY_UNKNOWN'
          if (again) break
          continue
        }
        const res = answer.value
        const t = performance.now()
        await checkReceipt(l, res.receipt, cs)
        deps.storage.write(() => {
          acked += ack.run(new Date().toISOString(), res.receipt, origin, cs.seq).changes
          db.prepare('delete from sync_halts where origin = ?').run(origin)
        })
        lap(times, 'receipt', t)
        log.debug({ rows: cs.rows, stages: rounded(times) }, STAGE_LOG_MSG)
        fill()
      }
      if (!again) break
    }
    return { sent, acked }
  })
}

/** A stored change set as `pushOrigin` sends it. */
interface StoredChangeSet {
  seq: number
  hash: string
  body: Buffer | string
  jws: string
  rows: number
  stored_at: string
}

/** A change set in flight to the parent, with its answer (never rejects). */
interface InFlight {
  cs: StoredChangeSet
  times: StageTimes
  answer: Promise<{ ok: true; value: { receipt: string } } | { ok: false; reason: unknown }>
  /** The first one sent since sending (re)started from the first unacknowledged. */
  first: boolean
}

/**
 * What a refused or failed send of `origin` seq `seq` means: true to go on from the first
 * unacknowledged change set (the chain was re-aligned, or keys were sent again); otherwise throws
 * (unavailable: retried; a refusal: the origin is halted).
 */
async function recover(deps: UpstreamDeps, l: ReturnType<typeof link>, origin: string, seq: number, err: unknown, log: SyncLog, keysResent: boolean): Promise<boolean> {
  const db = deps.storage.sqlite
  if (!(err instanceof XuejiError) || isUnavailable(err)) throw err
  const expected = err.details?.expectedSeq
  if ((err.code === 'SYNC_SEQ_GAP' || err.code === 'SYNC_PREV_MISMATCH') && typeof expected === 'number' && expected !== seq) {
    if (expected > seq) {
      // The parent already holds these (our receipts were lost in a crash): acknowledged.
      const n = deps.storage.write(() => db.prepare('update sync_change_sets set acked_at = ? where origin = ? and seq < ? and acked_at is null').run(new Date().toISOString(), origin, expected).changes)
      log.info({ expectedSeq: expected, acked: n }, 'parent already holds these change sets')
      return true
    }
    const have = db.prepare('select 1 from sync_change_sets where origin = ? and seq = ?').get(origin, expected)
    if (have) {
      deps.storage.write(() => db.prepare('update sync_change_sets set acked_at = null, receipt = null where origin = ? and seq >= ?').run(origin, expected))
      log.warn({ expectedSeq: expected }, 'parent expects an earlier seq: resending from there')
      return true
    }
  }
  if (err.code === 'SYNC_KEY_UNKNOWN' && !keysResent) {
    deps.storage.write(() => db.prepare('update sync_keys set relayed_at = null where node = ? and parent is not null').run(origin))
    await prepareLink(deps, l, origin)
    return true
  }
  halt(deps, origin, seq, err)
  log.error({ code: err.code, details: err.details }, 'change set refused by the parent: origin halted')
  throw err
}

function halt(deps: UpstreamDeps, origin: string, seq: number, err: XuejiError) {
  const now = (deps.now ?? Date.now)()
  const db = deps.storage.sqlite
  const before = db.prepare('select seq, code from sync_halts where origin = ?').get(origin) as { seq: number; code: string } | undefined
  deps.storage.write(() =>
    db
      .prepare(`insert into sync_halts (origin, seq, code, message, halted_at, last_try_at) values (?, ?, ?, ?, ?, ?)
        on conflict (origin) do update set seq = excluded.seq, code = excluded.code, message = excluded.message, last_try_at = excluded.last_try_at`)
      .run(origin, seq, err.code, err.message.slice(0, 500), new Date(now).toISOString(), now),
  )
  // The halted retries refuse again and again; the origin hears of each refusal once.
  if (before?.seq !== seq || before.code !== err.code) deps.onHalt?.(origin, seq, err)
}

/**
 * Pulls downward commands for this subtree, stores them, applies those addressed here. A command
 * signed with a key not known here (the parent rotated its key) makes this node learn the
 * parent's keys once (`learnParentKeys`; a record its trusted chain does not vouch for fails the
 * pull, nothing skipped) and try again; one still unknown then is not skipped: the cursor stays
 * before it and the next pull asks for it again (the key may be on its way).
 *
 * A parent rebuilt after a restore answers `restored` while this node's cursor is beyond its
 * restore point (downward.ts `pullFor`): this node reports the highest seq it holds of the
 * parent's own commands per destination (`held`), and only then moves its cursor back to the
 * restore point and pulls on from there (what it holds comes again as `duplicate`). In that
 * order: a cursor moved back before the parent has the report would end its hold without it.
 */
export async function pullCommands(_data: Record<string, never>, deps: UpstreamDeps): Promise<{ pulled: number; applied: number }> {
  const db = deps.storage.sqlite
  let pulled = 0
  /** Stores one command; the refusal, if any. */
  const accept = async (command: SignedCommand, from: string): Promise<unknown> => {
    try {
      if ((await deps.downward.accept(command, from)) === 'stored') pulled++
      return undefined
    } catch (err) {
      return err
    }
  }
  // What this node applied, for its parent to keep (a rebuild after a restore takes it back).
  const applied = deps.downward.appliedReport()
  await onLink(deps, async l => {
    let cursor = l.command_cursor
    let learned = false
    let reported = false
    for (let more = true; more; ) {
      const { commands, restored } = await l.transport.request({ type: 'commands.pull', after: cursor, limit: 100, ...(applied ? { applied } : {}) })
      if (restored !== undefined) {
        const from = restored?.after
        if (reported || !Number.isSafeInteger(from) || from < 0 || from >= cursor) {
          throw syncError('SYNC_MALFORMED', `the parent answered restored (after ${String(from)}) to a pull after ${cursor}${reported ? ' that already moved back' : ''}`, { after: cursor, restoredAfter: from ?? null })
        }
        const held = deps.downward.heldReport(l.parent_code)
        if (held) await l.transport.request({ type: 'commands.pull', after: cursor, limit: 1, held })
        deps.log.warn({ peer: l.parent_code, cursor, from, held: held ?? null }, 'the parent was rebuilt after a restore: reported the commands held of it, pulling again from its restore point')
        cursor = from
        deps.storage.write(() => db.prepare('update sync_link set command_cursor = ? where id = 1').run(cursor))
        reported = true
        continue
      }
      more = commands.length === 100
      for (const c of commands) {
        let err = await accept(c.command, l.parent_code)
        if (isKeyUnknown(err) && !learned) {
          learned = true
          if ((await learnParentKeys(deps, l.transport)) > 0) err = await accept(c.command, l.parent_code)
        }
        if (err !== undefined) {
          if (!isRefusal(err)) throw err
          if (isKeyUnknown(err)) {
            // Asked for again at the next pull, never skipped: skipping would lose it for good.
            deps.log.warn({ peer: l.parent_code, command: c.id, code: err.code }, 'downward command signed with a key not known here: waits')
            more = false
            break
          }
          // A command we refuse is logged and skipped: it must not stop the others.
          deps.log.error({ peer: l.parent_code, command: c.id, code: err.code }, 'downward command refused')
        }
        cursor = c.id
      }
      deps.storage.write(() => db.prepare('update sync_link set command_cursor = ? where id = 1').run(cursor))
    }
  })
  return { pulled, applied: deps.downward.applyPending().applied }
}

/**
 * Sends the death reports due to the parent (sync/death.ts), key records first: a relayed
 * report is verified above with its origin's key, which may not have gone up yet.
 */
export async function sendDeathReports(_data: Record<string, never>, deps: UpstreamDeps & { death: DeathReports }): Promise<{ sent: number; refused: number }> {
  return onLink(deps, async l => {
    await prepareLink(deps, l)
    return deps.death.send(l.transport)
  })
}

/** Sends the anti-entropy digest when this node is idle (all packed and acknowledged). */
export async function sendDigest(_data: Record<string, never>, deps: UpstreamDeps): Promise<DigestResult | { result: 'busy' }> {
  const db = deps.storage.sqlite
  const snapshot = db.transaction(() => {
    const busy = db.prepare('select exists(select 1 from outbox where change_set_seq is null) or exists(select 1 from sync_change_sets where origin = ? and acked_at is null) b').get(deps.self.code) as { b: number }
    if (busy.b) return undefined
    const seq = (db.prepare('select coalesce(max(seq), 0) s from sync_change_sets where origin = ?').get(deps.self.code) as { s: number }).s
    return { origin: deps.self.code, seq, units: computeUnits(deps.storage, deps.self.code) }
  })()
  if (!snapshot) return { result: 'busy' }
  return onLink(deps, async l => {
    const res = await l.transport.request({ type: 'digest.push', digest: snapshot })
    deps.storage.write(() => db.prepare('update sync_link set digest_sent_at = ? where id = 1').run(new Date().toISOString()))
    if (res.result === 'drift') deps.log.warn({ peer: l.parent_code, units: res.drift.length }, 'anti-entropy: the parent replica differs')
    return res
  })
}
