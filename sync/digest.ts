/**
 * Anti-entropy (DESIGN.md §10): a digest of what a node owns, per unit (a school, kindergarten
 * or other self-owned record with everything that hangs under it): the number of rows and a
 * SHA-256 over their `table:id:version`. The parent takes the same digest of its replica for
 * that home node and reports every unit that differs. Ids and versions only, no personal data.
 */
import type { Storage } from '../schema/db.ts'
import { REPLICATED_TABLES, type ReplicatedTable } from '../schema/replicated.ts'
import { sha256Hex } from './canonical.ts'

/** One unit's summary. */
export interface UnitDigest {
  /** `table:id` of the unit's root record, e.g. `schools:7f0c…`. */
  unit: string
  count: number
  hash: string
}

/** What a child sends: its digest as of its last change set `seq` (everything packed and acknowledged). */
export interface Digest {
  origin: string
  seq: number
  units: UnitDigest[]
}

/** The parent's verdict. */
export interface DigestResult {
  result: 'ok' | 'drift' | 'behind'
  drift: { unit: string; child: { count: number; hash: string } | null; replica: { count: number; hash: string } | null }[]
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`

/** Computes the digest of the rows homed at `home` in this database. */
export function computeUnits(storage: Storage, home: string, tables: readonly ReplicatedTable[] = REPLICATED_TABLES): UnitDigest[] {
  const byName = new Map(tables.map(t => [t.name, t]))
  const lines = new Map<string, string[]>()
  for (const t of tables) {
    // Walk the owner chain up to the root table, joining as we go.
    let sql = `select t0.id as id, t0.version as version`
    let from = ` from ${q(t.name)} t0`
    let at: ReplicatedTable = t
    let alias = 0
    while (at.owner !== 'self') {
      const parent = byName.get(at.owner.parent)
      if (!parent) break
      from += ` join ${q(parent.name)} t${alias + 1} on t${alias + 1}.id = t${alias}.${q(at.owner.column)}`
      alias++
      at = parent
    }
    sql += `, t${alias}.id as root${from} where t0.home_node = ?`
    for (const r of storage.sqlite.prepare(sql).iterate(home) as Iterable<{ id: string; version: number; root: string }>) {
      const unit = `${at.name}:${r.root}`
      let list = lines.get(unit)
      if (!list) lines.set(unit, (list = []))
      list.push(`${t.name}:${r.id}:${r.version}`)
    }
  }
  return [...lines.entries()]
    .map(([unit, l]) => ({ unit, count: l.length, hash: sha256Hex(l.sort().join('\n')) }))
    .sort((a, b) => (a.unit < b.unit ? -1 : a.unit > b.unit ? 1 : 0))
}

/** Compares a child's units with the replica's; pure. */
export function compareUnits(child: readonly UnitDigest[], replica: readonly UnitDigest[]): DigestResult['drift'] {
  const mine = new Map(replica.map(u => [u.unit, u]))
  const drift: DigestResult['drift'] = []
  for (const c of child) {
    const r = mine.get(c.unit)
    mine.delete(c.unit)
    if (!r || r.count !== c.count || r.hash !== c.hash) {
      drift.push({ unit: c.unit, child: { count: c.count, hash: c.hash }, replica: r ? { count: r.count, hash: r.hash } : null })
    }
  }
  for (const r of mine.values()) drift.push({ unit: r.unit, child: null, replica: { count: r.count, hash: r.hash } })
  return drift
}
