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
  /** Runs `fn` in a `BEGIN IMMEDIATE` transaction; synchronous, like better-sqlite3 itself. */
  write<T>(fn: () => T): T
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
  return {
    sqlite,
    db,
    write: fn => sqlite.transaction(fn).immediate(),
    close: () => {
      if (sqlite.open) sqlite.close()
    },
  }
}
