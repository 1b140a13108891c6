import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { initNode } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { createAuthService } from '../node/auth/service.ts'
import { loadSecretsKey } from '../node/auth/secrets.ts'
import { loadConfigFile } from '../config/load.ts'
import { openStorage } from '../schema/db.ts'
import { main as cli } from './cli.ts'
import { seedNode } from './seed/index.ts'
import { describeSeed } from './seed-command.ts'
import { ensureWebBuilt } from './build-web.ts'
import { redisForRun, spawnNode, stopProcess, waitReady } from './lib/processes.ts'

/**
 * `npm run demo`: the whole federation on one machine. Initialises (once) a province, a city and a
 * county node under ./data/demo/, starts them as three processes and stops them on Ctrl-C.
 */
const NODES = [
  { dir: 'province', tier: 'province', code: '330000', name: '浙江省教育厅' },
  { dir: 'city', tier: 'city', code: '330100', name: '杭州市教育局' },
  { dir: 'county', tier: 'county', code: '330106', name: '西湖区教育局' },
] as const

const root = resolve(process.env.DEMO_DIR ?? 'data/demo')
const basePort = Number(process.env.DEMO_BASE_PORT ?? 8300)
/** Redis key prefix of the demo's nodes (each adds its code), so a demo never meets a real node's keys. */
const redisPrefix = process.env.DEMO_REDIS_PREFIX ?? 'xueji-demo'

async function main(): Promise<number> {
  const redis = await redisForRun()
  if (!redis) {
    process.stderr.write(
      `No Redis answers at ${process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'}, and redis-server is not installed.\n` +
        'Install and start one (Debian/Ubuntu: sudo apt-get install redis-server), or set REDIS_URL=redis://host:port, then run npm run demo again.\n',
    )
    return 1
  }
  const { url: redisUrl, own: privateRedis } = redis
  if (privateRedis) process.stdout.write(`No Redis at the default address: started a private one at ${redisUrl}\n`)

  mkdirSync(root, { recursive: true })
  const urls = NODES.map((_n, i) => `http://127.0.0.1:${basePort + i}`)
  for (const [i, n] of NODES.entries()) {
    const dataDir = join(root, n.dir)
    if (existsSync(dataPaths(dataDir).config)) continue
    await initNode({ dataDir, tier: n.tier, code: n.code, name: n.name, parentUrl: i === 0 ? null : urls[i - 1], config: { server: { port: basePort + i } }, adminUsername: `admin-${n.code}`, adminPassword: DEMO_PASSWORD })
    process.stdout.write(`initialised ${n.tier} node ${n.code} ${n.name} in ${dataDir}\n`)
    seedDemoNode(n.tier, n.code, dataDir)
    await createDemoAccounts(n.tier, dataDir)
  }

  // Every node serves the web UI from node/web/dist/: built here when a source is newer.
  await ensureWebBuilt(s => process.stdout.write(s))
  const children = NODES.map((n, i) =>
    spawnNode(join(root, n.dir), { ...DEMO_RELAXED, XUEJI_REDIS_URL: redisUrl, XUEJI_REDIS_PREFIX: `${redisPrefix}:${n.code}`, XUEJI_SERVER_PORT: String(basePort + i), XUEJI_NODE_PARENT_URL: i === 0 ? '' : urls[i - 1] }, join(root, n.dir, 'node.log')),
  )
  let stopping = false
  const stopAll = async (): Promise<number> => {
    stopping = true
    const codes = await Promise.all(children.map(c => stopProcess(c)))
    if (privateRedis) await stopProcess(privateRedis)
    return codes.every(c => c === 0) ? 0 : 1
  }
  const failed = new Promise<number>(res =>
    children.forEach((c, i) =>
      c.once('exit', code => {
        if (stopping) return
        const log = join(root, NODES[i].dir, 'node.log')
        const tail = existsSync(log) ? readFileSync(log, 'utf8').trimEnd().split('\n').slice(-5).join('\n') : ''
        process.stderr.write(`the ${NODES[i].tier} node exited unexpectedly (code ${code}); the end of ${log}:\n${tail}\n`)
        void stopAll().then(() => res(1))
      }),
    ),
  )
  const interrupted = new Promise<number>(res => {
    const onSignal = () => {
      // Ctrl-C reaches us more than once (the terminal's group, then npm and tsx forwarding it).
      if (stopping) return
      process.stdout.write('\nstopping the three nodes …\n')
      void stopAll().then(code => {
        process.stdout.write(code === 0 ? 'all stopped.\n' : 'some node did not stop cleanly.\n')
        res(code)
      })
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
  })

  try {
    await Promise.race([Promise.all(children.map((c, i) => waitReady(urls[i], 60000, c))), failed.then(() => { throw new Error('a node failed to start') })])
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    if (!stopping) await stopAll()
    return 1
  }
  try {
    await enrolOnFirstRun(urls)
  } catch (err) {
    process.stderr.write(`enrolment failed: ${(err as Error).message}\n`)
    if (!stopping) await stopAll()
    return 1
  }
  process.stdout.write(
    ['', 'Xueji demo federation is running (Ctrl-C stops it):', ...NODES.map((n, i) => `  ${n.tier.padEnd(8)} ${n.code} ${n.name}  web UI ${urls[i]}/   (API docs ${urls[i]}/docs)`), `  Redis    ${redisUrl}`, `  logs     ${root}/<tier>/node.log`, '', demoAccountsText(), ''].join('\n'),
  )
  return await Promise.race([failed, interrupted])
}

/**
 * Synthetic data on first initialisation (scripts/seed): the county gets a district's worth of
 * schools and kindergartens, the city a few city-run schools; the province runs none. A few
 * seconds, so the demo still starts well within a minute.
 */
const DEMO_SEED: Record<string, { students: number; kindergartens: number }> = {
  city: { students: 300, kindergartens: 1 },
  county: { students: 2000, kindergartens: 5 },
}

function seedDemoNode(tier: string, code: string, dataDir: string): void {
  const size = DEMO_SEED[tier]
  if (!size) return
  const storage = openStorage(dataPaths(dataDir).db)
  try {
    const result = seedNode(storage, { node: { tier: tier as 'city' | 'county', code }, ...size, seed: 1 })
    process.stdout.write(`  ${describeSeed(result, size.students)}\n`)
  } finally {
    storage.close()
  }
}

/**
 * What the demo relaxes, through the environment of its own node processes only (never in their
 * xueji.json): administrators sign in without enrolling TOTP. Printed with the accounts.
 */
const DEMO_RELAXED = { XUEJI_SECURITY_DEMO_LOGIN_WITHOUT_TOTP: 'true' }

/** Demo only: every demo account has this password; a real node prints a generated one at init. */
const DEMO_PASSWORD = 'xueji-demo-2026'

/** Accounts of the school roles on the county node, bound to its first seeded school and class. */
async function createDemoAccounts(tier: string, dataDir: string): Promise<void> {
  if (tier !== 'county') return
  const paths = dataPaths(dataDir)
  const storage = openStorage(paths.db)
  try {
    const auth = createAuthService({ storage, config: loadConfigFile(paths.config), secretKey: loadSecretsKey(paths.keys) })
    const first = storage.sqlite
      .prepare("select s.school_code, c.id class_id, st.id student_id from schools s join school_classes c on c.school_id = s.id join students st on st.class_id = c.id where s.category = '211' order by s.school_code, c.grade, c.class_code, st.student_no limit 1")
      .get() as { school_code: string; class_id: string; student_id: string }
    const school = first.school_code
    await auth.createAccount({ username: 'school-admin', password: DEMO_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [school] }, leader: true }, null)
    await auth.createAccount({ username: 'grade-admin', password: DEMO_PASSWORD, role: 'grade_admin', scope: { kind: 'classes', school, classes: [first.class_id] } }, null)
    await auth.createAccount({ username: 'teacher', password: DEMO_PASSWORD, role: 'teacher', scope: { kind: 'classes', school, classes: [first.class_id] } }, null)
    await auth.createAccount({ username: 'student', password: DEMO_PASSWORD, role: 'student', scope: { kind: 'student', school, studentId: first.student_id } }, null)
  } finally {
    storage.close()
  }
}

function demoAccountsText(): string {
  return [
    `Demo accounts (password ${DEMO_PASSWORD}):`,
    ...NODES.map((n, i) => `  admin-${n.code.padEnd(8)} bureau administrator of ${n.name}  http://127.0.0.1:${basePort + i}`),
    `  school-admin     school administrator (校领导) of the first primary school    county node`,
    '  grade-admin      grade administrator of its first class                       county node',
    '  teacher          teacher of that class                                        county node',
    '  student          a student of that class (own record only)                    county node',
    '',
    'Open a web UI address above in a browser and sign in with one of these accounts.',
    '',
    'Relaxed for the demo only (XUEJI_SECURITY_DEMO_LOGIN_WITHOUT_TOTP=true on these three processes):',
    '  administrators sign in without a TOTP authenticator. A node started with `xueji start` requires',
    '  TOTP for bureau, central-school and school administrators.',
  ].join('\n')
}

/**
 * On the first run, joins the city to the province and the county to the city with the same
 * commands IT staff use (`xueji join-token` on the parent, `xueji enroll` on the child).
 */
async function enrolOnFirstRun(urls: string[]): Promise<void> {
  for (const [i, n] of NODES.entries()) {
    if (i === 0) continue
    const dir = join(root, n.dir)
    const db = openStorage(dataPaths(dir).db)
    const enrolled = db.sqlite.prepare('select 1 from sync_link where id = 1').get() !== undefined
    db.close()
    if (enrolled) continue
    let text = ''
    const io = { out: (s: string) => (text += s), err: (s: string) => (text += s) }
    const env = { ...process.env, XUEJI_NODE_PARENT_URL: urls[i - 1] }
    if ((await cli(['join-token', '--data', join(root, NODES[i - 1].dir), '--child', n.code], process.env, io)) !== 0) throw new Error(text)
    const token = /xjt_[A-Za-z0-9_-]+/.exec(text)![0]
    if ((await cli(['enroll', '--data', dir, '--token', token], env, io)) !== 0) throw new Error(text)
    process.stdout.write(`enrolled ${n.tier} ${n.code} under ${NODES[i - 1].tier} ${NODES[i - 1].code}\n`)
  }
}

process.exitCode = await main()
