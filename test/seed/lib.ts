import { createHash } from 'node:crypto'
import { join } from 'node:path'
import type { Test } from 'tap'
import { getTableColumns } from 'drizzle-orm'
import type { Tier } from '../../config/schema.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { seedNode, type SeedOptions, type SeedResult } from '../../scripts/seed/index.ts'

/** A fixed "today" so the tests see the same school calendar every day they run. */
export const AS_OF = new Date('2026-11-20T04:00:00Z')

export const RECORD_TABLES = REPLICATED_TABLES.map(t => t.name).filter(n => n !== 'problem_records' && n !== 'alerts')

/** Seeds a fresh database (no node identity needed: the generator only reads tier and code). */
export function seeded(t: Test, opts: Partial<SeedOptions> & { tier?: Tier; code?: string } = {}): { storage: Storage; result: SeedResult } {
  const storage = openStorage(join(t.testdir(), `node-${Math.random().toString(36).slice(2)}.db`))
  t.teardown(() => storage.close())
  const tier = opts.tier ?? 'county'
  const code = opts.code ?? (tier === 'province' ? '330000' : tier === 'city' ? '330100' : '330106')
  const result = seedNode(storage, { node: { tier, code }, students: 300, seed: 1, asOf: AS_OF, ...opts })
  return { storage, result }
}

export type SqlRow = Record<string, unknown>

export function rows(storage: Storage, table: string): SqlRow[] {
  return storage.sqlite.prepare(`select * from ${table} order by id`).all() as SqlRow[]
}

/**
 * SHA-256 over every record and outbox row, in a stable order. An outbox row's created_at is left
 * out: rows the node's services append (status changes, completions) are stamped with the wall
 * clock when queued, which is not data.
 */
export function dataHash(storage: Storage): string {
  const h = createHash('sha256')
  for (const table of RECORD_TABLES) for (const r of rows(storage, table)) h.update(JSON.stringify(r))
  for (const r of storage.sqlite.prepare('select table_name, key_json, op, row_json, version, epoch, actor from outbox order by id').all()) h.update(JSON.stringify(r))
  return h.digest('hex')
}

const byTable = new Map(REPLICATED_TABLES.map(t => [t.name, t.table]))

/** A SQL row as the records layer sees it: drizzle property names, booleans as booleans. */
export function camel(table: string, row: SqlRow): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [key, column] of Object.entries(getTableColumns(byTable.get(table)!))) {
    const v = row[column.name]
    out[key] = column.columnType === 'SQLiteBoolean' && v !== null ? v === 1 : v
  }
  return out
}
