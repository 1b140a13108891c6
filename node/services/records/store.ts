/**
 * Row plumbing shared by the records service: cached prepared statements, conversion between the
 * API's camelCase objects and SQL rows, and writes that append their outbox row in the same
 * transaction (DESIGN.md §3). Every function here must run inside `storage.write()` when it writes.
 */
import type Database from 'better-sqlite3'
import type { Storage } from '../../../schema/db.ts'
import { statementCache } from '../../../schema/statements.ts'
import { appendOutbox } from '../../../sync/outbox.ts'
import type { ChangeRow } from '../../../sync/changeset.ts'
import type { Column, ResourceSpec } from './resources.ts'

export type Rec = Record<string, unknown>
export type SqlRow = Record<string, unknown>

export interface Store {
  sqlite: Database.Database
  /** The prepared statement of `sql`, kept for the next call. */
  statement(sql: string): Database.Statement
  all(sql: string, ...params: unknown[]): SqlRow[]
  get(sql: string, ...params: unknown[]): SqlRow | undefined
  run(sql: string, ...params: unknown[]): Database.RunResult
  /** The SQL row of `id`, or undefined. */
  row(spec: ResourceSpec, id: string): SqlRow | undefined
  /** Inserts a full record (camelCase) and appends its upsert; returns the stored SQL row. */
  insert(spec: ResourceSpec, rec: Rec, actor: string): SqlRow
  /** Rewrites a full record (camelCase, version already raised) and appends its upsert. */
  update(spec: ResourceSpec, rec: Rec, actor: string, rekey?: Record<string, string>): SqlRow
  /** Deletes by id and appends a tombstone (key only) with the version raised by one. */
  tombstone(spec: ResourceSpec, row: SqlRow, actor: string): void
}

/** A SQL row in the API's form (camelCase keys, booleans); `spec` is a table's spec, or its columns alone. */
export function fromSql(spec: { columns: readonly Column[] }, row: SqlRow): Rec {
  const out: Rec = {}
  for (const c of spec.columns) {
    const v = row[c.name]
    out[c.key] = c.type === 'boolean' && v !== null && v !== undefined ? v === 1 : v
  }
  return out
}

function toSqlValues(spec: ResourceSpec, rec: Rec): unknown[] {
  return spec.columns.map(c => {
    const v = rec[c.key]
    if (v === undefined || v === null) return null
    return c.type === 'boolean' ? (v ? 1 : 0) : v
  })
}

export function createStore(storage: Storage): Store {
  const { sqlite } = storage
  const stmt = statementCache(sqlite, 1024)
  const all = (sql: string, ...params: unknown[]) => stmt(sql).all(...params) as SqlRow[]
  const get = (sql: string, ...params: unknown[]) => stmt(sql).get(...params) as SqlRow | undefined
  const run = (sql: string, ...params: unknown[]) => stmt(sql).run(...params)
  const row = (spec: ResourceSpec, id: string) => get(`select * from ${spec.table} where id = ?`, id)

  const upsert = (spec: ResourceSpec, stored: SqlRow, actor: string, rekey?: Record<string, string>) => {
    const change: ChangeRow = { table: spec.table, key: { id: String(stored.id) }, op: 'upsert', row: stored, version: Number(stored.version), epoch: Number(stored.epoch), actor }
    if (rekey) change.rekey = { from: rekey }
    appendOutbox(storage, [change])
  }

  return {
    sqlite, statement: stmt, all, get, run, row,
    insert(spec, rec, actor) {
      const names = spec.columns.map(c => c.name)
      run(`insert into ${spec.table} (${names.join(', ')}) values (${names.map(() => '?').join(', ')})`, ...toSqlValues(spec, rec))
      const stored = row(spec, String(rec.id))!
      upsert(spec, stored, actor)
      return stored
    },
    update(spec, rec, actor, rekey) {
      const cols = spec.columns.filter(c => c.name !== 'id')
      const values = toSqlValues(spec, rec).filter((_, i) => spec.columns[i].name !== 'id')
      run(`update ${spec.table} set ${cols.map(c => `${c.name} = ?`).join(', ')} where id = ?`, ...values, rec.id)
      const stored = row(spec, String(rec.id))!
      upsert(spec, stored, actor, rekey)
      return stored
    },
    tombstone(spec, stored, actor) {
      run(`delete from ${spec.table} where id = ?`, stored.id)
      appendOutbox(storage, [{ table: spec.table, key: { id: String(stored.id) }, op: 'delete', version: Number(stored.version) + 1, epoch: Number(stored.epoch), actor }])
    },
  }
}
