/**
 * Start-up never waits on a backlog (issue #15): a county seeded with 5,000 students holds
 * ~73,000 unpacked outbox rows. Packing them takes ~6 s of CPU (3.7 s per 3,000 students,
 * measured with process.cpuUsage), which the node used to spend before it listened. Here it is a
 * real node process: ready first, packing in the background, stopping cleanly mid-backlog, and
 * finishing after a restart with a gapless chain.
 */
import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initNode } from '../../node/identity.ts'
import { openStorage } from '../../schema/db.ts'
import { freePort, spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
import { cli, until } from '../federation/lib/federation.ts'
import { REDIS_URL, TEST_PASSWORD, uniquePrefix } from '../helper.ts'

const STUDENTS = 5000

t.test('R-25.1 a county with a 5,000-student outbox backlog answers /readyz before its backlog is packed, packs in the background, stops mid-backlog and finishes after a restart', async t => {
  const root = mkdtempSync(join(tmpdir(), 'xueji-backlog-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dir = join(root, 'county')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  await initNode({
    dataDir: dir, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:9/', adminPassword: TEST_PASSWORD,
    config: { server: { port }, redis: { url: REDIS_URL, prefix: uniquePrefix() }, log: { level: 'warn' } },
  })
  await cli(['seed', '--data', dir, '--students', String(STUDENTS)])

  const storage = openStorage(join(dir, 'xueji.db'))
  t.teardown(() => storage.close())
  const unpacked = storage.sqlite.prepare('select count(*) from outbox where change_set_seq is null').pluck()
  const packedRows = storage.sqlite.prepare('select count(*) from outbox where change_set_seq is not null').pluck()
  const chain = storage.sqlite.prepare("select count(*) n, coalesce(max(seq), 0) top, coalesce(sum(rows), 0) rows from sync_change_sets where origin = '330106'")
  const backlog = unpacked.get() as number
  t.ok(backlog > 50000, `the seed left a backlog (${backlog} outbox rows)`)

  const log = join(root, 'node.log')
  // The issue asks for /readyz within 10 s; the time is printed, not asserted (no timing
  // assertions in npm test): what is asserted is that readiness does not wait for the backlog.
  const started = Date.now()
  let node = spawnNode(dir, {}, log)
  t.teardown(() => stopProcess(node))
  await waitReady(url, 120000, node)
  t.comment(`/readyz answered ${((Date.now() - started) / 1000).toFixed(1)} s after the process started`)
  t.ok((unpacked.get() as number) > 0, 'ready while the backlog is still unpacked')
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'and it answers requests meanwhile')
  await until('packing has begun', () => (packedRows.get() as number) > 0, 60000)

  t.equal(await stopProcess(node), 0, 'a stop in the middle of the backlog exits cleanly')
  const mid = chain.get() as { n: number; top: number; rows: number }
  t.ok((unpacked.get() as number) > 0, 'it stopped before packing everything')
  t.equal(mid.n, mid.top, 'the chain has no gap')
  t.equal(mid.rows, packedRows.get(), 'every packed outbox row is in a stored change set')

  node = spawnNode(dir, {}, log)
  await waitReady(url, 120000, node)
  await until('the backlog is packed', () => unpacked.get() === 0, 120000)
  const done = chain.get() as { n: number; top: number; rows: number }
  t.equal(done.n, done.top, 'the chain still has no gap')
  t.ok((packedRows.get() as number) >= backlog, 'the whole backlog is packed')
  t.equal(done.rows, packedRows.get(), 'every outbox row is in exactly one stored change set')
})
