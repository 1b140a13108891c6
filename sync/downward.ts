/**
 * Downward commands (DESIGN.md §6): issuing, relaying and applying signed commands.
 *
 * The downward hop is PULL: a child asks its parent for commands addressed to its subtree
 * (`commands.pull`, every `sync.commandPollMs`), because a county node is often behind NAT or a
 * firewall that the city cannot reach, while the child can always reach its parent (it pushes
 * change sets there anyway). Each hop verifies the issuer's signature, stores the command
 * unaltered, and either applies it (it is the destination) or holds it for its own children.
 *
 * Exactly once: a command is identified by (issuer, destination, seq); it is stored once (a
 * different body under a used seq is refused) and applied in seq order per issuer, the handler's
 * writes and the `applied_at` mark in one transaction.
 *
 * Across a restore (R-26.2, R-D.8): a node restored from a backup holds the backup's pull cursor
 * and `sync_commands`, so it pulls again the commands it had applied after the backup. So each
 * pull reports, per issuer, the highest seq applied here (`appliedReport`, when every write made
 * so far is held by the parent); the parent keeps the highest reported (`recordApplied`,
 * `sync_commands_applied`) and gives it back to `xueji sync rebuild` (`reportedApplied`,
 * `takeBackApplied`). A command pulled again at or below that seq is stored with the result
 * `{ status: 'applied', beforeRestore: true }` and not run again: its writes came back with the
 * rebuild as this node's own change sets. Except the handlers in `RERUN_AFTER_RESTORE`, whose
 * effects are local to this node and were lost with the restore.
 *
 * A restored ISSUER (R-26.2, R-D.8; a province or a city): its `sync_commands` are the backup's
 * too, so it would issue again seqs its children already hold (refused below,
 * `SYNC_COMMAND_REPLAY`) and store commands under local ids its children's pull cursors have
 * passed (skipped). So the restore (and a city's rebuild after it) holds issuing to each child's
 * subtree (`holdIssuing`, `sync_issue_holds`, `SYNC_ISSUE_HELD`) until the child has pulled again
 * (`pullFor`): a child whose cursor is beyond the restore point is answered `restored` instead of
 * commands, reports per destination the highest seq it holds of this node's commands
 * (`heldReport`, kept in `sync_commands_held`; `issue` takes a seq above it) and pulls again from
 * the restore point (`duplicate` for what it holds); a pull from there or before ends the hold.
 * An operator may lift the hold on a child that will not pull again (`releaseHold`).
 */
import { XuejiError } from '../config/errors.ts'
import type { Storage } from '../schema/db.ts'
import { childTier, inArea, isBelow } from './area.ts'
import { COMMAND_TYP, signCommand, verifyCommand, type Command, type SignedCommand } from './command.ts'
import { syncError } from './errors.ts'
import { openCompactJws, type Signer } from './keys.ts'
import { formatApplied, type FederationResponses } from './messages.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'

/**
 * Applies one command type at its destination, inside the transaction that marks it applied:
 * synchronous, writing through the same domain code as a local user would (outbox included,
 * so the result travels upward like any other change). Throw a `XuejiError` to refuse it: the
 * refusal is the command's recorded result.
 */
export type CommandHandler = (command: Command, ctx: { storage: Storage; self: SelfNode }) => Record<string, unknown> | void

/** Handlers every node has: `sync.ping` proves the channel end to end and answers `{ pong: true }`. */
export const BUILTIN_COMMAND_HANDLERS: ReadonlyMap<string, CommandHandler> = new Map([['sync.ping', () => ({ pong: true })]])

/**
 * Command types run again when pulled again after a restore, although applied before it (see the
 * top of this file): their effects are local to the destination, not in any change set, so the
 * rebuild did not bring them back, and each is safe to run twice.
 * - `sync.ping`: no effect; its answer is the result.
 * - `sync.feedback` (feedback.ts): stores `sync_feedback` rows, local (`on conflict do nothing`).
 * - `death.ack` (death.ts): the applied command row is the acknowledgement; it only checks that
 *   the report is this node's.
 * - `routed.resign` (routed.ts): clears this node's copy of its message (`sync_routed`, local) so
 *   that it is signed again and sent; a parent holding it takes the new signature or answers duplicate.
 * - `routed.undeliverable` (routed.ts): marks the message (`sync_routed`, local) and tells the
 *   domain, whose handler acts only on a transfer still open (node/transfers/service.ts).
 * Every other type, the domain's included (`records.correct`, `change_requests.decide`,
 * `routed.deliver`), is not run again: its writes go through the outbox and came back with the
 * rebuild, and running it on them refuses it or answers a refusal (a transfer request re-run at a
 * restored sending node would close the receiving side's transfer). What such a handler kept only
 * locally (a delivered routed message's `sync_routed` row, a transfer's local row) is not restored.
 */
export const RERUN_AFTER_RESTORE: ReadonlySet<string> = new Set(['sync.ping', 'sync.feedback', 'death.ack', 'routed.resign', 'routed.undeliverable'])

/** An issuer's highest command seq applied at a node. */
export interface AppliedSeq {
  issuer: string
  seq: number
}

/** The highest seq of this node's commands to `destination` that a child holds. */
export interface HeldSeq {
  destination: string
  seq: number
}

export interface DownwardDeps {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  signer(): Promise<Signer>
  handlers: ReadonlyMap<string, CommandHandler>
}

export function createDownward(deps: DownwardDeps) {
  const { storage, self } = deps
  const db = storage.sqlite
  const insert = db.prepare(`insert into sync_commands (issuer, destination, seq, type, hash, body, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const byKey = db.prepare('select hash from sync_commands where issuer = ? and destination = ? and seq = ?')

  const holdRow = db.prepare('select from_id fromId from sync_issue_holds where child = ?')
  const heldFloor = db.prepare('select seq from sync_commands_held where destination = ?').pluck()
  const lastIssued = db.prepare('select coalesce(max(seq), 0) from sync_commands where issuer = ? and destination = ?').pluck()
  const tierBelow = childTier(self.tier) ?? 'county'

  const heldChildren = db.prepare('select child from sync_issue_holds order by child').pluck()
  const keepHeld = db.prepare(`insert into sync_commands_held (destination, seq, reported_by, reported_at) values (?, ?, ?, ?)
    on conflict (destination) do update set seq = excluded.seq, reported_by = excluded.reported_by, reported_at = excluded.reported_at where excluded.seq > sync_commands_held.seq`)

  /** The child whose subtree holds `destination` and to which issuing is held (a restore), if any. */
  function heldBy(destination: string): string | undefined {
    return (heldChildren.all() as string[]).find(child => inArea({ code: child, tier: tierBelow }, destination))
  }

  /** The highest seq to `destination` issued here or reported held by a child: the next goes above it. */
  const seqFloor = (destination: string): number => Math.max(lastIssued.get(self.code, destination) as number, (heldFloor.get(destination) as number | undefined) ?? 0)

  /**
   * Issues a command from this node to `destination` (a node below it): seq one above every one
   * issued here and every one a child reported holding (`sync_commands_held`). Refused while the
   * child whose subtree holds `destination` has not reported since a rebuild (`SYNC_ISSUE_HELD`).
   */
  async function issue(destination: string, type: string, payload: Record<string, unknown>): Promise<{ seq: number }> {
    if (!isBelow(self, destination)) throw syncError('SYNC_COMMAND_NOT_FOR_ME', `${destination} is not below ${self.code}`, { destination })
    for (;;) {
      const child = heldBy(destination)
      if (child !== undefined) {
        throw syncError('SYNC_ISSUE_HELD', `${self.code} was restored from a backup: it issues to ${destination} once ${child} has pulled and told which of its commands it holds`, { child, destination })
      }
      const seq = seqFloor(destination) + 1
      const cmd: Command = { format: 1, issuer: self.code, destination, seq, type, createdAt: new Date().toISOString(), payload }
      const signed = await signCommand(cmd, await deps.signer())
      const stored = storage.write(() => {
        if (byKey.get(self.code, destination, seq)) return false
        insert.run(self.code, destination, seq, type, signed.hash, signed.body, signed.jws, null, new Date().toISOString())
        return true
      })
      if (stored) return { seq }
    }
  }

  /**
   * Signs again with `signer` (this node's new key, now vouched for above) every command this node
   * issued with another key, pulled or not: the tiers above close the old key, and a child that
   * learns so would refuse a command signed with it for ever (`SYNC_KEY_UNKNOWN` is asked again,
   * never skipped). Body, hash and seq stay, only the signature changes: a child holding the
   * command already answers `duplicate`. Commands relayed here keep their issuer's signature.
   * Returns how many.
   */
  async function resignIssued(signer: Signer): Promise<number> {
    const page = db.prepare('select id, hash, body, jws from sync_commands where issuer = ? and id > ? order by id limit 500')
    const update = db.prepare('update sync_commands set jws = ? where id = ? and hash = ?')
    let n = 0
    for (let after = 0; ; ) {
      const rows = page.all(self.code, after) as { id: number; hash: string; body: string; jws: string }[]
      if (rows.length === 0) return n
      after = rows[rows.length - 1].id
      const again: { id: number; hash: string; jws: string }[] = []
      for (const r of rows) {
        if (openCompactJws(r.jws, COMMAND_TYP).header.kid === signer.kid) continue
        // The body is canonical JSON: signing its parse gives the same body and hash.
        const signed = await signCommand(JSON.parse(r.body) as Command, signer)
        again.push({ id: r.id, hash: signed.hash, jws: signed.jws })
      }
      n += storage.write(() => again.reduce((k, a) => k + update.run(a.jws, a.id, a.hash).changes, 0))
    }
  }

  /** Takes a command pulled from the parent: verified, for this subtree, stored once. */
  async function accept(signed: SignedCommand, from: string): Promise<'stored' | 'duplicate'> {
    const { command } = await verifyCommand(signed, deps.registry)
    if (!inArea(self, command.destination)) {
      throw syncError('SYNC_COMMAND_NOT_FOR_ME', `command for ${command.destination} reached ${self.code}`, { destination: command.destination })
    }
    // The issuer must be above us: a command may only come down.
    if (!isBelow({ code: command.issuer, tier: deps.registry.tierOf(command.issuer) ?? 'county' }, self.code)) {
      throw syncError('SYNC_COMMAND_NOT_FOR_ME', `command issued by ${command.issuer}, which is not above ${self.code}`, { issuer: command.issuer })
    }
    return storage.write(() => {
      const held = byKey.get(command.issuer, command.destination, command.seq) as { hash: string } | undefined
      if (held) {
        if (held.hash === signed.hash) return 'duplicate'
        throw syncError('SYNC_COMMAND_REPLAY', `command seq ${command.seq} from ${command.issuer} to ${command.destination} already used`, { issuer: command.issuer, seq: command.seq })
      }
      insert.run(command.issuer, command.destination, command.seq, command.type, signed.hash, signed.body, signed.jws, from, new Date().toISOString())
      return 'stored'
    })
  }

  /** Applies, in seq order per issuer, every command addressed to this node not yet applied. */
  function applyPending(): { applied: number; waiting: { issuer: string; seq: number; code: string }[] } {
    const pending = db
      .prepare('select id, issuer, seq, type, body from sync_commands where destination = ? and applied_at is null order by issuer, seq')
      .all(self.code) as { id: number; issuer: string; seq: number; type: string; body: string }[]
    const lastApplied = db.prepare('select coalesce(max(seq), 0) s from sync_commands where issuer = ? and destination = ? and applied_at is not null').pluck()
    const markApplied = db.prepare('update sync_commands set applied_at = ?, result = ?, error_code = null, error_message = null where id = ? and applied_at is null')
    const markError = db.prepare('update sync_commands set error_code = ?, error_message = ? where id = ?')
    // What this node had applied before a restore, as its parent gave it back at the rebuild.
    const before = new Map(reportedApplied(self.code).map(a => [a.issuer, a.seq]))
    let applied = 0
    const waiting: { issuer: string; seq: number; code: string }[] = []
    const blocked = new Set<string>()
    for (const c of pending) {
      if (blocked.has(c.issuer)) continue
      if (c.seq !== (lastApplied.get(c.issuer, self.code) as number) + 1) {
        // An earlier command of this issuer has not arrived yet: wait, in order.
        blocked.add(c.issuer)
        waiting.push({ issuer: c.issuer, seq: c.seq, code: 'SYNC_SEQ_GAP' })
        continue
      }
      if (c.seq <= (before.get(c.issuer) ?? 0) && !RERUN_AFTER_RESTORE.has(c.type)) {
        // Applied before the restore; its writes came back with the rebuild: not run again.
        storage.write(() => markApplied.run(new Date().toISOString(), JSON.stringify({ status: 'applied', beforeRestore: true }), c.id))
        applied++
        continue
      }
      const handler = deps.handlers.get(c.type)
      if (!handler) {
        markError.run('SYNC_COMMAND_UNKNOWN_TYPE', `no handler for command type ${c.type}`, c.id)
        blocked.add(c.issuer)
        waiting.push({ issuer: c.issuer, seq: c.seq, code: 'SYNC_COMMAND_UNKNOWN_TYPE' })
        continue
      }
      const command = JSON.parse(c.body) as Command
      try {
        storage.write(() => {
          let result: Record<string, unknown>
          try {
            result = { status: 'applied', ...(handler(command, { storage, self }) ?? {}) }
          } catch (err) {
            // A domain refusal is a definite answer: recorded as the result, the chain goes on.
            if (!(err instanceof XuejiError)) throw err
            result = { status: 'refused', code: err.code, message: err.message }
          }
          markApplied.run(new Date().toISOString(), JSON.stringify(result), c.id)
        })
        applied++
      } catch (err) {
        markError.run('INTERNAL', (err as Error).message, c.id)
        blocked.add(c.issuer)
        waiting.push({ issuer: c.issuer, seq: c.seq, code: 'INTERNAL' })
      }
    }
    return { applied, waiting }
  }

  /**
   * At a parent, a child's `commands.pull` (after what it applied was recorded): what it reports
   * holding of this node's commands (`held`) is kept, then, while issuing to its subtree is held
   * (`holdIssuing`): a cursor beyond the restore point is answered `restored` (the child reports
   * and pulls again from there), one at it or before ends the hold (that child never pulled a
   * command the backup does not hold, or has reported). Else the commands after `after`.
   */
  function pullFor(child: SelfNode, after: number, limit: number, held?: readonly HeldSeq[]): FederationResponses['commands.pull'] {
    if (held) recordHeld(child, held)
    const hold = holdRow.get(child.code) as { fromId: number } | undefined
    if (hold) {
      if (after > hold.fromId) return { commands: [], restored: { after: hold.fromId } }
      storage.write(() => db.prepare('delete from sync_issue_holds where child = ?').run(child.code))
    }
    return { commands: listFor(child, after, limit) }
  }

  /** At a parent: the highest seqs `child` holds of this node's commands; kept when above what is issued or kept here. */
  function recordHeld(child: SelfNode, held: readonly HeldSeq[]): void {
    const outside = held.find(h => !inArea(child, h.destination))
    if (outside) throw syncError('SYNC_COMMAND_NOT_FOR_ME', `${child.code} reports holding commands to ${outside.destination}, outside its subtree`, { destination: outside.destination })
    const higher = held.filter(h => h.seq > seqFloor(h.destination))
    if (higher.length === 0) return
    const now = new Date().toISOString()
    storage.write(() => {
      for (const h of higher) keepHeld.run(h.destination, h.seq, child.code, now)
    })
  }

  /**
   * An operator's release of the hold on `child`'s subtree (`xueji sync release-hold`), for a child
   * that will not pull again: issuing to its subtree resumes without its report, so a new command
   * may reuse a seq it holds or be stored under a local id its cursor has passed. Returns the hold
   * lifted. @throws SYNC_NOT_CHILD (not an enrolled child), SYNC_ISSUE_HOLD_NOT_FOUND (not held)
   */
  function releaseHold(child: string): { child: string; fromId: number; heldAt: string } {
    return storage.write(() => {
      if (!db.prepare('select 1 from sync_children where code = ?').get(child)) {
        const children = db.prepare('select code from sync_children order by code').pluck().all() as string[]
        throw syncError('SYNC_NOT_CHILD', `${child} is not an enrolled child of ${self.code} (its children: ${children.join(', ') || 'none'})`, { child })
      }
      const hold = db.prepare('select from_id fromId, held_at heldAt from sync_issue_holds where child = ?').get(child) as { fromId: number; heldAt: string } | undefined
      if (!hold) throw syncError('SYNC_ISSUE_HOLD_NOT_FOUND', `issuing to ${child}'s subtree is not held here (it has pulled since the restore, or the hold was released)`, { child })
      db.prepare('delete from sync_issue_holds where child = ?').run(child)
      return { child, ...hold }
    })
  }

  /**
   * At a child whose parent answered `restored`: per destination, the highest seq held here of
   * the parent's own commands, in the wire form (`formatApplied`); undefined when none is held.
   */
  function heldReport(parent: string): string | undefined {
    const rows = db.prepare('select destination, max(seq) seq from sync_commands where issuer = ? group by destination order by destination').all(parent) as HeldSeq[]
    return rows.length > 0 ? formatApplied(rows.map(r => ({ issuer: r.destination, seq: r.seq }))) : undefined
  }

  /** Commands held here for `child`'s subtree after the local id `after`. */
  function listFor(child: SelfNode, after: number, limit: number): { id: number; command: SignedCommand }[] {
    const rows = db.prepare('select id, destination, hash, body, jws from sync_commands where id > ? order by id').iterate(after) as Iterable<{ id: number; destination: string; hash: string; body: string; jws: string }>
    const out: { id: number; command: SignedCommand }[] = []
    for (const r of rows) {
      if (!inArea(child, r.destination)) continue
      out.push({ id: r.id, command: { body: r.body, jws: r.jws, hash: r.hash } })
      if (out.length >= limit) break
    }
    return out
  }

  /**
   * At a child, for its `commands.pull`: per issuer, the highest seq applied here, in the wire form
   * (`formatApplied`). Only while nothing written here waits to reach the parent (no outbox row
   * unpacked, no change set of this node unacknowledged): then the writes of every command applied
   * so far are in change sets the parent holds, which a rebuild fetches back. Else undefined (the
   * parent keeps what it was told before; the next pull reports).
   */
  function appliedReport(): string | undefined {
    const waiting = db
      .prepare('select exists (select 1 from outbox where change_set_seq is null) or exists (select 1 from sync_change_sets where origin = ? and acked_at is null)')
      .pluck()
      .get(self.code) as number
    if (waiting) return undefined
    const rows = db
      .prepare('select issuer, max(seq) seq from sync_commands where destination = ? and applied_at is not null group by issuer order by issuer')
      .all(self.code) as AppliedSeq[]
    return rows.length > 0 ? formatApplied(rows) : undefined
  }

  /** At a parent: what `child` reported it applied; the highest per issuer is kept. */
  function recordApplied(child: string, applied: readonly AppliedSeq[]): void {
    // Every pull reports: a write only when a report goes beyond what is kept.
    const kept = new Map(reportedApplied(child).map(a => [a.issuer, a.seq]))
    const higher = applied.filter(a => a.seq > (kept.get(a.issuer) ?? 0))
    if (higher.length === 0) return
    const upsert = db.prepare(`insert into sync_commands_applied (node, issuer, seq, reported_at) values (?, ?, ?, ?)
      on conflict (node, issuer) do update set seq = excluded.seq, reported_at = excluded.reported_at where excluded.seq > sync_commands_applied.seq`)
    const now = new Date().toISOString()
    storage.write(() => {
      for (const a of higher) upsert.run(child, a.issuer, a.seq, now)
    })
  }

  /** The highest seqs recorded for `node`: at a parent, a child's reports; here, what a rebuild took back. */
  const reportedApplied = (node: string): AppliedSeq[] => db.prepare('select issuer, seq from sync_commands_applied where node = ? order by issuer').all(node) as AppliedSeq[]

  /** At a node being rebuilt: what its parent recorded it applied before the restore (kept as this node's own). */
  function takeBackApplied(applied: readonly AppliedSeq[]): void {
    recordApplied(self.code, applied)
  }

  return {
    issue, accept, applyPending, listFor, pullFor, resignIssued, appliedReport, recordApplied, reportedApplied, takeBackApplied,
    holdIssuing: () => holdIssuing(storage), releaseHold, heldReport,
  }
}

/**
 * At a restored node (`xueji restore`, node/backup/) and again at its rebuild (`xueji sync
 * rebuild`): holds issuing to every enrolled child's subtree until the child has pulled again
 * (`pullFor`), from the node's highest local command id ever (the backup's). Held again, the lower
 * restore point is kept. Returns the children.
 */
export function holdIssuing(storage: Storage): string[] {
  const db = storage.sqlite
  const children = db.prepare('select code from sync_children order by code').pluck().all() as string[]
  const top = db
    .prepare("select max(coalesce((select seq from sqlite_sequence where name = 'sync_commands'), 0), coalesce((select max(id) from sync_commands), 0))")
    .pluck()
    .get() as number
  const hold = db.prepare(`insert into sync_issue_holds (child, from_id, held_at) values (?, ?, ?)
    on conflict (child) do update set from_id = min(from_id, excluded.from_id)`)
  const now = new Date().toISOString()
  storage.write(() => {
    for (const c of children) hold.run(c, top, now)
  })
  return children
}

export type Downward = ReturnType<typeof createDownward>
