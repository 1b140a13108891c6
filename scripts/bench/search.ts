/**
 * `npm run bench:search [-- --students N --requests N --keep | --reuse DIR]`: seeds a county (西湖区 330106) with N
 * students (default 100,000, as `npm run bench:seed`), starts it as a node process and times
 * searches and reads through its HTTP API at 1 and 10 concurrent clients: p50 / p99 of each, and
 * `/healthz` p99 while 10 clients search. Targets (issue #15): p99 ≤ 5 ms for every search at one
 * client, `/healthz` p99 ≤ 5 ms while 10 clients search. The searches and the list are timed as the
 * API answers by default (50 whole records a page) and as the web UI asks them (20, its columns).
 *
 * The county is not enrolled, and the seeded outbox rows are deleted before the node starts:
 * packing 1.4 M rows would compete with the reads measured here (start-up with a backlog is
 * test/node/startup-backlog.test.ts). Redis: REDIS_URL, or a private one.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'
import { loadConfigFile } from '../../config/load.ts'
import { openStorage } from '../../schema/db.ts'
import { initNode } from '../../node/identity.ts'
import { SESSION_COOKIE } from '../../node/plugins/auth.ts'
import { seedNode } from '../seed/index.ts'
import { deleteRedisPrefix, freePort, redisForRun, spawnNode, stopProcess, waitReady } from '../lib/processes.ts'

const { values } = parseArgs({ options: { students: { type: 'string', default: '100000' }, requests: { type: 'string', default: '400' }, keep: { type: 'boolean', default: false }, reuse: { type: 'string' } } })
const students = Number(values.students)
const requests = Number(values.requests)
const PASSWORD = 'bench-search-password-2026'

// --reuse DIR: the county a run with --keep left in DIR (its seed is the slow part of a run).
const root = values.reuse ?? mkdtempSync(join(tmpdir(), 'xueji-bench-search-'))
const dir = join(root, 'county')
const redis = await redisForRun()
if (!redis) throw new Error('no Redis at REDIS_URL (default 127.0.0.1:6379) and no redis-server to start')
const redisUrl = redis.url
let prefix = `xueji-bench-search-${process.pid}`
let port = await freePort()
if (values.reuse) {
  const config = loadConfigFile(join(dir, 'xueji.json'))
  ;({ port } = config.server)
  ;({ prefix } = config.redis)
} else {
  await initNode({
    dataDir: dir, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:9/', adminPassword: PASSWORD,
    config: { server: { port }, redis: { url: redisUrl, prefix }, log: { level: 'warn' } },
  })
}
const url = `http://127.0.0.1:${port}`

const storage = openStorage(join(dir, 'xueji.db'))
if (!values.reuse) {
  process.stderr.write(`seeding ${students} students …\n`)
  const seeded = seedNode(storage, { node: { tier: 'county', code: '330106' }, students, seed: 1, onProgress: p => process.stderr.write(`\r${p.students} students`) })
  process.stderr.write(`\nseeded in ${seeded.seconds.toFixed(0)} s\n`)
  storage.write(() => storage.sqlite.prepare('delete from outbox').run())
}
const pick = <T>(sql: string) => storage.sqlite.prepare(sql).get() as T
const held = pick<{ n: number }>('select count(*) n from students').n
// A student in the middle of the table, a school with students, and the most common surname.
const one = pick<{ id: string; id_number: string; student_no: string; school_id: string }>(`select id, id_number, student_no, school_id from students where id_number is not null order by rowid limit 1 offset ${Math.floor(students / 2)}`)
const surname = pick<{ s: string }>("select substr(name, 1, 1) s from students group by s order by count(*) desc limit 1").s
const twoChars = pick<{ p: string }>("select substr(name, 1, 2) p from students group by p order by count(*) desc limit 1").p
const initials = pick<{ i: string }>("select pinyin_initials i from students where length(pinyin_initials) = 2 group by i order by count(*) desc limit 1").i
storage.close()

// Administrators sign in without TOTP here (loopback only): the bench needs one session.
const node = spawnNode(dir, { XUEJI_SECURITY_DEMO_LOGIN_WITHOUT_TOTP: 'true' }, join(root, 'node.log'))
const pool = new Pool(url, { connections: 12 })
try {
  await waitReady(url, 120000, node)
  const login = await pool.request({ method: 'POST', path: '/api/v1/auth/login', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: PASSWORD }) })
  const cookieHeader = [login.headers['set-cookie']].flat().find(c => c?.startsWith(`${SESSION_COOKIE}=`))
  await login.body.text()
  if (login.statusCode !== 200 || !cookieHeader) throw new Error(`login failed: ${login.statusCode}`)
  const cookie = cookieHeader.split(';')[0]

  const get = async (path: string): Promise<number> => {
    const t0 = performance.now()
    const res = await pool.request({ method: 'GET', path, headers: { cookie } })
    await res.body.text()
    if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode}`)
    return performance.now() - t0
  }
  const q = (s: string) => `/api/v1/students?q=${encodeURIComponent(s)}`
  // What the web UI's student list asks (node/web/src/pages/Students.tsx): 20 a page, its columns.
  const ui = '&limit=20&fields=name,gender,birthDate,studentNo,idNumber,classId,state,verifyState'
  const cases: Array<[string, string]> = [
    ['ID number', q(one.id_number)],
    ['学籍号', q(one.student_no)],
    [`name prefix (q=${surname})`, q(surname)],
    [`name prefix (q=${twoChars})`, q(twoChars)],
    [`pinyin initials (q=${initials})`, q(initials)],
    ["a school's list page", `/api/v1/students?schoolId=${one.school_id}`],
    [`name prefix (q=${surname}) as the web UI asks`, `${q(surname)}${ui}`],
    [`pinyin initials (q=${initials}) as the web UI asks`, `${q(initials)}${ui}`],
    ["a school's list page as the web UI asks", `/api/v1/students?schoolId=${one.school_id}${ui}`],
    ["one student's full read", `/api/v1/students/${one.id}`],
  ]
  /** `clients` loops of `requests / clients` sequential requests; every latency, in ms. */
  const run = async (path: string, clients: number): Promise<number[]> => {
    const times: number[] = []
    await Promise.all(Array.from({ length: clients }, async () => {
      for (let i = 0; i < Math.ceil(requests / clients); i++) times.push(await get(path))
    }))
    return times
  }
  const pct = (xs: number[], p: number) => {
    const s = [...xs].sort((a, b) => a - b)
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]
  }
  const ms = (x: number) => x.toFixed(2).padStart(8)

  for (const [, path] of cases) await run(path, 4) // warm-up: statement cache, page cache
  const lines = ['| request | 1 client p50 / p99 ms | 10 clients p50 / p99 ms |', '|---|---|---|']
  for (const [name, path] of cases) {
    const a = await run(path, 1)
    const b = await run(path, 10)
    lines.push(`| ${name} | ${ms(pct(a, 50))} / ${ms(pct(a, 99))} | ${ms(pct(b, 50))} / ${ms(pct(b, 99))} |`)
  }
  // /healthz, alone and while 10 clients run the name search (the heaviest search above).
  const alone = await run('/healthz', 1)
  const health: number[] = []
  let searching = true
  const probe = (async () => {
    while (searching) {
      health.push(await get('/healthz'))
      await new Promise(r => setTimeout(r, 2))
    }
  })()
  await run(q(surname), 10)
  searching = false
  await probe
  lines.push(`| /healthz alone | ${ms(pct(alone, 50))} / ${ms(pct(alone, 99))} | |`)
  lines.push(`| /healthz while 10 clients search q=${surname} | | ${ms(pct(health, 50))} / ${ms(pct(health, 99))} (${health.length} probes) |`)
  process.stdout.write(`${held} students, ${requests} requests per figure, node ${process.version}; other processes on this machine share its cores\n${lines.join('\n')}\n`)
} finally {
  await pool.close()
  await stopProcess(node)
  await deleteRedisPrefix(redisUrl, prefix).catch(() => undefined)
  redis.own?.kill()
  if (values.keep || values.reuse) process.stdout.write(`kept ${root}\n`)
  else rmSync(root, { recursive: true, force: true })
}
