/**
 * How records behave beyond one write: the outbox rows every write appends (a 学籍号 change as a
 * key change), verification reset on edit, derived school figures, search from
 * indexes, scope, and local code tables.
 */
import { maskIdNumber } from '../../schema/ids.ts'
import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loginAs } from '../helper.ts'
import { systemActor } from '../../node/services/records/service.ts'
import * as fx from './fixtures.ts'
import { recordsNode, verifiedStudent, withKindergarten, withSchool, SCHOOL_CODE, type Json, type RecordsNode } from './setup.ts'

interface OutboxRow { table_name: string; key_json: string; op: string; row_json: string | null; version: number; actor: string | null; rekey_json: string | null }
const outboxAfter = (node: RecordsNode, id: number) => node.app.storage.sqlite.prepare('select * from outbox where id > ? order by id').all(id) as OutboxRow[]
const lastOutboxId = (node: RecordsNode) => (node.app.storage.sqlite.prepare('select coalesce(max(id), 0) as n from outbox').get() as { n: number }).n

t.test('R-10.1 every write appends its outbox rows: create, update, delete with cascaded tombstones, and a 学籍号 change as rekey', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  let mark = lastOutboxId(node)
  const created = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id, ...fx.subRecords })).body
  let rows = outboxAfter(node, mark)
  t.strictSame(rows.map(r => r.table_name), ['students', 'student_resumes', 'student_guardians', 'student_family_members', 'student_registrations', 'student_exams', 'student_awards', 'student_punishments', 'student_enrolments'])
  t.ok(rows.every(r => r.op === 'upsert' && r.version === 1 && r.actor === node.school.account.id))
  const image = JSON.parse(rows[0].row_json!)
  t.strictSame(JSON.parse(rows[0].key_json), { id: created.id }, 'keyed by the record id')
  t.equal(image.student_no, `G${fx.student().idNumber}`, 'row image in SQL column names (the 学籍号 in clear)')
  t.equal(created.studentNo, `G${maskIdNumber(fx.student().idNumber as string)}`, 'the answer shows the 学籍号 masked like the ID number it holds')
  t.equal(image.id_number, fx.student().idNumber, 'the full, unmasked row travels upward')
  const stored = node.app.storage.sqlite.prepare('select * from students where id = ?').get(created.id) as Json
  t.strictSame(image, stored, 'the image is the full stored row')

  // A 学籍号 change travels as a key change with the old number. A formal G number stays
  // (integrity.test.ts), so the change for the test goes from one G number to another, with the
  // ID number corrected along with it.
  mark = lastOutboxId(node)
  const newId = fx.idNumber('2016-03-15', '1', 42)
  const newNo = `G${newId}`
  const updated = await node.call('PATCH', `/api/v1/students/${created.id}`, { version: 1, idNumber: newId, studentNo: newNo })
  t.equal(updated.status, 200)
  t.equal(updated.body.version, 2)
  rows = outboxAfter(node, mark)
  t.equal(rows.length, 1)
  t.equal(rows[0].version, 2)
  t.strictSame(JSON.parse(rows[0].rekey_json!), { student_no: `G${fx.student().idNumber}` }, 'rekey.from carries the old 学籍号')
  t.equal(JSON.parse(rows[0].row_json!).student_no, newNo)

  // A sub-record update: its own row, version 2.
  mark = lastOutboxId(node)
  const g = created.guardians[0]
  t.equal((await node.call('PATCH', `/api/v1/students/${created.id}/guardians/${g.id}`, { version: 1, phone: '13911112222' })).status, 200)
  rows = outboxAfter(node, mark)
  t.strictSame(rows.map(r => [r.table_name, r.op, r.version]), [['student_guardians', 'upsert', 2]])

  // Deleting the student deletes its sub-records: a tombstone each (key only), then the student.
  mark = lastOutboxId(node)
  const del = await node.call('DELETE', `/api/v1/students/${created.id}?version=2`)
  t.equal(del.status, 204)
  rows = outboxAfter(node, mark)
  t.equal(rows.length, 9)
  t.ok(rows.every(r => r.op === 'delete' && r.row_json === null))
  t.strictSame(rows.at(-1)!.table_name, 'students')
  t.equal(rows.at(-1)!.version, 3, 'a tombstone raises the version')
  t.equal(rows.find(r => r.table_name === 'student_guardians')!.version, 3)
  for (const table of ['students', 'student_guardians', 'student_enrolments']) {
    t.equal((node.app.storage.sqlite.prepare(`select count(*) as n from ${table}`).get() as Json).n, 0, `${table} empty`)
  }
  t.equal((await node.call('GET', `/api/v1/students/${created.id}`)).status, 404)
})

t.test('R-18.1 editing a verified record (or a sub-record of it) puts it back to entered', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const { student, grade } = await verifiedStudent(node, school.id, klass.id)
  let read = (await node.call('GET', `/api/v1/students/${student.id}`)).body
  t.equal(read.verifyState, 'verified')

  const edited = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: read.version, phone: '13812345678' })
  t.equal(edited.body.verifyState, 'entered')
  t.equal(edited.body.verifiedBy, null)
  t.equal(edited.body.enteredBy, node.school.account.id)

  t.equal((await node.call('POST', `/api/v1/verification/students/${student.id}/verify`, undefined, grade)).status, 200)
  read = (await node.call('GET', `/api/v1/students/${student.id}`)).body
  const g = read.guardians[0]
  t.equal((await node.call('PATCH', `/api/v1/students/${student.id}/guardians/${g.id}`, { version: g.version, name: '曾大江' })).status, 200)
  read = (await node.call('GET', `/api/v1/students/${student.id}`)).body
  t.equal(read.verifyState, 'entered', 'a guardian is part of the verified student info')
})

t.test('R-8.1 class and student counts, graduates and enrolment of the year are derived from the records', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const grade1 = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026001', name: '一年级（1）班', foundedYm: '2026-09', grade: 1 }), schoolId: school.id })).body
  const year = new Date().getFullYear()
  const kid = (n: number, over: Json) => ({ ...fx.student({ idNumber: null, studentNo: null, name: `学生${n}`, birthDate: `2019-0${n}-01`, enrolmentYm: `${year}-09`, ...over }), schoolId: school.id })
  for (let n = 1; n <= 3; n++) t.equal((await node.call('POST', '/api/v1/students', kid(n, { classId: grade1.id }))).status, 201)
  const older = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  t.equal((await node.call('POST', `/api/v1/students/${older.id}/completions`, fx.completion({ completionYm: `${year}-06` }))).status, 201)
  await node.call('POST', '/api/v1/students', kid(4, { classId: null }))

  const read = (await node.call('GET', `/api/v1/schools/${school.id}`)).body
  // The graduate has left: four students in school (three in grade 1, one without a class).
  t.strictSame(read.derived, {
    year, classesTotal: 2, classesByGrade: [{ grade: 1, count: 1 }, { grade: 4, count: 1 }],
    studentsTotal: 4, studentsByGrade: [{ grade: 1, count: 3 }],
    graduatesThisYear: 1, enrolmentThisYear: 4,
  })
  t.equal((await node.call('GET', `/api/v1/students/${older.id}`)).body.state, 'graduated')
  t.equal((await node.call('GET', '/api/v1/students')).body.total, 4, 'the list counts students in school')
  t.equal((await node.call('GET', '/api/v1/students?state=all')).body.total, 5, 'unless asked otherwise')
  const typed = await node.call('PATCH', `/api/v1/schools/${school.id}`, { version: read.version, classesTotal: 3 }, node.bureau)
  t.equal(typed.body.code, 'RECORD_FIELD_DERIVED', 'typing a derived figure is refused')
})

t.test('R-10.1 search by name, pinyin, initials, ID number and 学籍号; filters; pagination with total; the index is used', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const one = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '单田芳', namePinyin: null }), schoolId: school.id })
  await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '张三', namePinyin: null }), schoolId: school.id, classId: klass.id })
  const find = async (query: string) => (await node.call('GET', `/api/v1/students?${query}`)).body
  // Answers show the 学籍号 masked; the registrar searches with the number in clear.
  const oneNo = (node.app.storage.sqlite.prepare('select student_no from students where id = ?').get(one.id) as Json).student_no as string
  t.equal((await find(`q=${fx.student().idNumber}`)).items[0].id, one.id, 'by ID number')
  t.equal((await find(`q=${oneNo}`)).items[0].id, one.id, 'by 学籍号')
  t.equal((await find(`q=${encodeURIComponent('曾小')}`)).items[0].id, one.id, 'by the start of the name')
  t.strictSame((await find('q=stf')).items.map((s: Json) => s.name), ['单田芳'], 'by initials (surname reading of 单)')
  t.strictSame((await find('q=shantian')).items.map((s: Json) => s.name), ['单田芳'], 'by full pinyin')
  t.equal((await find('q=shan%20tian')).items[0].namePinyin, 'shan tian fang')
  t.equal((await find(`classId=${klass.id}`)).total, 2)
  t.equal((await find('grade=4')).total, 2)
  t.equal((await find('verifyState=entered&state=in_school')).total, 3)
  const page = await find('limit=2&offset=2')
  t.strictSame([page.total, page.items.length, page.limit, page.offset], [3, 1, 2, 2])
  const walked = [0, 1, 2, 3].map(offset => find(`limit=1&offset=${offset}`))
  t.strictSame((await Promise.all(walked)).map(p => p.items.map((s: Json) => s.name)), [['曾小明'], ['单田芳'], ['张三'], []], 'pages of one, in order, each its own')
  const far = await find('offset=1e300')
  t.strictSame([far.items, far.total, far.offset], [[], 3, Number.MAX_SAFE_INTEGER], 'an offset past any count answers an empty page')
  t.equal((await find(`q=${fx.student().idNumber}`)).items[0].idNumber, '330106********' + fx.student().idNumber.slice(-4), 'lists mask the ID number')

  const svc = node.app.records
  const plan = (q: string) => {
    const { sql, params } = svc.listSql(systemActor('test'), 'students', { q })
    return (node.app.storage.sqlite.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map(r => r.detail).join('\n')
  }
  t.match(plan(fx.student().idNumber), /USING INDEX students_id_number/, 'ID number answered from students_id_number')
  t.match(plan(oneNo), /USING INDEX students_student_no/, '学籍号 answered from students_student_no')
  const bureauPlan = svc.listSql({ accountId: 'x', filter: { all: true, homeNodePrefix: '330106' }, reach: () => true }, 'students', { q: oneNo })
  t.match((node.app.storage.sqlite.prepare(`explain query plan ${bureauPlan.sql}`).all(...bureauPlan.params) as Json[]).map(r => r.detail).join('\n'), /students_student_no/, 'also within a bureau scope')
})

t.test('R-10.1 scope: a class teacher reaches only the students of their class', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const other = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2020002', name: '四年级（2）班' }), schoolId: school.id })).body
  const mine = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const theirs = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '王五' }), schoolId: school.id, classId: other.id })).body
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: SCHOOL_CODE, classes: [klass.id] })
  const list = (await node.call('GET', '/api/v1/students', undefined, teacher)).body
  t.strictSame(list.items.map((s: Json) => s.id), [mine.id])
  t.equal(list.total, 1)
  t.equal((await node.call('GET', `/api/v1/students/${theirs.id}`, undefined, teacher)).status, 404, 'another class answers 404')
  t.equal((await node.call('GET', `/api/v1/students/${theirs.id}/guardians`, undefined, teacher)).status, 404)
  const before = node.counts()
  const into = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '赵六' }), schoolId: school.id, classId: other.id }, teacher)
  t.equal(into.status, 404, 'no student into another class')
  const moved = await node.call('PATCH', `/api/v1/students/${mine.id}`, { version: 1, classId: other.id }, teacher)
  t.equal(moved.status, 404, 'no moving a student out of reach')
  t.strictSame(node.counts(), before)
  t.strictSame((await node.call('GET', '/api/v1/schools', undefined, teacher)).body.items.map((s: Json) => s.id), [school.id], 'the own school is visible')
  t.equal((await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '9' }), schoolId: school.id }, teacher)).status, 403, 'a teacher enters no classes')
  const reader = await loginAs(node.app, 'bureau_user', { kind: 'bureau', node: '330106' })
  t.equal((await node.call('GET', '/api/v1/students', undefined, reader)).body.total, 2, 'a bureau user reads the whole area')
  t.equal((await node.call('PATCH', `/api/v1/students/${mine.id}`, { version: 1, name: '改' }, reader)).status, 403)
})

t.test('R-30.1 a local code is refused until configured, then accepted', async t => {
  const category = (schoolId: string) => ({ ...fx.student({ idNumber: null, studentNo: null, studentCategory: '31' }), schoolId })

  t.test('without local codes', async t => {
    const node = await recordsNode(t)
    const { school } = await withSchool(node)
    const refused = await node.call('POST', '/api/v1/students', category(school.id))
    t.equal(refused.body.code, 'RECORD_CODE_UNKNOWN')
    t.equal(refused.body.details.field, 'studentCategory')
  })

  t.test('with codes.localDir naming a local extension of the table', async t => {
    const dir = mkdtempSync(join(tmpdir(), 'xueji-local-codes-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    writeFileSync(join(dir, 'student_category.zj-local.json'), JSON.stringify({
      table: 'student_category', title: '学生类别（浙江扩充）', standard: 'local (Zhejiang)', edition: 'zj-local', extends: 'student_category',
      codes: [{ code: '31', name: '进城务工人员随迁子女' }],
    }))
    const node = await recordsNode(t, { config: { codes: { localDir: dir } } })
    const { school } = await withSchool(node)
    const accepted = await node.call('POST', '/api/v1/students', category(school.id))
    t.equal(accepted.status, 201, JSON.stringify(accepted.body))
    t.equal(accepted.body.studentCategory, '31')
  })
})

t.test('R-12.1 a child without a class, and kindergarten filters', async t => {
  const node = await recordsNode(t)
  const { kg, kgClass } = await withKindergarten(node)
  await node.call('POST', '/api/v1/children', { ...fx.child(), kindergartenId: kg.id, classId: kgClass.id })
  await node.call('POST', '/api/v1/children', { ...fx.child({ idNumber: null, name: '欧阳娜娜', namePinyin: null }), kindergartenId: kg.id })
  t.equal((await node.call('GET', `/api/v1/children?grade=1`)).body.total, 1)
  t.strictSame((await node.call('GET', `/api/v1/children?q=oyn`)).body.items.map((c: Json) => c.name), ['欧阳娜娜'])
  t.equal((await node.call('GET', `/api/v1/children?kindergartenId=${kg.id}`)).body.total, 2)
})

t.test('R-2.1 one system for primary, junior and senior secondary schools and kindergartens, public and private', async t => {
  const node = await recordsNode(t)
  await withSchool(node)
  const kinds: Array<[string, string, string]> = [['3301060201', '311', '21'], ['3301060301', '342', '22'], ['3301060401', '312', '23'], ['3301060501', '218', '29']]
  for (const [schoolCode, category, runType] of kinds) {
    const r = await node.call('POST', '/api/v1/schools', fx.school({ schoolCode, category, runType, name: `学校${schoolCode}` }), node.bureau)
    t.equal(r.status, 201, `category ${category}, run type ${runType}`)
  }
  const kg = await node.call('POST', '/api/v1/kindergartens', fx.kindergarten({ nature: '7' }), node.bureau)
  t.equal(kg.status, 201, 'a kindergarten of another sponsor')
  t.equal((await node.call('GET', '/api/v1/schools', undefined, node.bureau)).body.total, 5)
})
