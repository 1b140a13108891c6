/**
 * A database reader of the read pool (read-pool.ts), run in a worker thread: a read-only
 * connection to the node's database, answering `all` (the rows of a query) and `items` (the start
 * of a list's answer, its page's records as the API's JSON, list-items.ts) so that neither the
 * query nor the mapping, masking and serialisation of a page holds the main thread.
 */
import { readlinkSync } from 'node:fs'
import { setPriority } from 'node:os'
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { statementCache } from '../../../schema/statements.ts'
import { listItemsJson, pageHead } from './list-items.ts'
import type { ReadRequest, ReadReply } from './read-pool.ts'
import { workerError } from '../../worker-pool.ts'

/** The readers' nice value (0 is the process's, 19 the lowest). */
const READER_NICE = 10

// Below the main thread's priority: under load the CPU goes first to what the main thread does
// (health probes, writes, sync), and a burst of searches waits instead. On Linux a thread has a
// priority of its own, set through its thread id; elsewhere the reader keeps the process's.
try {
  setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), READER_NICE)
} catch {
  // not Linux, or not allowed: the reader runs at the process's priority
}

const { file } = workerData as { file: string }
const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 })
const statement = statementCache(db)

parentPort!.on('message', (m: ReadRequest) => {
  let reply: ReadReply
  try {
    if (m.op === 'all') reply = { id: m.id, rows: statement(m.sql).all(...m.params) as Record<string, unknown>[] }
    else {
      const head = pageHead(listItemsJson(statement(m.sql), m.params, new Date(m.now)))
      // The bytes' memory moves to the main thread instead of being copied.
      parentPort!.postMessage({ id: m.id, head } satisfies ReadReply, [head.bytes.buffer])
      return
    }
  } catch (err) {
    reply = { id: m.id, error: workerError(err) }
  }
  parentPort!.postMessage(reply)
})
