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
 */
import { XuejiError } from '../config/errors.ts'
import type { Storage } from '../schema/db.ts'
import { inArea, isBelow } from './area.ts'
import { COMMAND_TYP, signCommand, verifyCommand, type Command, type SignedCommand } from './command.ts'
import { syncError } from './errors.ts'
import { openCompactJws, type Signer } from './keys.ts'
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

  /** Issues a command from this node to `destination` (a node below it). */
  async function issue(destination: string, type: string, payload: Record<string, unknown>): Promise<{ seq: number }> {
    if (!isBelow(self, destination)) throw syncError('SYNC_COMMAND_NOT_FOR_ME', `${destination} is not below ${self.code}`, { destination })
    for (;;) {
      const seq = ((db.prepare('select max(seq) s from sync_commands where issuer = ? and destination = ?').get(self.code, destination) as { s: number | null }).s ?? 0) + 1
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

  return { issue, accept, applyPending, listFor, resignIssued }
}

export type Downward = ReturnType<typeof createDownward>
