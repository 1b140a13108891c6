import t from 'tap'
import { signChangeSet } from '../../sync/changeset.ts'
import { loadSigner, loadSignerByKid } from '../../sync/signers.ts'
import { makeFederation, settle } from './lib/nodes.ts'
import { dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-D.2 key rotation: old change sets still verify with the old key, new ones need the new key', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const oldKid = (await loadSigner(county.storage)).kid
  const { kid, validFromSeq } = await county.sync.rotateKey()
  t.equal(validFromSeq, 2)
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await settle(county, city, province)
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'rows signed with the new key arrive')
  t.same(province.storage.sqlite.prepare("select seq, kid from sync_change_sets where origin = '330106' order by seq").all(), [{ seq: 1, kid: oldKid }, { seq: 2, kid }])
  t.match(province.storage.sqlite.prepare("select valid_until_seq from sync_keys where node = '330106' and kid = ?").get(oldKid), { valid_until_seq: 1 }, 'the province knows the old key ends at seq 1')
  for (const n of [city, province]) t.same((await n.sync.verifyStored()).problems, [], `${n.code}: every stored change set verifies`)

  // The retired key can no longer sign new change sets.
  const old = await loadSignerByKid(county.storage, oldKid)
  const head = county.storage.sqlite.prepare("select seq, hash from sync_change_sets where origin = '330106' order by seq desc limit 1").get() as { seq: number; hash: string }
  const forged = await signChangeSet({ format: 1, origin: '330106', seq: head.seq + 1, prev: head.hash, createdAt: new Date().toISOString(), rows: [] }, old)
  await t.rejects(county.sync.transport!.request({ type: 'changeset.push', changeSet: forged }), { code: 'SYNC_KEY_UNKNOWN' })
})

t.test('R-26.1 disaster recovery: a county restored from an old backup fetches its change sets back (xueji sync rebuild)', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await county.sync.pack()
  writeRows(county.storage, 'students', Array.from({ length: 30 }, (_, i) => studentRow('330106', school, i)))
  await settle(county, city, province)
  const before = dump(county.storage, 'students')
  // The "backup": everything after seq 1 lost.
  county.storage.write(() => {
    county.storage.sqlite.prepare('delete from students').run()
    county.storage.sqlite.prepare("delete from sync_change_sets where seq > 1").run()
  })
  const r = await county.sync.rebuild()
  t.match(r, { changeSets: 1, rows: 30 })
  t.same(dump(county.storage, 'students'), before, 'the county has its students back')
  t.same((await county.sync.verifyStored()).problems, [])
})

t.test('R-D.2 downward commands: relayed hop by hop, applied exactly once, in order', async t => {
  const { province, city, county } = await makeFederation(t)
  await province.sync.downward.issue('330106', 'sync.ping', { n: 1 })
  await province.sync.downward.issue('330106', 'sync.ping', { n: 2 })
  await city.sync.pullCommands()
  const first = await county.sync.pullCommands()
  t.same(first, { pulled: 2, applied: 2 })
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'pulling again applies nothing twice')
  county.storage.sqlite.prepare('update sync_link set command_cursor = 0').run()
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'even when the same commands come again')
  t.same(county.storage.sqlite.prepare('select seq, result from sync_commands order by seq').all(), [
    { seq: 1, result: '{"status":"applied","pong":true}' },
    { seq: 2, result: '{"status":"applied","pong":true}' },
  ])
  await t.rejects(city.sync.downward.issue('330200', 'sync.ping', {}), { code: 'SYNC_COMMAND_NOT_FOR_ME' }, 'only to nodes below')
})

t.test('R-D.8 anti-entropy: the parent reports drift of its replica', async t => {
  const { city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', Array.from({ length: 5 }, (_, i) => studentRow('330106', school, i)))
  await settle(county, city)
  t.match(await county.sync.sendDigest(), { result: 'ok' })
  city.storage.sqlite.prepare('update students set version = 9 where rowid = 1').run()
  t.match(await county.sync.sendDigest(), { result: 'drift', drift: [{ unit: `schools:${school.id}` }] })
  t.match((await city.sync.status()).drift, [{ origin: '330106', result: 'drift', driftUnits: 1 }])
})
