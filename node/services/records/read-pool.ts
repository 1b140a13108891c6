import { createWorkerPool, workerScript, type WorkerError } from '../../worker-pool.ts'
import type { PageHead } from './list-items.ts'

/** A row as better-sqlite3 returns it. */
export type ReadRow = Record<string, unknown>

/**
 * Read-only connections to a node's database in worker threads (read-worker.ts), for the reads
 * that may take long (lists and searches): better-sqlite3 is synchronous, so on the main thread
 * one slow query would hold every request, health probe and sync step behind it. WAL lets these
 * readers run beside the writer; each read sees every transaction committed before it began.
 */
export interface ReadPool {
  /** The rows of a query. */
  all(sql: string, params: unknown[]): Promise<ReadRow[]>
  /** The rows of a query selecting `listSelect` (list-items.ts) as the API lists them: the start of its answer (`pageHead`). */
  items(sql: string, params: unknown[], now: Date): Promise<PageHead>
  close(): Promise<void>
}

type Request = { op: 'all'; sql: string; params: unknown[] } | { op: 'items'; sql: string; params: unknown[]; now: string }

/** A message to a reader. */
export type ReadRequest = Request & { id: number }

/** A reader's answer. */
export interface ReadReply {
  id: number
  rows?: ReadRow[]
  head?: PageHead
  error?: WorkerError
}

/**
 * Up to `size` readers of the database `file`, started on first use; each query goes to the
 * reader with the fewest waiting. A reader that dies fails what it held and is replaced on the
 * next query.
 */
export function createReadPool(file: string, size: number): ReadPool {
  const pool = createWorkerPool<Request, ReadReply>(() => workerScript(import.meta.url, 'node/services/records/read-worker.ts'), { file }, size, 'database reader')
  return {
    async all(sql, params) {
      return (await pool.send({ op: 'all', sql, params })).rows!
    },
    async items(sql, params, now) {
      return (await pool.send({ op: 'items', sql, params, now: now.toISOString() })).head!
    },
    close: () => pool.close(),
  }
}
