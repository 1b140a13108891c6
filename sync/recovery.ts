/**
 * Audit and disaster recovery over the stored change sets (DESIGN.md §10, R-26.1):
 * `verifyStored` re-verifies every signature and chain link (`xueji sync verify`);
 * `rebuildFromParent` fetches back from the parent the change sets of this node's subtree that
 * are missing here (a node restored from an older backup) and applies them (`xueji sync rebuild`),
 * and takes back what the parent recorded this node applied of its downward commands, so that
 * those pulled again are not run a second time; and holds issuing commands to each child's subtree
 * until the child has told which of this node's commands it holds (sync/downward.ts).
 */
import type { Storage } from '../schema/db.ts'
import type { Applier } from './apply.ts'
import { inArea } from './area.ts'
import { canonicalJson } from './canonical.ts'
import { packBody, unpackBody, verifyChangeSet } from './changeset.ts'
import { syncError } from './errors.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import type { AppliedSeq, Downward } from './downward.ts'
import type { ParentTransport } from './transport.ts'

/** One problem `verifyStored` found. */
export interface StoredProblem {
  origin: string
  seq: number
  code: string
  message: string
}

/** Re-verifies every stored change set: signature (with the key valid for its seq), hash, seqs without gaps, prev chain. */
export async function verifyStored(storage: Storage, registry: KeyRegistry): Promise<{ checked: number; origins: number; problems: StoredProblem[] }> {
  const problems: StoredProblem[] = []
  let checked = 0
  const origins = storage.sqlite.prepare('select distinct origin from sync_change_sets order by origin').pluck().all() as string[]
  for (const origin of origins) {
    let prevSeq = 0
    let prevHash: string | null = null
    for (const cs of storage.sqlite.prepare('select seq, hash, body, jws from sync_change_sets where origin = ? order by seq').iterate(origin) as Iterable<{ seq: number; hash: string; body: Buffer | string; jws: string }>) {
      checked++
      try {
        const { body } = await verifyChangeSet({ body: unpackBody(cs.body), jws: cs.jws, hash: cs.hash }, registry)
        if (body.seq !== cs.seq || body.origin !== origin) problems.push({ origin, seq: cs.seq, code: 'SYNC_MALFORMED', message: 'stored under another origin/seq than it says' })
        if (cs.seq !== prevSeq + 1) problems.push({ origin, seq: cs.seq, code: 'SYNC_SEQ_GAP', message: `seq ${prevSeq + 1} … ${cs.seq - 1} missing` })
        else if (body.prev !== prevHash) problems.push({ origin, seq: cs.seq, code: 'SYNC_PREV_MISMATCH', message: 'prev is not the hash of the previous change set' })
      } catch (err) {
        problems.push({ origin, seq: cs.seq, code: (err as { code?: string }).code ?? 'INTERNAL', message: (err as Error).message })
      }
      prevSeq = cs.seq
      prevHash = cs.hash
    }
  }
  return { checked, origins: origins.length, problems }
}

/**
 * Fetches from the parent every change set of this node's subtree newer than what is held here,
 * verifies it (signature and chain) and applies it with its record, as acknowledged (the parent
 * holds it). Rows homed here come back too: that is the point after a restore.
 *
 * Then the highest command seq per issuer this node reported applied in its pulls, as the parent
 * recorded it (`origins.list` answers it; an older parent does not, and then every command pulled
 * again runs again): kept here, once every change set is back, which carry those commands'
 * writes (a node reports only when the parent holds all it wrote, downward.ts `appliedReport`).
 * The parent's word is trusted as for the change sets it serves: it could withhold commands anyway.
 *
 * First of all, issuing to every child's subtree is held (`issuingHeld`, downward.ts
 * `holdIssuing`): the children may hold commands this node issued after its backup. `xueji
 * restore` held it already (node/backup/); holding again keeps the lower restore point.
 */
export async function rebuildFromParent(deps: {
  storage: Storage
  self: SelfNode
  registry: KeyRegistry
  applier: Applier
  transport: ParentTransport
  downward: Pick<Downward, 'takeBackApplied' | 'holdIssuing'>
}): Promise<{ origins: number; changeSets: number; rows: number; commandsApplied: AppliedSeq[]; issuingHeld: string[] }> {
  const { storage, self } = deps
  const db = storage.sqlite
  const issuingHeld = deps.downward.holdIssuing()
  const head = db.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1')
  const insert = db.prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
  const { origins, commandsApplied } = await deps.transport.request({ type: 'origins.list' })
  let changeSets = 0
  let rows = 0
  // This node's own stream first, then its descendants' (parents of rows before children).
  const mine = origins.filter(o => inArea(self, o.origin)).sort((a, b) => (a.origin === self.code ? -1 : b.origin === self.code ? 1 : a.origin.localeCompare(b.origin)))
  // Outbox rows the backup holds unpacked were written before it was taken; the lost node packed
  // them into the change sets fetched back below. Each is marked packed in the change set that
  // carries it, in the same transaction: packed again, they would go up a second time as new
  // change sets, an old image of a record that later changed or was deleted (resurrecting it
  // above). Rows no fetched change set carries (the node was lost before sending them) stay
  // unpacked and go up as new change sets at the next start.
  const unpacked = new Map<string, number[]>()
  for (const r of db.prepare('select id, table_name, key_json, op, version from outbox where change_set_seq is null order by id').iterate() as Iterable<{ id: number; table_name: string; key_json: string; op: string; version: number }>) {
    const k = outboxKey(r.table_name, r.key_json, r.op, r.version)
    unpacked.set(k, [...(unpacked.get(k) ?? []), r.id])
  }
  const markPacked = db.prepare('update outbox set change_set_seq = ? where id = ? and change_set_seq is null')
  for (const { origin } of mine) {
    for (;;) {
      const last = head.get(origin) as { seq: number; hash: string } | undefined
      const { changeSets: page } = await deps.transport.request({ type: 'changesets.fetch', origin, after: last?.seq ?? 0, limit: 100 })
      if (page.length === 0) break
      let prev = last
      for (const cs of page) {
        const { body, manifest, kid } = await verifyChangeSet(cs, deps.registry)
        if (body.origin !== origin || body.seq !== (prev?.seq ?? 0) + 1 || body.prev !== (prev?.hash ?? null)) {
          throw syncError('SYNC_PREV_MISMATCH', `the parent's ${origin} seq ${body.seq} does not continue the chain held here`, { origin, expectedSeq: (prev?.seq ?? 0) + 1 })
        }
        const carried = origin === self.code ? body.rows.map(r => outboxKey(r.table, canonicalJson(r.key), r.op, r.version)).filter(k => unpacked.has(k)) : []
        storage.write(() => {
          const result = deps.applier.apply(body.rows, { code: origin, tier: deps.registry.tierOf(origin) ?? 'county' })
          if (result.bad.length > 0) throw syncError(result.bad[0].code, `${origin} seq ${body.seq}: ${result.bad.length} row(s) do not apply here`, { origin, seq: body.seq, rows: result.bad.slice(0, 20) })
          const now = new Date().toISOString()
          insert.run(origin, body.seq, manifest.hash, body.prev, packBody(cs.body), cs.jws, kid, body.rows.length, manifest.bytes, body.createdAt, origin === self.code ? null : origin, now, now)
          for (const k of carried) for (const id of unpacked.get(k) ?? []) markPacked.run(body.seq, id)
        })
        for (const k of carried) unpacked.delete(k)
        changeSets++
        rows += body.rows.length
        prev = { seq: body.seq, hash: manifest.hash }
      }
    }
  }
  const applied = (Array.isArray(commandsApplied) ? commandsApplied : []).filter(a => typeof a?.issuer === 'string' && a.issuer !== '' && Number.isSafeInteger(a.seq) && a.seq > 0)
  if (applied.length > 0) deps.downward.takeBackApplied(applied.map(a => ({ issuer: a.issuer, seq: a.seq })))
  return { origins: mine.length, changeSets, rows, commandsApplied: applied, issuingHeld }
}

/** What identifies an outbox row in a change set: its table, canonical key, operation and version. */
const outboxKey = (table: string, keyJson: string, op: string, version: number) => `${table}\u0000${keyJson}\u0000${op}\u0000${version}`
