import { createRequire } from 'node:module'
import { Worker } from 'node:worker_threads'

/** A row as better-sqlite3 returns it. */
export type ReadRow = Record<string, unknown>

/**
 * Read-only connections to a node's database in worker threads, for the queries that may take
 * long (lists and searches): better-sqlite3 is synchronous, so on the main thread one slow query
 * would hold every request, health probe and sync step behind it. WAL lets these readers run
 * beside the writer; each read sees every transaction committed before it began.
 */
export interface ReadPool {
  all(sql: string, params: unknown[]): Promise<ReadRow[]>
  close(): Promise<void>
}

// The worker's code, evaluated as a CommonJS script: it needs no loader, so it runs the same from
// the TypeScript sources, dist/ and the test bundle. The driver's path comes from the main thread.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file, { readonly: true, fileMustExist: true, timeout: 5000 })
const statements = new Map()
parentPort.on('message', ({ id, sql, params }) => {
  try {
    let statement = statements.get(sql)
    if (!statement) {
      statement = db.prepare(sql)
      if (statements.size >= 256) statements.delete(statements.keys().next().value)
      statements.set(sql, statement)
    }
    parentPort.postMessage({ id, rows: statement.all(...params) })
  } catch (err) {
    parentPort.postMessage({ id, error: { message: err.message, code: err.code } })
  }
})
`
const DRIVER = createRequire(import.meta.url).resolve('better-sqlite3')

interface Pending {
  resolve(rows: ReadRow[]): void
  reject(err: Error): void
}

interface Reader {
  worker: Worker
  pending: Map<number, Pending>
}

/**
 * Up to `size` readers of the database `file`, started on first use; each query goes to the
 * reader with the fewest waiting. A reader that dies fails what it held and is replaced on the
 * next query.
 */
export function createReadPool(file: string, size: number): ReadPool {
  const readers: Reader[] = []
  let nextId = 0
  let closed = false

  function start(): Reader {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver: DRIVER } })
    const reader: Reader = { worker, pending: new Map() }
    const fail = (err: Error) => {
      const i = readers.indexOf(reader)
      if (i >= 0) readers.splice(i, 1)
      for (const p of reader.pending.values()) p.reject(err)
      reader.pending.clear()
    }
    worker.on('message', (m: { id: number; rows?: ReadRow[]; error?: { message: string; code?: string } }) => {
      const p = reader.pending.get(m.id)
      if (!p) return
      reader.pending.delete(m.id)
      if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
      else p.resolve(m.rows!)
    })
    worker.on('error', fail)
    worker.on('exit', code => fail(new Error(`database reader exited (${code})`)))
    readers.push(reader)
    return reader
  }

  function pick(): Reader {
    const idle = readers.find(r => r.pending.size === 0)
    if (idle) return idle
    if (readers.length < size) return start()
    return readers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
  }

  return {
    all(sql, params) {
      if (closed) return Promise.reject(new Error('the database readers are closed'))
      const reader = pick()
      const id = nextId++
      return new Promise<ReadRow[]>((resolve, reject) => {
        reader.pending.set(id, { resolve, reject })
        reader.worker.postMessage({ id, sql, params })
      })
    },
    async close() {
      closed = true
      await Promise.all(readers.splice(0).map(r => r.worker.terminate()))
    },
  }
}
