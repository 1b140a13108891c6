/**
 * The production path of the README: `npm run build`, then the node runs from dist/ (issue 9).
 * One build per file, on a copy of the checkout.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { checkoutCopy } from '../../scripts/readme-walk.ts'
import { REDIS_URL } from '../helper.ts'

// A build of the whole tree on a shared 2-core machine: more than the suite's default 300 s may pass.
t.setTimeout(900_000)

const root = mkdtempSync(join(tmpdir(), 'xueji-build-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const copy = checkoutCopy(join(root, 'xueji'))
const started = Date.now()
const build = spawnSync('npm', ['run', 'build'], { cwd: copy, encoding: 'utf8' })
t.comment(`npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s`)

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name)))
}

const xueji = (...args: string[]) =>
  spawnSync(process.execPath, [join(copy, 'scripts', 'xueji.js'), ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, XUEJI_REDIS_URL: REDIS_URL } })

t.test('R-D.5 dist/ carries every non-TypeScript file the sources have (migrations, code tables, the password list)', async t => {
  t.equal(build.status, 0, build.stderr)
  const assets = ['config', 'schema', 'sync', 'node'].flatMap(dir => files(join(copy, dir)).map(f => join(dir, f))).filter(f => !/\.(ts|md)$/.test(f))
  t.ok(assets.includes(join('node', 'auth', 'data', 'common-passwords.txt')))
  for (const f of assets) t.ok(existsSync(join(copy, 'dist', f)), `dist/${f}`)
  t.ok(existsSync(join(copy, 'dist', 'node', 'web', 'dist', 'index.html')), 'the same command built the web UI into dist/')
})

t.test('R-D.5 init from dist/ makes a node; a failed init leaves nothing behind and can be run again', async t => {
  const data = join(root, 'srv', 'county')
  const init = ['init', '--tier', 'county', '--code', '330106', '--name', '西湖区教育局', '--parent', 'http://127.0.0.1:1/', '--data', data]
  // A damaged install: the password list is gone, so init fails when it checks the administrator's
  // generated password, after it made the key pair and the database.
  const list = join(copy, 'dist', 'node', 'auth', 'data', 'common-passwords.txt')
  renameSync(list, `${list}.away`)
  const failed = xueji(...init)
  t.equal(failed.status, 1, failed.stdout)
  t.notOk(existsSync(data), 'no half-made data directory')
  t.same(readdirSync(join(root, 'srv')), [], 'no temporary directory either')
  const status = xueji('status', '--data', data)
  t.equal(status.status, 1)
  t.match(status.stderr, /NODE_NOT_INITIALISED/)

  renameSync(`${list}.away`, list)
  const ok = xueji(...init)
  t.equal(ok.status, 0, ok.stderr)
  t.match(ok.stdout, /initialised county node 330106/)
  t.same(readdirSync(data).sort(), ['keys', 'xueji.json', 'xueji.db'].sort())
  const s = xueji('status', '--data', data)
  t.equal(s.status, 0, s.stderr)
  t.match(s.stdout, /redis: .*prefix xueji:330106:\S+: ok/)
})
