import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Column } from './resources.ts'

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
  /** The rows of a query on `table`, as the API lists them (list-items.ts): UTF-8 JSON of an array. */
  items(table: string, sql: string, params: unknown[], now: Date): Promise<Uint8Array>
  close(): Promise<void>
}

type Request = { op: 'all'; sql: string; params: unknown[] } | { op: 'items'; sql: string; params: unknown[]; table: string; now: string }

/** A message to a reader. */
export type ReadRequest = Request & { id: number }

/** A reader's answer. */
export interface ReadReply {
  id: number
  rows?: ReadRow[]
  json?: Uint8Array
  error?: { message: string; code?: string }
}

let script: Promise<URL> | undefined
/**
 * The reader's module: beside this one when compiled (dist/). From the TypeScript sources (tsx,
 * or the node bundle of scripts/lib/node-bundle.mjs) it is bundled once per content with
 * scripts/lib/bundle.mjs: a worker cannot load TypeScript without tsx's hooks, and registering
 * them costs each worker about a second of CPU.
 */
function readerScript(): Promise<URL> {
  script ??= import.meta.url.endsWith('.js')
    ? Promise.resolve(new URL('./read-worker.js', import.meta.url))
    : import('../../../scripts/lib/bundle.mjs').then(async m => pathToFileURL(await m.bundleSources('node/services/records/read-worker.ts', 'read-worker')))
  return script
}

interface Pending {
  resolve(reply: ReadReply): void
  reject(err: Error): void
}

interface Reader {
  worker: Promise<Worker>
  pending: Map<number, Pending>
}

/**
 * Up to `size` readers of the database `file`, started on first use; each query goes to the
 * reader with the fewest waiting. A reader that dies fails what it held and is replaced on the
 * next query. `columns`: each listed table's columns (resources.ts), for `items`.
 */
export function createReadPool(file: string, size: number, columns: Record<string, readonly Column[]> = {}): ReadPool {
  const readers: Reader[] = []
  const started: Worker[] = []
  let nextId = 0
  let closed = false

  function start(): Reader {
    const reader: Reader = { worker: undefined!, pending: new Map() }
    const fail = (err: Error) => {
      const i = readers.indexOf(reader)
      if (i >= 0) readers.splice(i, 1)
      for (const p of reader.pending.values()) p.reject(err)
      reader.pending.clear()
    }
    reader.worker = readerScript().then(url => {
      const worker = new Worker(url, { workerData: { file, columns } })
      // Closed while the script was being bundled: this reader ends at once.
      if (closed) void worker.terminate()
      else started.push(worker)
      worker.on('message', (m: ReadReply) => {
        const p = reader.pending.get(m.id)
        if (!p) return
        reader.pending.delete(m.id)
        if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code }))
        else p.resolve(m)
      })
      worker.on('error', fail)
      worker.on('exit', code => fail(new Error(`database reader exited (${code})`)))
      return worker
    })
    reader.worker.catch(fail)
    readers.push(reader)
    return reader
  }

  function pick(): Reader {
    const idle = readers.find(r => r.pending.size === 0)
    if (idle) return idle
    if (readers.length < size) return start()
    return readers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
  }

  function send(request: Request): Promise<ReadReply> {
    if (closed) return Promise.reject(new Error('the database readers are closed'))
    const reader = pick()
    const id = nextId++
    return new Promise<ReadReply>((resolve, reject) => {
      reader.pending.set(id, { resolve, reject })
      reader.worker.then(w => w.postMessage({ ...request, id }), () => undefined)
    })
  }

  return {
    async all(sql, params) {
      return (await send({ op: 'all', sql, params })).rows!
    },
    async items(table, sql, params, now) {
      return (await send({ op: 'items', sql, params, table, now: now.toISOString() })).json!
    },
    async close() {
      closed = true
      readers.length = 0
      await Promise.all(started.splice(0).map(w => w.terminate()))
    },
  }
}
