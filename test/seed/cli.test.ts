import t from 'tap'
import { join } from 'node:path'
import { main } from '../../scripts/cli.ts'
import { initNode } from '../../node/identity.ts'
import { openStorage } from '../../schema/db.ts'
import { REDIS_URL } from '../helper.ts'

async function run(...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { XUEJI_REDIS_URL: REDIS_URL }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

t.test('xueji seed fills an initialised node and prints the rate', async t => {
  const data = join(t.testdir(), 'xihu')
  await initNode({ dataDir: data, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:1' })
  const r = await run('seed', '--data', data, '--students', '150', '--kindergartens', '2', '--seed', '9', '--as-of', '2026-11-20')
  t.equal(r.code, 0, r.err)
  t.match(r.out, /seeded 150 students, 7 schools, \d+ classes, \d+ teachers, 2 kindergartens, \d+ children in [\d.]+ s \(\d+ students\/s/)
  const storage = openStorage(join(data, 'xueji.db'))
  t.teardown(() => storage.close())
  t.equal((storage.sqlite.prepare('select count(*) n from students').get() as { n: number }).n, 150)
  t.equal((storage.sqlite.prepare("select count(distinct home_node) n from students where home_node = '330106'").get() as { n: number }).n, 1, 'records owned by this node')

  const again = await run('seed', '--data', data, '--students', '150')
  t.equal(again.code, 1)
  t.match(again.err, /SEED_NODE_NOT_EMPTY/)
})

t.test('xueji seed usage errors exit 2', async t => {
  for (const argv of [['seed'], ['seed', '--data', '/tmp/x'], ['seed', '--data', '/tmp/x', '--students', '99'], ['seed', '--data', '/tmp/x', '--students', 'many'], ['seed', '--data', '/tmp/x', '--students', '200', '--as-of', '20261120']]) {
    const r = await run(...argv)
    t.equal(r.code, 2, argv.join(' '))
    t.match(r.err, /Usage:/)
  }
})
