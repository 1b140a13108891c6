/**
 * `xueji restore` from a target that several nodes back up to (the prune test's shared target):
 * without --backup it must not pick another node's newest backup.
 */
import t, { type Test } from 'tap'
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { initNode } from '../../../node/identity.ts'
import { main } from '../../../scripts/cli.ts'
import { REDIS_URL, uniquePrefix } from '../../helper.ts'

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, { XUEJI_INIT_ADMIN_PASSWORD: undefined }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}
const codeOf = (r: { err: string }) => /error \[([A-Z_]+)\]/.exec(r.err)?.[1]

async function county(root: string, code: string, name: string) {
  const dataDir = join(root, code)
  await initNode({ dataDir, tier: 'county', code, name, parentUrl: 'http://127.0.0.1:1', config: { redis: { url: REDIS_URL, prefix: uniquePrefix() } } })
  return dataDir
}

/** A test directory with a backup key, the path of an empty backup target and county 330106 (西湖区). */
async function withXihu(t: Test) {
  const root = t.testdir()
  const key = join(root, 'backup.key')
  t.equal((await run(['backup-key', '--out', key])).code, 0)
  return { root, key, target: join(root, 'target'), xihu: await county(root, '330106', '西湖区教育局') }
}

t.test('R-26.2 restore from a target shared by several nodes: without --backup it is refused with a stable code naming them, nothing written; with --backup the named one restores', async t => {
  const { root, key, target, xihu } = await withXihu(t)
  const binjiang = await county(root, '330108', '滨江区教育局')
  // One bureau's key for both nodes (one operator): the other node's backup would pass every check.
  t.equal((await run(['backup', '--data', xihu, '--to', target, '--key', key])).code, 0)
  await new Promise(r => setTimeout(r, 1100))
  t.equal((await run(['backup', '--data', binjiang, '--to', target, '--key', key])).code, 0)
  const names = (await run(['backup', 'list', '--data', xihu, '--to', target])).out.trim().split('\n')
  t.equal(names.length, 1)

  // Xihu's disk is lost: the operator restores "the latest" from the shared target.
  const into = join(root, 'xihu-restored')
  const r = await run(['restore', '--from', target, '--key', key, '--data', into])
  t.equal(codeOf(r), 'BACKUP_NAME_REQUIRED', r.err || r.out)
  t.match(r.err, /330106.*330108|330108.*330106/, 'the message names the nodes found')
  t.notOk(existsSync(into), 'nothing written')

  const ok = await run(['restore', '--from', target, '--backup', names[0], '--key', key, '--data', into])
  t.equal(ok.code, 0, ok.err)
  t.equal(JSON.parse(readFileSync(join(into, 'xueji.json'), 'utf8')).node.code, '330106', 'the named backup, Xihu\'s, is restored')
})

t.test('R-26.2 restore only into an empty directory: one holding a stray database journal is refused with a stable code, the journal left as it was', async t => {
  const { root, key, target, xihu } = await withXihu(t)
  t.equal((await run(['backup', '--data', xihu, '--to', target, '--key', key])).code, 0)
  const into = join(root, 'leftovers')
  mkdirSync(into)
  writeFileSync(join(into, 'xueji.db-wal'), 'journal of an earlier node')
  const r = await run(['restore', '--from', target, '--key', key, '--data', into])
  t.equal(codeOf(r), 'BACKUP_RESTORE_TARGET_EXISTS', r.err || r.out)
  t.same(readdirSync(into), ['xueji.db-wal'], 'nothing written beside it')
  t.equal(readFileSync(join(into, 'xueji.db-wal'), 'utf8'), 'journal of an earlier node')
  const empty = join(root, 'empty')
  mkdirSync(empty)
  t.equal((await run(['restore', '--from', target, '--key', key, '--data', empty])).code, 0, 'an empty directory is restored into')
})
