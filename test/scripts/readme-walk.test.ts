/**
 * The README's production path, walked as written on a copy of the checkout (scripts/readme-walk.ts):
 * `npm run build`, then the deployment and federation sections' commands from dist/. The same
 * built copy then shows what dist/ carries and how a damaged install fails (issue 9): one build
 * of the whole tree for both.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { walkReadme, sectionCommands } from '../../scripts/readme-walk.ts'
import { REDIS_URL } from '../helper.ts'

// A build of the whole tree on a shared 2-core machine: more than the suite's default 300 s may pass.
t.setTimeout(900_000)

/** Every file under `dir`, relative to it. */
function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter(e => e.isFile()).map(e => relative(dir, join(e.parentPath, e.name)))
}

t.test('R-D.5 the README\'s deployment and federation sections, walked as written on a built copy: a student written at the county reads at the province', async t => {
  const result = await walkReadme({
    redisUrl: REDIS_URL,
    log: line => t.comment(line),
    afterWalk: async copy => {
      await t.test('R-D.5 dist/ carries every non-TypeScript file the sources have (migrations, code tables, the password list)', async t => {
        const assets = ['config', 'schema', 'sync', 'node'].flatMap(dir => files(join(copy, dir)).map(f => join(dir, f))).filter(f => !/\.(ts|md)$/.test(f))
        t.ok(assets.includes(join('node', 'auth', 'data', 'common-passwords.txt')))
        for (const f of assets) t.ok(existsSync(join(copy, 'dist', f)), `dist/${f}`)
        t.ok(existsSync(join(copy, 'dist', 'node', 'web', 'dist', 'index.html')), 'the same command built the web UI into dist/')
      })
      await t.test('R-D.2 the built node starts its worker threads from dist/: the checking thread of received change sets and a database reader', async t => {
        // Both start only on a large body or a search, which the walk above may not make.
        const script = `
          import { createHash } from 'node:crypto'
          import { createCheckPool } from '${pathToFileURL(join(copy, 'dist/node/services/records/check-pool.js')).href}'
          import { createReadPool } from '${pathToFileURL(join(copy, 'dist/node/services/records/read-pool.js')).href}'
          import Database from '${pathToFileURL(join(copy, 'node_modules/better-sqlite3/lib/index.js')).href}'
          const body = JSON.stringify({ createdAt: '2026-01-01T00:00:00.000Z', format: 1, origin: '330106', prev: null, rows: [], seq: 1 })
          const manifest = { hash: createHash('sha256').update(body).digest('hex'), bytes: Buffer.byteLength(body), origin: '330106', seq: 1 }
          const origin = { code: '330106', tier: 'county' }
          const checks = createCheckPool(null)
          const ok = await checks.check({ body }, manifest, origin, new Date())
          const refused = await checks.check({ body: body + ' ' }, manifest, origin, new Date()).then(() => 'applied', e => e.code)
          await checks.close()
          const file = process.argv[2]
          new Database(file).exec('create table t (v integer); insert into t values (7)')
          const reads = createReadPool(file, 1)
          const rows = await reads.all('select v from t', [])
          await reads.close()
          console.log(JSON.stringify({ findings: ok.prechecked.findings.size, stored: ok.stored.length > 0, refused, rows }))`
        // A file, not --eval: worker threads inherit the process's flags, and --input-type stops them.
        const dir = mkdtempSync(join(tmpdir(), 'xueji-dist-workers-'))
        t.teardown(() => rmSync(dir, { recursive: true, force: true }))
        writeFileSync(join(dir, 'workers.mjs'), script)
        const run = spawnSync(process.execPath, [join(dir, 'workers.mjs'), join(dir, 'w.db')], { cwd: copy, encoding: 'utf8' })
        t.equal(run.status, 0, run.stderr)
        t.same(JSON.parse(run.stdout), { findings: 0, stored: true, refused: 'SYNC_HASH_MISMATCH', rows: [{ v: 7 }] })
      })
      await t.test('R-D.5 init from dist/ makes a node; a failed init leaves nothing behind and can be run again', async t => {
        const root = mkdtempSync(join(tmpdir(), 'xueji-dist-'))
        t.teardown(() => rmSync(root, { recursive: true, force: true }))
        const xueji = (...args: string[]) =>
          spawnSync(process.execPath, [join(copy, 'scripts', 'xueji.js'), ...args], { cwd: copy, encoding: 'utf8', env: { ...process.env, XUEJI_REDIS_URL: REDIS_URL } })
        const data = join(root, 'county')
        const init = ['init', '--tier', 'county', '--code', '330106', '--name', '西湖区教育局', '--parent', 'http://127.0.0.1:1/', '--data', data]
        // A damaged install: the password list is gone, so init fails when it checks the administrator's
        // generated password, after it made the key pair and the database.
        const list = join(copy, 'dist', 'node', 'auth', 'data', 'common-passwords.txt')
        renameSync(list, `${list}.away`)
        const failed = xueji(...init)
        t.equal(failed.status, 1, failed.stdout)
        t.notOk(existsSync(data), 'no half-made data directory')
        t.same(readdirSync(root), [], 'no temporary directory either')
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
    },
  })
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const xueji = [...sectionCommands(readme, 'Deploying a county node'), ...sectionCommands(readme, 'Joining the federation')].filter(l => l.includes(' xueji '))
  for (const line of xueji) {
    const sub = / xueji (\S+)/.exec(line)![1]
    t.ok(result.commands.some(c => c.includes(` xueji ${sub} `)), `README command "xueji ${sub}" was run`)
  }
  t.ok(result.commands.some(c => c === 'npm run build'), 'built with npm run build')
  t.match(result.provinceRead, { name: '曾小明', homeNode: '330106', schoolCode: '3301060101' })
  t.match(String(result.provinceRead.studentNo), /^G/, 'the 学籍号 the county derived travelled with the record')
  t.strictSame(result.provinceSearch.map(i => i.id), [result.provinceRead.id], 'R-25.1 a name search at the province (the built read worker) finds it')
  t.equal(result.provinceSearch[0]?.idNumber, result.provinceRead.idNumber, 'R-27.1 masked in the list as in the read')
  t.comment(`npm run build ${(result.buildMs / 1000).toFixed(1)} s; county write → province read ${result.replicationMs} ms`)
})
