import type Database from 'better-sqlite3'
import type { Storage } from '../schema/db.ts'
import { canonicalJson } from './canonical.ts'
import type { ChangeRow } from './changeset.ts'

const statements = new WeakMap<Database.Database, Database.Statement>()

/**
 * Appends change rows to the outbox. MUST be called inside `storage.write(...)`, in the same
 * transaction as the domain write it records: then the write and its outbox rows commit or roll
 * back together, and the packer is woken after the commit.
 */
export function appendOutbox(storage: Storage, rows: readonly ChangeRow[], now = new Date().toISOString()): void {
  if (!storage.sqlite.inTransaction) throw new Error('appendOutbox must run inside storage.write()')
  let insert = statements.get(storage.sqlite)
  if (!insert) {
    insert = storage.sqlite.prepare(
      'insert into outbox (table_name, key_json, op, row_json, version, epoch, actor, rekey_json, created_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    )
    statements.set(storage.sqlite, insert)
  }
  for (const r of rows) {
    insert.run(r.table, canonicalJson(r.key), r.op, r.row === undefined ? null : canonicalJson(r.row), r.version, r.epoch ?? 0, r.actor ?? null, r.rekey ? canonicalJson(r.rekey.from) : null, now)
  }
  if (rows.length > 0) storage.markOutboxChanged()
}
