import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { existsSync, statSync, readFileSync, readdirSync } from 'node:fs'
import { MODULES, MODULE_OF, main } from '../../scripts/cli.ts'
import { Writable } from 'node:stream'
import { CLI_ENTRY, freePort } from '../../scripts/lib/processes.ts'
import { startNode } from '../../node/server.ts'
import { REDIS_URL, TEST_PASSWORD, buildTestApp, uniquePrefix } from '../helper.ts'

async function run(...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { XUEJI_REDIS_URL: REDIS_URL }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

t.test('R-D.5 usage errors print the usage and exit 2, never a stack trace', async t => {
  for (const argv of [[], ['frobnicate'], ['init'], ['init', '--tier', 'village', '--code', '330106', '--name', 'x', '--data', '/tmp/x'], ['init', '--tier', 'county', '--code', '33', '--name', 'x', '--data', '/tmp/x'], ['init', '--tier', 'county', '--code', '330106', '--name', 'x', '--data', '/tmp/x'], ['init', '--tier', 'province', '--code', '330000', '--name', 'x', '--parent', 'http://p', '--data', '/tmp/x'], ['start'], ['status', '--bogus']]) {
    const r = await run(...argv)
    t.equal(r.code, 2, `exit 2 for: xueji ${argv.join(' ')}`)
    t.match(r.err, /Usage:/)
    t.notMatch(r.err, /\n\s+at /, 'no stack trace')
  }
  const help = await run('help')
  t.equal(help.code, 0)
  t.match(help.out, /xueji init/)
  t.match(help.out, /xueji sync rebuild/, 'the help has every command module\'s part')
})

t.test('R-D.5 init refuses a division code that is not its tier\'s (a city coded like a county, a county like a city) with exit 2, and makes nothing', async t => {
  const root = t.testdir()
  for (const [tier, code] of [['city', '330106'], ['city', '330000'], ['county', '330100'], ['county', '330000'], ['province', '330100'], ['province', '330106'], ['county', '030106']]) {
    const data = join(root, `${tier}-${code}`)
    const r = await run('init', '--tier', tier, '--code', code, '--name', 'x', ...(tier === 'province' ? [] : ['--parent', 'http://127.0.0.1:1']), '--data', data)
    t.equal(r.code, 2, `${tier} ${code}: exit 2`)
    t.match(r.err, new RegExp(`--code ${code} is not a ${tier}'s division code`))
    t.notOk(existsSync(data), 'nothing made')
  }
})

t.test('every command a module defines is found by its name (the CLI loads a module only for its own commands)', async t => {
  for (const [name, load] of Object.entries(MODULES)) {
    for (const command of Object.keys((await load()).commands)) t.equal(MODULE_OF[command], name, `xueji ${command}`)
  }
  t.equal(Object.keys(MODULE_OF).length, (await Promise.all(Object.values(MODULES).map(l => l()))).reduce((n, m) => n + Object.keys(m.commands).length, 0), 'and no name points at a command that is not there')
})

t.test('R-D.5 init makes the data directory, database, 0600 key and identity; status prints them', async t => {
  const data = join(t.testdir(), 'xihu')
  const r = await run('init', '--tier', 'county', '--code', '330106', '--name', '西湖区教育局', '--parent', 'http://127.0.0.1:8301', '--data', data)
  t.equal(r.code, 0, r.err)
  t.match(r.out, /initialised county node 330106/)
  const keyFiles = readdirSync(join(data, 'keys')).sort()
  t.equal(keyFiles.length, 3)
  t.match(keyFiles, ['audit.key', /^node-[\w-]+\.pem$/, 'secrets.key'], 'the audit chain key, the signing key and the secret key (R-25.2)')
  for (const f of keyFiles) t.equal(statSync(join(data, 'keys', f)).mode & 0o777, 0o600, `${f}: mode 0600`)
  t.same(JSON.parse(readFileSync(join(data, 'xueji.json'), 'utf8')).node, { tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:8301' })

  const s = await run('status', '--data', data)
  t.equal(s.code, 0, s.err)
  t.match(s.out, /county 330106 西湖区教育局/)
  t.match(s.out, /migrations applied/)
  t.match(s.out, /redis: .*ok/)

  const again = await run('init', '--tier', 'county', '--code', '330106', '--name', 'x', '--parent', 'http://p', '--data', data)
  t.equal(again.code, 1)
  t.match(again.err, /NODE_ALREADY_INITIALISED/)
})

t.test('start on an empty directory fails with a coded error and exit 1 (real process)', async t => {
  const res = spawnSync(process.execPath, ['--import', 'tsx', CLI_ENTRY, 'start', '--data', join(t.testdir(), 'nothing')], { encoding: 'utf8' })
  t.equal(res.status, 1)
  t.match(res.stderr, /NODE_NOT_INITIALISED/)
  t.notMatch(res.stderr, /\n\s+at /, 'no stack trace')
})

t.test('R-25.2 init makes a deployed node\'s session cookie Secure and takes client addresses from its proxy unless --plain-http; a node beyond loopback without the one or with the other warns at start', async t => {
  const env = { XUEJI_REDIS_URL: REDIS_URL, XUEJI_INIT_ADMIN_PASSWORD: TEST_PASSWORD }
  const init = async (dir: string, ...extra: string[]) => {
    let out = ''
    const code = await main(['init', '--tier', 'province', '--code', '330000', '--name', '浙江省教育厅', '--data', dir, ...extra], env, { out: s => (out += s), err: s => (out += s) })
    t.equal(code, 0, out)
    const config = JSON.parse(readFileSync(join(dir, 'xueji.json'), 'utf8'))
    return { out, cookieSecure: config.security?.cookieSecure, trustProxy: config.server?.trustProxy }
  }
  const root = t.testdir()
  const deployed = join(root, 'deployed')
  const d = await init(deployed)
  t.equal(d.cookieSecure, true, 'xueji.json says cookieSecure: true')
  t.equal(d.trustProxy, true, 'and trustProxy: true (it listens on loopback, behind its proxy)')
  t.match(d.out, /session cookie: Secure/)
  const trial = await init(join(root, 'trial'), '--plain-http')
  t.equal(trial.cookieSecure, false, '--plain-http: false')
  t.equal(trial.trustProxy, false, '--plain-http: no proxy, its clients\' own addresses')
  t.match(trial.out, /session cookie: not Secure/)

  // The deployed node's login answers a Secure cookie.
  const node = await startNode(deployed, { XUEJI_REDIS_URL: REDIS_URL, XUEJI_REDIS_PREFIX: uniquePrefix(), XUEJI_SERVER_PORT: String(await freePort()), XUEJI_LOG_LEVEL: 'silent' })
  t.teardown(() => node.stop())
  const login = await fetch(`${node.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '203.0.113.9' }, body: JSON.stringify({ username: 'admin', password: TEST_PASSWORD }) })
  t.equal(login.status, 200)
  t.match(login.headers.getSetCookie(), [/^xueji_session=.*; Secure/])
  // Without it every user would share the proxy's address: 50 failed logins of anyone would lock out all.
  const ip = node.server.storage.sqlite.prepare("select ip from login_attempts order by rowid desc limit 1").pluck().get()
  t.equal(ip, '203.0.113.9', 'the login is counted against the client address the proxy names')

  // A node of before, or set to false by hand, on an address others reach: a warning at start.
  const warnings = async (config: Record<string, unknown>) => {
    let logs = ''
    // A subtest: its own test directory for the node.
    await t.test('a node', async st => {
      await buildTestApp(st, { config, logStream: new Writable({ write: (chunk, _enc, cb) => ((logs += chunk.toString()), cb()) }) })
    })
    return logs.split('\n').filter(l => l.includes('security.cookieSecure is false') || l.includes('server.trustProxy is true'))
  }
  t.match(await warnings({ server: { host: '0.0.0.0' } }), [/"level":40.*"host":"0.0.0.0"/], 'cookieSecure false on 0.0.0.0: warned')
  t.strictSame(await warnings({ server: { host: '0.0.0.0' }, security: { cookieSecure: true } }), [], 'cookieSecure true: no warning')
  t.strictSame(await warnings({}), [], 'on loopback (the demo, the tests): no warning')
  t.match(await warnings({ server: { host: '0.0.0.0', trustProxy: true }, security: { cookieSecure: true } }), [/"level":40.*server.trustProxy is true/], 'trustProxy on 0.0.0.0: warned')
  t.strictSame(await warnings({ server: { trustProxy: true }, security: { cookieSecure: true } }), [], 'trustProxy on loopback: no warning')
})
