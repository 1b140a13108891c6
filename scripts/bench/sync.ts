/**
 * `npm run bench:sync`: the sync layer's figures on this machine (issues 5 and 15). Prints, in
 * one run, each figure with its ceiling measured in the same run:
 *
 * (a) rows/s the city applies from verified change sets (ownership checks, prepared upserts,
 *     查重, recording the change set, one transaction per change set), their rows' field checks
 *     made beforehand; including verification as the inbox receives them (`verifyReceived`: a
 *     sender's window in flight, hash, canonical form and field checks on the checking thread
 *     while this thread writes); and everything on one thread, as a release or a rebuild applies;
 * (b) rows/s of a plain prepared better-sqlite3 upsert of the same rows into the same schema;
 * (c) their ratios (target: with verification ≥ 0.8);
 * (d) end-to-end latency county → province for single changes, p50/p99 (targets ≤ 20/50 ms):
 *     the county runs in this process (its packer woken by the commit, BullMQ on Redis, HTTP),
 *     the city and the province are real node processes;
 * (e) 100,000 student rows county → province, rows/s against (b) (target ≥ 0.5);
 * (f) with `--large`: 1,000,000 students the same way, rows/s against (e), and each node's peak RSS
 *     (`--apply`: (a) to (c) only);
 * (g) the time per stage of a change set at each tier (sync/stages.ts, read from debug log lines),
 *     for the single changes of (d) and the bulk of (e);
 * (h) bytes on disk per student at the county and the province after (e), acknowledged and the
 *     outbox pruned, against the students table's own bytes (SQLite's dbstat), the outbox and
 *     the change-set store shown apart (target ≤ 2× the rows' bytes).
 *
 * Figures only: nothing here asserts a timing. `BENCH_ROWS` (default 20000) sizes (a)/(b),
 * `BENCH_ROUNDS` (default 3) how many alternating runs of (a) and (b) are compared by their
 * medians, `BENCH_E2E_ROWS` (default 100000) sizes (e), `BENCH_LARGE_ROWS` (default 1000000)
 * sizes (f). `BENCH_CPU_PROF=DIR` writes a CPU profile of the city and the province there
 * (run this process with `node --cpu-prof` for the county's).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { availableParallelism, tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFileSync, type ChildProcess } from 'node:child_process'
import { loadConfigFile } from '../../config/load.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { initNode } from '../../node/identity.ts'
import { createRedis } from '../../node/redis.ts'
import { createApplier } from '../../sync/apply.ts'
import { packBody, unpackBody, verifyChangeSet, type ChangeSetBody } from '../../sync/changeset.ts'
import type { Prechecked } from '../../sync/apply.ts'
import { verifyReceived } from '../../sync/inbox.ts'
import { PUSH_WINDOW } from '../../sync/upstream.ts'
import { createSyncService } from '../../sync/service.ts'
import { codes } from '../../schema/codes/index.ts'
import { createReplicaRules } from '../../node/services/records/replica-rules.ts'
import type { SyncLog } from '../../sync/upstream.ts'
import { main } from '../cli.ts'
import { deleteRedisPrefix, freePort, redisForRun, spawnNode, stopProcess, waitReady } from '../lib/processes.ts'
import { schoolRow, studentRow, writeRows } from '../lib/sync-fixtures.ts'
import { STAGE_LOG_MSG, STAGES, type StageTimes } from '../../sync/stages.ts'

const ROWS = Number(process.env.BENCH_ROWS ?? 20000)
/** Alternating runs of (a) and (b) whose medians are compared. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const E2E_ROWS = Number(process.env.BENCH_E2E_ROWS ?? 100000)
const LARGE = process.argv.includes('--large')
/** `--apply`: (a) to (c) only, to compare changes of the apply path quickly. */
const APPLY_ONLY = process.argv.includes('--apply')
const LARGE_ROWS = Number(process.env.BENCH_LARGE_ROWS ?? 1000000)
const CPU_PROF = process.env.BENCH_CPU_PROF
const quiet: SyncLog = { info() {}, warn() {}, error() {}, debug() {}, child: () => quiet }
/** The county's stage lines (it runs in this process), gathered per phase. */
let countyStages: { rows?: number; stages: StageTimes }[] = []
const stageLog: SyncLog = {
  info() {},
  warn() {},
  error() {},
  debug(obj, msg) {
    if (msg === STAGE_LOG_MSG) countyStages.push(obj as { rows?: number; stages: StageTimes })
  },
  child: () => stageLog,
}
/** The plain upsert rate of (b), the ceiling of (a) and (e). */
let plainRate = 0
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

async function node(dir: string, tier: 'province' | 'city' | 'county', code: string, parentUrl: string | null, port: number, redisUrl: string, level = 'warn') {
  await initNode({
    dataDir: join(root, dir),
    tier,
    code,
    name: dir,
    parentUrl,
    config: { server: { port }, redis: { url: redisUrl, prefix: `${runPrefix}:${dir}` }, log: { level } },
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
  for (const stored of c.sqlite.prepare('select body, jws, hash from sync_change_sets order by seq').all() as { body: Buffer; jws: string; hash: string }[]) {
    // As the city has it: the text as received (the county's stored copy is compressed).
    const cs = { ...stored, body: unpackBody(stored.body) }
    const t0 = performance.now()
    const { body } = await verifyChangeSet(cs, keys)
    verifyMs += performance.now() - t0
    bodies.push({ body, text: cs.body, jws: cs.jws, hash: cs.hash })
  }
  await packer.close()
  c.close()
  county.close()

  // (a) the city's apply, per change set, one transaction each, recorded as the inbox does.
  const origin = { code: '330106', tier: 'county' as const }
  const cityApply = async (file: string, how: 'prechecked' | 'received' | 'one-thread'): Promise<number> => {
    const city = openStorage(join(root, file))
    const rules = createReplicaRules({ storage: city, self: { code: '330100', tier: 'city' }, codes, checkThread: { codesDir: null } })
    city.write(() => createApplier(city, rules).apply([{ table: 'schools', key: { id: school.id as string }, op: 'upsert', row: school, version: 1 }], origin))
    const applier = createApplier(city, rules)
    const record = city.sqlite.prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
      values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null)`)
    const receive = (b: (typeof bodies)[number]) => verifyReceived({ body: b.text, jws: b.jws, hash: b.hash }, keys, rules, () => origin, {})
    // The checking thread started and warm before the clock, as on a node that has received before.
    const checked = how === 'prechecked' ? await Promise.all(bodies.map(receive)) : [await receive(bodies[0])]
    const write = (b: (typeof bodies)[number], rows: ChangeSetBody['rows'], prechecked?: Prechecked, stored?: Uint8Array) =>
      city.write(() => {
        const r = applier.apply(rows, origin, undefined, prechecked)
        if (r.bad.length) throw new Error(`bad rows: ${JSON.stringify(r.bad.slice(0, 3))}`)
        record.run('330106', b.body.seq, b.hash, b.body.prev, stored ?? packBody(b.text), b.jws, k.kid, rows.length, b.text.length, b.body.createdAt, '330106', new Date().toISOString())
      })
    const t0 = performance.now()
    if (how === 'prechecked') bodies.forEach((b, i) => write(b, checked[i].body.rows, checked[i].prechecked, checked[i].stored))
    else if (how === 'one-thread') bodies.forEach(b => write(b, b.body.rows))
    else {
      // As the inbox takes a sender's window: the next change sets are checked on the checking
      // thread while this one is written; the sender sends one more for each receipt.
      const inFlight = bodies.slice(0, PUSH_WINDOW).map(receive)
      for (let i = 0; i < bodies.length; i++) {
        const v = await inFlight[i]
        if (i + PUSH_WINDOW < bodies.length) inFlight.push(receive(bodies[i + PUSH_WINDOW]))
        // The inbox's turn of the event loop before it applies (inbox.ts): the checks in flight move on.
        await new Promise(resolve => setImmediate(resolve))
        write(bodies[i], v.body.rows, v.prechecked, v.stored)
      }
    }
    const ms = performance.now() - t0
    await rules.close?.()
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

  // The machine is shared and noisy: alternate them, each on a fresh database, and compare
  // the medians of ROUNDS runs rather than one run of each.
  const runs = { prechecked: [] as number[], received: [] as number[], oneThread: [] as number[], plain: [] as number[] }
  for (let round = 0; round < ROUNDS; round++) {
    runs.prechecked.push(await cityApply(`a-city-${round}.db`, 'prechecked'))
    runs.received.push(await cityApply(`a-received-${round}.db`, 'received'))
    runs.oneThread.push(await cityApply(`a-one-${round}.db`, 'one-thread'))
    runs.plain.push(plainUpsert(`b-plain-${round}.db`))
  }
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]
  const ms = { prechecked: median(runs.prechecked), received: median(runs.received), oneThread: median(runs.oneThread), plain: median(runs.plain) }

  const a = rate(ROWS, ms.prechecked)
  const p = rate(ROWS, ms.plain)
  const av = rate(ROWS, ms.received)
  const one = rate(ROWS, ms.oneThread)
  const oneV = rate(ROWS, ms.oneThread + verifyMs)
  plainRate = p
  out(`(a) city applies verified change sets:     ${a.toLocaleString('en')} rows/s (${ROWS} students in ${bodies.length} change sets, their rows checked beforehand on the checking thread; median of ${ROUNDS} runs ${ms.prechecked.toFixed(0)} ms)`)
  out(`    … including verification, as the inbox receives them: ${av.toLocaleString('en')} rows/s (${PUSH_WINDOW} in flight; signature here, hash, canonical form and field checks on the checking thread; ${ms.received.toFixed(0)} ms)`)
  out(`    … everything on one thread (as a release or a rebuild applies): ${one.toLocaleString('en')} rows/s, with verification ${oneV.toLocaleString('en')} rows/s (verify ${verifyMs.toFixed(0)} ms)`)
  out(`(b) plain prepared better-sqlite3 upsert:   ${p.toLocaleString('en')} rows/s (median of ${ROUNDS} runs ${ms.plain.toFixed(0)} ms)`)
  out(`(c) ratio (a)/(b):                          ${(a / p).toFixed(2)}; with verification ${(av / p).toFixed(2)} (target ≥ 0.8); on one thread ${(one / p).toFixed(2)} / ${(oneV / p).toFixed(2)}`)
}

function writeRowsPlain(s: Storage, table: string, rows: Record<string, unknown>[]) {
  const cols = Object.keys(rows[0])
  const stmt = s.sqlite.prepare(`insert into "${table}" (${cols.join(', ')}) values (${cols.map(() => '?').join(', ')})`)
  s.write(() => rows.forEach(r => stmt.run(cols.map(c => r[c]))))
}

/** Mean ms per change set of each stage in stage log lines, and rows per change set. */
function stageSummary(lines: { rows?: number; stages: StageTimes }[]): string {
  const sum: StageTimes = {}
  const n: Partial<Record<keyof StageTimes, number>> = {}
  let rows = 0
  let sets = 0
  for (const l of lines) {
    for (const [k, v] of Object.entries(l.stages) as [keyof StageTimes, number][]) {
      sum[k] = (sum[k] ?? 0) + v
      n[k] = (n[k] ?? 0) + 1
    }
    if (typeof l.rows === 'number') {
      rows += l.rows
      sets++
    }
  }
  const parts = STAGES.filter(k => n[k]).map(k => `${k} ${((sum[k] ?? 0) / n[k]!).toFixed(1)}`)
  return parts.length ? `${parts.join(', ')} ms${sets ? ` (${(rows / sets).toFixed(0)} rows/set)` : ''}` : 'none'
}

/** Stage log lines of a node's log file from byte `from` on. */
function stageLines(file: string, from: number): { rows?: number; stages: StageTimes }[] {
  return readFileSync(file, 'utf8')
    .slice(from)
    .split('\n')
    .flatMap(line => {
      if (!line.includes(STAGE_LOG_MSG)) return []
      try {
        return [JSON.parse(line) as { rows?: number; stages: StageTimes }]
      } catch {
        return []
      }
    })
}

/** Bytes of the students table with its indexes, the outbox, the change sets, and the file. */
function footprint(s: Storage, file: string) {
  const sizes = new Map((s.sqlite.prepare('select name, sum(pgsize) bytes from dbstat group by name').all() as { name: string; bytes: number }[]).map(r => [r.name, r.bytes]))
  const tableBytes = (table: string) => {
    const names = [table, ...(s.sqlite.prepare("select name from sqlite_schema where type = 'index' and tbl_name = ?").pluck().all(table) as string[])]
    return names.reduce((n, x) => n + (sizes.get(x) ?? 0), 0)
  }
  const wal = (() => {
    try {
      return statSync(`${file}-wal`).size
    } catch {
      return 0
    }
  })()
  return { students: tableBytes('students'), outbox: tableBytes('outbox'), changeSets: tableBytes('sync_change_sets'), file: statSync(file).size + wal }
}

/** Peak resident set of a process in MB (Linux), or null. */
function peakRssMb(pid: number | undefined): string {
  try {
    const kb = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? `${(Number(kb) / 1024).toFixed(0)} MB` : 'n/a'
  } catch {
    return 'n/a'
  }
}

/** CPU seconds a process has used so far, all its threads (this process when `pid` is undefined; else from /proc). */
function cpuSeconds(pid?: number): number {
  if (pid === undefined) {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields 14 and 15 (utime, stime), counted after the command name in parentheses.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())

/** (d) … (h): through a real city and province. */
async function endToEnd(redisUrl: string): Promise<void> {
  const ports = [await freePort(), await freePort()]
  const urls = ports.map(p => `http://127.0.0.1:${p}`)
  const provDir = await node('province', 'province', '330000', null, ports[0], redisUrl, 'debug')
  const cityDir = await node('city', 'city', '330100', urls[0], ports[1], redisUrl, 'debug')
  const countyDir = await node('county', 'county', '330106', urls[1], 0, redisUrl)
  const logs = { city: join(root, 'city.log'), province: join(root, 'province.log') }
  // Node refuses --cpu-prof in NODE_OPTIONS: given as the process's own arguments.
  const prof = CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF}`] : []
  const children: ChildProcess[] = []
  try {
    children.push(spawnNode(provDir, {}, logs.province, prof))
    await waitReady(urls[0], 180000, children[0])
    children.push(spawnNode(cityDir, {}, logs.city, prof))
    await waitReady(urls[1], 180000, children[1])
    const token = (dir: string, child: string) => cli(['join-token', '--data', dir, '--child', child]).then(s => /xjt_[A-Za-z0-9_-]+/.exec(s)![0])
    await cli(['enroll', '--data', cityDir, '--token', await token(provDir, '330100')])
    await cli(['enroll', '--data', countyDir, '--token', await token(cityDir, '330106')])

    // The county: a full sync service in this process, so its packer is woken by our commits.
    const config = loadConfigFile(join(countyDir, 'xueji.json'))
    const county = openStorage(join(countyDir, 'xueji.db'))
    const redis = createRedis(redisUrl)
    await redis.connect()
    const sync = createSyncService({ storage: county, self: { code: '330106', tier: 'county', name: 'county' }, rules: createReplicaRules({ storage: county, self: { code: '330106', tier: 'county' }, codes }), parentUrl: urls[1], config: config.sync, log: stageLog, redis, prefix: config.redis.prefix })
    await sync.start()
    const province = openStorage(join(provDir, 'xueji.db'))
    const has = province.sqlite.prepare('select 1 from students where id = ?').pluck()
    const count = province.sqlite.prepare('select count(*) from students').pluck()
    const logAt = () => ({ city: statSync(logs.city).size, province: statSync(logs.province).size })
    const stagesSince = (at: { city: number; province: number }) => {
      out(`    county:   ${stageSummary(countyStages)}`)
      out(`    city:     ${stageSummary(stageLines(logs.city, at.city))}`)
      out(`    province: ${stageSummary(stageLines(logs.province, at.province))}`)
    }
    /** Writes `n` students from number `from` on, 1,000 a transaction, and waits for the province to hold them. */
    const bulk = async (school: Record<string, unknown>, from: number, n: number) => {
      const before = count.get() as number
      const cpu0 = [cpuSeconds(), cpuSeconds(children[1].pid), cpuSeconds(children[0].pid)]
      const t0 = performance.now()
      for (let i = 0; i < n; i += 1000) {
        writeRows(county, 'students', Array.from({ length: Math.min(1000, n - i) }, (_, j) => studentRow('330106', school as never, from + i + j)))
        // Yield so the packer and the push worker run while we write, as in a real node.
        await new Promise(r => setImmediate(r))
      }
      const written = performance.now() - t0
      while ((count.get() as number) < before + n) await new Promise(r => setTimeout(r, 20))
      const total = performance.now() - t0
      const [atCounty, atCity, atProvince] = [cpuSeconds(), cpuSeconds(children[1].pid), cpuSeconds(children[0].pid)].map((c, i) => c - cpu0[i])
      return { total, written, cpu: { county: atCounty, city: atCity, province: atProvince } }
    }
    try {
      const school = schoolRow('330106', '330106', 1)
      writeRows(county, 'schools', [school])
      while (!province.sqlite.prepare('select 1 from schools where id = ?').get(school.id)) await new Promise(r => setTimeout(r, 5))
      let at = logAt()
      countyStages = []
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
      out(`(d) single change county → province:        p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms over ${lat.length} changes (targets ≤ 20 / ≤ 50 ms; debounce ${config.sync.debounceMs} ms)`)
      out(`(g) time per stage of one change set, single changes (mean ms):`)
      stagesSince(at)

      at = logAt()
      countyStages = []
      const e = await bulk(school, 1000, E2E_ROWS)
      const eRate = rate(E2E_ROWS, e.total)
      out(`(e) ${E2E_ROWS.toLocaleString('en')} student rows county → province:  ${(e.total / 1000).toFixed(1)} s = ${eRate.toLocaleString('en')} rows/s end to end, ${(eRate / plainRate).toFixed(2)}× (b) (target ≥ 0.5; writing them at the county took ${(e.written / 1000).toFixed(1)} s)`)
      const cpu = e.cpu.county + e.cpu.city + e.cpu.province
      const cores = availableParallelism()
      out(`    CPU meanwhile: county ${e.cpu.county.toFixed(1)} s (this process, writing them too), city ${e.cpu.city.toFixed(1)} s, province ${e.cpu.province.toFixed(1)} s = ${((cpu / E2E_ROWS) * 1e6).toFixed(0)} µs a row; the ${cores} cores give at most ${rate(E2E_ROWS, (cpu / cores) * 1000).toLocaleString('en')} rows/s = ${(rate(E2E_ROWS, (cpu / cores) * 1000) / plainRate).toFixed(2)}× (b) with this work, were none of it waiting`)
      out(`(g) time per stage of one change set, bulk of (e) (mean ms):`)
      stagesSince(at)

      // (h): once every change set is acknowledged, the outbox pruned and the WAL checkpointed.
      const unacked = county.sqlite.prepare('select count(*) from sync_change_sets where acked_at is null').pluck()
      while ((unacked.get() as number) > 0) await new Promise(r => setTimeout(r, 50))
      sync.pruneOutbox()
      const students = count.get() as number
      out(`(h) bytes on disk per student after (e), acknowledged (${students.toLocaleString('en')} students; target ≤ 2× the students table's own bytes):`)
      for (const [name, s, file] of [['county', county, join(countyDir, 'xueji.db')], ['province', province, join(provDir, 'xueji.db')]] as const) {
        if (name === 'county') s.sqlite.pragma('wal_checkpoint(TRUNCATE)')
        const f = footprint(s, file)
        const per = (b: number) => (b / students).toFixed(0)
        out(`    ${name.padEnd(8)} file ${per(f.file)} B/student = ${(f.file / f.students).toFixed(1)}× the students table with its indexes (${per(f.students)} B); outbox ${per(f.outbox)} B, change sets ${per(f.changeSets)} B`)
      }

      if (LARGE) {
        countyStages = []
        const big = await bulk(school, 1000 + E2E_ROWS, LARGE_ROWS)
        const fRate = rate(LARGE_ROWS, big.total)
        out(`(f) ${LARGE_ROWS.toLocaleString('en')} student rows county → province: ${(big.total / 1000).toFixed(1)} s = ${fRate.toLocaleString('en')} rows/s, ${(fRate / eRate).toFixed(2)}× (e) (target ≥ 0.8)`)
        out(`    peak RSS: county (this process, with the benchmark's own rows) ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB, city ${peakRssMb(children[1].pid)}, province ${peakRssMb(children[0].pid)}`)
      }
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
  const redis = await redisForRun()
  if (!redis) {
    process.stderr.write('no Redis at REDIS_URL (default 127.0.0.1:6379) and no redis-server to start\n')
    return 1
  }
  try {
    await applyRates()
    if (!APPLY_ONLY) await endToEnd(redis.url)
    return 0
  } finally {
    if (redis.own) await stopProcess(redis.own)
    else await deleteRedisPrefix(redis.url, runPrefix)
    rmSync(root, { recursive: true, force: true })
  }
}

process.exitCode = await run()
