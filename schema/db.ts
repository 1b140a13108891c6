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
 * A new database is made with `auto_vacuum = INCREMENTAL` (SQLite takes it only before the first
 * table), so that pages freed in bulk (the outbox of acknowledged change sets) can be handed back
 * to the file system (`releaseFreePages`); an older database keeps its setting.
 */
export function openStorage(file: string, opts: { migrate?: boolean } = {}): Storage {
  mkdirSync(dirname(file), { recursive: true })
  const sqlite = new Database(file, { timeout: 5000 })
  sqlite.pragma('auto_vacuum = INCREMENTAL')
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

/**
 * Hands free pages back to the file system when they are more than a quarter of the file
 * (a database made with `auto_vacuum = INCREMENTAL`; otherwise SQLite reuses them for later
 * writes and this does nothing). Outside any transaction. Returns the pages released.
 */
export function releaseFreePages(storage: Storage): number {
  const free = storage.sqlite.pragma('freelist_count', { simple: true }) as number
  const pages = storage.sqlite.pragma('page_count', { simple: true }) as number
  if (free * 4 <= pages || storage.sqlite.pragma('auto_vacuum', { simple: true }) !== 2) return 0
  storage.sqlite.pragma('incremental_vacuum')
  return free - (storage.sqlite.pragma('freelist_count', { simple: true }) as number)
}
