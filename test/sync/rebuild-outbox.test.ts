import t from 'tap'
import { makeFederation, settle } from './lib/nodes.ts'
import { deleteRow, dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-D.8 sync rebuild after a restore: outbox rows the backup held unpacked, which the parent already has, are not sent again (a record deleted since stays deleted above)', async t => {
  const { province, city, county } = await makeFederation(t)
  const db = county.storage.sqlite
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  // The backup's moment: a student written, its outbox row not packed yet.
  const student = studentRow('330106', school, 1)
  writeRows(county.storage, 'students', [student])
  const backupOutbox = db.prepare('select max(id) from outbox').pluck().get() as number
  // After the backup the node packs and sends it (seq 2), then the student is deleted (seq 3).
  await settle(county, city, province)
  deleteRow(county.storage, 'students', student.id as string, (student.version as number) + 1)
  await settle(county, city, province)
  t.same([dump(city.storage, 'students').length, dump(province.storage, 'students').length], [0, 0], 'deleted above')

  // The county is lost and restored from that backup: seq 1 held, the student in its table, its
  // outbox row unpacked (plain SQL: nothing here may wake the packer, as on a node not started).
  county.storage.write(() => {
    db.prepare('delete from sync_change_sets where seq > 1').run()
    db.prepare('delete from outbox where id > ?').run(backupOutbox)
    db.prepare('update outbox set change_set_seq = null where id = ?').run(backupOutbox)
    db.prepare(`insert into students (${Object.keys(student).join(', ')}) values (${Object.keys(student).map(() => '?').join(', ')})`).run(...Object.values(student))
  })

  t.match(await county.sync.rebuild(), { changeSets: 2 }, 'seq 2 and 3 fetched back')
  t.same(dump(county.storage, 'students'), [], 'the county applied the deletion')
  t.equal(db.prepare('select change_set_seq from outbox where id = ?').pluck().get(backupOutbox), 2, 'the backup\'s unpacked row is marked packed in the change set that carried it')
  t.same(await county.sync.pack(), [], 'nothing left to pack')
  await settle(county, city, province)
  t.same([dump(city.storage, 'students').length, dump(province.storage, 'students').length], [0, 0], 'the student is not resurrected above')
  t.equal(db.prepare("select max(seq) from sync_change_sets where origin = '330106'").pluck().get(), 3, 'no change set after the fetched ones')
  t.same((await county.sync.verifyStored()).problems, [])
})

t.test('R-D.8 sync rebuild: outbox rows the parent never received stay unpacked and go up after it', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  // Written before the backup; the node was lost before it packed it: the parent never had it.
  const student = studentRow('330106', school, 1)
  writeRows(county.storage, 'students', [student])
  t.match(await county.sync.rebuild(), { changeSets: 0 })
  await settle(county, city, province)
  t.same(dump(city.storage, 'students'), dump(county.storage, 'students'), 'the student reaches the city')
  t.equal(dump(city.storage, 'students').length, 1)
})
