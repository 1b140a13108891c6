/**
 * The sync status of a node (R-D.8), from SQLite alone (plus queue depths when Redis answers):
 * served by `GET /api/v1/sync/status` and printed by `xueji sync status`.
 */
import type { Storage } from '../schema/db.ts'
import type { SelfNode } from './registry.ts'

/** Per origin this node sends upward (its own and those it relays). */
export interface UpstreamStatus {
  origin: string
  lastSeq: number
  lastSent: number | null
  lastAcked: number | null
  /** Change sets not yet acknowledged by the parent. */
  lagChangeSets: number
  /** Age of the oldest unacknowledged change set. */
  lagSeconds: number
  halted: { seq: number; code: string; message: string; haltedAt: string } | null
}

export interface SyncStatus {
  node: SelfNode
  parent: null | {
    code: string
    name: string
    enrolledAt: string
    failures: number
    nextAttemptAt: string | null
    lastError: string | null
    lastErrorAt: string | null
    lastSuccessAt: string | null
    commandCursor: number
    digestSentAt: string | null
  }
  outbox: { unpacked: number }
  upstream: UpstreamStatus[]
  children: { code: string; tier: string; name: string; enrolledAt: string }[]
  /** Per origin received from children: the last seq applied here. */
  applied: { origin: string; seq: number; at: string }[]
  quarantine: { held: number; rows: number; items: { origin: string; seq: number; rows: number; receivedAt: string; reasons: string[] }[] }
  /** Forks and replays kept, one per distinct hash; `count`: how often it was received, `receivedAt`: last time. */
  conflicts: { origin: string; seq: number; code: string; receivedAt: string; count: number }[]
  /** `issuingHeld`: children to whose subtree this node issues again once each has pulled since a restore (sync/downward.ts `holdIssuing`). */
  commands: { issued: number; toApply: number; waiting: { issuer: string; seq: number; code: string | null }[]; issuingHeld: { child: string; since: string }[] }
  drift: { origin: string; result: string; checkedAt: string; units: number; driftUnits: number }[]
  /** What upper tiers reported about this node's own records (sync/feedback.ts), by kind. */
  feedback: { refused: number; duplicate: number; unchecked: number }
  /** Death reports (sync/death.ts): held here and not yet delivered upward (of which refused), and received ones this bureau has not acknowledged. */
  deathReports: { undelivered: number; refused: number; toAcknowledge: number }
  queues: Record<string, Record<string, number>> | null
}

export function syncStatus(storage: Storage, self: SelfNode, queues: SyncStatus['queues'] = null): SyncStatus {
  const db = storage.sqlite
  const all = <T>(sql: string, ...args: unknown[]) => db.prepare(sql).all(...args) as T[]
  const link = db.prepare('select * from sync_link where id = 1').get() as Record<string, never> | undefined
  const now = Date.now()
  const halts = new Map(all<{ origin: string; seq: number; code: string; message: string; halted_at: string }>('select * from sync_halts').map(h => [h.origin, h]))
  const upstream = link
    ? all<{ origin: string; last_seq: number; last_sent: number | null; last_acked: number | null; unacked: number; oldest: string | null }>(
        `select origin, max(seq) last_seq, max(case when sent_at is not null then seq end) last_sent, max(case when acked_at is not null then seq end) last_acked,
           sum(acked_at is null) unacked, min(case when acked_at is null then created_at end) oldest from sync_change_sets group by origin order by origin`,
      ).map(r => {
        const h = halts.get(r.origin)
        return {
          origin: r.origin,
          lastSeq: r.last_seq,
          lastSent: r.last_sent,
          lastAcked: r.last_acked,
          lagChangeSets: r.unacked,
          lagSeconds: r.oldest ? Math.max(0, Math.round((now - Date.parse(r.oldest)) / 1000)) : 0,
          halted: h ? { seq: h.seq, code: h.code, message: h.message, haltedAt: h.halted_at } : null,
        }
      })
    : []
  const held = all<{ origin: string; seq: number; bad_rows: string; received_at: string }>("select origin, seq, bad_rows, received_at from sync_quarantine where status = 'held' order by received_at")
  const items = held.map(h => {
    const bad = JSON.parse(h.bad_rows) as { table: string; reason: string; code: string }[]
    return { origin: h.origin, seq: h.seq, rows: bad.length, receivedAt: h.received_at, reasons: [...new Set(bad.map(b => `${b.code} ${b.table}: ${b.reason}`))].slice(0, 10) }
  })
  return {
    node: self,
    parent: link
      ? {
          code: link.parent_code,
          name: link.parent_name,
          enrolledAt: link.enrolled_at,
          failures: link.failures,
          nextAttemptAt: link.next_attempt_at > now ? new Date(link.next_attempt_at).toISOString() : null,
          lastError: link.last_error,
          lastErrorAt: link.last_error_at,
          lastSuccessAt: link.last_success_at,
          commandCursor: link.command_cursor,
          digestSentAt: link.digest_sent_at,
        }
      : null,
    outbox: { unpacked: (db.prepare('select count(*) n from outbox where change_set_seq is null').get() as { n: number }).n },
    upstream,
    children: all<{ code: string; tier: string; name: string; enrolled_at: string }>('select * from sync_children order by code').map(c => ({ code: c.code, tier: c.tier, name: c.name, enrolledAt: c.enrolled_at })),
    applied: all<{ origin: string; seq: number; at: string }>('select origin, max(seq) seq, max(stored_at) at from sync_change_sets where received_from is not null group by origin order by origin'),
    quarantine: { held: items.length, rows: items.reduce((n, i) => n + i.rows, 0), items },
    conflicts: all<{ origin: string; seq: number; code: string; receivedAt: string; count: number }>('select origin, seq, code, received_at receivedAt, count from sync_conflicts order by received_at desc limit 50'),
    commands: {
      issued: (db.prepare('select count(*) n from sync_commands where issuer = ?').get(self.code) as { n: number }).n,
      toApply: (db.prepare('select count(*) n from sync_commands where destination = ? and applied_at is null').get(self.code) as { n: number }).n,
      waiting: all<{ issuer: string; seq: number; code: string | null }>('select issuer, seq, error_code code from sync_commands where destination = ? and applied_at is null order by issuer, seq limit 50', self.code),
      issuingHeld: all<{ child: string; since: string }>('select child, held_at since from sync_issue_holds order by child'),
    },
    drift: all<{ origin: string; result: string; checked_at: string; units: number; drift: string }>('select * from sync_digest_checks order by origin').map(d => ({
      origin: d.origin,
      result: d.result,
      checkedAt: d.checked_at,
      units: d.units,
      driftUnits: (JSON.parse(d.drift) as unknown[]).length,
    })),
    feedback: Object.fromEntries(
      ['refused', 'duplicate', 'unchecked'].map(k => [k, (db.prepare('select count(*) n from sync_feedback where kind = ?').get(k) as { n: number }).n]),
    ) as SyncStatus['feedback'],
    // The province sends nothing upward: only what its bureau has to acknowledge counts there.
    deathReports: db
      .prepare(`select coalesce(sum(delivered_at is null and ?), 0) undelivered, coalesce(sum(delivered_at is null and refused_code is not null), 0) refused,
          coalesce(sum(received_from is not null and acked_at is null), 0) toAcknowledge from sync_death_reports`)
      .get(self.tier === 'province' ? 0 : 1) as SyncStatus['deathReports'],
    queues,
  }
}
