/**
 * Five real node processes on loopback: province 330000; cities 330100 (杭州) and 330200 (宁波);
 * county 330106 (西湖区) under 杭州 and 330203 (海曙区) under 宁波, enrolled with the documented
 * commands, each with its first bureau administrator `admin` / TEST_PASSWORD (log in with
 * `apiLogin` of ./federation.ts). Start it once per file and share it between the file's tests.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { Test } from 'tap'
import { initNode } from '../../../node/identity.ts'
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

export interface FiveNode {
  code: string
  dir: string
  url: string
  process: ChildProcess | null
  start(): Promise<void>
  stop(): Promise<void>
}

export async function startFiveNodes(t: Test, opts: { sync?: Record<string, unknown>; calendar?: Record<string, unknown> } = {}): Promise<Record<string, FiveNode>> {
  const root = mkdtempSync(join(tmpdir(), 'xueji-five-'))
  const urls: Record<string, string> = {}
  for (const s of FIVE) urls[s.code] = `http://127.0.0.1:${await freePort()}`
  const nodes: Record<string, FiveNode> = {}
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
        ...(opts.calendar ? { calendar: opts.calendar } : {}),
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
    }
    nodes[s.code] = node
  }
  t.teardown(async () => {
    await Promise.all(Object.values(nodes).map(n => n.stop()))
    if (process.env.XUEJI_KEEP_TEST_DIRS === '1') t.comment(`five nodes kept in ${root}`)
    else rmSync(root, { recursive: true, force: true })
  })
  const tokenFor = async (parent: FiveNode, child: string) => /xjt_[A-Za-z0-9_-]+/.exec(await cli(['join-token', '--data', parent.dir, '--child', child]))![0]
  for (const s of FIVE) {
    if (s.parent) await cli(['enroll', '--data', nodes[s.code].dir, '--token', await tokenFor(nodes[s.parent], s.code)])
    await nodes[s.code].start()
  }
  return nodes
}
