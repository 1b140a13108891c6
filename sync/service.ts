/**
 * The sync service of one node: composes registry, packer, inbox, receiver, downward channel,
 * upstream processors, queues and the reconciler. `node/plugins/sync.ts` exposes it to the app;
 * tests build it directly with an in-memory transport.
 *
 * The reconciler is what makes Redis expendable: at start and every `sync.reconcileIntervalMs`
 * it packs what the outbox holds and re-adds a job for every origin with unacknowledged change
 * sets, pending key records, commands to pull and the digest when due. Job ids are derived from
 * SQLite state (`push-<origin>-<seq>`), so re-adding what exists is a no-op and re-adding what a
 * `FLUSHALL` lost restores it.
 */
import type { Redis } from 'ioredis'
import type { Config } from '../config/schema.ts'
import { releaseFreePages, type Storage } from '../schema/db.ts'
import type { ReplicatedTable } from '../schema/replicated.ts'
import type { AuditAnchor } from './changeset.ts'
import { createApplier, type RowRules } from './apply.ts'
import { createDeathReports, DEATH_ACK, deathAckHandler } from './death.ts'
import { BUILTIN_COMMAND_HANDLERS, createDownward, type CommandHandler } from './downward.ts'
import { FEEDBACK_COMMAND, duplicateEntries, feedbackHandler, recordFeedback, refusalEntries, type FeedbackEntry } from './feedback.ts'
import { enrolWithParent, issueJoinToken, rotateOwnKey, tokenKid } from './enrolment.ts'
import { syncError } from './errors.ts'
import { rebuildFromParent, verifyStored } from './recovery.ts'
import { createInbox, isRefusal } from './inbox.ts'
import { askParent, lookupPerson } from './lookup.ts'
import type { PersonQuery } from './messages.ts'
import { issueNodeToken } from './node-token.ts'
import { packOutbox, serialise } from './packer.ts'
import { openSyncQueues, startSyncWorkers, type SyncQueueName, type SyncQueues } from './queues.ts'
import { createReceiver } from './receiver.ts'
import { createRouted, ROUTED_DELIVER, ROUTED_RESIGN, ROUTED_UNDELIVERABLE, type RoutedHandler } from './routed.ts'
import { createKeyRegistry, type SelfNode } from './registry.ts'
import { keysDirOf, loadSigner, loadSignerByKid, signingKid } from './signers.ts'
import { syncStatus } from './status.ts'
import { createHttpTransport } from './transport-http.ts'
import type { NodeTokenMaker, ParentTransport } from './transport.ts'
import { pullCommands, pushOrigin, sendDeathReports, sendDigest, type SyncLog, type UpstreamDeps } from './upstream.ts'
import { rounded, STAGE_LOG_MSG, type StageTimes } from './stages.ts'
import { within } from '../config/within.ts'

/** How long a token signed ahead waits for its request: well within its 60 s of life. */
const SPARE_TOKEN_MS = 20_000

/** What a node's sync service is built from. */
export interface SyncServiceOptions {
  storage: Storage
  self: SelfNode & { name: string }
  /** The parent's base URL (none for the province); ignored when `transport` is given. */
  parentUrl: string | null
  config: Config['sync']
  log: SyncLog
  /** Redis and the node's key prefix, for the queues; without them nothing is scheduled (CLI use). */
  redis?: Redis
  prefix?: string
  /** Makes the transport instead of HTTP (tests: the in-memory one); gets the node-token maker. */
  makeTransport?: (token: NodeTokenMaker) => ParentTransport
  /** Downward command handlers besides the built-in ones (the workflows register theirs). */
  handlers?: ReadonlyMap<string, CommandHandler>
  /** The domain's handlers of routed messages by type (sync/routed.ts), e.g. the transfers'. */
  routedHandlers?: ReadonlyMap<string, RoutedHandler>
  /** The replicated tables (default: the registry of schema/replicated.ts). */
  tables?: readonly ReplicatedTable[]
  /** The domain's validation and 查重 of replicated rows (node/services/records/replica-rules.ts); `close()` ends their checking thread. */
  rules: RowRules
}

export function createSyncService(opts: SyncServiceOptions) {
  const { storage, self, config, log } = opts
  const terminal = self.tier === 'province'
  /**
   * The key everything but change sets is signed with (receipts, commands, reports, routed
   * messages, children's key records): the newest own key the parent vouches for, else (not
   * enrolled yet, or the province) the current one. A rotated key not registered above yet
   * signs only change sets of its range, which wait for it; nobody could verify the rest.
   */
  const signer = () => loadSignerByKid(storage, tokenKey() ?? '')
  const registry = createKeyRegistry(storage, self, { signer })
  const applier = createApplier(storage, opts.rules, opts.tables)
  const routedHandlers = new Map(opts.routedHandlers ?? [])
  const commandHandlers = new Map([...BUILTIN_COMMAND_HANDLERS, [FEEDBACK_COMMAND, feedbackHandler], [DEATH_ACK, deathAckHandler], ...(opts.handlers ?? [])])
  const downward = createDownward({ storage, self, registry, signer, handlers: commandHandlers })
  const routed = createRouted({ storage, self, registry, downward, signer, handlers: routedHandlers })
  commandHandlers.set(ROUTED_DELIVER, routed.deliverHandler)
  commandHandlers.set(ROUTED_UNDELIVERABLE, routed.undeliverableHandler)
  commandHandlers.set(ROUTED_RESIGN, routed.resignHandler)
  const death = createDeathReports({ storage, self, registry, signer, resendMs: config.deathResendMs })
  let queues: SyncQueues | undefined
  let workers: { close(): Promise<void> } | undefined
  const timers: NodeJS.Timeout[] = []
  let closed = false
  let firstReconcile: Promise<unknown> = Promise.resolve()
  const timed = (origin: string, seq: number, rows: number, times: StageTimes) => log.debug({ changeSet: `${origin}/${seq}`, rows, stages: rounded(times) }, STAGE_LOG_MSG)

  /** The parent's code, once enrolled. */
  const parentCode = () => (storage.sqlite.prepare('select parent_code from sync_link where id = 1').pluck().get() as string | undefined) ?? undefined

  /** The key a node token is signed with: the one the parent knows, else the current one. */
  function tokenKey(): string | undefined {
    return tokenKid(storage, self) ?? signingKid(storage)
  }
  /** A node token for one request to the parent, signed with own key `kid` (default: `tokenKey()`). */
  async function issueToken(kid = tokenKey()): Promise<{ token: string; aud: string; kid: string; at: number }> {
    const aud = parentCode()
    if (!aud) throw new Error('not enrolled')
    if (!kid) throw new Error('this node has no signing key')
    const { privateKey } = await loadSignerByKid(storage, kid)
    return { token: await issueNodeToken({ iss: self.code, aud, kid, privateKey }), aud, kid, at: Date.now() }
  }
  /**
   * Each request takes the token signed while the previous one went (signing is about a quarter
   * of a millisecond in each hop's path otherwise) and leaves the next one signing. A token is
   * taken once, within SPARE_TOKEN_MS of its signing and for the parent and key it was made for;
   * else one is signed there and then. A request that names its key (`kid`, a rotation's retry:
   * enrolment.ts `finishRotation`) gets a token of that key, signed there and then.
   */
  let spare: Promise<Awaited<ReturnType<typeof issueToken>> | undefined> | undefined
  async function token(kid?: string): Promise<string> {
    if (kid !== undefined) return (await issueToken(kid)).token
    const taken = spare
    spare = issueToken().catch(() => undefined)
    const ready = await taken
    if (ready && Date.now() - ready.at < SPARE_TOKEN_MS && ready.aud === parentCode() && ready.kid === tokenKey()) return ready.token
    return (await issueToken()).token
  }

  const transport: ParentTransport | undefined =
    opts.makeTransport?.(token) ?? (opts.parentUrl ? createHttpTransport({ parentUrl: opts.parentUrl, token, timeoutMs: config.requestTimeoutMs }) : undefined)

  // Adds are fire-and-forget (a commit must not wait on Redis) and deduplicated while in flight.
  const adding = new Set<string>()
  function enqueue(queue: SyncQueueName, id: string, data?: Record<string, string>): void {
    if (!queues || closed || adding.has(id)) return
    adding.add(id)
    queues
      .add(queue, id, data)
      .catch(err => log.debug({ err: (err as Error).message, job: id }, 'could not add sync job; the reconciler will'))
      .finally(() => adding.delete(id))
  }
  const enqueuePush = (origin: string, tag: string | number) => {
    if (!terminal) enqueue('push', `push-${origin}-${tag}`, { origin })
  }
  // Pushes run one at a time in this process, whoever asks (the push worker, or `pushNow` right
  // after a change set was stored), as with the worker alone (concurrency 1): the link never has
  // more than PUSH_WINDOW change sets in flight. An origin already waiting its turn is not queued twice.
  let pushChain: Promise<unknown> = Promise.resolve()
  const pushWaiting = new Map<string, Promise<{ sent: number; acked: number }>>()
  function pushSerially(origin: string): Promise<{ sent: number; acked: number }> {
    const waiting = pushWaiting.get(origin)
    if (waiting) return waiting
    const run = pushChain.then(() => {
      pushWaiting.delete(origin)
      return pushOrigin({ origin }, upstreamDeps)
    })
    pushWaiting.set(origin, run)
    pushChain = run.catch(() => undefined)
    return run
  }
  /**
   * A change set of `origin` was stored: sends it now, in this process, instead of through a job
   * (adding a job and a worker taking it are Redis round trips, issue 15 (d)). When the parent is
   * unavailable or the link in backoff, the job takes over with its retries; a refusal has halted
   * the origin (upstream.ts). Without queues (CLI use) nothing is sent, as before.
   */
  const pushNow = (origin: string, tag: string | number) => {
    if (terminal || !queues || closed) return
    pushSerially(origin).catch(err => {
      if (!isRefusal(err)) enqueuePush(origin, tag)
    })
  }
  /** Queues every due death report on the priority queue (job ids from SQLite state). */
  const enqueueDeath = () => {
    if (terminal || !parentCode()) return
    for (const id of death.dueJobs()) enqueue('death', id)
  }

  /**
   * Tells a record's home what this node found: stored here when it is ours, else a downward
   * command (signed, pulled hop by hop). Issued after the commit; a failure is logged, and the
   * quarantine or the problem record stays here for ops and the bureau.
   */
  function report(home: string, entries: FeedbackEntry[]): void {
    if (entries.length === 0) return
    if (home === self.code) {
      storage.write(() => recordFeedback(storage, self.code, entries))
      return
    }
    downward.issue(home, FEEDBACK_COMMAND, { entries }).catch(err => log.warn({ err: (err as Error).message, peer: home }, 'could not issue feedback to the home node'))
  }

  const inbox = createInbox({
    storage,
    self,
    registry,
    applier,
    rules: opts.rules,
    signer,
    terminal,
    onStored: (origin, seq) => pushNow(origin, seq),
    onConflict: c => log.error({ ...c, alarm: true }, 'change-set conflict refused and kept: possible fork, investigate'),
    onRefused: (origin, seq, bad) => report(origin, refusalEntries(seq, bad)),
    onNotices: notices => {
      for (const n of notices) for (const [home, entry] of duplicateEntries(n)) report(home, [entry])
    },
    onTimed: timed,
  })
  const lookup = (q: PersonQuery, except?: SelfNode) => lookupPerson({ storage, transport, enrolled: parentCode() !== undefined }, q, except)
  /** Queues a push of this node's link: routed messages due upward go first (upstream.ts `prepareLink`). */
  const enqueueRouted = () => {
    if (!terminal && parentCode() && routed.anyDue()) enqueuePush(self.code, `routed${Date.now()}`)
  }
  const receiver = createReceiver({ storage, self, registry, inbox, downward, death, routed, signer, terminal, lookup, onKeys: () => enqueuePush(self.code, `keys${Date.now()}`), onDeathReport: enqueueDeath, onRouted: enqueueRouted })

  // Each change set goes as soon as it is stored, while the packer cuts the next one.
  const onPacked = (seq: number, rows: number, times: StageTimes) => {
    timed(self.code, seq, rows, times)
    pushNow(self.code, seq)
  }
  const pack = serialise(() =>
    packOutbox({ storage, self, signerFor: seq => loadSigner(storage, seq), limits: { maxRows: config.maxRows, maxBytes: config.maxBytes }, terminal, stop: () => closed, onStored: onPacked }),
  )

  // A node that only logs (logins, reveals) writes no rows: when it sent nothing for an
  // anti-entropy interval and its audit log moved, an empty change set carries the head up, so
  // the parent's anchor stays recent. Run by the reconciler.
  const anchorAudit = async () => {
    const seqs = await packOutbox({ storage, self, signerFor: seq => loadSigner(storage, seq), limits: { maxRows: config.maxRows, maxBytes: config.maxBytes }, terminal, stop: () => closed }, { anchorIdleMs: config.antiEntropyIntervalMs })
    if (seqs.length > 0) enqueuePush(self.code, seqs[seqs.length - 1])
    return seqs
  }

  // Woken right after each commit that appended outbox rows, debounced to gather a burst.
  let packTimer: NodeJS.Timeout | undefined
  const wake = () => {
    if (packTimer || closed) return
    packTimer = setTimeout(() => {
      packTimer = undefined
      pack().catch(err => log.error({ err: (err as Error).message }, 'packing the outbox failed; the reconciler retries'))
    }, config.debounceMs)
  }
  const unsubscribe = storage.onOutboxCommit(wake)

  const upstreamDeps: UpstreamDeps = {
    storage, self, registry, transport, downward, routed, signer, retry: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs }, log,
    // A whole change set refused above (fork, key, format …): its origin hears it. Row refusals
    // come from the refusing node itself, row by row (inbox `onRefused`).
    onHalt: (origin, seq, err) => {
      if (err.code === 'SYNC_ROW_INVALID' || err.code === 'SYNC_ROW_OUTSIDE_OWNERSHIP') return
      report(origin, [{ kind: 'refused', seq, table: 'sync_change_sets', recordId: `${origin}/${seq}`, code: err.code, reason: 'change set refused by the parent' }])
    },
  }

  /**
   * Deletes outbox rows whose change set the parent acknowledged (at the province: stored),
   * a batch per transaction: the stored change set is what resend and rebuild read, never these.
   * Then, once the outbox is empty, hands the freed pages back to the file system when they are
   * a large part of the file.
   */
  function pruneOutbox(): number {
    const db = storage.sqlite
    const below = db
      .prepare('select coalesce((select min(seq) from sync_change_sets where origin = ? and acked_at is null), (select max(seq) + 1 from sync_change_sets where origin = ?))')
      .pluck()
      .get(self.code, self.code) as number | null
    if (below === null) return 0
    const del = db.prepare('delete from outbox where id in (select id from outbox where change_set_seq is not null and change_set_seq < ? limit 10000)')
    let pruned = 0
    for (;;) {
      const n = storage.write(() => del.run(below).changes)
      if (n === 0) break
      pruned += n
    }
    // While rows wait, the next ones reuse the freed pages: handing them back only for the file to
    // grow again cost a bulk load about a second of this thread per 100,000 rows (bench:sync (e)).
    if (pruned > 0 && !db.prepare('select 1 from outbox limit 1').get()) releaseFreePages(storage)
    return pruned
  }

  /** Rebuilds every job SQLite says is due (see the file comment). */
  async function reconcile(): Promise<void> {
    // First: a death report must not wait behind packing a large outbox.
    enqueueDeath()
    await routed.routePending().catch(err => log.warn({ err: (err as Error).message }, 'routing held messages failed; retried at the next reconcile'))
    enqueueRouted()
    await pack()
    pruneOutbox()
    if (terminal || !parentCode()) return
    await anchorAudit()
    const now = Date.now()
    const db = storage.sqlite
    const due = db.prepare('select origin, max(seq) seq from sync_change_sets where acked_at is null group by origin').all() as { origin: string; seq: number }[]
    for (const { origin, seq } of due) {
      const halt = db.prepare('select last_try_at from sync_halts where origin = ?').pluck().get(origin) as number | undefined
      if (halt !== undefined) {
        // Refused by the parent: offered again only now and then, in case an operator decided.
        if (now - halt < config.haltedRetryMs) continue
        storage.write(() => db.prepare('update sync_halts set last_try_at = ? where origin = ?').run(now, origin))
        enqueuePush(origin, `${seq}-retry${now}`)
        continue
      }
      enqueuePush(origin, seq)
    }
    if (registry.pendingRelay().length > 0) enqueuePush(self.code, 'keys')
  }

  function every(ms: number, fn: () => void): void {
    const t = setInterval(fn, ms)
    t.unref()
    timers.push(t)
  }

  const service = {
    storage,
    self,
    registry,
    inbox,
    receiver,
    downward,
    applier,
    transport,
    pack,
    /** Deletes the outbox rows of acknowledged change sets (also done by the reconciler); returns how many. */
    pruneOutbox,
    /** Packs an empty change set carrying the audit head when it moved and nothing was sent for an anti-entropy interval. */
    anchorAudit,
    reconcile,
    /**
     * 查重 across the federation before registering a person: who outside this node
     * holds this ID number or 学籍号 (this node's own records are the records service's to
     * check); `null` at the province or when nobody does; rejects when the parent cannot be asked.
     */
    askParent: (q: PersonQuery) => askParent({ transport, enrolled: parentCode() !== undefined }, q),
    /** Stores what this node learnt about one of its own records (an entry accepted unchecked). */
    recordFeedback: (entries: FeedbackEntry[]) => storage.write(() => recordFeedback(storage, self.code, entries)),
    /** Runs one upstream step directly (tests, CLI). */
    pushOrigin: (origin: string) => pushOrigin({ origin }, upstreamDeps),
    pullCommands: async () => {
      const out = await pullCommands({}, upstreamDeps)
      await routed.routePending()
      enqueueRouted()
      return out
    },
    sendDeathReports: () => sendDeathReports({}, { ...upstreamDeps, death }),
    /** Death reports: this node's, and those received from below. */
    death,
    /** Routed messages (sync/routed.ts): held, sent and delivered here. */
    routed,
    /** A domain registers its handler of a routed message type (before the first delivery). */
    registerRouted: (type: string, handler: RoutedHandler) => void routedHandlers.set(type, handler),
    /**
     * Call after committing a routed message (`recordRouted`): routes it and queues its push.
     * Routing failures are logged; the reconciler routes it again.
     */
    async routedRecorded(): Promise<void> {
      await routed.routePending().catch(err => log.warn({ err: (err as Error).message }, 'routing a message failed; retried at the next reconcile'))
      enqueueRouted()
    },
    /** Call after committing a death report: queues it on the priority path at once. */
    deathReported: enqueueDeath,
    sendDigest: () => sendDigest({}, upstreamDeps),
    enqueuePush,

    /** Issues a one-time join token for a child (`xueji join-token`). */
    joinToken: (child: { code: string; tier: 'city' | 'county' }, ttlHours?: number) => issueJoinToken(storage, self, child, ttlHours),
    /** Joins the parent with a token from its administrator (`xueji enroll`). */
    async enrol(joinToken: string) {
      if (!transport) throw syncError('SYNC_NOT_ENROLLED', 'the province has no parent to enrol with')
      // The newest own key: re-enrolment registers it even when a rotation to it is pending.
      const s = await loadSigner(storage)
      const publicJwk = JSON.parse(storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').pluck().get(s.kid) as string)
      return enrolWithParent({ storage, self, registry, signer: s, publicJwk, transport, rootKid: config.rootKid }, joinToken)
    },
    /** Rotates this node's key (the parent registers it before the next push). */
    rotateKey: () => rotateOwnKey(storage, self, keysDirOf(storage)),
    /** Re-verifies every stored change set (`xueji sync verify`). */
    verifyStored: () => verifyStored(storage, registry),
    /** Fetches back from the parent what this subtree is missing (`xueji sync rebuild`). */
    rebuild() {
      if (!transport || !parentCode()) throw syncError('SYNC_NOT_ENROLLED', 'not enrolled under a parent')
      return rebuildFromParent({ storage, self, registry, applier, transport, downward })
    },
    /** Every audit anchor of this node the parent holds, in change-set order (`xueji audit verify`). */
    async auditAnchors(): Promise<AuditAnchor[]> {
      if (!transport || !parentCode()) throw syncError('SYNC_NOT_ENROLLED', 'not enrolled under a parent')
      const anchors: AuditAnchor[] = []
      for (let after = 0; ; ) {
        const page = await transport.request({ type: 'audit.anchors', after, limit: 500 })
        anchors.push(...page.anchors.map(a => ({ seq: a.seq, hash: a.hash })))
        if (page.scannedTo === null) return anchors
        after = page.scannedTo
      }
    },
    /** An operator releases a quarantined change set without its bad rows. */
    releaseQuarantine: (origin: string, seq: number, decidedBy: string) => inbox.release(origin, seq, decidedBy),
    /** Marks this node's own change sets from `seq` on as unsent (`xueji sync resend --from`). */
    resendFrom(seq: number, origin = self.code): number {
      const n = storage.write(() => storage.sqlite.prepare('update sync_change_sets set acked_at = null, receipt = null where origin = ? and seq >= ?').run(origin, seq).changes)
      storage.write(() => storage.sqlite.prepare('delete from sync_halts where origin = ?').run(origin))
      enqueuePush(origin, `resend${Date.now()}`)
      return n
    },

    /**
     * Begins a reconcile in the background (the first after start-up): packing a large outbox
     * takes minutes, and the node serves meanwhile. close() waits for it to stop at its next round.
     */
    reconcileInBackground(): void {
      firstReconcile = reconcile().catch(err => log.warn({ err: (err as Error).message }, 'first reconcile failed'))
    },

    /** Starts queues, workers and timers (when Redis was given) and, unless told not to, a first reconcile in the background. */
    async start(startOpts: { reconcile?: boolean } = {}): Promise<void> {
      if (opts.redis && opts.prefix) {
        queues = openSyncQueues(opts.redis, opts.prefix)
        workers = startSyncWorkers(
          opts.redis,
          opts.prefix,
          {
            push: data => pushSerially(data.origin),
            pack: () => pack(),
            pull: async () => {
              // A command applied here may have written routed messages (a transfer's answer).
              const out = await pullCommands({}, upstreamDeps)
              await routed.routePending()
              enqueueRouted()
              return out
            },
            digest: () => sendDigest({}, upstreamDeps),
            death: () => sendDeathReports({}, { ...upstreamDeps, death }),
          },
          log,
          upstreamDeps.retry,
        )
        const safely = (what: string, fn: () => Promise<unknown>) => () => {
          fn().catch(err => log.warn({ err: (err as Error).message }, `${what} failed`))
        }
        every(config.reconcileIntervalMs, safely('reconcile', reconcile))
        every(config.commandPollMs, () => {
          if (!terminal && parentCode()) enqueue('pull', 'pull')
        })
        every(config.antiEntropyIntervalMs, () => {
          if (!terminal && parentCode()) enqueue('digest', `digest-${Math.floor(Date.now() / config.antiEntropyIntervalMs)}`)
        })
      }
      if (startOpts.reconcile !== false) service.reconcileInBackground()
    },

    async status() {
      let counts = null
      if (queues) {
        // Redis may be away: the status must still answer from SQLite.
        counts = (await within(queues.counts().catch(() => null), 1000)) ?? null
      }
      return syncStatus(storage, self, counts)
    },

    async close(): Promise<void> {
      closed = true
      unsubscribe()
      if (packTimer) clearTimeout(packTimer)
      timers.forEach(t => clearInterval(t))
      await workers?.close()
      await queues?.close()
      for (let last; last !== pushChain; ) await (last = pushChain)
      // Let a pack in flight finish its change set (it stops at the next round) before the database closes under it.
      await firstReconcile
      await pack().catch(() => undefined)
      await transport?.close()
      await opts.rules.close?.()
    },
  }
  return service
}

/** A node's sync service. */
export type SyncService = ReturnType<typeof createSyncService>
