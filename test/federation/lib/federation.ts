/**
 * Three real node processes (province 330000, city 330100, county 330106) on loopback, enrolled
 * with the documented commands (`xueji join-token`, `xueji enroll`), for the federation tests.
 * Every process is stopped on teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { initNode } from '../../../node/identity.ts'
import { openStorage, type Storage } from '../../../schema/db.ts'
import { main } from '../../../scripts/cli.ts'
import { freePort, spawnNode, stopProcess, waitReady } from '../../../scripts/lib/processes.ts'
import { REDIS_URL, TEST_PASSWORD, uniquePrefix } from '../../helper.ts'
import { totpCode, timeStep } from '../../../node/auth/totp.ts'
import { SESSION_COOKIE } from '../../../node/plugins/auth.ts'

export const SPECS = [
  { tier: 'province', code: '330000', name: '浙江省教育厅' },
  { tier: 'city', code: '330100', name: '杭州市教育局' },
  { tier: 'county', code: '330106', name: '西湖区教育局' },
] as const

export interface RealNode {
  code: string
  dir: string
  url: string
  process: ChildProcess | null
  /** The test's own connection to the node's database (WAL: beside the running node). */
  storage: Storage
  /** Starts the node's process; `env` adds to the test's environment (XUEJI_TEST_CLOCK_OFFSET_DAYS, node/growth/clock.ts). */
  start(env?: Record<string, string>): Promise<void>
  stop(): Promise<void>
  kill(): Promise<void>
}

/** Runs a CLI command in-process; returns its output, failing the test on a non-zero exit. */
export async function cli(args: string[]): Promise<string> {
  let out = ''
  let err = ''
  const code = await main(args, process.env, { out: s => (out += s), err: s => (err += s) })
  if (code !== 0) throw new Error(`xueji ${args.join(' ')} exited ${code}: ${err}${out}`)
  return out
}

export interface FederationOptions {
  redisUrl?: string
  sync?: Record<string, unknown>
  calendar?: Record<string, unknown>
  readyMs?: number
  /** Runs on each node's database after enrolment, before the node first starts (a large seed, which would stall a started node's queues). */
  beforeStart?: (node: RealNode) => void
}

export async function startFederation(t: Test, opts: FederationOptions = {}): Promise<RealNode[]> {
  // Not t.testdir(): a tap run started elsewhere in this tree may clear .tap/fixtures under a
  // long test; the nodes' own directory under the OS temp dir is ours alone.
  const root = mkdtempSync(join(tmpdir(), 'xueji-fed-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const urls = ports.map(p => `http://127.0.0.1:${p}`)
  const nodes: RealNode[] = []
  for (const [i, s] of SPECS.entries()) {
    const dir = join(root, s.tier)
    await initNode({
      dataDir: dir,
      ...s,
      parentUrl: i ? urls[i - 1] : null,
      // The first bureau administrator (`admin`) with a known password, for tests through the API.
      adminPassword: TEST_PASSWORD,
      config: {
        server: { port: ports[i] },
        redis: { url: opts.redisUrl ?? REDIS_URL, prefix: uniquePrefix() },
        log: { level: 'warn' },
        sync: { debounceMs: 5, reconcileIntervalMs: 1000, commandPollMs: 300, retryBaseMs: 100, retryMaxMs: 1000, haltedRetryMs: 2000, ...opts.sync },
        ...(opts.calendar ? { calendar: opts.calendar } : {}),
      },
    })
    const node: RealNode = {
      code: s.code,
      dir,
      url: urls[i],
      process: null,
      storage: openStorage(join(dir, 'xueji.db')),
      async start(env = {}) {
        node.process = spawnNode(dir, env, join(root, `${s.tier}.log`))
        await waitReady(urls[i], opts.readyMs ?? 240000, node.process)
      },
      async stop() {
        if (node.process) await stopProcess(node.process)
        node.process = null
      },
      async kill() {
        const p = node.process
        if (!p) return
        const exited = new Promise(r => p.once('exit', r))
        p.kill('SIGKILL')
        await exited
        node.process = null
      },
    }
    nodes.push(node)
  }
  t.teardown(async () => {
    await Promise.all(nodes.map(n => n.stop()))
    nodes.forEach(n => n.storage.close())
    if (process.env.XUEJI_KEEP_TEST_DIRS === '1') t.comment(`three nodes kept in ${root}`)
    else rmSync(root, { recursive: true, force: true })
  })
  const [province, city, county] = nodes
  opts.beforeStart?.(province)
  await province.start()
  opts.beforeStart?.(city)
  await city.start()
  const tokenFor = async (parent: RealNode, child: string) => /xjt_[A-Za-z0-9_-]+/.exec(await cli(['join-token', '--data', parent.dir, '--child', child]))![0]
  await cli(['enroll', '--data', city.dir, '--token', await tokenFor(province, '330100')])
  await cli(['enroll', '--data', county.dir, '--token', await tokenFor(city, '330106')])
  opts.beforeStart?.(county)
  await county.start()
  return nodes
}

/** Polls until `check()` is true (or fails the wait after `ms`). */
export async function until(what: string, check: () => boolean, ms = 60000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 100))
  }
}

export const countRows = (s: Storage, table: string) => (s.sqlite.prepare(`select count(*) c from "${table}"`).get() as { c: number }).c

/** Every origin's change sets at `s` are 1…max with no gap and no repeat (the PK forbids repeats). */
export function seqsOnce(s: Storage, origin: string): { count: number; max: number } {
  return s.sqlite.prepare('select count(*) count, coalesce(max(seq), 0) max from sync_change_sets where origin = ?').get(origin) as { count: number; max: number }
}

/** A signed-in session on a running node, through its HTTP API only. */
export interface ApiSession {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }>
}

/**
 * Logs in to a running node as a browser does: password, then TOTP enrolment and the first
 * code (the bureau administrator made by init needs them). Default: `admin`, TEST_PASSWORD.
 */
export async function apiLogin(node: Pick<RealNode, 'url'>, username = 'admin', password = TEST_PASSWORD): Promise<ApiSession> {
  const send = async (method: string, path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${node.url}${path}`, {
      method,
      headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : {}, cookie: res.headers.getSetCookie().find(c => c.startsWith(`${SESSION_COOKIE}=`)) }
  }
  const login = await send('POST', '/api/v1/auth/login', {}, { username, password })
  if (login.status !== 200 || !login.cookie) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.json)}`)
  let headers = { cookie: login.cookie.split(';')[0], 'x-csrf-token': login.json.csrfToken as string }
  if (login.json.stage === 'totp_enrol') {
    const { secret } = (await send('POST', '/api/v1/auth/totp/enrol', headers)).json as { secret: string }
    const v = await send('POST', '/api/v1/auth/totp/verify', headers, { code: totpCode(secret, timeStep(Date.now())) })
    if (v.status !== 200 || !v.cookie) throw new Error(`totp failed: ${v.status} ${JSON.stringify(v.json)}`)
    // The second factor starts a new session (cookie and CSRF token).
    headers = { cookie: v.cookie.split(';')[0], 'x-csrf-token': v.json.csrfToken as string }
  }
  return { call: (method, path, body) => send(method, path, headers, body) }
}
