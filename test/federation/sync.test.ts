import t from 'tap'
import { changeStudentNo, deleteRow, dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { cli, countRows, seqsOnce, startFederation, until } from './lib/federation.ts'
import { unpackBody } from '../../sync/changeset.ts'

t.test('R-D.2 R-20.3 R-26.1 R-D.5 students written at the county reach city and province as the same rows, verified by the province', async t => {
  const [province, city, county] = await startFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  const students = Array.from({ length: 200 }, (_, i) => studentRow('330106', school, i))
  for (let i = 0; i < students.length; i += 50) writeRows(county.storage, 'students', students.slice(i, i + 50))
  await until('200 students at the province', () => countRows(province.storage, 'students') === 200)
  t.same(dump(city.storage, 'students'), dump(county.storage, 'students'), 'city rows = county rows')
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'province rows = county rows')
  t.same(dump(province.storage, 'schools'), dump(county.storage, 'schools'))

  // The province verified the county's own signature: it holds the county's change sets under the
  // county's key, registered through the record the city signed at enrolment.
  const countyKid = county.storage.sqlite.prepare('select kid from node_keys').pluck().get()
  const held = province.storage.sqlite.prepare("select distinct kid from sync_change_sets where origin = '330106'").pluck().all()
  t.same(held, [countyKid], 'signed by the county key')
  t.match(province.storage.sqlite.prepare("select parent, tier from sync_keys where node = '330106'").get(), { parent: '330100', tier: 'county' }, 'key record signed by the enrolling city')
  t.match(await cli(['sync', 'verify', '--data', province.dir]), /signatures and chains OK/, 'xueji sync verify at the province')

  // A delete and a key change (学籍号 L → G) propagate.
  deleteRow(county.storage, 'students', students[0].id as string, 2)
  const g = changeStudentNo(county.storage, students[1], `G${students[1].id_number}`)
  await until('delete and key change at the province', () => countRows(province.storage, 'students') === 199 && province.storage.sqlite.prepare('select student_no from students where id = ?').pluck().get(g.id) === g.student_no)
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'province rows = county rows after delete and key change')
  t.same(dump(city.storage, 'students'), dump(county.storage, 'students'), 'city rows = county rows')
  const rekey = (province.storage.sqlite.prepare("select body from sync_change_sets where origin = '330106'").pluck().all() as Buffer[]).map(unpackBody).find(b => b.includes('"rekey"'))!
  t.match(JSON.parse(rekey).rows.find((r: { rekey?: unknown }) => r.rekey), { table: 'students', rekey: { from: { student_no: students[1].student_no } } }, 'recorded as a key change')
  const s = seqsOnce(province.storage, '330106')
  t.equal(s.count, s.max, 'every seq applied once at the province')

  const status = JSON.parse(await cli(['sync', 'status', '--data', city.dir, '--json']))
  t.match(status, { parent: { code: '330000' }, upstream: [{ origin: '330106', lagChangeSets: 0, halted: null }], children: [{ code: '330106' }] }, 'xueji sync status (R-D.8)')

  // Downward: a signed command from the province reaches the county through the city, applied once.
  await cli(['sync', 'command', '--data', province.dir, '--to', '330106', '--type', 'sync.ping', '--payload', '{"note":"hello"}'])
  await until('the command applied at the county', () => county.storage.sqlite.prepare("select applied_at from sync_commands where issuer = '330000' and seq = 1").pluck().get() != null)
  t.equal(city.storage.sqlite.prepare("select count(*) from sync_commands where destination = '330106'").pluck().get(), 1, 'relayed by the city')
  t.equal(county.storage.sqlite.prepare('select result from sync_commands').pluck().get(), '{"status":"applied","pong":true}')
})
