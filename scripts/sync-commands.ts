/**
 * The sync commands of the `xueji` CLI (R-D.5, R-D.8): joining a parent and seeing and driving
 * sync. They open the node's database directly (WAL: safe beside a running node) and talk to the
 * parent themselves, so they work whether the node is running or not.
 */
import { resolve } from 'node:path'
import { existsSync, rmSync } from 'node:fs'
import { XuejiError } from '../config/errors.ts'
import { openStorage } from '../schema/db.ts'
import { loadIdentity } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { nodeConfig } from '../node/config.ts'
import { createRedis } from '../node/redis.ts'
import { openSyncQueues } from '../sync/queues.ts'
import { createSyncService, type SyncService } from '../sync/service.ts'
import { nodeCodes } from '../schema/codes/index.ts'
import { createReplicaRules } from '../node/services/records/replica-rules.ts'
import type { SyncStatus } from '../sync/status.ts'
import type { SyncLog } from '../sync/upstream.ts'
import { within } from '../config/within.ts'
import { appendAudit } from '../node/auth/audit.ts'
import { MAX_JOIN_TOKEN_HOURS } from '../sync/enrolment.ts'

type Out = { out: (s: string) => void; err: (s: string) => void }
type Env = Record<string, string | undefined>
type Values = Record<string, string | boolean | undefined>
/** What cli.ts lends: its argument parser and its usage error. */
export interface CliHelpers {
  parse(args: string[], options: Record<string, { type: 'string' | 'boolean' }>): Values
  usage(message: string): Error
}

export const SYNC_USAGE = `
  xueji join-token --data DIR --child CODE [--ttl-hours N]
          (parent administrator) a one-time token for child node CODE to join this node,
          valid N hours (1 to 720, default 72)
  xueji enroll     --data DIR --token TOKEN
          (child IT staff) join the parent named by node.parentUrl with that token; or the
          token in XUEJI_JOIN_TOKEN and no --token (arguments are visible to every user in ps)
  xueji sync status  --data DIR [--json]     per link: seqs sent/acknowledged/applied, lag, queues,
                                             quarantine, conflicts, drift, last error
  xueji sync push    --data DIR              pack the outbox and send everything pending now
  xueji sync resend  --data DIR --from SEQ [--origin CODE]   send again from SEQ
  xueji sync verify  --data DIR              re-verify every stored change set (signature, chain)
  xueji sync rebuild --data DIR              fetch back from the parent what this subtree is missing
  xueji sync quarantine --data DIR [--release ORIGIN:SEQ --by NOTE]   list or release held change sets
  xueji sync release-hold --data DIR --child CODE --by NOTE   issue again to CODE's subtree without its
                                             report after a restore (a child that will not pull again)
  xueji sync rotate-key --data DIR           new node key; the parent registers it on the next push
  xueji sync command --data DIR --to CODE --type TYPE [--payload JSON]   issue a downward command
`

const quiet: SyncLog = { info() {}, warn() {}, error() {}, debug() {}, child: () => quiet }

export async function withSync<T>(dataDir: string, env: Env, fn: (sync: SyncService, ctx: { prefix: string; redisUrl: string }) => Promise<T>): Promise<T> {
  const paths = dataPaths(resolve(dataDir))
  const config = nodeConfig(paths, env)
  if (!existsSync(paths.db)) throw new XuejiError('NODE_NOT_INITIALISED', `${paths.dir} has no database; run "xueji init" first`, 500)
  const storage = openStorage(paths.db)
  const identity = loadIdentity(storage, config)
  const self = { code: identity.code, tier: identity.tier, name: identity.name }
  const rules = createReplicaRules({ storage, self, codes: nodeCodes(config.codes.localDir) })
  const sync = createSyncService({ storage, self, rules, parentUrl: identity.parentUrl, config: config.sync, log: quiet })
  try {
    return await fn(sync, { prefix: config.redis.prefix, redisUrl: config.redis.url })
  } finally {
    await sync.close()
    storage.close()
  }
}

/** Queue depths, if Redis answers within a second (the status never depends on it). */
async function queueCounts(redisUrl: string, prefix: string): Promise<SyncStatus['queues']> {
  const redis = createRedis(redisUrl)
  try {
    const ok = (await within(redis.connect().then(() => true, () => false), 1000)) ?? false
    if (!ok) return null
    const queues = openSyncQueues(redis, prefix)
    try {
      return (await within(queues.counts(), 1000)) ?? null
    } finally {
      await queues.close()
    }
  } finally {
    redis.disconnect()
  }
}

function printStatus(s: SyncStatus): string {
  const lines = [`node ${s.node.tier} ${s.node.code}`]
  if (s.parent) {
    lines.push(`parent ${s.parent.code} ${s.parent.name}: enrolled ${s.parent.enrolledAt}, last success ${s.parent.lastSuccessAt ?? '-'}, failures ${s.parent.failures}${s.parent.nextAttemptAt ? `, next attempt ${s.parent.nextAttemptAt}` : ''}`)
    if (s.parent.lastError) lines.push(`  last error ${s.parent.lastErrorAt}: ${s.parent.lastError}`)
  } else lines.push(s.node.tier === 'province' ? 'parent: none (province)' : 'parent: NOT ENROLLED (xueji enroll --token …)')
  lines.push(`outbox: ${s.outbox.unpacked} row(s) not yet packed`)
  if (s.upstream.length) lines.push('upstream (origin: last seq / sent / acknowledged, lag):')
  for (const u of s.upstream) {
    lines.push(`  ${u.origin}: ${u.lastSeq} / ${u.lastSent ?? '-'} / ${u.lastAcked ?? '-'}, lag ${u.lagChangeSets} change set(s), ${u.lagSeconds} s${u.halted ? `  HALTED at ${u.halted.seq}: ${u.halted.code} ${u.halted.message}` : ''}`)
  }
  if (s.children.length) lines.push(`children: ${s.children.map(c => `${c.code} ${c.name}`).join(', ')}`)
  if (s.applied.length) lines.push('applied here (origin: last seq, at):', ...s.applied.map(a => `  ${a.origin}: ${a.seq}, ${a.at}`))
  lines.push(`quarantine: ${s.quarantine.held} change set(s), ${s.quarantine.rows} row(s)`, ...s.quarantine.items.map(i => `  ${i.origin}/${i.seq}: ${i.reasons.join('; ')}`))
  const f = s.feedback
  const d = s.deathReports
  if (d.undelivered + d.toAcknowledge) lines.push(`death reports: ${d.undelivered} not yet delivered upward (${d.refused} refused), ${d.toAcknowledge} received awaiting this bureau's acknowledgement (GET /api/v1/death-reports)`)
  if (f.refused + f.duplicate + f.unchecked) lines.push(`feedback on own records: ${f.refused} refused, ${f.duplicate} duplicate elsewhere, ${f.unchecked} entered unchecked (GET /api/v1/sync/feedback)`)
  if (s.conflicts.length) lines.push(`conflicts (forks/replays) kept: ${s.conflicts.length}`, ...s.conflicts.slice(0, 5).map(c => `  ${c.origin}/${c.seq} ${c.code} ×${c.count}, last ${c.receivedAt}`))
  lines.push(`commands: issued ${s.commands.issued}, to apply here ${s.commands.toApply}`)
  if (s.commands.issuingHeld.length) lines.push(`  issuing held since the restore until each has pulled: ${s.commands.issuingHeld.map(h => `${h.child} (since ${h.since})`).join(', ')} (xueji sync release-hold for one that will not)`)
  for (const d of s.drift) lines.push(`  digest ${d.origin}: ${d.result} (${d.units} units, ${d.driftUnits} drifting) ${d.checkedAt}`)
  lines.push(`queues: ${s.queues ? Object.entries(s.queues).map(([q, c]) => `${q} ${Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ')}`).join('; ') : 'Redis not reachable'}`)
  return lines.join('\n') + '\n'
}

/** Throws unless this node has a parent to send to (the province has none; a child must be enrolled). */
function requireParent(sync: SyncService): void {
  if (sync.self.tier === 'province') throw new XuejiError('SYNC_NOT_ENROLLED', 'the province has no parent: it sends nothing upward (its change sets are acknowledged as they are made)', 409)
  if (!sync.storage.sqlite.prepare('select 1 from sync_link where id = 1').get()) throw new XuejiError('SYNC_NOT_ENROLLED', 'this node is not enrolled under a parent; run xueji enroll --token TOKEN', 409)
}

/** Packs, then pushes every origin with unacknowledged change sets (and pending key records), right now. */
async function pushAll(sync: SyncService): Promise<string[]> {
  const db = sync.storage.sqlite
  await sync.pack()
  requireParent(sync)
  // An operator asking for "now" overrides the backoff and any halt.
  db.prepare('update sync_link set next_attempt_at = 0 where id = 1').run()
  const origins = db.prepare('select distinct origin from sync_change_sets where acked_at is null').pluck().all() as string[]
  if (origins.length === 0 && sync.registry.pendingRelay().length > 0) origins.push(sync.self.code)
  const out: string[] = []
  for (const origin of origins) {
    db.prepare('delete from sync_halts where origin = ?').run(origin)
    try {
      const r = await sync.pushOrigin(origin)
      out.push(`${origin}: sent ${r.sent}, acknowledged ${r.acked}`)
    } catch (err) {
      out.push(`${origin}: ${(err as XuejiError).code ?? 'ERROR'} ${(err as Error).message}`)
    }
  }
  return out
}

export function syncCommands(h: CliHelpers): Record<string, (args: string[], io: Out, env: Env) => Promise<number>> {
  const need = (v: Values, ...names: string[]) => {
    for (const n of names) if (v[n] === undefined || v[n] === '') throw h.usage(`missing --${n}`)
  }
  return {
    'join-token': async (args, io, env) => {
      const v = h.parse(args, { data: { type: 'string' }, child: { type: 'string' }, 'ttl-hours': { type: 'string' } })
      need(v, 'data', 'child')
      if (!/^[0-9]{6}$/.test(String(v.child))) throw h.usage('--child must be a 6-digit division code')
      const ttl = v['ttl-hours'] === undefined ? undefined : String(v['ttl-hours'])
      if (ttl !== undefined && (!/^[1-9][0-9]{0,3}$/.test(ttl) || Number(ttl) > MAX_JOIN_TOKEN_HOURS)) throw h.usage(`--ttl-hours must be a whole number of hours from 1 to ${MAX_JOIN_TOKEN_HOURS}`)
      return withSync(String(v.data), env, async sync => {
        const tier = sync.self.tier === 'province' ? 'city' : 'county'
        const { token, expiresAt } = sync.joinToken({ code: String(v.child), tier }, ttl === undefined ? undefined : Number(ttl))
        io.out(`join token for ${tier} ${v.child} (valid once, until ${expiresAt}):\n${token}\non the child: xueji enroll --data DIR --token ${token}\n`)
        return 0
      })
    },
    enroll: async (args, io, env) => {
      const v = h.parse(args, { data: { type: 'string' }, token: { type: 'string' } })
      need(v, 'data')
      const token = v.token ?? env.XUEJI_JOIN_TOKEN
      if (!token) throw h.usage('missing --token (or XUEJI_JOIN_TOKEN)')
      return withSync(String(v.data), env, async sync => {
        const parent = await sync.enrol(String(token))
        io.out(`enrolled under ${parent.tier} ${parent.code} ${parent.name}\n`)
        return 0
      })
    },
    sync: async (args, io, env) => {
      const [sub, ...rest] = args
      const v = h.parse(rest, {
        data: { type: 'string' }, json: { type: 'boolean' }, from: { type: 'string' }, origin: { type: 'string' }, release: { type: 'string' }, by: { type: 'string' }, child: { type: 'string' },
        to: { type: 'string' }, type: { type: 'string' }, payload: { type: 'string' },
      })
      need(v, 'data')
      // A restored node sends nothing before it has fetched back what its parent holds (node/backup/).
      if ((sub === 'push' || sub === 'resend' || sub === 'command' || sub === 'rotate-key') && existsSync(dataPaths(resolve(String(v.data))).restorePending)) {
        throw new XuejiError('NODE_RESTORE_PENDING', `${v.data} was restored from a backup; run "xueji sync rebuild --data ${v.data}" first`, 500)
      }
      return withSync(String(v.data), env, async (sync, ctx) => {
        switch (sub) {
          case 'status': {
            const s = { ...(await sync.status()), queues: await queueCounts(ctx.redisUrl, ctx.prefix) }
            io.out(v.json ? JSON.stringify(s, null, 2) + '\n' : printStatus(s))
            return 0
          }
          case 'push': {
            const lines = await pushAll(sync)
            io.out(lines.length ? lines.join('\n') + '\n' : 'nothing to send\n')
            return lines.some(l => !/: sent/.test(l)) ? 1 : 0
          }
          case 'resend': {
            need(v, 'from')
            // Digits only: Number() would take "0x10", "1e3", " 7 " and "" as seqs.
            const from = /^[1-9][0-9]{0,14}$/.test(String(v.from)) ? Number(v.from) : NaN
            if (!Number.isSafeInteger(from)) throw h.usage(`--from must be a seq (a whole number ≥ 1), not "${String(v.from)}"`)
            // Checked before anything is marked: marking first and failing after would leave the
            // change sets unacknowledged here (at the province, its born-acknowledged ones: the
            // outbox would never be pruned again).
            requireParent(sync)
            const origin = v.origin ? String(v.origin) : sync.self.code
            const last = sync.storage.sqlite.prepare('select max(seq) from sync_change_sets where origin = ?').pluck().get(origin) as number | null
            if (last === null) throw h.usage(`no change set of origin ${origin} is held here${v.origin ? ' (--origin: this node\'s code or a descendant\'s it relays)' : ''}`)
            if (from > last) throw h.usage(`--from ${from} is beyond the last change set of ${origin} held here (seq ${last})`)
            const n = sync.resendFrom(from, origin)
            io.out(`${n} change set(s) of ${origin} (seq ${from} … ${last}) marked to send again\n`)
            const lines = await pushAll(sync)
            io.out(lines.join('\n') + '\n')
            return lines.some(l => !/: sent/.test(l)) ? 1 : 0
          }
          case 'verify': {
            const r = await sync.verifyStored()
            io.out(`${r.checked} change set(s) of ${r.origins} origin(s) checked: ${r.problems.length ? `${r.problems.length} PROBLEM(S)` : 'signatures and chains OK'}\n`)
            for (const p of r.problems) io.out(`  ${p.origin}/${p.seq} ${p.code}: ${p.message}\n`)
            return r.problems.length ? 1 : 0
          }
          case 'rebuild': {
            const r = await sync.rebuild()
            // A restored node may start now: its chain continues the parent's (node/backup/).
            rmSync(dataPaths(resolve(String(v.data))).restorePending, { force: true })
            io.out(`fetched back ${r.changeSets} change set(s), ${r.rows} row(s), of ${r.origins} origin(s)\n`)
            // The children may hold commands this node issued after its backup (sync/downward.ts `holdIssuing`).
            if (r.issuingHeld.length) io.out(`commands to ${r.issuingHeld.join(', ')} (and below) are issued again once each has pulled and reported what it holds\n`)
            return 0
          }
          case 'quarantine': {
            if (v.release !== undefined) {
              need(v, 'release', 'by')
              const m = /^([0-9]{6}):([1-9][0-9]{0,14})$/.exec(String(v.release))
              if (!m) throw h.usage(`--release must be ORIGIN:SEQ as "xueji sync quarantine" lists it (e.g. 330106:12), not "${String(v.release)}"`)
              const [, origin, seq] = m
              const held = sync.storage.sqlite.prepare("select 1 from sync_quarantine where origin = ? and seq = ? and status = 'held'").get(origin, Number(seq))
              if (!held) {
                const done = sync.storage.sqlite.prepare("select decided_by, decided_at from sync_quarantine where origin = ? and seq = ? and status = 'released' order by decided_at desc limit 1").get(origin, Number(seq)) as { decided_by: string; decided_at: string } | undefined
                throw new XuejiError('SYNC_QUARANTINE_NOT_FOUND', done ? `${origin}/${seq} was already released by ${done.decided_by} at ${done.decided_at}` : `${origin}/${seq} is not quarantined here (xueji sync quarantine lists what is)`, 404, { origin, seq: Number(seq) })
              }
              const r = await sync.releaseQuarantine(origin, Number(seq), String(v.by))
              io.out(`released ${origin}/${seq}: applied without ${r.skipped} row(s)\n`)
              return 0
            }
            const s = await sync.status()
            io.out(s.quarantine.items.map(i => `${i.origin}/${i.seq} (${i.rows} row(s)) ${i.receivedAt}: ${i.reasons.join('; ')}`).join('\n') + (s.quarantine.held ? '\n' : 'nothing quarantined\n'))
            return 0
          }
          case 'release-hold': {
            need(v, 'child', 'by')
            const child = String(v.child)
            if (!/^[0-9]{6}$/.test(child)) throw h.usage(`--child must be a child's 6-digit code as "xueji sync status" lists it, not "${child}"`)
            const by = String(v.by).trim()
            if (by === '') throw h.usage('missing --by')
            // The release and its audit entry commit together (node/auth/audit.ts).
            const r = sync.storage.write(() => {
              const released = sync.downward.releaseHold(child)
              appendAudit(sync.storage, { actorId: by, actorRole: 'operator', ip: null, action: 'sync.release_hold', targetTable: 'sync_issue_holds', targetId: child, fields: null, outcome: 'ok', status: null, code: null })
              return released
            })
            io.out(`released the hold on ${child} (held since ${r.heldAt}, restore point: local command id ${r.fromId}) by ${by}: commands to ${child} and below are issued now without its report, so it may refuse one under a seq it already holds (SYNC_COMMAND_REPLAY) or skip one stored under a local id its cursor has passed\n`)
            return 0
          }
          case 'rotate-key': {
            const r = await sync.rotateKey()
            io.out(`new key ${r.kid}, valid from seq ${r.validFromSeq}; the parent registers it before the next push\n`)
            return 0
          }
          case 'command': {
            need(v, 'to', 'type')
            let payload: Record<string, unknown> = {}
            if (v.payload !== undefined) {
              let parsed: unknown
              try {
                parsed = JSON.parse(String(v.payload))
              } catch (err) {
                throw h.usage(`--payload must be a JSON object: ${(err as Error).message}`)
              }
              if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw h.usage('--payload must be a JSON object, e.g. \'{"n":1}\'')
              payload = parsed as Record<string, unknown>
            }
            const r = await sync.downward.issue(String(v.to), String(v.type), payload)
            io.out(`command ${v.type} to ${v.to} issued as seq ${r.seq}; the destination pulls it\n`)
            return 0
          }
          default:
            throw h.usage(`unknown sync command "${sub ?? ''}" (status, push, resend, verify, rebuild, quarantine, release-hold, rotate-key, command)`)
        }
      })
    },
  }
}
