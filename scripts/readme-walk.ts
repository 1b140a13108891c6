/**
 * `npm run readme:walk`: walks the README's "Deploying a county node" and "Joining the federation"
 * sections as written, the way a county's IT person would, on a copy of this checkout:
 * `npm run build`, then every `npx xueji …` line of those sections for a province, a city and a
 * county (init, status, start, join-token, enroll), then writes a student at the county and reads
 * it at the province. The commands are taken from the README itself, so a README that drifts
 * from the program fails this walk (test/scripts/readme-walk.test.ts runs it under `npm test`).
 *
 * What it changes from the text, and why: `npm ci` is skipped (the copy links this checkout's
 * node_modules: no network), and the example values are replaced per node (tier, code, name,
 * parent URL, data directory, port); the rest of each command line runs verbatim.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { totpCode, timeStep } from '../node/auth/totp.ts'
import { deleteRedisPrefix, freePort, waitReady } from './lib/processes.ts'

const CHECKOUT = resolve(fileURLToPath(new URL('..', import.meta.url)))
const SECTIONS = ['Deploying a county node', 'Joining the federation']
const PASSWORD = 'readme walk: a long passphrase 2026'
const NODES = [
  { tier: 'province', code: '330000', name: '浙江省教育厅' },
  { tier: 'city', code: '330100', name: '杭州市教育局' },
  { tier: 'county', code: '330106', name: '西湖区教育局' },
] as const

export interface WalkOptions {
  redisUrl: string
  /** Progress lines (each command as run, and the figures). */
  log: (line: string) => void
  /** Run on the built copy after a successful walk, once its nodes have stopped (before the copy is removed). */
  afterWalk?: (copy: string) => Promise<void> | void
}

export interface WalkResult {
  /** Every command line run, after substitution. */
  commands: string[]
  /** Milliseconds of `npm run build`, and from the county's write to the province's read. */
  buildMs: number
  replicationMs: number
  /** The student as the province reads it. */
  provinceRead: Record<string, unknown>
  /** The province's answer to a search by the student's surname. */
  provinceSearch: Record<string, unknown>[]
}

/**
 * A copy of this checkout at `dest` as a clean clone has it (sources; no dist/, data/, .git), with
 * this checkout's node_modules linked in. Answers `dest`.
 */
function checkoutCopy(dest: string): string {
  const skip = new Set(['node_modules', 'dist', 'data', '.git', '.tap'].map(d => join(CHECKOUT, d)))
  cpSync(CHECKOUT, dest, { recursive: true, filter: src => !skip.has(src) })
  symlinkSync(join(CHECKOUT, 'node_modules'), join(dest, 'node_modules'), 'dir')
  return dest
}

/** The shell lines of the ```sh blocks of one `## …` section of the README. */
export function sectionCommands(readme: string, title: string): string[] {
  const start = readme.split('\n## ').find(s => s.startsWith(title))
  if (!start) throw new Error(`README has no section "## ${title}…"`)
  const lines: string[] = []
  for (const block of start.split('```sh').slice(1)) {
    // Continuation lines (ending in \) are joined; comments after # are dropped.
    const body = block.split('```')[0].replace(/\\\n\s*/g, ' ')
    for (const raw of body.split('\n')) {
      const line = raw.replace(/\s#\s.*$/, '').replace(/^#.*$/, '').trim()
      if (line) lines.push(line)
    }
  }
  return lines
}

type Spec = (typeof NODES)[number] & { dir: string; port: number; url: string; parentUrl: string | null }

/** One README line made concrete for `node`: the example values replaced, the rest untouched. */
function concrete(line: string, node: Spec, child?: Spec, token?: string): string {
  let out = line
    .replace(/--tier \S+/, `--tier ${node.tier}`)
    .replace(/--code \S+/, `--code ${node.code}`)
    .replace(/--name \S+/, `--name ${node.name}`)
    .replace(/--port \S+/, `--port ${node.port}`)
    .replace(/--data \S+/, `--data ${node.dir}`)
  out = node.parentUrl ? out.replace(/--parent \S+/, `--parent ${node.parentUrl}`) : out.replace(/\s--parent \S+/, '')
  if (child) out = out.replace(/--child \S+/, `--child ${child.code}`)
  if (token) out = out.replace(/--token \S+/, `--token ${token}`)
  return out
}

/** Splits a command line into arguments (no quoting in the README's commands). */
const argv = (line: string) => line.split(/\s+/)

export async function walkReadme(opts: WalkOptions): Promise<WalkResult> {
  const root = mkdtempSync(join(tmpdir(), 'xueji-readme-'))
  const copy = join(root, 'xueji')
  const processes: ChildProcess[] = []
  const specs: Spec[] = []
  const commands: string[] = []
  const env = { ...process.env, XUEJI_REDIS_URL: opts.redisUrl, XUEJI_INIT_ADMIN_PASSWORD: PASSWORD, XUEJI_LOG_LEVEL: 'warn' }
  try {
    checkoutCopy(copy)
    const readme = readFileSync(join(copy, 'README.md'), 'utf8')
    const [deploy, join_] = SECTIONS.map(s => sectionCommands(readme, s))

    const run = (line: string) => {
      commands.push(line)
      opts.log(`$ ${line}`)
      const [cmd, ...args] = argv(line)
      const r = spawnSync(cmd, args, { cwd: copy, env, encoding: 'utf8', timeout: 300_000 })
      if (r.status !== 0) throw new Error(`"${line}" exited ${r.status}: ${r.stderr}${r.stdout}`)
      return r.stdout
    }

    let buildMs = 0
    for (const [i, n] of NODES.entries()) {
      const port = await freePort()
      specs.push({ ...n, dir: join(root, 'srv', n.tier), port, url: `http://127.0.0.1:${port}`, parentUrl: i ? specs[i - 1].url + '/' : null })
    }
    for (const line of deploy) {
      if (line.startsWith('npm ci && ')) {
        // `npm ci` skipped: node_modules is linked from the checkout (no network in the walk).
        const t0 = Date.now()
        run(line.slice('npm ci && '.length))
        buildMs = Date.now() - t0
        if (!existsSync(join(copy, 'dist', 'scripts', 'run.js'))) throw new Error('npm run build made no dist/scripts/run.js')
      } else if (/ xueji start /.test(line)) {
        for (const s of specs) {
          const l = concrete(line, s)
          commands.push(l)
          opts.log(`$ ${l} &`)
          const [cmd, ...args] = argv(l)
          // Its own process group: npx and the node under it are stopped together.
          const child = spawn(cmd, args, { cwd: copy, env, stdio: ['ignore', 'ignore', 'inherit'], detached: true })
          processes.push(child)
          await waitReady(s.url, 60_000, child)
        }
      } else if (/ xueji /.test(line)) {
        for (const s of specs) run(concrete(line, s))
      } else throw new Error(`the walk does not know how to run README line "${line}"`)
    }

    for (const line of join_) {
      if (!/ xueji (join-token|enroll) /.test(line)) throw new Error(`the walk does not know how to run README line "${line}"`)
    }
    const tokenLine = join_.find(l => l.includes(' join-token '))!
    const enrollLine = join_.find(l => l.includes(' enroll '))!
    for (const [i, child] of specs.entries()) {
      if (i === 0) continue
      const token = /xjt_[A-Za-z0-9_-]+/.exec(run(concrete(tokenLine, specs[i - 1], child)))?.[0]
      if (!token) throw new Error('join-token printed no token')
      run(concrete(enrollLine, child, undefined, token))
    }

    // A registrar's write at the county, read at the province through the API.
    const county = await login(specs[2].url)
    const post = async (path: string, body: unknown) => {
      const res = await fetch(`${specs[2].url}${path}`, { method: 'POST', headers: { ...county, 'content-type': 'application/json' }, body: JSON.stringify(body) })
      const json = (await res.json()) as Record<string, unknown>
      if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(json)}`)
      return json
    }
    await post('/api/v1/units', UNIT)
    const school = await post('/api/v1/schools', SCHOOL)
    const written = Date.now()
    const student = await post('/api/v1/students', { ...STUDENT, schoolId: school.id })
    opts.log(`student ${String(student.id)} written at the county`)

    const province = await login(specs[0].url)
    const deadline = Date.now() + 60_000
    let result: WalkResult
    for (;;) {
      const res = await fetch(`${specs[0].url}/api/v1/students/${String(student.id)}`, { headers: province })
      if (res.status === 200) {
        const replicationMs = Date.now() - written
        opts.log(`read at the province after ${replicationMs} ms`)
        // A name search there too: a list is made by the built read worker (dist/…/read-worker.js).
        const search = await fetch(`${specs[0].url}/api/v1/students?q=${encodeURIComponent(STUDENT.name.slice(0, 1))}`, { headers: province })
        if (search.status !== 200) throw new Error(`the province's search answered ${search.status}`)
        const { items } = (await search.json()) as { items: Record<string, unknown>[] }
        result = { commands, buildMs, replicationMs, provinceRead: (await res.json()) as Record<string, unknown>, provinceSearch: items }
        break
      }
      if (Date.now() > deadline) throw new Error(`the province did not have the student within 60 s (last answer ${res.status})`)
      await new Promise(r => setTimeout(r, 250))
    }
    await stopAll()
    await opts.afterWalk?.(copy)
    return result
  } finally {
    await stopAll()
    rmSync(root, { recursive: true, force: true })
  }

  async function stopAll() {
    await Promise.all(processes.splice(0).map(stopGroup))
    for (const s of specs.splice(0)) {
      const config = existsSync(join(s.dir, 'xueji.json')) ? (JSON.parse(readFileSync(join(s.dir, 'xueji.json'), 'utf8')) as { redis?: { prefix?: string } }) : {}
      if (config.redis?.prefix) await deleteRedisPrefix(opts.redisUrl, config.redis.prefix)
    }
  }
}

/** SIGTERM to the process group of a started node (as Ctrl-C would), SIGKILL after 15 s. */
function stopGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise(done => {
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, s)
      } catch {
        // already gone
      }
    }
    const timer = setTimeout(() => signal('SIGKILL'), 15_000)
    child.once('exit', () => {
      clearTimeout(timer)
      done()
    })
    signal('SIGTERM')
  })
}

/**
 * Signs in as init's administrator: password, TOTP enrolment, first code. Answers the request
 * headers of the session the last step started (the TOTP step starts a new one).
 */
async function login(url: string): Promise<Record<string, string>> {
  const call = async (path: string, headers: Record<string, string>, body?: unknown) => {
    const res = await fetch(`${url}/api/v1/auth/${path}`, { method: 'POST', headers: body ? { ...headers, 'content-type': 'application/json' } : headers, body: body ? JSON.stringify(body) : undefined })
    if (res.status !== 200) throw new Error(`${path} answered ${res.status}: ${await res.text()}`)
    return res
  }
  const session = async (res: Response) => {
    const { stage, csrfToken } = (await res.json()) as { stage: string; csrfToken: string }
    return { stage, headers: { cookie: res.headers.getSetCookie().map(c => c.split(';')[0]).join('; '), 'x-csrf-token': csrfToken } }
  }
  const first = await session(await call('login', {}, { username: 'admin', password: PASSWORD }))
  if (first.stage === 'ok') return first.headers
  const { secret } = (await (await call('totp/enrol', first.headers)).json()) as { secret: string }
  return (await session(await call('totp/verify', first.headers, { code: totpCode(secret, timeStep(Date.now())) }))).headers
}

const UNIT = {
  unitCode: '3301060001', name: '杭州市西湖区教育局', divisionCode: '330106', address: '杭州市西湖区文三路 1 号',
  areaCategory: '1', areaCategoryEdition: 'area_category/moe2007', economicAttribute: '0', ethnicAttribute: '1', contactPerson: '王建国', postcode: '310012', phone: '0571-87000000',
}
const SCHOOL = {
  schoolCode: '3301060101', unitCode: '3301060001', name: '杭州市西湖区文三路小学', divisionCode: '330106', address: '杭州市西湖区文三路 88 号',
  areaCategory: '111', areaCategoryEdition: 'urban_rural_type/jyt1001-2012', economicAttribute: '0', ethnicAttribute: '1', principal: '李校长',
  foundedYm: '1956-09', runType: '21', runTypeEdition: 'jyt1001-2012', category: '211', mainLanguage: '01', postcode: '310012', phone: '0571-88000000',
}
// A synthetic ID number (valid checksum, fictitious person); the 学籍号 is left to the node.
const STUDENT = {
  name: '曾小明', idDocType: '1', idNumber: '330106201603150034', gender: '1', birthDate: '2016-03-15', birthplace: '330106', nativePlace: '浙江杭州',
  ethnicity: '01', hmt: '00', hmtEdition: 'jyt1001-2012', health: '1', currentAddress: '杭州市西湖区文一路 1 号', householdRegistration: '330106',
  floatingStatus: '1', country: 'CHN', enrolmentYm: '2022-09', studentCategory: '00',
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = await walkReadme({ redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', log: line => console.log(line) })
  console.log(`README walk OK: ${result.commands.length} commands, build ${(result.buildMs / 1000).toFixed(1)} s, county write → province read ${result.replicationMs} ms`)
}
