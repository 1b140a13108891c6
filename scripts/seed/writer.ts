import type Database from 'better-sqlite3'
import { getTableConfig, type SQLiteTable } from 'drizzle-orm/sqlite-core'
import type { Storage } from '../../schema/db.ts'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'

/** Actor recorded on seeded outbox rows and as the entering/verifying account. */
export const SEED_ACTOR = 'system:seed'

/** A row under its SQL column names; absent columns take the column default, else null. */
export type Row = Record<string, string | number | boolean | null | undefined>

interface Column {
  name: string
  /** `"name":`, pre-encoded for the canonical JSON of the row image. */
  jsonKey: string
  fallback: string | number | null
  notNull: boolean
}

/**
 * Writes seeded rows with prepared statements (drizzle's query builder costs ~50 µs a row, too
 * slow for a million students) and appends each to the outbox in the same transaction, as the
 * sync layer requires (DESIGN.md §3).
 *
 * The outbox row is exactly what `appendOutbox` writes for an upsert of a new record: key
 * `{"id":…}`, the full row image under SQL column names as canonical JSON, version 1, epoch 0.
 * The image is built directly instead of through `canonicalJson`: rows are flat, so sorted column
 * names and `JSON.stringify` of each value give the same bytes (test/seed/writer.test.ts checks
 * that) at a fraction of the cost. Booleans are stored and imaged as SQLite's 0/1.
 */
export class SeedWriter {
  private readonly tables = new Map<string, { columns: Column[]; insert: Database.Statement }>()
  private readonly outbox: Database.Statement
  readonly counts: Record<string, number> = {}

  /** Base columns the writer fills when a row leaves them out (schema/records/columns.ts). */
  private readonly base: Row

  constructor(
    private readonly storage: Storage,
    private readonly now: string,
    homeNode: string,
    /** Makes the id of a row that has none. */
    private readonly newId: () => string,
  ) {
    this.base = { home_node: homeNode, version: 1, epoch: 0, created_at: now, updated_at: now }
    this.outbox = storage.sqlite.prepare(
      "insert into outbox (table_name, key_json, op, row_json, version, epoch, actor, rekey_json, created_at) values (?, ?, 'upsert', ?, ?, ?, ?, null, ?)",
    )
    for (const t of REPLICATED_TABLES) this.prepare(t.name, t.table)
  }

  private prepare(name: string, table: SQLiteTable): void {
    const columns = getTableConfig(table)
      .columns.map((c): Column => {
        const d = c.default
        const fallback = typeof d === 'boolean' ? (d ? 1 : 0) : typeof d === 'string' || typeof d === 'number' ? d : null
        return { name: c.name, jsonKey: JSON.stringify(c.name) + ':', fallback, notNull: c.notNull }
      })
      // Canonical JSON sorts keys by UTF-16 code units: plain sort() on the names.
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const insert = this.storage.sqlite.prepare(`insert into ${name} (${columns.map(c => c.name).join(', ')}) values (${columns.map(() => '?').join(', ')})`)
    this.tables.set(name, { columns, insert })
    this.counts[name] = 0
  }

  /**
   * Inserts one new record and its outbox row. A column takes its value from `row`, else from
   * `more` (shared field groups such as the verification state, passed apart so the hot path
   * copies no objects), else the base columns (new id, home node, version 1, epoch 0, now),
   * else the column default, else null.
   */
  insert(table: string, row: Row, more?: Row, more2?: Row): void {
    const t = this.tables.get(table)
    if (!t) throw new Error(`not a replicated table: ${table}`)
    if (row.id === undefined) row.id = this.newId()
    const values: Array<string | number | null> = new Array(t.columns.length)
    let json = '{'
    for (let i = 0; i < t.columns.length; i++) {
      const c = t.columns[i]
      let raw = row[c.name]
      if (raw === undefined && more) raw = more[c.name]
      if (raw === undefined && more2) raw = more2[c.name]
      if (raw === undefined) raw = this.base[c.name]
      const v = raw === undefined ? c.fallback : raw === true ? 1 : raw === false ? 0 : raw
      if (v === null && c.notNull) throw new Error(`seed: ${table}.${c.name} is required`)
      if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(`seed: ${table}.${c.name} is not finite`)
      values[i] = v
      json += (i === 0 ? '' : ',') + c.jsonKey + (v === null ? 'null' : JSON.stringify(v))
    }
    json += '}'
    t.insert.run(values)
    const version = (row.version as number | undefined) ?? 1
    const epoch = (row.epoch as number | undefined) ?? 0
    this.outbox.run(table, `{"id":${JSON.stringify(row.id)}}`, json, version, epoch, SEED_ACTOR, this.now)
    this.counts[table]++
  }

  /** Wakes the packer after the batch commits, as appendOutbox does. */
  markBatch(): void {
    this.storage.markOutboxChanged()
  }
}
