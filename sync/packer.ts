/**
 * The packer (DESIGN.md §4): turns this node's outbox rows into signed change sets, stored in
 * SQLite before anything is sent. Woken right after each committed write (debounced, see
 * `createPackTrigger`), by the reconciler, and by `xueji sync push`.
 *
 * Signing is asynchronous and a SQLite transaction is not, so a change set is signed first and
 * then stored in a transaction that re-checks the chain head, the rows and the key: if anything
 * moved meanwhile (another process packed, the key was rotated), the round starts over. Seqs
 * therefore never have gaps and never repeat, whoever packs.
 */
import type { Storage } from '../schema/db.ts'
import { CHANGESET_FORMAT, CHANGESET_TYP, packBody, signChangeSetRows, splitIntoChangeSets, type AuditAnchor, type ChangeSetHead } from './changeset.ts'
import { syncError } from './errors.ts'
import { openCompactJws, type Signer } from './keys.ts'
import type { SelfNode } from './registry.ts'
import { lap, type StageTimes } from './stages.ts'

/** What the packer needs. */
export interface PackerDeps {
  storage: Storage
  self: SelfNode
  /** The key valid for a seq of this node (rotation: the current key for new seqs). */
  signerFor(seq: number): Promise<Signer>
  limits: { maxRows: number; maxBytes: number }
  /** True at the province: its change sets have no parent to go to, so they are born acknowledged. */
  terminal: boolean
  /** Checked before each round: true ends packing there (the node is stopping); the rest waits for the next start. */
  stop?: () => boolean
  /** Called after each change set was stored (to send it at once), with the time of its packing stages (sync/stages.ts). */
  onStored?(seq: number, rows: number, times: StageTimes): void
}

interface OutboxRow {
  id: number
  table_name: string
  key_json: string
  op: 'upsert' | 'delete'
  row_json: string | null
  version: number
  epoch: number
  actor: string | null
  rekey_json: string | null
}

/**
 * How many outbox rows one round reads; bounded so a huge backlog neither loads at once nor holds
 * the event loop: reading, parsing and sizing 20,000 rows took 2 s on a busy 2-core machine, 1,000
 * about 0.1 s, and the round then awaits its signature, letting requests in between.
 */
const ROUND_ROWS = 1000

/**
 * Packs every unpacked outbox row; returns the seqs made (in order). Idempotent and safe to call
 * concurrently from several processes; within one process, calls should be serialised
 * (`serialise` below) so that they do not just race each other. With `anchorIdleMs`, when there
 * is no row, the audit head moved since the last change set and that one is older than
 * `anchorIdleMs`, packs an empty one: it carries the head up as the parent's anchor.
 */
export async function packOutbox(deps: PackerDeps, opts: { anchorIdleMs?: number } = {}): Promise<number[]> {
  const { storage, self } = deps
  const db = storage.sqlite
  const readRows = db.prepare(
    'select id, table_name, key_json, op, row_json, version, epoch, actor, rekey_json from outbox where change_set_seq is null order by id limit ?',
  )
  const readHead = db.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1')
  const insert = db.prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?, ?)`)
  const mark = db.prepare('update outbox set change_set_seq = ? where id >= ? and id <= ? and change_set_seq is null')
  // The audit log's head travels in the signed manifest: the parent's anchor (node/auth/audit.ts).
  const auditHead = db.prepare('select seq, hash from audit_log order by seq desc limit 1')
  const lastOwn = db.prepare('select jws, created_at from sync_change_sets where origin = ? order by seq desc limit 1')
  /** Whether the audit head moved since this node's last change set, and that is `idleMs` old. */
  const anchorDue = (idleMs: number) => {
    const now = auditHead.get() as AuditAnchor | undefined
    const last = lastOwn.get(self.code) as { jws: string; created_at: string } | undefined
    if (!now || (last && Date.now() - Date.parse(last.created_at) < idleMs)) return false
    const sent = last ? (openCompactJws(last.jws, CHANGESET_TYP).unverifiedPayload.audit as AuditAnchor | undefined) : undefined
    return sent?.seq !== now.seq || sent.hash !== now.hash
  }
  const keyValid = db.prepare('select 1 from node_keys where kid = ? and valid_from_seq <= ? and (valid_until_seq is null or valid_until_seq >= ?)')
  const made: number[] = []

  for (;;) {
    if (deps.stop?.()) return made
    const round = performance.now()
    const raw = readRows.all(ROUND_ROWS) as OutboxRow[]
    // Nothing to send: only an anchor-only (empty) change set when asked and the audit log moved.
    if (raw.length === 0 && (deps.terminal || opts.anchorIdleMs === undefined || !anchorDue(opts.anchorIdleMs))) return made
    const ids: number[] = raw.map(r => r.id)
    const rows = raw.map(rowText)
    const chunks = raw.length === 0 ? [[]] : splitIntoChangeSets(rows, deps.limits, text => Buffer.byteLength(text, 'utf8'))
    // Reading and cutting the round is shared out among its change sets.
    const share = (performance.now() - round) / chunks.length
    let offset = 0
    let restart = false
    for (const chunk of chunks) {
      const times: StageTimes = { pack: share }
      let t = performance.now()
      const first = ids[offset]
      const last = ids[offset + chunk.length - 1]
      offset += chunk.length
      const head = readHead.get(self.code) as { seq: number; hash: string } | undefined
      const seq = (head?.seq ?? 0) + 1
      const body: ChangeSetHead = { format: CHANGESET_FORMAT, origin: self.code, seq, prev: head?.hash ?? null, createdAt: new Date().toISOString() }
      const signer = await deps.signerFor(seq)
      const signed = await signChangeSetRows(body, chunk, signer, auditHead.get() as AuditAnchor | undefined)
      const packed = packBody(signed.body)
      t = lap(times, 'sign', t)
      const stored = tryStore(() => storage.write(() => {
        const now = readHead.get(self.code) as { seq: number; hash: string } | undefined
        if ((now?.seq ?? 0) + 1 !== seq || !keyValid.get(signer.kid, seq, seq)) return false
        // The ids of a chunk are consecutive in this read, but rows committed meanwhile by a
        // slow transaction could have smaller ids: only rows still unpacked count, all of them.
        if (chunk.length > 0 && mark.run(seq, first, last).changes !== chunk.length) throw new PackRaceError()
        if (chunk.length === 0 && readRows.all(1).length > 0) return false // rows arrived: pack them instead
        const at = new Date().toISOString()
        insert.run(self.code, seq, signed.hash, body.prev, packed, signed.jws, signer.kid, chunk.length, Buffer.byteLength(signed.body), body.createdAt, at, deps.terminal ? at : null)
        return true
      }))
      if (!stored) {
        restart = true
        break
      }
      lap(times, 'pack', t)
      deps.onStored?.(seq, chunk.length, times)
      made.push(seq)
    }
    if (restart) continue
  }
}

/** Thrown inside the store transaction to roll it back when rows moved under the packer. */
class PackRaceError extends Error {}

function tryStore(fn: () => boolean): boolean {
  try {
    return fn()
  } catch (err) {
    if (err instanceof PackRaceError) return false
    throw err
  }
}

/**
 * An outbox row as a change set's row: the canonical JSON text of its `ChangeRow` (keys in
 * canonical order: actor, epoch, key, op, rekey, row, table, version), assembled from the texts
 * the outbox holds, which were written canonical (`appendOutbox`, the seed writer): neither
 * parsed nor written again (a 1,000-row round of students: about 20 ms of the county's thread
 * less, bench:sync (e)). Its shape is checked as `signChangeSet` checks a body's rows, so the
 * packer refuses what a receiver would.
 */
function rowText(r: OutboxRow): string {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `outbox row ${r.id}: ${why}`, { reason: why, outboxId: r.id })
  const object = (text: string | null) => text !== null && text.startsWith('{') && text.endsWith('}') && text !== '{}'
  if (typeof r.table_name !== 'string' || r.table_name === '') throw bad('table')
  if (!object(r.key_json)) throw bad('key')
  if (r.op === 'upsert' ? !object(r.row_json) : r.op !== 'delete' || r.row_json !== null) throw bad('row')
  if (!Number.isSafeInteger(r.version) || r.version < 0) throw bad('version')
  if (!Number.isSafeInteger(r.epoch) || r.epoch < 0) throw bad('epoch')
  if (r.rekey_json !== null && !object(r.rekey_json)) throw bad('rekey')
  let text = '{'
  if (r.actor !== null) text += `"actor":${JSON.stringify(r.actor)},`
  // Epoch 0 is no epoch (records that have never changed hands).
  if (r.epoch) text += `"epoch":${r.epoch},`
  text += `"key":${r.key_json},"op":"${r.op}",`
  if (r.rekey_json !== null) text += `"rekey":{"from":${r.rekey_json}},`
  if (r.row_json !== null) text += `"row":${r.row_json},`
  return `${text}"table":${JSON.stringify(r.table_name)},"version":${r.version}}`
}

/**
 * Runs `fn` one call at a time; a call asked for while one runs is folded into a single
 * follow-up run (enough: each run packs everything there is).
 */
export function serialise<T>(fn: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined
  let queued: Promise<T> | undefined
  const run = (): Promise<T> => {
    running = fn().finally(() => {
      running = undefined
    })
    return running
  }
  return () => {
    if (!running) return run()
    queued ??= running.then(
      () => ((queued = undefined), run()),
      () => ((queued = undefined), run()),
    )
    return queued
  }
}
