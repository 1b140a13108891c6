/**
 * `npm run bench:province`: a whole-province simulation (issue #13). The province has 1 + 11 + 90
 * nodes and about 8.5 M students; this 2-core machine runs a representative slice of it as real
 * node processes over real HTTP, each with its own SQLite file and Redis prefix: the province,
 * BENCH_CITIES cities (default 2) and BENCH_COUNTIES_PER_CITY counties under each (default 2).
 * Every county holds 8.5 M / 90 × factor students (`-- --factor F`, default 0.002: 189 each),
 * seeded with the project's seed library (scripts/seed, what `xueji seed` runs) as of 15 July, so
 * the rollover has a year to close. Phases:
 *
 * 1. initial consolidation from empty: the counties are seeded beside their running node, not yet
 *    enrolled (a node started on July data would run the rollover at once, so it starts empty and
 *    its rollover timer is set to a day), then all enrolled at once; the time until each city,
 *    then the province, holds every record of its subtree; rows/s and rows per CPU-second per tier;
 * 2. a day of ordinary writes, compressed: BENCH_WRITES per county (default a tenth of its
 *    students, at least 20), new students, corrections to them and carried-out status changes
 *    through each county's HTTP API; lag percentiles from the API's answer to the row at the
 *    province;
 * 3. the rollover at every county (POST /api/v1/calendar/rollover), the time until the province
 *    holds every rolled class and completion;
 * 4. one county lost and rebuilt from its parent: `xueji backup` (taken after phase 1), the data
 *    directory deleted, `xueji restore`, `xueji sync rebuild`; timed, counts checked against the
 *    parent, the restored node started.
 *
 * The rest of the province is not run: its figures are projected from the measured per-tier
 * rates and printed with their formulas. Nothing here asserts a timing. Every process, temporary
 * directory and Redis key of the run is removed at the end, on failure or Ctrl-C too.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { execFileSync, type ChildProcess } from 'node:child_process'
import { initNode } from '../../node/identity.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { idCheckChar } from '../../schema/ids.ts'
import { seedNode } from '../seed/index.ts'
import { nodeArea } from '../seed/area.ts'
import { main } from '../cli.ts'
import { deleteRedisPrefix, freePort, redisForRun, spawnNode, stopProcess, waitReady } from '../lib/processes.ts'
import { login } from './export-lib.ts'

const PROVINCE_STUDENTS = 8_500_000
const COUNTIES_IN_PROVINCE = 90
const CITIES_IN_PROVINCE = 11
const PASSWORD = 'province bench: a long passphrase 2026'
const { values } = parseArgs({ options: { factor: { type: 'string', default: process.env.BENCH_FACTOR ?? '0.002' } } })
const FACTOR = Number(values.factor)
const CITIES = Number(process.env.BENCH_CITIES ?? 2)
const COUNTIES_PER_CITY = Number(process.env.BENCH_COUNTIES_PER_CITY ?? 2)
const PER_COUNTY = Math.round((PROVINCE_STUDENTS / COUNTIES_IN_PROVINCE) * FACTOR)
/** Writes per county in the compressed day (phase 2): a day's edits scale with the students. */
const WRITES_PER_COUNTY = Number(process.env.BENCH_WRITES ?? Math.max(20, Math.round(PER_COUNTY * 0.1)))
/** Sync settings of the run's nodes (the reconciler picks up rows seeded beside a running node). */
const SYNC = { reconcileIntervalMs: 1000, retryBaseMs: 100, retryMaxMs: 2000, haltedRetryMs: 5000, commandPollMs: 1000 }
const SEED_AS_OF = new Date('2026-07-15T04:00:00Z')

const out = (s: string) => process.stdout.write(s + '\n')
const sleep = (ms: number) => new Promise(r => setTimeout(r, ms))
const fmt = (n: number) => Math.round(n).toLocaleString('en')
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`
const root = mkdtempSync(join(tmpdir(), 'xueji-bench-province-'))
const runPrefix = `xueji-bench-province:${Date.now()}`

interface BenchNode {
  tier: 'province' | 'city' | 'county'
  code: string
  name: string
  dir: string
  url: string
  parent: BenchNode | null
  process: ChildProcess | null
  /** The benchmark's own read connection (WAL, beside the running node). */
  db: Storage
}
const nodes: BenchNode[] = []

async function cli(args: string[]): Promise<string> {
  let text = ''
  const code = await main(args, process.env, { out: s => (text += s), err: s => (text += s) })
  if (code !== 0) throw new Error(`xueji ${args[0]} ${args[1] ?? ''}: ${text.slice(0, 500)}`)
  return text
}

async function makeNode(tier: BenchNode['tier'], code: string, name: string, parent: BenchNode | null, redisUrl: string): Promise<BenchNode> {
  const port = await freePort()
  const dir = join(root, code)
  await initNode({
    dataDir: dir, tier, code, name, parentUrl: parent?.url ?? null, adminPassword: PASSWORD,
    config: {
      server: { port },
      redis: { url: redisUrl, prefix: `${runPrefix}:${code}` },
      log: { level: 'warn' },
      sync: { ...SYNC },
      // The rollover is phase 3's, run through the API; the node's own timer must not run it first.
      calendar: { rolloverCheckMs: 86_400_000 },
    },
  })
  const n: BenchNode = { tier, code, name, dir, url: `http://127.0.0.1:${port}`, parent, process: null, db: openStorage(join(dir, 'xueji.db')) }
  nodes.push(n)
  return n
}

async function start(n: BenchNode): Promise<void> {
  n.process = spawnNode(n.dir, {}, join(root, `${n.code}.log`))
  await waitReady(n.url, 600000, n.process)
}

async function enroll(n: BenchNode): Promise<void> {
  const token = /xjt_[A-Za-z0-9_-]+/.exec(await cli(['join-token', '--data', n.parent!.dir, '--child', n.code]))![0]
  await cli(['enroll', '--data', n.dir, '--token', token])
}

/** Rows of every replicated table homed at one of `homes`, at `db`. */
function recordCount(db: Storage, homes: string[]): number {
  const marks = homes.map(() => '?').join(', ')
  let n = 0
  for (const t of REPLICATED_TABLES) {
    const has = db.sqlite.prepare(`select 1 from pragma_table_info(?) where name = 'home_node'`).get(t.name)
    if (has) n += db.sqlite.prepare(`select count(*) from "${t.name}" where home_node in (${marks})`).pluck().get(...homes) as number
  }
  return n
}

/** Per replicated table, rows and the sum of versions homed at `home`: equal at two nodes when they hold the same records. */
function fingerprint(db: Storage, home: string): Record<string, string> {
  const f: Record<string, string> = {}
  for (const t of REPLICATED_TABLES) {
    if (!db.sqlite.prepare(`select 1 from pragma_table_info(?) where name = 'home_node'`).get(t.name)) continue
    const r = db.sqlite.prepare(`select count(*) n, coalesce(sum(version), 0) v from "${t.name}" where home_node = ?`).get(home) as { n: number; v: number }
    if (r.n > 0) f[t.name] = `${r.n}/${r.v}`
  }
  return f
}

async function until(what: string, check: () => boolean, ms = 1_800_000, every = 100): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(every)
  }
}

/** Clock ticks per second of /proc/PID/stat's CPU times. */
const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** CPU seconds (user + system) a process has used so far (Linux), 0 when unknown. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK
  } catch {
    return 0
  }
}
const tierCpu = (list: BenchNode[]) => list.reduce((n, x) => n + cpuSeconds(x.process?.pid), 0)

const pct = (xs: number[], q: number) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))] : NaN)

// ------------------------------------------------------------------ the API client of phase 2

type Headers = Record<string, string>
async function call(n: BenchNode, h: Headers, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${n.url}${path}`, { method, headers: { ...h, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  return { status: res.status, json: text ? JSON.parse(text) : {} }
}

/** A deterministic pseudo-random generator for the day's writes. */
function rng(seed: number) {
  let s = seed >>> 0
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0
    return s / 2 ** 32
  }
}

interface Pending { table: string; id: string; version: number; at: number }

/** The bureau administrator's session at each county, signed in once (its TOTP code is single-use). */
const sessions = new Map<string, Headers>()
async function bureau(n: BenchNode): Promise<Headers> {
  if (!sessions.has(n.code)) sessions.set(n.code, await login(n.url, PASSWORD))
  return sessions.get(n.code)!
}

/**
 * One county's compressed day: WRITES_PER_COUNTY writes, one every `gapMs`. The seeded records
 * are verified and past their deadlines (locked, R-22.1, R-22.3: changed only through change
 * requests), so the day's writes are what a registrar does now: new students entered late into
 * first-year classes, corrections to those still unverified entries, and status changes (a
 * student moving out of the province) applied by the school, verified by its leadership, reviewed
 * and carried out by the bureau.
 */
async function countyDay(n: BenchNode, index: number, gapMs: number, pending: Pending[], tally: Map<string, number>): Promise<void> {
  const h = await bureau(n)
  const rand = rng(1000 + index)
  const db = n.db.sqlite
  // The school with most students in school: its administrator applies the status changes.
  const school = db.prepare(`select sc.id, sc.school_code code from students s join schools sc on sc.id = s.school_id where s.state = 'in_school' and s.home_node = ? group by sc.id order by count(*) desc, sc.id limit 1`).get(n.code) as { id: string; code: string }
  const leavers = db.prepare(`select id from students where school_id = ? and state = 'in_school' order by id`).pluck().all(school.id) as string[]
  const created = await call(n, h, 'POST', '/api/v1/accounts', { username: `head${index}`, password: PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [school.code] } })
  if (created.status !== 201) throw new Error(`school administrator at ${n.code}: ${created.status} ${JSON.stringify(created.json).slice(0, 300)}`)
  const head = await login(n.url, PASSWORD, `head${index}`)
  // R-18.1: the school leadership verifies the applications before the bureau reviews them.
  const appointed = await call(n, h, 'POST', '/api/v1/accounts', { username: `leader${index}`, password: PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [school.code] }, leader: true })
  if (appointed.status !== 201) throw new Error(`school leader at ${n.code}: ${appointed.status} ${JSON.stringify(appointed.json).slice(0, 300)}`)
  const leader = await login(n.url, PASSWORD, `leader${index}`)
  const firstGrades = db.prepare(`select id, school_id schoolId from school_classes where grade = 1 and schooling_length = '6' and home_node = ? order by id`).all(n.code) as { id: string; schoolId: string }[]
  const entered: { id: string; version: number }[] = []
  const note = (what: string, status: number, code?: string) => {
    const k = `${what} ${status}${code ? ` ${code}` : ''}`
    tally.set(k, (tally.get(k) ?? 0) + 1)
  }
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const place = `${n.name.replace('教育局', '')}新街`
  for (let i = 0; i < WRITES_PER_COUNTY; i++) {
    const r = rand()
    if (r < 0.4 && entered.length) {
      // A correction to a student entered earlier today: phone and address.
      const s = entered[Math.floor(rand() * entered.length)]
      const res = await call(n, h, 'PATCH', `/api/v1/students/${s.id}`, { version: s.version, phone: `139${String(Math.floor(rand() * 1e8)).padStart(8, '0')}`, currentAddress: `${place} ${i + 1} 号` })
      note('edit', res.status, res.json.code)
      if (res.status === 200) {
        s.version = res.json.version
        pending.push({ table: 'students', id: s.id, version: res.json.version, at: performance.now() })
      }
    } else if (r < 0.8 || leavers.length === 0) {
      // A new student entered late into a first-year class.
      const k = firstGrades[Math.floor(rand() * firstGrades.length)]
      const birth = `2019-0${1 + Math.floor(rand() * 8)}-1${Math.floor(rand() * 9)}`
      const first17 = `${n.code}${birth.replaceAll('-', '')}${String(900 + i).slice(-3)}`
      const idNumber = first17 + idCheckChar(first17)
      const res = await call(n, h, 'POST', '/api/v1/students', {
        schoolId: k.schoolId, classId: k.id, name: `补录${i}号`, idDocType: '1', idNumber, studentNo: `G${idNumber}`, schoolStudentNo: `B${index}-${i}`,
        gender: Number(first17[16]) % 2 === 1 ? '1' : '2', birthDate: birth, birthplace: n.code, nativePlace: '浙江', ethnicity: '01', hmt: '00', hmtEdition: 'jyt1001-2012', health: '1',
        currentAddress: `${place} ${i + 1} 号`, householdRegistration: n.code, floatingStatus: '1', country: 'CHN', enrolmentYm: '2025-09', studentCategory: '00',
      })
      note('new student', res.status, res.json.code)
      if (res.status === 201) {
        entered.push({ id: res.json.id, version: res.json.version })
        pending.push({ table: 'students', id: res.json.id, version: res.json.version, at: performance.now() })
      }
    } else {
      // A status change: the student moves out of the province.
      const id = leavers.splice(Math.floor(rand() * leavers.length), 1)[0]
      const a = await call(n, head, 'POST', `/api/v1/students/${id}/status-changes`, { changeType: '21', changeDate: today, reason: '随父母迁居上海', previousSchoolCode: school.code, currentSchoolCode: '3101040001', previousStudentNo: null, currentStudentNo: null, deathDate: null, deathCause: null, responsibility: null, reviewOpinion: null })
      let res = a
      if (a.status === 201) res = await call(n, leader, 'POST', `/api/v1/verification/student_status_changes/${a.json.id}/verify`)
      if (res.status === 200) res = await call(n, h, 'POST', `/api/v1/status-changes/${a.json.id}/review`, { version: res.json.version, decision: 'approve', approvalDocNo: `教〔2026〕${i + 1}号` })
      if (res.status === 200) res = await call(n, h, 'POST', `/api/v1/status-changes/${a.json.id}/carry-out`, { version: res.json.version })
      note('status change', res.status, res.json.code)
      if (res.status === 200) pending.push({ table: 'student_status_changes', id: a.json.id, version: res.json.version, at: performance.now() })
    }
    await sleep(gapMs)
  }
}

// ------------------------------------------------------------------ the run

async function run(): Promise<number> {
  out(`Xueji whole-province simulation — node ${process.version}, ${new Date().toISOString()}`)
  if (!(FACTOR > 0) || PER_COUNTY < 100 || PER_COUNTY > 1_000_000) {
    process.stderr.write(`--factor ${values.factor} gives ${PER_COUNTY} students per county; the seed takes 100 to 1,000,000 (factor ${(100 / (PROVINCE_STUDENTS / COUNTIES_IN_PROVINCE)).toFixed(5)} to ${(1e6 / (PROVINCE_STUDENTS / COUNTIES_IN_PROVINCE)).toFixed(2)})\n`)
    return 2
  }
  const redis = await redisForRun()
  if (!redis) {
    process.stderr.write('no Redis at REDIS_URL (default 127.0.0.1:6379) and no redis-server to start\n')
    return 1
  }
  privateRedis = redis.own
  const redisUrl = redis.url

  // The slice: the province, CITIES cities, COUNTIES_PER_CITY counties each, as in the division table.
  const province = await makeNode('province', '330000', '浙江省教育厅', null, redisUrl)
  const cityCodes = ['330100', '330200', '330300', '330400', '330500', '330600', '330700', '330800', '330900', '331000', '331100'].slice(0, CITIES)
  const cities: BenchNode[] = []
  const counties: BenchNode[] = []
  for (const code of cityCodes) {
    const area = nodeArea('city', code)
    const city = await makeNode('city', code, `${area.name}教育局`, province, redisUrl)
    cities.push(city)
    for (const c of area.counties.slice(0, COUNTIES_PER_CITY)) counties.push(await makeNode('county', c.code, `${c.name}教育局`, city, redisUrl))
  }
  const slice = `1 province + ${cities.length} cities + ${counties.length} counties = ${nodes.length} node processes`
  out(`machine: ${cpuModel()}, ${cpus().length} cores, load average ${loadavg().map(x => x.toFixed(1)).join(' ')} at the start (shared with other work: absolute figures are noisy)`)
  out(`factor ${FACTOR}: ${fmt(PER_COUNTY)} students per county (8,500,000 / 90 × ${FACTOR}); real: ${slice}, each its own process, SQLite file and Redis prefix, real HTTP`)
  out(`not run: ${CITIES_IN_PROVINCE - cities.length} cities and ${COUNTIES_IN_PROVINCE - counties.length} counties; their share is projected from the measured per-tier rates (formulas below)`)
  out(`sync settings of every node: ${JSON.stringify(SYNC)}, other settings default`)

  let t0 = performance.now()
  // One at a time: on a busy 2-core machine parallel starts only make each slower.
  await start(province)
  for (const c of cities) {
    await start(c)
    await enroll(c)
  }
  for (const c of counties) await start(c)
  out(`\nstarted ${nodes.length} node processes in ${secs(performance.now() - t0)}`)

  // Seeding (scripts/seed through its services, each record with its outbox row), not yet enrolled.
  t0 = performance.now()
  const seeded = new Map<string, number>()
  let students = 0
  for (const [i, c] of counties.entries()) {
    const r = seedNode(c.db, { node: { tier: 'county', code: c.code }, students: PER_COUNTY, seed: i + 1, asOf: SEED_AS_OF })
    seeded.set(c.code, recordCount(c.db, [c.code]))
    students += r.counts.students
  }
  const totalRows = [...seeded.values()].reduce((a, b) => a + b, 0)
  const rowsPerStudent = totalRows / students
  out(`seeded ${fmt(students)} students in ${counties.length} counties (${fmt(totalRows)} records, ${rowsPerStudent.toFixed(1)} per student, schools, classes, teachers, kindergartens and children included) in ${secs(performance.now() - t0)}`)

  // ---------------------------------------------------------------- phase 1
  out('\n(1) initial consolidation from empty: every county enrolled at once')
  const cpuBefore = { county: tierCpu(counties), city: tierCpu(cities), province: tierCpu([province]) }
  const cpuUsed = { county: 0, city: 0, province: 0 }
  t0 = performance.now()
  for (const c of counties) await enroll(c)
  const enrolMs = performance.now() - t0
  const done = new Map<string, number>()
  await until('the province to hold every record', () => {
    const now = performance.now() - t0
    for (const c of counties) if (!done.has(c.code) && recordCount(c.parent!.db, [c.code]) === seeded.get(c.code)) done.set(c.code, now)
    for (const city of cities) {
      const mine = counties.filter(c => c.parent === city)
      if (!done.has(city.code) && mine.every(c => done.has(c.code))) done.set(city.code, now)
    }
    if (!done.has('330000') && cities.every(c => done.has(c.code)) && recordCount(province.db, counties.map(c => c.code)) === totalRows) {
      done.set('330000', now)
      cpuUsed.county = tierCpu(counties) - cpuBefore.county
      cpuUsed.city = tierCpu(cities) - cpuBefore.city
      cpuUsed.province = tierCpu([province]) - cpuBefore.province
    }
    return done.has('330000')
  }, 3_600_000, 200)
  const consolidateMs = done.get('330000')!
  const countyRates = counties.map(c => seeded.get(c.code)! / (done.get(c.code)! / 1000))
  const cityRates = cities.map(city => counties.filter(c => c.parent === city).reduce((n, c) => n + seeded.get(c.code)!, 0) / (done.get(city.code)! / 1000))
  const provinceRate = totalRows / (consolidateMs / 1000)
  out(`    enrolling the ${counties.length} counties took ${secs(enrolMs)} (inside the times below)`)
  for (const c of counties) out(`    county ${c.code} → city ${c.parent!.code}: ${fmt(seeded.get(c.code)!)} records in ${secs(done.get(c.code)!)} = ${fmt(seeded.get(c.code)! / (done.get(c.code)! / 1000))} rows/s`)
  for (const [i, c] of cities.entries()) out(`    city ${c.code} holds its ${counties.filter(x => x.parent === c).length} counties: ${secs(done.get(c.code)!)} = ${fmt(cityRates[i])} rows/s received`)
  const perCpu = { county: totalRows / cpuUsed.county, city: totalRows / cpuUsed.city, province: totalRows / cpuUsed.province }
  out(`    CPU time of the node processes meanwhile (user + system): counties ${cpuUsed.county.toFixed(1)} s, cities ${cpuUsed.city.toFixed(1)} s, province ${cpuUsed.province.toFixed(1)} s = ${fmt(perCpu.county)}, ${fmt(perCpu.city)}, ${fmt(perCpu.province)} rows per CPU-second (idle polling included)`)
  out(`    province holds all ${fmt(totalRows)} records (${fmt(students)} students): ${secs(consolidateMs)} = ${fmt(provinceRate)} rows/s received, ${fmt(students / (consolidateMs / 1000))} students/s`)

  // The backup phase 4 restores from: taken now, so the rebuild has phases 2 and 3 to fetch back.
  const lost = counties[counties.length - 1]
  const key = join(root, 'backup.key')
  const target = join(root, 'backups')
  await cli(['backup-key', '--out', key])
  t0 = performance.now()
  await cli(['backup', '--data', lost.dir, '--to', target, '--key', key])
  const backupMs = performance.now() - t0

  // ---------------------------------------------------------------- phase 2
  out(`\n(2) a day of ordinary writes, compressed: ${WRITES_PER_COUNTY} per county through its HTTP API (about 40 % new students entered late, 40 % corrections to them, 20 % status changes applied by the school, reviewed and carried out by the bureau; the seeded records are locked by now), all counties at once`)
  const pending: Pending[] = []
  const lags: number[] = []
  const tally = new Map<string, number>()
  let writing = true
  /** Set once the writes end: how long the rows may take to reach the province. */
  let deadline = Infinity
  const watcher = (async () => {
    while (writing || pending.length) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pending.length} writes at the province`)
      for (let i = pending.length - 1; i >= 0; i--) {
        const p = pending[i]
        const v = province.db.sqlite.prepare(`select version from "${p.table}" where id = ?`).pluck().get(p.id) as number | undefined
        if (v !== undefined && v >= p.version) {
          lags.push(performance.now() - p.at)
          pending.splice(i, 1)
        }
      }
      await sleep(10)
    }
  })()
  t0 = performance.now()
  try {
    await Promise.all(counties.map((c, i) => countyDay(c, i, 100, pending, tally)))
  } catch (err) {
    pending.length = 0
    throw err
  } finally {
    writing = false
    deadline = Date.now() + 600000
  }
  const writeMs = performance.now() - t0
  await watcher
  out(`    ${lags.length} writes in ${secs(writeMs)} (${(lags.length / (writeMs / 1000)).toFixed(1)}/s across the counties); answers: ${[...tally].map(([k, v]) => `${k} ×${v}`).join(', ')}`)
  out(`    lag county API answer → row at the province: p50 ${pct(lags, 0.5).toFixed(0)} ms, p90 ${pct(lags, 0.9).toFixed(0)} ms, p99 ${pct(lags, 0.99).toFixed(0)} ms, max ${Math.max(...lags).toFixed(0)} ms`)

  // ---------------------------------------------------------------- phase 3
  out('\n(3) rollover at every county (POST /api/v1/calendar/rollover, all counties at once)')
  const classVersions = (db: Storage, home: string) => db.sqlite.prepare('select count(*) || \'/\' || coalesce(sum(version), 0) from school_classes where home_node = ?').pluck().get(home)
  const completions = (db: Storage, home: string) => db.sqlite.prepare('select count(*) from student_completions where home_node = ?').pluck().get(home)
  t0 = performance.now()
  const reports = await Promise.all(counties.map(async c => {
    const res = await call(c, await bureau(c), 'POST', '/api/v1/calendar/rollover', {})
    if (res.status !== 200) throw new Error(`rollover at ${c.code}: ${res.status} ${JSON.stringify(res.json).slice(0, 300)}`)
    return res.json as { items: { state: string; promoted: number; completing: number }[] }
  }))
  const rolloverMs = performance.now() - t0
  await until('the province to reflect every rollover', () => counties.every(c => classVersions(province.db, c.code) === classVersions(c.db, c.code) && completions(province.db, c.code) === completions(c.db, c.code)), 1_800_000, 200)
  const reflectedMs = performance.now() - t0
  const items = reports.flatMap(r => r.items)
  const promoted = items.reduce((n, i) => n + i.promoted, 0)
  const completing = items.reduce((n, i) => n + i.completing, 0)
  out(`    ${items.filter(i => i.state === 'done').length} schools and kindergartens rolled, ${items.filter(i => i.state === 'blocked').length} blocked by pending business (left alone, as on a real node); ${fmt(promoted)} promoted, ${fmt(completing)} completing`)
  out(`    the counties' rollover calls answered in ${secs(rolloverMs)}; the province held every rolled class and completion ${secs(reflectedMs)} after the calls began`)

  // ---------------------------------------------------------------- phase 4
  out(`\n(4) county ${lost.code} lost and rebuilt from its parent ${lost.parent!.code}`)
  await until('the lost county\'s last writes at its parent', () => JSON.stringify(fingerprint(lost.parent!.db, lost.code)) === JSON.stringify(fingerprint(lost.db, lost.code)), 600000, 200)
  const before = fingerprint(lost.db, lost.code)
  // Lost: the process killed, its data directory (database and keys) deleted.
  const dying = lost.process!
  const exited = new Promise(r => dying.once('exit', r))
  dying.kill('SIGKILL')
  await exited
  lost.process = null
  lost.db.close()
  rmSync(lost.dir, { recursive: true, force: true })
  const restored = join(root, `${lost.code}-restored`)
  const port = await freePort()
  t0 = performance.now()
  await cli(['restore', '--from', target, '--key', key, '--data', restored, '--port', String(port)])
  const restoreMs = performance.now() - t0
  const copy = openStorage(join(restored, 'xueji.db'))
  const atBackup = recordCount(copy, [lost.code])
  copy.close()
  t0 = performance.now()
  const rebuilt = await cli(['sync', 'rebuild', '--data', restored])
  const rebuildMs = performance.now() - t0
  lost.dir = restored
  lost.url = `http://127.0.0.1:${port}`
  lost.db = openStorage(join(restored, 'xueji.db'))
  const after = fingerprint(lost.db, lost.code)
  const parentView = fingerprint(lost.parent!.db, lost.code)
  const same = JSON.stringify(after) === JSON.stringify(parentView) && JSON.stringify(after) === JSON.stringify(before)
  t0 = performance.now()
  await start(lost)
  const readyMs = performance.now() - t0
  const rows = recordCount(lost.db, [lost.code])
  out(`    xueji backup after phase 1 took ${secs(backupMs)}; data directory deleted; xueji restore ${secs(restoreMs)} (${fmt(atBackup)} records as of the backup)`)
  out(`    xueji sync rebuild ${secs(rebuildMs)}: ${rebuilt.trim().split('\n').pop()}`)
  out(`    counts and versions per table, rebuilt county vs its parent's replica vs the lost county: ${same ? 'identical' : 'DIFFERENT'} (${fmt(rows)} records); restored node ready in ${secs(readyMs)}`)
  if (!same) out(`    rebuilt ${JSON.stringify(after)}\n    parent  ${JSON.stringify(parentView)}\n    lost    ${JSON.stringify(before)}`)

  // ---------------------------------------------------------------- summary and projection
  const countyRate = median(countyRates)
  const cityRate = median(cityRates)
  const perCountyRows = (PROVINCE_STUDENTS / COUNTIES_IN_PROVINCE) * rowsPerStudent
  const perCityRows = (PROVINCE_STUDENTS / CITIES_IN_PROVINCE) * rowsPerStudent
  const provinceRows = PROVINCE_STUDENTS * rowsPerStudent
  const tCounty = perCountyRows / countyRate
  const tCity = perCityRows / cityRate
  const tProvince = provinceRows / provinceRate
  const hours = (s: number) => (s < 3600 ? `${Math.round(s / 60)} min` : `${(s / 3600).toFixed(1)} h`)
  out('\nsummary (measured on this machine, all processes sharing its cores)')
  out('| figure | value |')
  out('| --- | --- |')
  out(`| slice | ${slice}, ${fmt(students)} students, ${fmt(totalRows)} records |`)
  out(`| county → city, rows/s (median of ${counties.length}) | ${fmt(countyRate)} |`)
  out(`| city receives, rows/s (median of ${cities.length}) | ${fmt(cityRate)} |`)
  out(`| province receives, rows/s | ${fmt(provinceRate)} |`)
  out(`| rows per CPU-second, county / city / province | ${fmt(perCpu.county)} / ${fmt(perCpu.city)} / ${fmt(perCpu.province)} |`)
  out(`| time to consolidate the slice from empty | ${secs(consolidateMs)} |`)
  out(`| write lag county → province p50 / p90 / p99 | ${pct(lags, 0.5).toFixed(0)} / ${pct(lags, 0.9).toFixed(0)} / ${pct(lags, 0.99).toFixed(0)} ms (${lags.length} writes) |`)
  out(`| rollover at ${counties.length} counties reflected at the province | ${secs(reflectedMs)} |`)
  out(`| county restore + rebuild from its parent | ${secs(restoreMs)} + ${secs(rebuildMs)}, counts ${same ? 'match' : 'DIFFER'} |`)
  out('\nprojection for 8,500,000 students (extrapolated, not measured)')
  out(`    records = students × ${rowsPerStudent.toFixed(1)} (the seeded ratio); the tiers work in a pipeline, so the slowest bounds the time`)
  out(`    a county:   8.5 M / 90 × ${rowsPerStudent.toFixed(1)} = ${fmt(perCountyRows)} records ÷ ${fmt(countyRate)} rows/s = ${hours(tCounty)} (counties run in parallel, each on its own machine)`)
  out(`    a city:     8.5 M / 11 × ${rowsPerStudent.toFixed(1)} = ${fmt(perCityRows)} records ÷ ${fmt(cityRate)} rows/s = ${hours(tCity)}`)
  out(`    province:   8.5 M × ${rowsPerStudent.toFixed(1)} = ${fmt(provinceRows)} records ÷ ${fmt(provinceRate)} rows/s = ${hours(tProvince)}`)
  out(`    projected initial consolidation of 8.5 M students: max(${hours(tCounty)}, ${hours(tCity)}, ${hours(tProvince)}) = ${hours(Math.max(tCounty, tCity, tProvince))}`)
  const cCounty = perCountyRows / perCpu.county
  const cCity = perCityRows / perCpu.city
  const cProvince = provinceRows / perCpu.province
  out(`    the same with a core of its own per node (records ÷ rows per CPU-second of phase 1; CPU only, disk and network waits not counted):`)
  out(`    county ${hours(cCounty)}, city ${hours(cCity)}, province ${hours(cProvince)}: projected ${hours(Math.max(cCounty, cCity, cProvince))}`)
  out(`    (the rates were measured with ${nodes.length} processes sharing ${cpus().length} cores, load average ${loadavg().map(x => x.toFixed(1)).join(' ')} at the end; each real node has a machine of its own, and the province's rate at this small scale includes per-change-set overheads that larger change sets amortise)`)
  return 0
}

function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
}

function cpuModel(): string {
  try {
    return /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? 'unknown CPU'
  } catch {
    return 'unknown CPU'
  }
}

let privateRedis: ChildProcess | undefined
let cleaned = false
async function cleanUp(): Promise<void> {
  if (cleaned) return
  cleaned = true
  await Promise.all(nodes.map(n => (n.process ? stopProcess(n.process, 5000) : null)))
  for (const n of nodes) {
    try {
      n.db.close()
    } catch {
      // closed already
    }
  }
  if (privateRedis) await stopProcess(privateRedis)
  else await deleteRedisPrefix(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', runPrefix)
  rmSync(root, { recursive: true, force: true })
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the nodes and removing the run's files and Redis keys\n`)
    void cleanUp().finally(() => process.exit(130))
  })
}

try {
  process.exitCode = await run()
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`)
  process.exitCode = 1
} finally {
  await cleanUp()
}
