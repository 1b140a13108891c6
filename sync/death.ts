/**
 * The priority path of death reports (R-20.2, R-D.4, DESIGN.md §7).
 *
 * The home node's bureau carries a death out: `recordDeathReport` writes the report in that same
 * transaction (SQLite is the record; a crash before the job is queued loses nothing). A job on
 * its own queue (`sync-death`, not behind `sync-push`) signs it with the node's key and sends
 * it as a `death.report` message; every tier checks that it is about a record its origin owns
 * (`assertOwnSubject`), stores it as signed, notifies its bureau (the
 * report is listed as unacknowledged) and relays it upward the same way, up to the province.
 * A bureau administrator acknowledges it: a signed `death.ack` downward command to the origin,
 * which passes every tier in between. A node re-sends a report its parent has not acknowledged
 * every `sync.deathResendMs`, and the parent notifies its bureau again. A reversal (a death
 * recorded in error, undone through its own approval) is a report of its own, sent the same way.
 */
import { randomUUID } from 'node:crypto'
import type { Storage } from '../schema/db.ts'
import { inArea } from './area.ts'
import type { CommandHandler, Downward } from './downward.ts'
import { syncError } from './errors.ts'
import { isRefusal } from './inbox.ts'
import { isPlainObject, signJws, verifyJws, type Signer } from './keys.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import type { ParentTransport } from './transport.ts'

/** `typ` of a death report JWS. */
export const DEATH_REPORT_TYP = 'xueji-death-report+jws'
/** Command type of an acknowledgement. */
export const DEATH_ACK = 'death.ack'

/** What the reporting node signs. Identifiers and what a bureau needs to recognise the case. */
export interface DeathReport {
  format: 1
  id: string
  origin: string
  event: 'death' | 'reversal'
  kind: 'student' | 'child'
  /** The student's or child's record id. */
  subjectId: string
  name: string
  /** School or kindergarten code (学校标识码). */
  unitCode: string
  /** The carried-out status change (the death, or the reversal). */
  changeId: string
  /** 异动日期 of the death. */
  eventDate: string
  /** For a reversal: the report of the death it reverses. */
  reverses: string | null
  /** For a death: the person's state before it, which a reversal restores. */
  priorState: string | null
  createdAt: string
}

/** A report as a node lists it, with the acknowledgements it knows of. */
export interface DeathReportView extends DeathReport {
  direction: 'sent' | 'received'
  receivedFrom: string | null
  receivedAt: string
  deliveredAt: string | null
  /** The parent refused the last attempt with this code (re-tried every `sync.deathResendMs`). */
  refusedCode: string | null
  sentCount: number
  notifyCount: number
  lastNotifiedAt: string | null
  ackedAt: string | null
  ackedBy: string | null
  /** Every tier's acknowledgement seen here (issuer node and time). */
  acks: { node: string; at: string }[]
  /** Sent: the parent has not acknowledged. Received: this node's bureau has not. */
  unacknowledged: boolean
}

/**
 * Writes this node's report of a carried-out death (or its reversal). Call inside the carry-out
 * transaction; signing and sending happen on the priority queue.
 */
export function recordDeathReport(storage: Storage, origin: string, fields: Omit<DeathReport, 'format' | 'id' | 'origin' | 'createdAt'>, at = new Date()): DeathReport {
  const report: DeathReport = { format: 1, id: randomUUID(), origin, ...fields, createdAt: at.toISOString() }
  storage.sqlite
    .prepare('insert into sync_death_reports (id, origin, event, report, received_at) values (?, ?, ?, ?, ?)')
    .run(report.id, origin, report.event, JSON.stringify(report), report.createdAt)
  return report
}

/**
 * After this node's key rotation (enrolment.ts `finishRotation`): its own reports were signed
 * with the old key, which the tiers above have closed; each is signed again with the new one when
 * it is next sent (resent until acknowledged; the same report: a parent holding it answers
 * `duplicate`). Returns how many.
 */
export function unsignOwnReports(storage: Storage, self: string): number {
  return storage.write(() => storage.sqlite.prepare('update sync_death_reports set jws = null where origin = ? and received_from is null and jws is not null').run(self).changes)
}

/** The death report a reversal reverses: the origin's latest death report of that person. */
export function latestDeathReportOf(storage: Storage, origin: string, subjectId: string): DeathReport | undefined {
  const text = storage.sqlite
    .prepare(`select report from sync_death_reports where origin = ? and event = 'death' and json_extract(report, '$.subjectId') = ? order by received_at desc, rowid desc limit 1`)
    .pluck()
    .get(origin, subjectId) as string | undefined
  return text === undefined ? undefined : (JSON.parse(text) as DeathReport)
}

function assertReport(p: Record<string, unknown>): DeathReport {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `death report: ${why}`, { reason: why })
  if (p.format !== 1) throw bad('format')
  for (const f of ['id', 'origin', 'subjectId', 'name', 'unitCode', 'changeId', 'eventDate', 'createdAt'] as const) {
    if (typeof p[f] !== 'string' || p[f] === '') throw bad(f)
  }
  if (p.event !== 'death' && p.event !== 'reversal') throw bad('event')
  if (p.kind !== 'student' && p.kind !== 'child') throw bad('kind')
  for (const f of ['reverses', 'priorState'] as const) if (p[f] !== null && typeof p[f] !== 'string') throw bad(f)
  return p as unknown as DeathReport
}

interface Row {
  id: string
  origin: string
  report: string
  jws: string | null
  received_from: string | null
  received_at: string
  sent_count: number
  last_sent_at: number | null
  delivered_at: string | null
  refused_code: string | null
  notify_count: number
  last_notified_at: string | null
  acked_at: string | null
  acked_by: string | null
}

export interface DeathDeps {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  signer(): Promise<Signer>
  resendMs: number
  now?: () => number
}

export function createDeathReports(deps: DeathDeps) {
  const { storage, self } = deps
  const db = storage.sqlite
  const now = deps.now ?? Date.now
  const byId = db.prepare('select * from sync_death_reports where id = ?')

  /** Acknowledgements of `id` this node holds: `death.ack` commands issued, relayed or applied here. */
  function acksOf(id: string): { node: string; at: string }[] {
    const rows = db
      .prepare(`select issuer, json_extract(body, '$.payload.at') at from sync_commands where type = ? and json_extract(body, '$.payload.reportId') = ? order by id`)
      .all(DEATH_ACK, id) as { issuer: string; at: string }[]
    return rows.map(r => ({ node: r.issuer, at: r.at }))
  }

  const parentCode = () => db.prepare('select parent_code from sync_link where id = 1').pluck().get() as string | undefined

  function view(r: Row): DeathReportView {
    const acks = acksOf(r.id)
    const direction = r.received_from === null ? 'sent' : 'received'
    const parent = parentCode()
    // Sent: only the province has nobody to acknowledge; a node not enrolled yet waits for its parent.
    const unacknowledged = direction === 'received' ? r.acked_at === null : self.tier !== 'province' && !acks.some(a => a.node === parent)
    return {
      ...(JSON.parse(r.report) as DeathReport),
      direction,
      receivedFrom: r.received_from,
      receivedAt: r.received_at,
      deliveredAt: r.delivered_at,
      refusedCode: r.refused_code,
      sentCount: r.sent_count,
      notifyCount: r.notify_count,
      lastNotifiedAt: r.last_notified_at,
      ackedAt: r.acked_at,
      ackedBy: r.acked_by,
      acks,
      unacknowledged,
    }
  }

  /** Whether the parent has acknowledged `id` (its `death.ack` passed through or reached here). */
  const ackedByParent = (id: string, parent: string) => acksOf(id).some(a => a.node === parent)

  /**
   * Reports due to the parent: never delivered (once refused: again after `resendMs`), or
   * delivered and unacknowledged for `resendMs` since the last send.
   */
  function due(): Row[] {
    const parent = parentCode()
    if (self.tier === 'province' || !parent) return []
    const t = now()
    const waited = (r: Row) => (r.last_sent_at ?? 0) + deps.resendMs <= t
    return (db.prepare('select * from sync_death_reports order by received_at, rowid').all() as Row[]).filter(r =>
      r.delivered_at === null ? r.refused_code === null || waited(r) : !ackedByParent(r.id, parent) && waited(r),
    )
  }

  /**
   * Sends every due report to the parent (`transport`), signing this node's own on first send.
   * A refusal is recorded on the report (shown, retried after `resendMs`) and the others go on.
   * @throws when the parent is unavailable (the queue retries).
   */
  async function send(transport: ParentTransport): Promise<{ sent: number; refused: number }> {
    let sent = 0
    let refused = 0
    for (const r of due()) {
      let jws = r.jws
      if (jws === null) {
        jws = await signJws(JSON.parse(r.report), DEATH_REPORT_TYP, await deps.signer())
        const signed = jws
        storage.write(() => db.prepare('update sync_death_reports set jws = ? where id = ? and jws is null').run(signed, r.id))
      }
      try {
        await transport.request({ type: 'death.report', report: jws })
      } catch (err) {
        if (!isRefusal(err)) throw err
        const code = err.code
        storage.write(() => db.prepare('update sync_death_reports set last_sent_at = ?, refused_code = ? where id = ?').run(now(), code, r.id))
        refused++
        continue
      }
      const at = now()
      storage.write(() =>
        db
          .prepare('update sync_death_reports set sent_count = sent_count + 1, last_sent_at = ?, delivered_at = coalesce(delivered_at, ?), refused_code = null where id = ?')
          .run(at, new Date(at).toISOString(), r.id),
      )
      sent++
    }
    return { sent, refused }
  }

  /**
   * Whether `report` is about a record its origin owns, as far as this node's replica knows
   * (`SYNC_ROW_OUTSIDE_OWNERSHIP`, `details.reason`): a subject held here must be homed at the
   * origin, in the report's kind of table, at the school (kindergarten) the report names. A
   * subject not held yet (its rows still on their way behind the priority path) is taken, so a
   * death never waits for a backlog of change sets: then the unit it names, when held here, must
   * be the origin's. Neither held: only the subtree check above holds (nothing here to compare).
   */
  function assertOwnSubject(report: DeathReport): void {
    const refuse = (reason: string, message: string) =>
      syncError('SYNC_ROW_OUTSIDE_OWNERSHIP', `death report ${report.id} of ${report.origin}: ${message}`, { origin: report.origin, reportId: report.id, reason })
    const [persons, others, units, unitId, unitCode] =
      report.kind === 'student' ? ['students', 'children', 'schools', 'school_id', 'school_code'] : ['children', 'students', 'kindergartens', 'kindergarten_id', 'kindergarten_code']
    const held = db
      .prepare(`select p.home_node home, u.${unitCode} unit from ${persons} p left join ${units} u on u.id = p.${unitId} where p.id = ?`)
      .get(report.subjectId) as { home: string; unit: string | null } | undefined
    if (held) {
      if (held.home !== report.origin) throw refuse('home', 'the subject is homed at another node')
      if (held.unit !== report.unitCode) throw refuse('unit', `the subject is not at ${units} ${report.unitCode}`)
      return
    }
    if (db.prepare(`select 1 from ${others} where id = ?`).get(report.subjectId)) throw refuse('kind', `the subject is held in ${others}, not ${persons}`)
    const unitHomes = db.prepare(`select home_node from ${units} where ${unitCode} = ?`).pluck().all(report.unitCode) as string[]
    if (unitHomes.length > 0 && !unitHomes.includes(report.origin)) throw refuse('unit', `${units} ${report.unitCode} is homed at another node`)
  }

  /**
   * The parent's side: verifies the origin's signature, that the origin lies in the sender's
   * subtree and that the subject is the origin's (`assertOwnSubject`), stores the report once (a
   * resend of one still unacknowledged notifies again). Returns whether it was new (then the
   * caller relays it upward).
   */
  async function receive(sender: SelfNode, jws: string): Promise<{ status: 'stored' | 'duplicate'; acknowledged: boolean }> {
    const { payload } = await verifyJws(jws, {
      typ: DEATH_REPORT_TYP,
      keys: deps.registry,
      signerOf: p => {
        if (typeof p.origin !== 'string' || p.origin === '') throw syncError('SYNC_MALFORMED', 'death report names no origin')
        return { signer: p.origin }
      },
    })
    if (!isPlainObject(payload)) throw syncError('SYNC_MALFORMED', 'death report is not an object')
    const report = assertReport(payload)
    if (!inArea(sender, report.origin)) {
      throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', `${report.origin} is not in the subtree of ${sender.code}`, { origin: report.origin })
    }
    const at = new Date(now()).toISOString()
    return storage.write(() => {
      const held = byId.get(report.id) as Row | undefined
      if (held) {
        if (held.acked_at === null) db.prepare('update sync_death_reports set notify_count = notify_count + 1, last_notified_at = ? where id = ?').run(at, report.id)
        // The same report signed again (the origin rotated its key): relayed upward from now on
        // with this signature, which the tiers above can verify once they have closed the old key.
        if (held.received_from !== null && held.jws !== jws && held.report === JSON.stringify(report)) {
          db.prepare("update sync_death_reports set jws = ?, refused_code = nullif(refused_code, 'SYNC_KEY_UNKNOWN') where id = ?").run(jws, report.id)
        }
        return { status: 'duplicate' as const, acknowledged: held.acked_at !== null }
      }
      assertOwnSubject(report)
      db.prepare('insert into sync_death_reports (id, origin, event, report, jws, received_from, received_at, notify_count, last_notified_at) values (?, ?, ?, ?, ?, ?, ?, 1, ?)').run(
        report.id, report.origin, report.event, JSON.stringify(report), jws, sender.code, at, at,
      )
      return { status: 'stored' as const, acknowledged: false }
    })
  }

  /** A report held here, or undefined. */
  const get = (id: string): DeathReportView | undefined => {
    const r = byId.get(id) as Row | undefined
    return r ? view(r) : undefined
  }

  /**
   * This node's bureau acknowledges a report received from below: a signed `death.ack` goes down
   * to the origin, and the acknowledgement is recorded here through `commit` (the API passes its
   * audited write). The caller checks who may (the API's refusals).
   */
  async function acknowledge(downward: Downward, id: string, by: string, commit: <T>(fn: () => T) => T = fn => storage.write(fn)): Promise<DeathReportView> {
    const r = byId.get(id) as Row
    const at = new Date(now()).toISOString()
    await downward.issue(r.origin, DEATH_ACK, { reportId: id, at })
    commit(() => db.prepare('update sync_death_reports set acked_at = ?, acked_by = ? where id = ? and acked_at is null').run(at, by, id))
    return get(id)!
  }

  /** Every report held here, newest first. */
  const list = (): DeathReportView[] => (db.prepare('select * from sync_death_reports order by received_at desc, rowid desc').all() as Row[]).map(view)

  /** Ids and send counts of the due reports, for job ids derived from SQLite state. */
  const dueJobs = (): string[] => due().map(r => `death-${r.id}-${r.sent_count}`)

  return { receive, send, acknowledge, list, get, dueJobs }
}

export type DeathReports = ReturnType<typeof createDeathReports>

/** At the origin: an acknowledgement must name a report of this node (the command row is the record). */
export const deathAckHandler: CommandHandler = (command, { storage, self }) => {
  const id = command.payload.reportId
  const held = typeof id === 'string' && storage.sqlite.prepare('select 1 from sync_death_reports where id = ? and origin = ?').get(id, self.code)
  if (!held) throw syncError('SYNC_MALFORMED', `death.ack names no report of ${self.code}`, { reportId: typeof id === 'string' ? id : null })
  return { reportId: id }
}
