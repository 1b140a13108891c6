/**
 * Routed messages between two nodes of the federation (DESIGN.md §6, §8): the transfer of a
 * student between schools of different nodes (node/transfers) is carried by them.
 *
 * The origin writes the message in its domain transaction (`recordRouted`); it is signed with
 * the origin's key when first sent and goes UP hop by hop (before change sets, see
 * upstream.ts `prepareLink`); every hop verifies the origin's signature and that the origin lies
 * in the sender's subtree, and stores it once by id. The lowest node whose area holds the
 * destination (for a `find` message: whose replica holds the person outside the sender's
 * subtree) hands it DOWN as a signed `routed.deliver` command (pulled hop by hop, applied
 * exactly once); the destination stores it by id and runs the domain's handler in the
 * command's transaction. Not found at the province: a `routed.undeliverable` command goes back
 * to the origin.
 *
 * A message that hands a record over (`handoff`) also goes up to the province, so every tier
 * holding a replica of the record checks it against its replica (the current home sends it,
 * with the epoch raised by exactly one), records it in `sync_handoffs` and re-homes its replica
 * of the record at the raised epoch; the applier takes the record's rows from the new home over
 * any older copy (apply.ts `ownershipDecision(…, true)`) and ignores the old home's late rows.
 *
 * After the origin's key rotation: its messages not sent yet are signed again at their next send
 * (`unsignUnsent`). One a parent holds with the old signature and relays only after the closing
 * of that key reached the tier above is refused there (`SYNC_KEY_UNKNOWN`): the parent asks the
 * origin with a `routed.resign` command to sign it again, the origin sends it again with its
 * current key, and the parent takes that signature for the same message (`receive`) and relays
 * it. A retired key is never accepted after its closing: only the new signature goes on.
 */
import { randomUUID } from 'node:crypto'
import type { Storage } from '../schema/db.ts'
import { REPLICATED_TABLES } from '../schema/replicated.ts'
import { inArea, isBelow } from './area.ts'
import { canonicalJson } from './canonical.ts'
import type { CommandHandler, Downward } from './downward.ts'
import { syncError } from './errors.ts'
import { isRefusal } from './inbox.ts'
import { sameIdNumberSql } from './lookup.ts'
import { XuejiError } from '../config/errors.ts'
import { isPlainObject, signJws, verifyJws, type Signer } from './keys.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import type { ParentTransport } from './transport.ts'

/** `typ` of a routed message JWS. */
export const ROUTED_TYP = 'xueji-routed+jws'
/** Command type handing a routed message to its destination. */
export const ROUTED_DELIVER = 'routed.deliver'
/** Command type telling the origin that nobody holds the person a `find` message names. */
export const ROUTED_UNDELIVERABLE = 'routed.undeliverable'
/** Command type asking the origin to sign its message again: a relay above refused the key that signed it. */
export const ROUTED_RESIGN = 'routed.resign'

/** Whom a `find` message is for: the home node of this person. */
export interface RoutedFind {
  table: 'students' | 'children'
  idNumber: string | null
  studentNo: string | null
}

/** A record handed over: the person's table and id, and the raised epoch. */
export interface RoutedHandoff {
  table: 'students' | 'children'
  subjectId: string
  epoch: number
}

/** What the origin signs. */
export interface RoutedMessage {
  format: 1
  id: string
  origin: string
  /** The node it is for; null for a `find` message. */
  destination: string | null
  find: RoutedFind | null
  /** The domain's message type, e.g. `transfer.request`. */
  type: string
  handoff: RoutedHandoff | null
  body: Record<string, unknown>
  createdAt: string
}

/** The domain's side at the destination: synchronous, inside the delivering transaction. */
export interface RoutedHandler {
  /** The message reached its destination. Throw a XuejiError to refuse it (recorded as the command's result). */
  deliver(message: RoutedMessage, ctx: { storage: Storage; self: SelfNode }): void
  /** At the origin: nobody in the federation holds the person a `find` message names. */
  undeliverable?(message: RoutedMessage, ctx: { storage: Storage; self: SelfNode }): void
}

/** The origin's message fields; id and time are made here. */
export type RoutedFields = Pick<RoutedMessage, 'destination' | 'find' | 'type' | 'handoff' | 'body'>

/**
 * After this node's key rotation (enrolment.ts `finishRotation`): its own messages not sent yet
 * were signed with the old key, which the tiers above have closed; they are signed again with
 * the new one at their next send (the same body: a parent holding one answers `duplicate`), and
 * one refused for its key is due again. Returns how many.
 */
export function unsignUnsent(storage: Storage, self: string): number {
  return storage.write(() =>
    storage.sqlite
      .prepare("update sync_routed set jws = null, refused_code = nullif(refused_code, 'SYNC_KEY_UNKNOWN') where origin = ? and received_from is null and sent_at is null and jws is not null")
      .run(self).changes,
  )
}

/** Writes this node's message. Call inside the domain transaction; it is signed when first sent. */
export function recordRouted(storage: Storage, origin: string, fields: RoutedFields, at = new Date()): RoutedMessage {
  const message: RoutedMessage = { format: 1, id: randomUUID(), origin, ...fields, createdAt: at.toISOString() }
  assertMessage(JSON.parse(canonicalJson(message)))
  storage.sqlite
    .prepare('insert into sync_routed (id, origin, destination, type, body, received_at) values (?, ?, ?, ?, ?, ?)')
    .run(message.id, origin, message.destination, message.type, canonicalJson(message), message.createdAt)
  return message
}

const str = (v: unknown) => typeof v === 'string' && v !== ''
const codeOrNull = (v: unknown) => v === null || (typeof v === 'string' && /^[0-9]{6}$/.test(v))

/** Checks a message's shape. @throws XuejiError `SYNC_MALFORMED`. */
export function assertMessage(p: unknown): RoutedMessage {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `routed message: ${why}`, { reason: why })
  if (!isPlainObject(p)) throw bad('not an object')
  if (p.format !== 1) throw bad('format')
  for (const f of ['id', 'origin', 'type', 'createdAt'] as const) if (!str(p[f])) throw bad(f)
  if (!codeOrNull(p.destination)) throw bad('destination')
  if (!isPlainObject(p.body)) throw bad('body')
  const person = (v: unknown) => v === 'students' || v === 'children'
  if (p.find !== null) {
    const f = p.find
    if (!isPlainObject(f) || !person(f.table) || (f.idNumber !== null && !str(f.idNumber)) || (f.studentNo !== null && !str(f.studentNo)) || (f.idNumber === null && f.studentNo === null)) throw bad('find')
  }
  if ((p.destination === null) === (p.find === null)) throw bad('destination or find')
  if (p.handoff !== null) {
    const h = p.handoff
    if (!isPlainObject(h) || !person(h.table) || !str(h.subjectId) || !Number.isSafeInteger(h.epoch) || (h.epoch as number) < 1 || p.destination === null) throw bad('handoff')
  }
  const extra = Object.keys(p).filter(k => !FIELDS.has(k))
  if (extra.length > 0) throw bad(`unknown fields ${extra.join(',')}`)
  return p as unknown as RoutedMessage
}

const FIELDS = new Set(['format', 'id', 'origin', 'destination', 'find', 'type', 'handoff', 'body', 'createdAt'])

interface Row {
  id: string
  origin: string
  body: string
  jws: string | null
  received_from: string | null
  upward: number
  sent_at: string | null
  refused_code: string | null
  routed: string | null
}

export interface RoutedDeps {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  downward: Downward
  signer(): Promise<Signer>
  handlers: ReadonlyMap<string, RoutedHandler>
}

export function createRouted(deps: RoutedDeps) {
  const { storage, self } = deps
  const db = storage.sqlite
  const byId = db.prepare('select * from sync_routed where id = ?')

  /**
   * The home node of the person a `find` message names, outside `except`'s area (this node's
   * replica). Its ID number is a resident ID (the transfer request checks it), so it names the
   * person under whatever document type a node filed it (`sameIdNumberSql`, as 查重 compares).
   */
  function findHome(find: RoutedFind, except: SelfNode): string | undefined {
    const byNo = find.table === 'students' && find.studentNo !== null
    const rows = db
      .prepare(`select p.home_node from ${find.table} p where ${[find.idNumber !== null ? sameIdNumberSql('p', '?', "'1'") : '', byNo ? 'p.student_no = ?' : ''].filter(Boolean).join(' or ')}`)
      .pluck()
      .all(...(find.idNumber !== null ? [find.idNumber] : []), ...(byNo ? [find.studentNo] : [])) as string[]
    return rows.find(home => !inArea(except, home))
  }

  /**
   * What this node does with a message it holds, `from` the child it came from (null: its own).
   * `up`: to the parent; `down`: a command to `dest`; `here`: deliver; `held`: a lower node delivered it.
   */
  function decide(m: RoutedMessage, from: SelfNode | null): { action: 'up' | 'down' | 'here' | 'held' | 'undeliverable'; dest?: string; alsoUp: boolean } {
    const except: SelfNode = from ?? { code: self.code, tier: 'county' }
    const dest = m.destination ?? (m.find ? findHome(m.find, except) : undefined)
    const top = self.tier === 'province'
    const alsoUp = m.handoff !== null && !top
    if (dest === self.code) return { action: 'here', dest, alsoUp }
    if (dest !== undefined && from !== null && inArea(from, dest)) return { action: 'held', alsoUp }
    if (dest !== undefined && isBelow(self, dest)) return { action: 'down', dest, alsoUp }
    if (top) return { action: dest === undefined ? 'undeliverable' : 'held', alsoUp: false }
    return { action: 'up', alsoUp: true }
  }

  /** Delivers a message at its destination, once (inside a transaction). */
  function deliverHere(m: RoutedMessage): Record<string, unknown> {
    const at = new Date().toISOString()
    const fresh = db
      .prepare(`insert into sync_routed (id, origin, destination, type, body, received_at, routed) values (?, ?, ?, ?, ?, ?, 'here') on conflict (id) do update set routed = 'here' where routed is null or routed <> 'here'`)
      .run(m.id, m.origin, m.destination ?? self.code, m.type, canonicalJson(m), at).changes
    if (fresh === 0) return { messageId: m.id, duplicate: true }
    const handler = deps.handlers.get(m.type)
    if (!handler) throw syncError('SYNC_COMMAND_UNKNOWN_TYPE', `no handler for routed message type ${m.type}`, { type: m.type })
    handler.deliver(m, { storage, self })
    return { messageId: m.id }
  }

  /** Carries out what `decide` says for a stored message whose `routed` is not set yet. */
  async function route(id: string): Promise<void> {
    const r = byId.get(id) as Row | undefined
    if (!r || r.routed !== null) return
    const m = JSON.parse(r.body) as RoutedMessage
    const from = r.received_from === null ? null : { code: r.received_from, tier: deps.registry.tierOf(r.received_from) ?? 'county' }
    const d = decide(m, from)
    let routed: string = d.action
    if (d.action === 'down') routed = `down:${d.dest}:${(await deps.downward.issue(d.dest!, ROUTED_DELIVER, { message: m })).seq}`
    else if (d.action === 'undeliverable') await deps.downward.issue(m.origin, ROUTED_UNDELIVERABLE, { message: m })
    storage.write(() => {
      if (d.action === 'here') deliverHere(m)
      db.prepare('update sync_routed set routed = ?, upward = ? where id = ? and routed is null').run(routed, d.alsoUp ? 1 : 0, id)
    })
  }

  /**
   * `route`, but a message whose command cannot be issued yet (`SYNC_ISSUE_HELD`: this node was
   * rebuilt and the child below has not pulled since, downward.ts) stays unrouted for a later round.
   */
  async function routeUnlessHeld(id: string): Promise<void> {
    try {
      await route(id)
    } catch (err) {
      if (!(err instanceof XuejiError && err.code === 'SYNC_ISSUE_HELD')) throw err
    }
  }

  /** Routes every message held here that is not routed yet (after a crash, at each reconcile); one held (`routeUnlessHeld`) waits. */
  async function routePending(): Promise<number> {
    const ids = db.prepare('select id from sync_routed where routed is null order by received_at, rowid').pluck().all() as string[]
    for (const id of ids) await routeUnlessHeld(id)
    return ids.length
  }

  /**
   * Checks a handoff against this node's replica and records it (inside the storing transaction).
   * Every tier on the way up gets the record's rows from its home the same way: a handoff of one
   * not held yet is refused for the sender to retry (its rows are on their way), never recorded
   * unchecked, and one named under the other person table is not its home's.
   */
  function recordHandoff(m: RoutedMessage): void {
    const h = m.handoff!
    const heldIn = (table: string) => db.prepare(`select home_node home, epoch from ${table} where id = ?`).get(h.subjectId) as { home: string; epoch: number } | undefined
    const held = heldIn(h.table)
    if (!held) {
      const other = h.table === 'students' ? 'children' : 'students'
      if (heldIn(other)) throw syncError('SYNC_HANDOFF_NOT_HOME', `the record handed over is held in ${other}, not ${h.table}`, { table: h.table, heldIn: other })
      throw syncError('SYNC_HANDOFF_UNKNOWN', `the record handed over by ${m.origin} is not held here yet`, { origin: m.origin, table: h.table })
    }
    if (held.home !== m.origin) throw syncError('SYNC_HANDOFF_NOT_HOME', `${m.origin} is not the home of the record handed over`, { homeNode: held.home, origin: m.origin })
    if (h.epoch !== held.epoch + 1) throw syncError('SYNC_HANDOFF_STALE', `handoff epoch ${h.epoch} is not ${held.epoch + 1}`, { epoch: h.epoch, expected: held.epoch + 1 })
    const seen = db.prepare('select id from sync_handoffs where subject_id = ? and epoch >= ?').pluck().get(h.subjectId, h.epoch) as string | undefined
    if (seen !== undefined) throw syncError('SYNC_HANDOFF_STALE', `epoch ${h.epoch} of this record was handed over already`, { epoch: h.epoch, handoff: seen })
    db.prepare('insert into sync_handoffs (id, subject_table, subject_id, from_node, to_node, epoch, recorded_at) values (?, ?, ?, ?, ?, ?, ?)').run(
      m.id, h.table, h.subjectId, m.origin, m.destination, h.epoch, new Date().toISOString(),
    )
    // The replica follows the move at once, as the old home's own copy does: homed at the new
    // node at the raised epoch (its rows, arriving later, then update it like any home's).
    db.prepare(`update ${h.table} set home_node = ?, epoch = ? where id = ? and home_node = ?`).run(m.destination, h.epoch, h.subjectId, m.origin)
    for (const t of REPLICATED_TABLES) {
      if (typeof t.owner === 'object' && t.owner.parent === h.table) {
        db.prepare(`update ${t.name} set home_node = ?, epoch = ? where ${t.owner.column} = ? and home_node = ?`).run(m.destination, h.epoch, h.subjectId, m.origin)
      }
    }
  }

  /**
   * The parent's side: verifies the origin's signature, that the origin lies in the sender's
   * subtree and, for a handoff, the replica's home and epoch; stores the message once and routes it.
   */
  async function receive(sender: SelfNode, jws: string): Promise<{ status: 'stored' | 'duplicate' }> {
    const { payload } = await verifyJws(jws, {
      typ: ROUTED_TYP,
      keys: deps.registry,
      signerOf: p => {
        if (!str(p.origin)) throw syncError('SYNC_MALFORMED', 'routed message names no origin')
        return { signer: p.origin as string }
      },
    })
    const m = assertMessage(payload)
    if (!inArea(sender, m.origin)) throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', `${m.origin} is not in the subtree of ${sender.code}`, { origin: m.origin })
    const text = canonicalJson(m)
    const status = storage.write(() => {
      const held = byId.get(m.id) as Row | undefined
      if (held) {
        if (held.body !== text) throw syncError('SYNC_ROUTED_REPLAY', `routed message ${m.id} already held with another body`, { id: m.id })
        // The same message signed again by its origin (asked for by `routed.resign`, or sent again
        // after its rotation): relayed with this signature from now on, unless relayed already.
        if (held.received_from !== null && held.sent_at === null && held.jws !== jws) {
          db.prepare("update sync_routed set jws = ?, refused_code = nullif(refused_code, 'SYNC_KEY_UNKNOWN') where id = ?").run(jws, m.id)
        }
        return 'duplicate' as const
      }
      if (m.handoff) recordHandoff(m)
      db.prepare('insert into sync_routed (id, origin, destination, type, body, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, ?)').run(
        m.id, m.origin, m.destination, m.type, text, jws, sender.code, new Date().toISOString(),
      )
      return 'stored' as const
    })
    if (status === 'stored') await routeUnlessHeld(m.id)
    return { status }
  }

  /**
   * Sends every message due upward to the parent, signing this node's own on first send. A
   * refusal is kept on the message (`refusedCode`, not retried); the others go on. A child's
   * message refused for its signing key (closed above since its origin signed it) is asked of its
   * origin again (`routed.resign`); the copy signed again clears the refusal (`receive`). A handoff of a
   * record the parent does not hold yet (`SYNC_HANDOFF_UNKNOWN`) stops the sending here, the
   * messages kept in order for the next push: the change sets that carry the record go on to the
   * parent meanwhile (the caller pushes them next).
   * @throws when the parent is unavailable (the job retries).
   */
  async function send(transport: ParentTransport): Promise<{ sent: number; refused: number }> {
    let sent = 0
    let refused = 0
    const due = db.prepare('select * from sync_routed where upward = 1 and sent_at is null and refused_code is null order by received_at, rowid').all() as Row[]
    for (const r of due) {
      let jws = r.jws
      if (jws === null) {
        jws = await signJws(JSON.parse(r.body), ROUTED_TYP, await deps.signer())
        const signed = jws
        storage.write(() => db.prepare('update sync_routed set jws = ? where id = ? and jws is null').run(signed, r.id))
      }
      try {
        await transport.request({ type: 'routed.push', message: jws })
      } catch (err) {
        // Over HTTP the parent's 503 arrives as SYNC_PARENT_UNAVAILABLE naming its code.
        if (err instanceof XuejiError && (err.code === 'SYNC_HANDOFF_UNKNOWN' || err.details?.parentCode === 'SYNC_HANDOFF_UNKNOWN')) break
        if (!isRefusal(err)) throw err
        const code = err.code
        // Asked first: a failure leaves the message due, to be refused and asked for again.
        if (code === 'SYNC_KEY_UNKNOWN' && r.received_from !== null) await deps.downward.issue(r.origin, ROUTED_RESIGN, { messageId: r.id })
        // The refusal is of this signature: one signed again that arrived meanwhile is due.
        storage.write(() => db.prepare('update sync_routed set refused_code = ? where id = ? and jws = ?').run(code, r.id, jws))
        refused++
        continue
      }
      storage.write(() => db.prepare('update sync_routed set sent_at = ? where id = ?').run(new Date().toISOString(), r.id))
      sent++
    }
    return { sent, refused }
  }

  /** Whether a message is waiting to go upward (for the reconciler). */
  const anyDue = (): boolean => db.prepare('select 1 from sync_routed where upward = 1 and sent_at is null and refused_code is null limit 1').get() !== undefined

  /** A message held here with what became of it, or undefined. */
  function get(id: string): { message: RoutedMessage; sentAt: string | null; refusedCode: string | null; routed: string | null } | undefined {
    const r = byId.get(id) as Row | undefined
    return r ? { message: JSON.parse(r.body) as RoutedMessage, sentAt: r.sent_at, refusedCode: r.refused_code, routed: r.routed } : undefined
  }

  /** The destination's command handler: the message, once, to its domain handler. */
  const deliverHandler: CommandHandler = command => deliverHere(assertMessage(command.payload.message))

  /** The origin's command handler: nobody holds the person its `find` message named. */
  const undeliverableHandler: CommandHandler = (command, ctx) => {
    const m = assertMessage(command.payload.message)
    if (m.origin !== self.code) throw syncError('SYNC_MALFORMED', 'routed.undeliverable names a message of another node', { origin: m.origin })
    db.prepare(`update sync_routed set routed = 'undeliverable' where id = ?`).run(m.id)
    deps.handlers.get(m.type)?.undeliverable?.(m, ctx)
    return { messageId: m.id }
  }

  /**
   * The origin's command handler: the relay of this node's message was refused above for the key
   * that signed it (rotated since). Signed again with the current key and sent again at the next push.
   */
  const resignHandler: CommandHandler = command => {
    const id = command.payload.messageId
    const again = typeof id === 'string' && db.prepare('update sync_routed set jws = null, sent_at = null, refused_code = null where id = ? and origin = ? and received_from is null').run(id, self.code).changes > 0
    if (!again) throw syncError('SYNC_MALFORMED', `routed.resign names no message of ${self.code}`, { messageId: typeof id === 'string' ? id : null })
    return { messageId: id }
  }

  return { receive, send, route, routePending, anyDue, get, deliverHandler, undeliverableHandler, resignHandler }
}

export type Routed = ReturnType<typeof createRouted>
