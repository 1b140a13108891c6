import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { cli, startFederation, until } from './lib/federation.ts'

/** The province's commands to the city held at `s`: seq, hash, result, refusal. */
const fromProvince = (s: Storage) =>
  s.sqlite.prepare("select seq, hash, result, error_code code from sync_commands where issuer = '330000' and destination = '330100' order by seq").all() as { seq: number; hash: string; result: string | null; code: string | null }[]
const pong = JSON.stringify({ status: 'applied', pong: true })

t.test('R-26.2 R-D.8 a province backed up, then lost after issuing a command its city applied, and restored with xueji restore issues nothing until the city has pulled and reported the seqs it holds, then continues after them: the city applies the new command, none refused as a replay', async t => {
  const [province, city] = await startFederation(t)
  const root = mkdtempSync(join(tmpdir(), 'xueji-restore-province-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const key = join(root, 'backup.key')
  const target = join(root, 'target')
  await cli(['backup-key', '--out', key])
  const command = (dir: string, n: number) => cli(['sync', 'command', '--data', dir, '--to', '330100', '--type', 'sync.ping', '--payload', JSON.stringify({ n })])

  await cli(['backup', '--data', province.dir, '--to', target, '--key', key])
  t.match(await command(province.dir, 1), /issued as seq 1/)
  await until('the city applied seq 1', () => fromProvince(city.storage)[0]?.result === pong)

  // The province is lost and restored into a new directory on its port; a province needs no rebuild.
  await province.kill()
  const restored = join(root, 'restored')
  const out = await cli(['restore', '--from', target, '--key', key, '--data', restored, '--port', new URL(province.url).port])
  t.match(out, /commands to 330100 \(and below\) are issued again once each has pulled and reported what it holds/)
  t.match(out, /next: xueji start --data /, 'no rebuild asked of a province')
  await t.rejects(command(restored, 2), /SYNC_ISSUE_HELD/, 'nothing issued before the city has pulled')
  t.match(await cli(['sync', 'status', '--data', restored]), /issuing held since the restore until each has pulled: 330100/)

  const node = spawnNode(restored, {}, join(root, 'restored.log'))
  t.teardown(() => stopProcess(node).then(() => undefined))
  await waitReady(province.url, 120000, node)
  const after = openStorage(join(restored, 'xueji.db'))
  t.teardown(() => after.close())
  await until('the city pulled from the restored province', () => after.sqlite.prepare('select count(*) from sync_issue_holds').pluck().get() === 0)
  t.match(await command(restored, 2), /issued as seq 2/, 'after the seq the city holds')
  // Every command the restored province holds as issued reaches the city as it is (same seq, same hash), applied once.
  await until('the city holds what the restored province issued', () => {
    const there = new Map(fromProvince(city.storage).filter(c => c.result !== null).map(c => [c.seq, c.hash]))
    return fromProvince(after).length > 0 && fromProvince(after).every(c => there.get(c.seq) === c.hash)
  }, 30000)
  t.same(fromProvince(after).map(c => c.seq), [2], 'the restored province holds only its new command')
  t.same(fromProvince(city.storage).map(c => ({ seq: c.seq, result: c.result, code: c.code })), [1, 2].map(seq => ({ seq, result: pong, code: null })), 'each command applied once, none refused')
})
