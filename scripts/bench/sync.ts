/**
 * `npm run bench:sync`: the sync layer's figures on this machine (issue 5). Prints, in one run:
 *
 * (a) rows/s the city applies from verified change sets (ownership checks, prepared upserts,
 *     recording the change set, one transaction per change set);
 * (b) rows/s of a plain prepared better-sqlite3 upsert of the same rows into the same schema;
 * (c) their ratio (target ≥ 0.7);
 * (d) end-to-end latency county → province for single changes, p50/p99 (targets ≤ 100/500 ms):
 *     the county runs in this process (its packer woken by the commit, BullMQ on Redis, HTTP),
 *     the city and the province are real node processes;
 * (e) the time for 100,000 student rows to reach the province.
 *
 * Figures only: nothing here asserts a timing. `BENCH_ROWS` (default 20000) sizes (a)/(b),
 * `BENCH_ROUNDS` (default 3) how many alternating runs of (a) and (b) are compared by their
 * medians, `BENCH_E2E_ROWS` (default 100000) sizes (e).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { loadConfigFile } from '../../config/load.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { initNode } from '../../node/identity.ts'
import { createRedis } from '../../node/redis.ts'
import { createApplier } from '../../sync/apply.ts'
import { verifyChangeSet, type ChangeSetBody } from '../../sync/changeset.ts'
import { createSyncService } from '../../sync/service.ts'
import { codes } from '../../schema/codes/index.ts'
import { createReplicaRules } from '../../node/services/records/replica-rules.ts'
import type { SyncLog } from '../../sync/upstream.ts'
import { main } from '../cli.ts'
import { deleteRedisPrefix, freePort, redisAnswersAt, spawnNode, startPrivateRedis, stopProcess, waitReady } from '../lib/processes.ts'
import { schoolRow, studentRow, writeRows } from '../lib/sync-fixtures.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 20000)
/** Alternating runs of (a) and (b) whose medians are compared. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const E2E_ROWS = Number(process.env.BENCH_E2E_ROWS ?? 100000)
const quiet: SyncLog = { info() {}, warn() {}, error() {}, debug() {}, child: () => quiet }
const root = mkdtempSync(join(tmpdir(), 'xueji-bench-'))
/** One Redis key prefix for this run (each node adds its name); removed at the end. */
const runPrefix = `xueji-bench:${Date.now()}`
const out = (s: string) => process.stdout.write(s + '\n')
const rate = (n: number, ms: number) => Math.round((n / ms) * 1000)

async function cli(args: string[]): Promise<string> {
  let text = ''
  const code = await main(args, process.env, { out: s => (text += s), err: s => (text += s) })
  if (code !== 0) throw new Error(`xueji ${args.join(' ')}: ${text}`)
  return text
}

async function node(dir: string, tier: 'province' | 'city' | 'county', code: string, parentUrl: string | null, port: number, redisUrl: string) {
  await initNode({
    dataDir: join(root, dir),
    tier,
    code,
    name: dir,
    parentUrl,
    config: { server: { port }, redis: { url: redisUrl, prefix: `${runPrefix}:${dir}` }, log: { level: 'warn' } },
  })
  return join(root, dir)
}

/** (a), (b), (c): apply rate against the plain upsert ceiling, same rows, same schema. */
async function applyRates(): Promise<void> {
  const county = openStorage(join(root, 'a-county.db'))
  const school = schoolRow('330106', '330106', 1)
  const students = Array.from({ length: ROWS }, (_, i) => studentRow('330106', school, i))
  const bodies: { body: ChangeSetBody; text: string; jws: string; hash: string }[] = []
  // Change sets made the real way: the county's outbox, packer and key.
  const dir = await node('a', 'county', '330106', 'http://127.0.0.1:1', 0, 'redis://127.0.0.1:1')
  const c = openStorage(join(dir, 'xueji.db'))
  const packer = createSyncService({ storage: c, self: { code: '330106', tier: 'county', name: 'a' }, rules: createReplicaRules({ storage: c, self: { code: '330106', tier: 'county' }, codes }), parentUrl: null, config: loadConfigFile(join(dir, 'xueji.json')).sync, log: quiet })
  writeRows(c, 'schools', [school])
  for (let i = 0; i < ROWS; i += 1000) writeRows(c, 'students', students.slice(i, i + 1000))
  await packer.pack()
  const { staticKeyResolver, importPublicJwk } = await import('../../sync/keys.ts')
  const k = c.sqlite.prepare('select kid, public_jwk from node_keys').get() as { kid: string; public_jwk: string }
  const keys = staticKeyResolver([{ node: '330106', kid: k.kid, key: await importPublicJwk(JSON.parse(k.public_jwk)) }])
  let verifyMs = 0
  for (const cs of c.sqlite.prepare('select body, jws, hash from sync_change_sets order by seq').all() as { body: string; jws: string; hash: string }[]) {
    const t0 = performance.now()
    const { body } = await verifyChangeSet(cs, keys)
    verifyMs += performance.now() - t0
    bodies.push({ body, text: cs.body, jws: cs.jws, hash: cs.hash })
  }
  await packer.close()
  c.close()
  county.close()

  // (a) the city's apply: what the inbox does after verification, per change set.
  const cityApply = (file: string): number => {
    const city = openStorage(join(root, file))
    const rules = createReplicaRules({ storage: city, self: { code: '330100', tier: 'city' }, codes })
    city.write(() => createApplier(city, rules).apply([{ table: 'schools', key: { id: school.id as string }, op: 'upsert', row: school, version: 1 }], { code: '330106', tier: 'county' }))
    const applier = createApplier(city, rules)
    const record = city.sqlite.prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
      values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)`)
    const t0 = performance.now()
    for (const b of bodies) {
      const stud = b.body.rows.filter(r => r.table === 'students')
      city.write(() => {
        const r = applier.apply(b.body.rows, { code: '330106', tier: 'county' })
        if (r.bad.length) throw new Error(`bad rows: ${JSON.stringify(r.bad.slice(0, 3))}`)
        record.run('330106', b.body.seq, b.hash, b.body.prev, b.text, b.jws, k.kid, stud.length, b.text.length, b.body.createdAt, '330106', new Date().toISOString())
      })
    }
    const ms = performance.now() - t0
    city.close()
    return ms
  }

  // (b) the ceiling: a plain prepared upsert of the same rows, same batches, same schema.
  const plainUpsert = (file: string): number => {
    const plain = openStorage(join(root, file))
    writeRowsPlain(plain, 'schools', [school])
    const cols = Object.keys(students[0])
    const upsert = plain.sqlite.prepare(`insert into students (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')}) on conflict (id) do update set ${cols.filter(x => x !== 'id').map(x => `${x} = excluded.${x}`).join(', ')}`)
    const t0 = performance.now()
    for (const b of bodies) {
      plain.write(() => {
        for (const r of b.body.rows) if (r.table === 'students') upsert.run(cols.map(x => (r.row as Record<string, unknown>)[x]))
      })
    }
    const ms = performance.now() - t0
    plain.close()
    return ms
  }

  // The machine is shared and noisy: alternate the two, each on a fresh database, and compare
  // the medians of ROUNDS runs rather than one run of each.
  const applyRuns: number[] = []
  const plainRuns: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    applyRuns.push(cityApply(`a-city-${round}.db`))
    plainRuns.push(plainUpsert(`b-plain-${round}.db`))
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  const applyMs = median(applyRuns)
  const plainMs = median(plainRuns)

  const a = rate(ROWS, applyMs)
  const p = rate(ROWS, plainMs)
  out(`(a) city applies verified change sets:     ${a.toLocaleString('en')} rows/s (${ROWS} students in ${bodies.length} change sets, median of ${ROUNDS} runs ${applyMs.toFixed(0)} ms)`)
  out(`    … including signature + hash + canonical-form verification: ${rate(ROWS, applyMs + verifyMs).toLocaleString('en')} rows/s (verify ${verifyMs.toFixed(0)} ms)`)
  out(`(b) plain prepared better-sqlite3 upsert:   ${p.toLocaleString('en')} rows/s (median of ${ROUNDS} runs ${plainMs.toFixed(0)} ms)`)
  out(`(c) ratio (a)/(b):                          ${(a / p).toFixed(2)} (target ≥ 0.7)`)
}

function writeRowsPlain(s: Storage, table: string, rows: Record<string, unknown>[]) {
  const cols = Object.keys(rows[0])
  const stmt = s.sqlite.prepare(`insert into "${table}" (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`)
  s.write(() => rows.forEach(r => stmt.run(cols.map(c => r[c]))))
}

/** (d), (e): through a real city and province. */
async function endToEnd(redisUrl: string): Promise<void> {
  const ports = [await freePort(), await freePort()]
  const urls = ports.map(p => `http://127.0.0.1:${p}`)
  const provDir = await node('province', 'province', '330000', null, ports[0], redisUrl)
  const cityDir = await node('city', 'city', '330100', urls[0], ports[1], redisUrl)
  const countyDir = await node('county', 'county', '330106', urls[1], 0, redisUrl)
  const children: ChildProcess[] = []
  try {
    children.push(spawnNode(provDir, {}, join(root, 'province.log')))
    await waitReady(urls[0], 60000, children[0])
    children.push(spawnNode(cityDir, {}, join(root, 'city.log')))
    await waitReady(urls[1], 60000, children[1])
    const token = (dir: string, child: string) => cli(['join-token', '--data', dir, '--child', child]).then(s => /xjt_[A-Za-z0-9_-]+/.exec(s)![0])
    await cli(['enroll', '--data', cityDir, '--token', await token(provDir, '330100')])
    await cli(['enroll', '--data', countyDir, '--token', await token(cityDir, '330106')])

    // The county: a full sync service in this process, so its packer is woken by our commits.
    const config = loadConfigFile(join(countyDir, 'xueji.json'))
    const county = openStorage(join(countyDir, 'xueji.db'))
    const redis = createRedis(redisUrl)
    await redis.connect()
    const sync = createSyncService({ storage: county, self: { code: '330106', tier: 'county', name: 'county' }, rules: createReplicaRules({ storage: county, self: { code: '330106', tier: 'county' }, codes }), parentUrl: urls[1], config: config.sync, log: quiet, redis, prefix: config.redis.prefix })
    await sync.start()
    const province = openStorage(join(provDir, 'xueji.db'))
    const has = province.sqlite.prepare('select 1 from students where id = ?').pluck()
    const count = province.sqlite.prepare('select count(*) from students').pluck()
    try {
      const school = schoolRow('330106', '330106', 1)
      writeRows(county, 'schools', [school])
      const lat: number[] = []
      for (let i = 0; i < 200; i++) {
        const row = studentRow('330106', school, i)
        const t0 = performance.now()
        writeRows(county, 'students', [row])
        while (!has.get(row.id)) await new Promise(r => setTimeout(r, 1))
        lat.push(performance.now() - t0)
      }
      lat.sort((x, y) => x - y)
      const pct = (q: number) => lat[Math.min(lat.length - 1, Math.floor(q * lat.length))].toFixed(1)
      out(`(d) single change county → province:        p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms over ${lat.length} changes (targets ≤ 100 / ≤ 500 ms)`)

      const before = count.get() as number
      const t0 = performance.now()
      for (let i = 0; i < E2E_ROWS; i += 1000) {
        writeRows(county, 'students', Array.from({ length: Math.min(1000, E2E_ROWS - i) }, (_, j) => studentRow('330106', school, 1000 + i + j)))
        // Yield so the packer and the push worker run while we write, as in a real node.
        await new Promise(r => setImmediate(r))
      }
      const written = performance.now() - t0
      while ((count.get() as number) < before + E2E_ROWS) await new Promise(r => setTimeout(r, 20))
      const total = performance.now() - t0
      out(`(e) ${E2E_ROWS.toLocaleString('en')} student rows county → province:  ${(total / 1000).toFixed(1)} s (${rate(E2E_ROWS, total).toLocaleString('en')} rows/s end to end; writing them took ${(written / 1000).toFixed(1)} s)`)
    } finally {
      await sync.close()
      await redis.quit().catch(() => redis.disconnect())
      county.close()
      province.close()
    }
  } finally {
    await Promise.all(children.map(c => stopProcess(c)))
  }
}

async function run(): Promise<number> {
  out(`Xueji sync benchmark — node ${process.version}, ${new Date().toISOString()}`)
  let redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  let privateRedis: ChildProcess | undefined
  if (!(await redisAnswersAt(redisUrl))) {
    const own = await startPrivateRedis()
    if (!own) {
      process.stderr.write(`no Redis at ${redisUrl} and no redis-server to start\n`)
      return 1
    }
    privateRedis = own.process
    redisUrl = own.url
  }
  try {
    await applyRates()
    await endToEnd(redisUrl)
    return 0
  } finally {
    if (privateRedis) await stopProcess(privateRedis)
    else await deleteRedisPrefix(redisUrl, runPrefix)
    rmSync(root, { recursive: true, force: true })
  }
}

process.exitCode = await run()
