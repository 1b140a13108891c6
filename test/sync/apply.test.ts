import t from 'tap'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { signChangeSet, type ChangeRow, type ChangeSetBody } from '../../sync/changeset.ts'
import { loadSigner } from '../../sync/signers.ts'
import { createApplier } from '../../sync/apply.ts'
import { createReplicaRules } from '../../node/services/records/replica-rules.ts'
import { codes } from '../../schema/codes/index.ts'
import { openStorage } from '../../schema/db.ts'
import { makeFederation, settle, type TestSyncNode } from './lib/nodes.ts'
import { classRow, fullRow, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

type Row = Record<string, unknown>
const head = (n: TestSyncNode, origin: string) =>
  n.storage.sqlite.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string }
const upsert = (table: string, row: Row): ChangeRow => ({ table, key: { id: row.id as string }, op: 'upsert', row, version: 1 })
/** Signs the next change set of `from` (its real key) with `rows` and pushes it to its parent. */
async function pushNext(from: TestSyncNode, parent: TestSyncNode, rows: ChangeRow[]) {
  const at = head(parent, from.code)
  const body: ChangeSetBody = { format: 1, origin: from.code, seq: at.seq + 1, prev: at.hash, createdAt: new Date().toISOString(), rows }
  return from.sync.transport!.request({ type: 'changeset.push', changeSet: await signChangeSet(body, await loadSigner(from.storage)) })
}
const badRows = (n: TestSyncNode, origin: string) =>
  (n.storage.sqlite.prepare("select bad_rows from sync_quarantine where origin = ? order by received_at desc limit 1").pluck().get(origin) as string | undefined) ?? '[]'
const count = (n: TestSyncNode, sql: string, ...args: unknown[]) => n.storage.sqlite.prepare(sql).pluck().get(...args) as number

/** Waits for the async issue of feedback commands, then lets `node` pull and apply them. */
async function pullFeedback(node: TestSyncNode, issuer: TestSyncNode, atLeast: number): Promise<void> {
  for (let i = 0; i < 100 && count(issuer, "select count(*) from sync_commands where issuer = ? and destination = ? and type = 'sync.feedback'", issuer.code, node.code) < atLeast; i++) {
    await new Promise(r => setTimeout(r, 20))
  }
  await node.sync.pullCommands()
}

t.test('R-D.2 rows arriving by sync pass the API field validation; refused with the API codes, and the origin is told', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const students = count(city, 'select count(*) from students')

  // A record written at the county behind its API (an old or broken node): the school hears it.
  const broken: Row = { ...studentRow('330106', school, 8), gender: '7' }
  writeRows(county.storage, 'students', [broken as never])
  await county.sync.pack()
  await t.rejects(county.sync.pushOrigin('330106'), { code: 'SYNC_ROW_INVALID' })
  await pullFeedback(county, city, 1)
  const told = county.storage.sqlite.prepare("select kind, reported_by, table_name, school_code, code, reason from sync_feedback where record_id = ?").all(broken.id)
  t.same(told, [{ kind: 'refused', reported_by: '330100', table_name: 'students', school_code: school.school_code, code: 'RECORD_CODE_UNKNOWN', reason: 'gender:code_table' }], 'the origin stores which record was refused and why')
  t.match((await county.sync.status()).feedback, { refused: 1, duplicate: 0 }, 'and its sync status counts it')

  const good = studentRow('330106', school, 7)
  const student = (change: Row) => upsert('students', { ...good, id: randomUUID(), ...change })
  const cases: Array<[string, ChangeRow, { code: string; field: string; rule?: string }]> = [
    ['a wrong ID checksum', student({ id_number: `${String(good.id_number).slice(0, 17)}${String(good.id_number).endsWith('0') ? '1' : '0'}` }), { code: 'RECORD_ID_CHECKSUM', field: 'idNumber' }],
    ['birth date 2099', student({ birth_date: '2099-01-01' }), { code: 'RECORD_DATE_ORDER', field: 'birthDate', rule: 'not_in_future' }],
    ['a gender code that does not exist', student({ gender: '7' }), { code: 'RECORD_CODE_UNKNOWN', field: 'gender' }],
    ['a 10 MiB name', student({ name: '张'.repeat(Math.floor(10 * 1024 * 1024 / 3)) }), { code: 'RECORD_FIELD_FORMAT', field: 'name', rule: 'max_length' }],
    ['a school with a malformed postcode', upsert('schools', { ...schoolRow('330106', '330106', 9), postcode: 'abc' }), { code: 'RECORD_FIELD_FORMAT', field: 'postcode' }],
  ]
  for (const [what, row, expect] of cases) {
    await t.rejects(pushNext(county, city, [row]), { code: 'SYNC_ROW_INVALID' }, `${what}: refused`)
    const [bad] = JSON.parse(badRows(city, '330106')) as Array<{ issues?: { code: string; field: string; rule: string }[] }>
    t.ok(bad.issues?.some(i => i.code === expect.code && i.field === expect.field && (!expect.rule || i.rule === expect.rule)), `${what}: ${expect.code} in the quarantine reasons`)
  }
  await t.rejects(pushNext(county, city, [upsert('students', { ...good, id: randomUUID(), state: 'flying' })]), { code: 'SYNC_ROW_INVALID' }, 'state flying: refused')
  t.match(JSON.parse(badRows(city, '330106')), [{ code: 'SYNC_ROW_INVALID', reason: 'column state: not one of its values' }], 'state flying: the column named')
  t.equal(count(city, 'select count(*) from students'), students, 'nothing applied at the city')
  t.equal(count(province, 'select count(*) from students'), 0, 'nothing reached the province')
  await t.resolves(pushNext(county, city, [upsert('students', good)]), 'the valid row still applies')

})

t.test('ownership of every reference: a county cannot flag or attach to another county\'s records', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const school = schoolRow('330106', '330106', 1)
  const cls = classRow('330106', school)
  const victim = studentRow('330106', school, 1)
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'school_classes', [cls])
  writeRows(county.storage, 'students', [victim])
  const own = schoolRow('330108', '330108', 2)
  const mine = studentRow('330108', own, 2)
  writeRows(county2!.storage, 'schools', [own])
  writeRows(county2!.storage, 'students', [mine])
  await settle(county, county2!, city, province)

  const now = new Date().toISOString()
  const problem = (subject: string, other: string, schoolCode: string) =>
    fullRow('problem_records', { id: randomUUID(), home_node: '330108', version: 1, epoch: 0, created_at: now, updated_at: now, kind: 'duplicate_id_number', subject_table: 'students', subject_id: subject, other_id: other, school_code: schoolCode, status: 'open' })
  await t.rejects(pushNext(county2!, city, [upsert('problem_records', problem(victim.id as string, mine.id as string, own.school_code as string))]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'a problem naming another county\'s student')
  t.match(JSON.parse(badRows(city, '330108')), [{ code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: 'reference subject_id' }])
  await t.rejects(pushNext(county2!, city, [upsert('problem_records', problem(mine.id as string, mine.id as string, school.school_code as string))]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'a problem filed under another county\'s school')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: 'reference school_code' }])
  await t.rejects(pushNext(county2!, city, [upsert('students', { ...studentRow('330108', own, 3), class_id: cls.id })]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'a student put in another county\'s class')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: 'reference class_id' }])
  t.equal(count(city, 'select count(*) from problem_records'), 0, 'no problem stored')
  await t.resolves(pushNext(county2!, city, [upsert('problem_records', problem(mine.id as string, mine.id as string, own.school_code as string))]), 'a problem about its own student applies')
})

t.test('R-10.1 (across nodes) a replica applies a person registered at another node too, raises one problem, and both homes are told', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const a = schoolRow('330106', '330106', 1)
  const b = schoolRow('330108', '330108', 1)
  const first = studentRow('330106', a, 5)
  const person = { id_number: first.id_number, student_no: `G${String(first.id_number)}`, name: first.name, gender: first.gender, birth_date: first.birth_date }
  const there: Row = { ...first, ...person }
  const again: Row = { ...studentRow('330108', b, 5), ...person }
  writeRows(county.storage, 'schools', [a])
  writeRows(county.storage, 'students', [there as never])
  writeRows(county2!.storage, 'schools', [b])
  writeRows(county2!.storage, 'students', [again as never])
  await settle(county, county2!, city, province)

  t.equal(count(city, 'select count(*) from students where student_no = ?', person.student_no), 2, 'the city holds both')
  t.equal(count(province, 'select count(*) from students where student_no = ?', person.student_no), 2, 'the province holds both')
  t.equal(count(city, 'select count(*) from sync_quarantine'), 0, 'nothing quarantined')
  for (const n of [county, county2!]) t.equal((await n.sync.status()).upstream.find(u => u.origin === n.code)?.halted, null, `${n.code}: its chain goes on`)
  const problems = city.storage.sqlite.prepare("select home_node, kind, subject_id, other_id, status from problem_records").all() as Row[]
  t.equal(problems.length, 1, 'one problem at the city, the lowest node holding both')
  t.match(problems[0], { home_node: '330100', kind: 'duplicate_id_number', status: 'open' })
  t.same(new Set([problems[0].subject_id, problems[0].other_id]), new Set([there.id, again.id]), 'naming both records')
  t.equal(count(province, "select count(*) from problem_records where home_node = '330000'"), 0, 'the province raises no second one')

  await pullFeedback(county, city, 1)
  await pullFeedback(county2!, city, 1)
  const heard = (n: TestSyncNode) => n.storage.sqlite.prepare('select kind, record_id, school_code, code, other_node, other_school_code from sync_feedback').all()
  t.same(heard(county), [{ kind: 'duplicate', record_id: there.id, school_code: a.school_code, code: 'RECORD_DUPLICATE_ELSEWHERE', other_node: '330108', other_school_code: b.school_code }], '330106 is told where the other record is')
  t.same(heard(county2!), [{ kind: 'duplicate', record_id: again.id, school_code: b.school_code, code: 'RECORD_DUPLICATE_ELSEWHERE', other_node: '330106', other_school_code: a.school_code }], '330108 too')
})

t.test('R-10.1 (across nodes) one change set holding several duplicates: each found once, by ID number or by 学籍号, in the order of its rows', async t => {
  const city = openStorage(join(t.testdir(), 'city.db'))
  t.teardown(() => city.close())
  const applier = createApplier(city, createReplicaRules({ storage: city, self: { code: '330100', tier: 'city' }, codes }))
  const apply = (origin: string, rows: ChangeRow[]) => city.write(() => applier.apply(rows, { code: origin, tier: 'county' }))
  const b = schoolRow('330108', '330108', 1)
  const x = studentRow('330108', b, 1)
  const y = studentRow('330108', b, 2)
  t.strictSame(apply('330108', [upsert('schools', b), upsert('students', x), upsert('students', y)]), { bad: [], upserts: 3, deletes: 0, stale: 0, notices: [] })

  const a = schoolRow('330106', '330106', 1)
  const alone = studentRow('330106', a, 3)
  const sameId: Row = { ...studentRow('330106', a, 11), id_number: x.id_number, gender: x.gender }
  const sameNo: Row = { ...studentRow('330106', a, 12), student_no: y.student_no }
  const both: Row = { ...studentRow('330106', a, 13), id_number: x.id_number, student_no: x.student_no, gender: x.gender }
  const applied = apply('330106', [upsert('schools', a), upsert('students', alone), upsert('students', sameId), upsert('students', sameNo), upsert('students', both)])
  t.same(applied.bad, [], 'all applied: a duplicate refuses nothing')
  const notice = (row: Row, other: Row, rule: string) => ({ kind: 'duplicate', table: 'students', id: row.id, homeNode: '330106', schoolCode: a.school_code, otherId: other.id, otherHomeNode: '330108', otherSchoolCode: b.school_code, rule })
  t.strictSame(applied.notices, [notice(sameId, x, 'id_number'), notice(sameNo, y, 'student_no'), notice(both, x, 'id_number')], 'one notice a pair, in the order of the rows; a match on both is one, by ID number')
  const problems = city.sqlite.prepare("select subject_id, other_id from problem_records where kind = 'duplicate_id_number' and status = 'open' order by rowid").all()
  t.strictSame(problems, [{ subject_id: sameId.id, other_id: x.id }, { subject_id: sameNo.id, other_id: y.id }, { subject_id: both.id, other_id: x.id }], 'and one problem record each')
})

t.test('R-D.2 a row with a column its table lacks is refused, also after rows of the same table with as many columns', async t => {
  const city = openStorage(join(t.testdir(), 'city.db'))
  t.teardown(() => city.close())
  const applier = createApplier(city, createReplicaRules({ storage: city, self: { code: '330100', tier: 'city' }, codes }))
  const a = schoolRow('330106', '330106', 1)
  const renamed: Row = { ...studentRow('330106', a, 2), nick_name: 'xiaoming' }
  delete renamed.name_pinyin
  const rows = [upsert('schools', a), upsert('students', studentRow('330106', a, 1)), upsert('students', renamed)]
  t.equal(Object.keys(renamed).length, Object.keys(rows[1].row!).length, 'the same number of columns')
  let bad: unknown[] = []
  try {
    city.write(() => {
      bad = applier.apply(rows, { code: '330106', tier: 'county' }).bad
      throw new Error('undo')
    })
  } catch (err) {
    if ((err as Error).message !== 'undo') throw err
  }
  t.match(bad, [{ index: 2, code: 'SYNC_ROW_INVALID', reason: 'unknown column nick_name' }])
})

t.test('R-D.2 R-25.2 a copied school code must be its school\'s: a county cannot file its own students or classes under another node\'s school, nor raise an alert about one or count a status change at one (R-17.4); an alert is for its parent\'s bureau only (R-20.1); a student\'s class is of its own school', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const victim = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [victim])
  const own = schoolRow('330108', '330108', 2)
  writeRows(county2!.storage, 'schools', [own])
  await settle(county, county2!, city, province)
  const code = victim.school_code as string

  await t.rejects(pushNext(county2!, city, [upsert('students', { ...studentRow('330108', own, 3), school_code: code })]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'a student of its own school under the other school\'s code')
  t.match(JSON.parse(badRows(city, '330108')), [{ code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: "school_code is not its school_id's" }])
  await t.rejects(pushNext(county2!, city, [upsert('school_classes', { ...classRow('330108', own), school_code: code })]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'a class likewise')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: "school_code is not its school_id's" }])
  const now = new Date().toISOString()
  const alert = fullRow('alerts', {
    id: randomUUID(), home_node: '330108', version: 1, epoch: 0, created_at: now, updated_at: now, kind: 'status_change_review_overdue', addressed_to: '330100',
    school_code: code, subject_table: 'student_status_changes', subject_id: randomUUID(), deadline: '2026-01-05', deadline_provisional: 'no', raised_at: now,
  })
  await t.rejects(pushNext(county2!, city, [upsert('alerts', alert)]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'an alert about the other county\'s school')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: 'reference school_code' }])
  t.equal(count(city, "select count(*) from students where school_code = ? and home_node = '330108'", code), 0, 'nothing filed under the other school')

  const ownStudent = studentRow('330108', own, 4)
  await t.resolves(pushNext(county2!, city, [upsert('students', ownStudent)]), 'a student under its own school\'s code applies')
  const change = fullRow('student_status_changes', {
    id: randomUUID(), home_node: '330108', version: 1, epoch: 0, created_at: now, updated_at: now, student_id: ownStudent.id,
    change_type: '31', change_date: '2026-03-02', processing_status: '5', late: 0, verify_state: 'verified', unit_code: code,
  })
  await t.rejects(pushNext(county2!, city, [upsert('student_status_changes', change)]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'R-17.4 a status change of its own student counted at the other county\'s school')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: 'reference unit_code' }])
  await t.resolves(pushNext(county2!, city, [upsert('student_status_changes', { ...change, unit_code: own.school_code })]), 'the same change at its own school applies')
  const overTheCity = { ...alert, id: randomUUID(), school_code: own.school_code, addressed_to: '330000' }
  await t.rejects(pushNext(county2!, city, [upsert('alerts', overTheCity)]), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'an alert of its own school addressed past the city to the province')
  t.match(JSON.parse(badRows(city, '330108')), [{ reason: "addressed_to is not the origin's parent" }])
  await t.resolves(pushNext(county2!, city, [upsert('alerts', { ...overTheCity, addressed_to: '330100' })]), 'the same alert addressed to the city applies')

  // A class of another school of the same county: in the origin's area, not the student's school's.
  const sibling = schoolRow('330108', '330108', 5)
  const siblingClass = classRow('330108', sibling)
  await t.resolves(pushNext(county2!, city, [upsert('schools', sibling), upsert('school_classes', siblingClass)]), 'a second school of the county with its class')
  await t.rejects(pushNext(county2!, city, [upsert('students', { ...studentRow('330108', own, 6), class_id: siblingClass.id })]), { code: 'SYNC_ROW_INVALID' }, 'a student of one school in a class of another')
  t.match(JSON.parse(badRows(city, '330108')), [{ code: 'SYNC_ROW_INVALID', reason: 'class_id is not of its school_id' }])

  // The apply looks a set's classes up once; a class the same set writes is looked up again after it.
  const ownClass = classRow('330108', own, 2)
  await t.resolves(pushNext(county2!, city, [upsert('school_classes', ownClass)]), 'a class of its own school')
  const moved = { ...ownClass, school_id: sibling.id, school_code: sibling.school_code, version: 2 }
  const before = { ...studentRow('330108', own, 7), class_id: ownClass.id }
  const after = { ...studentRow('330108', own, 8), class_id: ownClass.id }
  await t.rejects(pushNext(county2!, city, [upsert('students', before), { ...upsert('school_classes', moved), version: 2 }, upsert('students', after)]), { code: 'SYNC_ROW_INVALID' }, 'the class moved to another school between two students of the same set')
  t.match(JSON.parse(badRows(city, '330108')), [{ index: 2, reason: 'class_id is not of its school_id' }])
})
