import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { openSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'

/** Path of the CLI entry, run with tsx so no build is needed for the demo and the tests. */
export const CLI_ENTRY = fileURLToPath(new URL('../run.ts', import.meta.url))

/** Asks the OS for a free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number }
      srv.close(() => resolve(port))
    })
  })
}

/** Whether a TCP port on loopback is free now. */
function portFree(port: number): Promise<boolean> {
  return new Promise(resolve => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/**
 * The first of `count` consecutive free ports on loopback (for a program that takes a base port,
 * as the demo does): random bases are tried until every port of the run is free. The bases lie
 * below Linux's ephemeral range (32768 and up): a port there can be taken, between this check and
 * the program's listen, as the local port of any outgoing connection or by `freePort` (a CI run's
 * demo province once exited on a port it had been given).
 */
export async function freePortRun(count: number): Promise<number> {
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * (12000 - count))
    let free = true
    for (let i = 0; i < count && free; i++) free = await portFree(base + i)
    if (free) return base
  }
}

let bundle: string | undefined

/**
 * The node's sources as one ES module (scripts/lib/node-bundle.mjs; built once per process, reused
 * while the sources are unchanged): a node started from it is ready seconds sooner than through tsx.
 */
export function nodeBundle(): string {
  bundle ??= execFileSync(process.execPath, [fileURLToPath(new URL('./node-bundle.mjs', import.meta.url))], { encoding: 'utf8' })
  return bundle
}

/**
 * Starts `xueji start --data DIR` (from the bundle of the sources) as a child process with its
 * output appended to `logFile`.
 */
export function spawnNode(dataDir: string, env: Record<string, string>, logFile?: string, nodeArgs: string[] = []): ChildProcess {
  const out = logFile ? openSync(logFile, 'a') : 'ignore'
  return spawn(process.execPath, [...nodeArgs, nodeBundle(), 'start', '--data', dataDir], {
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  })
}

/** Polls `${url}/readyz` until it answers 200 or the deadline passes. */
export async function waitReady(url: string, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child && child.exitCode !== null) throw new Error(`node at ${url} exited with code ${child.exitCode} before it was ready`)
    try {
      const res = await fetch(`${url}/readyz`)
      if (res.status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise(r => setTimeout(r, 200))
  }
  throw new Error(`node at ${url} was not ready within ${timeoutMs} ms`)
}

/**
 * Waits until a started node has packed its whole outbox into change sets (its first start after a
 * large seed packs in the background): polls `GET /api/v1/sync/status` with a session allowed
 * `sync:operate`; returns the seconds it waited.
 */
export async function waitPacked(url: string, headers: Record<string, string>): Promise<number> {
  const started = Date.now()
  for (;;) {
    const r = await fetch(`${url}/api/v1/sync/status`, { headers })
    if (r.status !== 200) throw new Error(`sync status: ${r.status} ${await r.text()}`)
    if (((await r.json()) as { outbox: { unpacked: number } }).outbox.unpacked === 0) return (Date.now() - started) / 1000
    await new Promise(res => setTimeout(res, 500))
  }
}

/** Sends SIGTERM and resolves with the exit code (SIGKILL after `graceMs`). */
export function stopProcess(child: ChildProcess, graceMs = 15000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode)
  return new Promise(resolve => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', code => {
      clearTimeout(timer)
      resolve(code)
    })
    child.kill('SIGTERM')
  })
}

/** A connection for one short look: no retries, no offline queue, errors reported by the command. */
function oneShotRedis(url: string): Redis {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000, enableOfflineQueue: false })
  r.on('error', () => undefined)
  return r
}

/** True when a Redis answers PING at `url` within a second. */
export async function redisAnswersAt(url: string): Promise<boolean> {
  const r = oneShotRedis(url)
  try {
    await r.connect()
    return (await r.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    r.disconnect()
  }
}

/**
 * Starts a private, diskless redis-server on a free port (for the demo and for tests that must
 * stop Redis). Resolves once it answers; `null` when redis-server is not installed.
 */
export async function startPrivateRedis(extraArgs: string[] = []): Promise<{ url: string; port: number; process: ChildProcess } | null> {
  const port = await freePort()
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', ...extraArgs], { stdio: 'ignore' })
  const failed = await new Promise<boolean>(resolve => {
    child.once('error', () => resolve(true))
    setTimeout(() => resolve(false), 50)
  })
  if (failed) return null
  const url = `redis://127.0.0.1:${port}`
  for (let i = 0; i < 100; i++) {
    if (await redisAnswersAt(url)) return { url, port, process: child }
    await new Promise(r => setTimeout(r, 50))
  }
  child.kill('SIGKILL')
  return null
}

/**
 * The Redis for a script's run: the one at REDIS_URL (default 127.0.0.1:6379) when it answers,
 * else a private redis-server started for the run (`own`: stop it at the end); null when neither.
 */
export async function redisForRun(): Promise<{ url: string; own?: ChildProcess } | null> {
  const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  if (await redisAnswersAt(url)) return { url }
  const started = await startPrivateRedis()
  return started && { url: started.url, own: started.process }
}

/**
 * Removes every key under `prefix:` (SCAN + UNLINK). Tests and benchmarks share the machine's
 * Redis under fresh prefixes; this keeps it from filling up run after run. Quietly does nothing
 * when Redis does not answer.
 */
export async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const r = oneShotRedis(url)
  try {
    await r.connect()
    let cursor = '0'
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
      if (keys.length > 0) await r.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } catch {
    // Redis away: nothing to clean that anyone could see.
  } finally {
    r.disconnect()
  }
}
