import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'

/**
 * Worker threads that answer requests by id: the node's database readers
 * (services/records/read-pool.ts) and the checker of arriving change sets
 * (services/records/check-pool.ts). A worker gets `{ ...request, id }` and answers `{ id, … }`,
 * or `{ id, error: { message, code?, details? } }`.
 */
export interface WorkerPool<Req extends object, Reply extends { id: number }> {
  /** Sends `request` to the worker with the fewest waiting. */
  send(request: Req): Promise<Reply>
  close(): Promise<void>
}

/** What a worker answered for a failed request. */
export interface WorkerError {
  message: string
  code?: string
  details?: Record<string, unknown>
}

const scripts = new Map<string, Promise<URL>>()

/**
 * The worker module of `entry` (a path from the checkout's root, `node/….ts`): beside the
 * calling module when compiled (dist/, `caller` is its `import.meta.url`). From the TypeScript
 * sources (tsx, or the node bundle of scripts/lib/node-bundle.mjs) it is bundled once per content
 * with scripts/lib/bundle.mjs: a worker cannot load TypeScript without tsx's hooks, and
 * registering them costs each worker about a second of CPU.
 */
export function workerScript(caller: string, entry: string): Promise<URL> {
  let script = scripts.get(entry)
  if (!script) {
    const name = entry.split('/').pop()!.replace(/\.ts$/, '')
    script = caller.endsWith('.js')
      ? Promise.resolve(new URL(`./${name}.js`, caller))
      : import('../scripts/lib/bundle.mjs').then(async m => pathToFileURL(await m.bundleSources(entry, name)))
    scripts.set(entry, script)
  }
  return script
}

interface Pending<Reply> {
  resolve(reply: Reply): void
  reject(err: Error): void
}

interface Started<Reply> {
  worker: Promise<Worker>
  pending: Map<number, Pending<Reply>>
}

/**
 * Up to `size` workers of `script`, started on first use, each given `workerData`. A worker
 * that dies fails what it held (`what` names it in the error) and is replaced on the next request.
 * An answer with `error` rejects with an Error carrying its message, `code` and `details`.
 */
export function createWorkerPool<Req extends object, Reply extends { id: number; error?: WorkerError }>(
  script: () => Promise<URL>,
  workerData: unknown,
  size: number,
  what: string,
): WorkerPool<Req, Reply> {
  const workers: Started<Reply>[] = []
  const started: Worker[] = []
  let nextId = 0
  let closed = false

  function start(): Started<Reply> {
    const w: Started<Reply> = { worker: undefined!, pending: new Map() }
    const fail = (err: Error) => {
      const i = workers.indexOf(w)
      if (i >= 0) workers.splice(i, 1)
      for (const p of w.pending.values()) p.reject(err)
      w.pending.clear()
    }
    w.worker = script().then(url => {
      const worker = new Worker(url, { workerData })
      // Closed while the script was being bundled: this worker ends at once.
      if (closed) void worker.terminate()
      else started.push(worker)
      worker.on('message', (m: Reply) => {
        const p = w.pending.get(m.id)
        if (!p) return
        w.pending.delete(m.id)
        if (m.error) p.reject(Object.assign(new Error(m.error.message), { code: m.error.code, details: m.error.details }))
        else p.resolve(m)
      })
      worker.on('error', fail)
      worker.on('exit', code => fail(new Error(`${what} exited (${code})`)))
      return worker
    })
    w.worker.catch(fail)
    workers.push(w)
    return w
  }

  function pick(): Started<Reply> {
    const idle = workers.find(w => w.pending.size === 0)
    if (idle) return idle
    if (workers.length < size) return start()
    return workers.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
  }

  return {
    send(request) {
      if (closed) return Promise.reject(new Error(`the ${what} is closed`))
      const w = pick()
      const id = nextId++
      return new Promise<Reply>((resolve, reject) => {
        w.pending.set(id, { resolve, reject })
        w.worker.then(worker => worker.postMessage({ ...request, id }), () => undefined)
      })
    },
    async close() {
      closed = true
      workers.length = 0
      await Promise.all(started.splice(0).map(w => w.terminate()))
    },
  }
}

/** A worker's answer for a request that threw `err`. */
export function workerError(err: unknown): WorkerError {
  const e = err as { message?: string; code?: unknown; details?: unknown }
  return {
    message: String(e?.message ?? err),
    ...(typeof e?.code === 'string' ? { code: e.code } : {}),
    ...(e?.details && typeof e.details === 'object' ? { details: e.details as Record<string, unknown> } : {}),
  }
}
