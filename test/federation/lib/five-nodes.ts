/**
 * Five real node processes on loopback: province 330000; cities 330100 (杭州) and 330200 (宁波);
 * county 330106 (西湖区) under 杭州 and 330203 (海曙区) under 宁波, enrolled with the documented
 * commands. Each node's first bureau administrator is made by init with a known password; `api`
 * talks to a node through HTTP only, logged in like a browser (password, TOTP enrolment, code).
 * Start it once per file and share it between the file's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { initNode } from '../../../node/identity.ts'
import { totpCode, timeStep } from '../../../node/auth/totp.ts'
import { SESSION_COOKIE } from '../../../node/plugins/auth.ts'
import { freePort, spawnNode, stopProcess, waitReady } from '../../../scripts/lib/processes.ts'
import { REDIS_URL, TEST_PASSWORD, uniquePrefix } from '../../helper.ts'
import { cli } from './federation.ts'

export const FIVE = [
  { tier: 'province', code: '330000', name: '浙江省教育厅', parent: null },
  { tier: 'city', code: '330100', name: '杭州市教育局', parent: '330000' },
  { tier: 'city', code: '330200', name: '宁波市教育局', parent: '330000' },
  { tier: 'county', code: '330106', name: '西湖区教育局', parent: '330100' },
  { tier: 'county', code: '330203', name: '海曙区教育局', parent: '330200' },
] as const

export type Json = Record<string, any>

/** A logged-in client of one node. */
export interface Client {
  call(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<{ status: number; body: Json }>
}

export interface FiveNode {
  code: string
  dir: string
  url: string
  process: ChildProcess | null
  start(): Promise<void>
  stop(): Promise<void>
  /** Logs in over HTTP (TOTP enrolled on the first login, its secret kept for the next). */
  login(username: string, password?: string): Promise<Client>
}

async function request(url: string, method: string, path: string, headers: Record<string, string>, body?: unknown) {
  const res = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, body: (text ? JSON.parse(text) : {}) as Json, cookie: res.headers.get('set-cookie') }
}

export async function startFiveNodes(t: Test, opts: { sync?: Record<string, unknown> } = {}): Promise<Record<string, FiveNode>> {
  const root = mkdtempSync(join(tmpdir(), 'xueji-five-'))
  const urls: Record<string, string> = {}
  for (const s of FIVE) urls[s.code] = `http://127.0.0.1:${await freePort()}`
  const nodes: Record<string, FiveNode> = {}
  const secrets = new Map<string, string>()
  const lastStep = new Map<string, number>()
  for (const s of FIVE) {
    const dir = join(root, s.code)
    const url = urls[s.code]
    await initNode({
      dataDir: dir, tier: s.tier, code: s.code, name: s.name, parentUrl: s.parent ? urls[s.parent] : null,
      adminUsername: 'admin', adminPassword: TEST_PASSWORD,
      config: {
        server: { port: Number(new URL(url).port) },
        redis: { url: REDIS_URL, prefix: uniquePrefix() },
        log: { level: 'warn' },
        sync: { debounceMs: 5, reconcileIntervalMs: 1000, commandPollMs: 300, retryBaseMs: 100, retryMaxMs: 1000, haltedRetryMs: 2000, ...opts.sync },
      },
    })
    const node: FiveNode = {
      code: s.code, dir, url, process: null,
      async start() {
        node.process = spawnNode(dir, {}, join(root, `${s.code}.log`))
        await waitReady(url, 60000, node.process)
      },
      async stop() {
        if (node.process) await stopProcess(node.process)
        node.process = null
      },
      async login(username, password = TEST_PASSWORD) {
        const r = await request(url, 'POST', '/api/v1/auth/login', {}, { username, password })
        if (r.status !== 200) throw new Error(`login ${username}@${s.code}: ${r.status} ${JSON.stringify(r.body)}`)
        const cookie = `${SESSION_COOKIE}=${new RegExp(`${SESSION_COOKIE}=([^;]+)`).exec(r.cookie ?? '')![1]}`
        const headers = { cookie, 'x-csrf-token': String(r.body.csrfToken) }
        const key = `${s.code}/${username}`
        if (r.body.stage === 'totp_enrol') secrets.set(key, String((await request(url, 'POST', '/api/v1/auth/totp/enrol', headers)).body.secret))
        if (r.body.stage !== 'ok') {
          // A code is accepted once: a second login within 30 s uses the next step (inside the drift window).
          const step = Math.max(timeStep(Date.now()) - 1, (lastStep.get(key) ?? -1) + 1)
          lastStep.set(key, step)
          const v = await request(url, 'POST', '/api/v1/auth/totp/verify', headers, { code: totpCode(secrets.get(key)!, step) })
          if (v.status !== 200) throw new Error(`totp ${username}@${s.code}: ${v.status} ${JSON.stringify(v.body)}`)
        }
        return { call: async (method, path, body) => request(url, method, path, headers, body) }
      },
    }
    nodes[s.code] = node
  }
  t.teardown(async () => {
    await Promise.all(Object.values(nodes).map(n => n.stop()))
    rmSync(root, { recursive: true, force: true })
  })
  const tokenFor = async (parent: FiveNode, child: string) => /xjt_[A-Za-z0-9_-]+/.exec(await cli(['join-token', '--data', parent.dir, '--child', child]))![0]
  for (const s of FIVE) {
    if (s.parent) await cli(['enroll', '--data', nodes[s.code].dir, '--token', await tokenFor(nodes[s.parent], s.code)])
    await nodes[s.code].start()
  }
  return nodes
}
