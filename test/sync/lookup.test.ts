import t from 'tap'
import { makeFederation, settle } from './lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-10.1 (across nodes) a person lookup is answered by the lowest tier that knows, never from the asker\'s own subtree, for an ID number of any document type', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const a = schoolRow('330106', '330106', 1)
  const b = schoolRow('330108', '330108', 1)
  const mine = studentRow('330106', a, 1)
  const theirs = studentRow('330108', b, 2)
  writeRows(county.storage, 'schools', [a])
  writeRows(county.storage, 'students', [mine])
  writeRows(county2!.storage, 'schools', [b])
  writeRows(county2!.storage, 'students', [theirs])
  await settle(county, county2!, city, province)

  t.match(await county.sync.askParent({ table: 'students', idNumber: theirs.id_number as string }), { table: 'students', homeNode: '330108', unitCode: b.school_code, unitName: b.name }, 'the city answers with the sibling county\'s school')
  t.match(await county.sync.askParent({ table: 'students', studentNo: theirs.student_no as string }), { homeNode: '330108' }, 'by 学籍号 too')
  t.equal(await county.sync.askParent({ table: 'students', idNumber: mine.id_number as string }), null, 'the asker\'s own records are its own to check')
  t.equal(await county.sync.askParent({ table: 'students', idNumber: '110101201501010011' }), null, 'nobody holds it: the province says so too')
  // A province-run school's student: the city does not know it, so it asks the province.
  const p = schoolRow('330000', '330000', 3)
  const top = studentRow('330000', p, 3)
  writeRows(province.storage, 'schools', [p])
  writeRows(province.storage, 'students', [top])
  t.match(await county.sync.askParent({ table: 'students', idNumber: top.id_number as string }), { homeNode: '330000', unitCode: p.school_code }, 'the province, which knows all, answers through the city')
  t.match(await city.sync.askParent({ table: 'students', idNumber: theirs.id_number as string }), null, 'the city asking the province: its own subtree is excluded')

  t.equal(await county.sync.askParent({ table: 'children', idNumber: theirs.id_number as string }), null, 'a pupil is not a kindergarten child: each table is asked alone')
  county.link.up = false
  await t.rejects(county.sync.askParent({ table: 'students', idNumber: theirs.id_number as string }), { code: 'SYNC_PARENT_UNAVAILABLE' }, 'the parent unreachable: the caller accepts and flags')
  county.link.up = true
  await t.rejects(county.sync.transport!.request({ type: 'person.lookup', table: 'students' } as never), { code: 'SYNC_MALFORMED' }, 'a lookup without a number is malformed')
  await t.rejects(county.sync.transport!.request({ type: 'person.lookup', table: 'students', idNumber: "1' or '1'='1" } as never), { code: 'SYNC_MALFORMED' }, 'so is one with other characters')
  // Any document type's number is asked about with its type (sync/lookup.ts sameIdNumberSql).
  t.match(await county.sync.askParent({ table: 'students', idNumber: theirs.id_number as string, idDocType: 'Z' }), { homeNode: '330108' }, 'a resident ID number asked about as 其他 finds the resident ID')
  t.equal(await county.sync.askParent({ table: 'students', idNumber: 'H123456(7)', idDocType: '6' }), null, 'a Hong Kong permit number, brackets and all, is asked about')
  await t.rejects(county.sync.transport!.request({ type: 'person.lookup', table: 'students', idNumber: 'H123456(7)', idDocType: "6' or '1'='1" } as never), { code: 'SYNC_MALFORMED' }, 'a document type that is not a code is malformed')
})
