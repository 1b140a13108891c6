import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import * as tables from './index.ts'

export type Db = BetterSQLite3Database<typeof tables>

export interface Storage {
  /** The raw better-sqlite3 handle, for prepared statements on hot paths (sync apply). */
  sqlite: Database.Database
  db: Db
  /**
   * Runs `fn` in a `BEGIN IMMEDIATE` transaction; synchronous, like better-sqlite3 itself.
   * Nested calls join the outer transaction (a savepoint).
   */
  write<T>(fn: () => T): T
  /** Marks the current write as having appended outbox rows (called by sync/outbox.ts). */
  markOutboxChanged(): void
  /** Calls `listener` after every committed write that appended outbox rows (wakes the packer). */
  onOutboxCommit(listener: () => void): () => void
  close(): void
}

export const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'migrations')

/**
 * Opens (creating if needed) a node database and applies pending migrations.
 * WAL + synchronous=FULL so an acknowledged write survives power loss (DESIGN.md §3).
 */
export function openStorage(file: string, opts: { migrate?: boolean } = {}): Storage {
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file, { timeout: 5000 })
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = drizzle({ client: sqlite, schema: tables })
  if (opts.migrate !== false) migrate(db, { migrationsFolder: MIGRATIONS_DIR })
  const listeners = new Set<() => void>()
  let depth = 0
  let changed = false
  return {
    sqlite,
    db,
    write: fn => {
      if (depth > 0) return sqlite.transaction(fn)()
      depth++
      changed = false
      let result
      try {
        result = sqlite.transaction(fn).immediate()
      } finally {
        depth--
      }
      if (changed) {
        changed = false
        for (const l of listeners) l()
      }
      return result
    },
    markOutboxChanged: () => {
      changed = true
    },
    onOutboxCommit: listener => {
      listeners.add(listener)
      return () => listeners.delete(listener)
    },
    close: () => {
      if (sqlite.open) sqlite.close()
    },
  }
}
