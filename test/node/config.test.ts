import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { main } from '../../scripts/cli.ts'
import { startNode } from '../../node/server.ts'
import { freePort } from '../../scripts/lib/processes.ts'
import { deleteRedisPrefix } from '../../scripts/lib/processes.ts'
import { REDIS_URL, uniquePrefix } from '../helper.ts'

async function run(env: Record<string, string>, ...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { XUEJI_REDIS_URL: REDIS_URL, ...env }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

const prefixOf = (dir: string) => (JSON.parse(readFileSync(join(dir, 'xueji.json'), 'utf8')) as { redis: { prefix: string } }).redis.prefix

t.test('R-D.5 two federations with the same codes get different Redis prefixes, fixed in xueji.json at init', async t => {
  const dirs = [join(t.testdir(), 'a'), join(t.testdir(), 'b')]
  for (const dir of dirs) {
    const r = await run({}, 'init', '--tier', 'province', '--code', '330000', '--name', '浙江省教育厅', '--data', dir)
    t.equal(r.code, 0, r.err)
  }
  const [a, b] = dirs.map(prefixOf)
  t.match(a, /^xueji:330000:\S{12}$/)
  t.not(a, b, 'the node key id tells them apart')
  t.teardown(async () => {
    for (const p of [a, b]) await deleteRedisPrefix(REDIS_URL, p)
  })
})

t.test('R-D.8 every command reads the configuration the node was started with, environment overrides included', async t => {
  const dir = join(t.testdir(), 'node')
  t.equal((await run({}, 'init', '--tier', 'province', '--code', '330000', '--name', '浙江省教育厅', '--data', dir)).code, 0)
  const prefix = uniquePrefix()
  const node = await startNode(dir, { XUEJI_REDIS_URL: REDIS_URL, XUEJI_REDIS_PREFIX: prefix, XUEJI_SERVER_PORT: String(await freePort()), XUEJI_LOG_LEVEL: 'silent' })
  t.teardown(() => node.stop())
  t.equal(node.server.config.redis.prefix, prefix)
  // A second shell without the node's environment sees the node as it runs.
  const s = await run({}, 'status', '--data', dir)
  t.equal(s.code, 0, s.err)
  t.match(s.out, `prefix ${prefix}: ok`)
  t.match(s.out, /config: .* \+ overrides of the last start: XUEJI_SERVER_PORT, XUEJI_REDIS_URL, XUEJI_REDIS_PREFIX, XUEJI_LOG_LEVEL/)
  t.notMatch(s.out, prefix.replace('xueji-test:', 'overrides.*xueji-test:'), 'names, not values')
  const sync = await run({}, 'sync', 'status', '--data', dir, '--json')
  t.equal(sync.code, 0, sync.err)
  // A command's own override still wins.
  const own = await run({ XUEJI_REDIS_PREFIX: 'xueji-test:own' }, 'status', '--data', dir)
  t.match(own.out, 'prefix xueji-test:own: ok')
})
