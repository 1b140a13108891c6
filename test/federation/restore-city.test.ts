import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
import { openStorage, type Storage } from '../../schema/db.ts'
import { cli, startFederation, until } from './lib/federation.ts'

/** The city's commands to the county held at `s`: seq, hash, result. */
const fromCity = (s: Storage) =>
  s.sqlite.prepare("select seq, hash, result from sync_commands where issuer = '330100' and destination = '330106' order by seq").all() as { seq: number; hash: string; result: string | null }[]
const pong = JSON.stringify({ status: 'applied', pong: true })

t.test('R-26.2 R-D.8 a city backed up, lost after issuing a command its county applied, restored and rebuilt with the ops commands issues nothing until the county has pulled, then continues its seqs: the county applies every command once', async t => {
  const [, city, county] = await startFederation(t)
  const root = mkdtempSync(join(tmpdir(), 'xueji-restore-city-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const key = join(root, 'backup.key')
  const target = join(root, 'target')
  await cli(['backup-key', '--out', key])
  const command = (dir: string, n: number) => cli(['sync', 'command', '--data', dir, '--to', '330106', '--type', 'sync.ping', '--payload', JSON.stringify({ n })])

  t.match(await command(city.dir, 1), /issued as seq 1/)
  await until('the county applied seq 1', () => fromCity(county.storage).length === 1 && fromCity(county.storage)[0].result !== null)
  await cli(['backup', '--data', city.dir, '--to', target, '--key', key])
  t.match(await command(city.dir, 2), /issued as seq 2/)
  await until('the county applied seq 2', () => fromCity(county.storage).length === 2 && fromCity(county.storage)[1].result !== null)

  // The city is lost, restored into a new directory on its port and rebuilt from the province.
  await city.kill()
  const restored = join(root, 'restored')
  t.match(await cli(['restore', '--from', target, '--key', key, '--data', restored, '--port', new URL(city.url).port]), /commands to 330106 \(and below\) are issued again once each has pulled/, 'held from the restore on')
  t.match(await cli(['sync', 'rebuild', '--data', restored]), /commands to 330106 \(and below\) are issued again once each has pulled/)
  await t.rejects(command(restored, 3), /SYNC_ISSUE_HELD/, 'nothing issued before the county has pulled')
  t.match(await cli(['sync', 'status', '--data', restored]), /issuing held since the restore until each has pulled: 330106/)

  const node = spawnNode(restored, {}, join(root, 'restored.log'))
  t.teardown(() => stopProcess(node).then(() => undefined))
  await waitReady(city.url, 120000, node)
  const after = openStorage(join(restored, 'xueji.db'))
  t.teardown(() => after.close())
  await until('the county pulled from the restored city', () => after.sqlite.prepare('select count(*) from sync_issue_holds').pluck().get() === 0)
  t.match(await command(restored, 3), /issued as seq 3/, 'after the seq the county holds')
  // Every command the restored city holds as issued reaches the county as it is (same seq, same hash), applied once.
  await until('the county holds what the restored city issued', () => {
    const there = new Map(fromCity(county.storage).filter(c => c.result !== null).map(c => [c.seq, c.hash]))
    return fromCity(after).every(c => there.get(c.seq) === c.hash)
  }, 30000)
  t.same(fromCity(after).map(c => c.seq), [1, 3], 'the restored city holds the backup\'s and its new one')
  t.same(fromCity(county.storage).map(c => ({ seq: c.seq, result: c.result })), [1, 2, 3].map(seq => ({ seq, result: pong })), 'each command applied once, none refused')
})
