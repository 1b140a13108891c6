import t from 'tap'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { REDIS_URL, uniquePrefix } from '../helper.ts'
import { freePortRun } from '../../scripts/lib/processes.ts'

const DEMO = fileURLToPath(new URL('../../scripts/demo.ts', import.meta.url))

t.test('R-D.5 the demo starts province, city and county, and Ctrl-C stops all three with exit 0', async t => {
  // Three consecutive ports that nothing on this machine listens on (a random base once met RabbitMQ's 25672).
  const base = await freePortRun(3)
  const child = spawn(process.execPath, ['--import', 'tsx', DEMO], {
    env: { ...process.env, DEMO_DIR: t.testdir(), DEMO_BASE_PORT: String(base), DEMO_REDIS_PREFIX: uniquePrefix(), REDIS_URL },
    detached: true, // its own process group, as a terminal's Ctrl-C would signal
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', d => (out += d))
  child.stderr.on('data', d => (out += d))
  const exited = new Promise<number | null>(r => child.once('exit', code => r(code)))
  // Generous: on a loaded machine (the whole suite beside it) the seed and the three starts take long.
  const deadline = Date.now() + 180000
  while (!out.includes('is running') && Date.now() < deadline && child.exitCode === null) await new Promise(r => setTimeout(r, 200))
  t.match(out, /is running/, 'the demo is running')
  t.match(out, /enrolled city 330100 under province 330000[\s\S]*enrolled county 330106 under city 330100/, 'R-D.5 the demo enrols city and county on its first run')
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`http://127.0.0.1:${base + i}/readyz`)
    t.equal(res.status, 200, `node ${i} ready`)
  }
  // The demo's one relaxation, printed, and only there: its administrators sign in without TOTP.
  t.match(out, /Relaxed for the demo only[\s\S]*without a TOTP authenticator/)
  const login = await fetch(`http://127.0.0.1:${base + 2}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin-330106', password: 'xueji-demo-2026' }) })
  t.equal(login.status, 200)
  t.equal(((await login.json()) as { stage: string }).stage, 'ok', 'a demo administrator is signed in without TOTP enrolment')
  process.kill(-child.pid!, 'SIGINT')
  t.equal(await exited, 0, 'exit code 0')
  for (let i = 0; i < 3; i++) {
    await t.rejects(fetch(`http://127.0.0.1:${base + i}/healthz`), `node ${i} no longer listening`)
  }
})
