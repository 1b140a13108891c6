/**
 * Initial entry: a school starting on the system sends all its current students in one
 * JSON file. Every row is validated and each refused row named; one refused row refuses the file
 * and nothing is written; the accepted file creates every student with its sub-records; sending
 * it again changes nothing.
 */
import t from 'tap'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool } from '../../records/setup.ts'

t.test('R-19.1 initial entry: row-by-row refusals, all or nothing per file, idempotent', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const row = (seq: number, over: Record<string, unknown> = {}) => ({
    ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm: '2021-09' }),
    classId: klass.id, guardians: fx.subRecords.guardians, enrolment: { ...fx.subRecords.enrolment, enrolmentYm: '2021-09' },
    ...over,
  })
  const url = `/api/v1/schools/${school.id}/initial-entry`
  const before = node.counts()

  const bad = await node.call('POST', url, { students: [row(1), row(2, { gender: '7' }), row(3), row(4, { enrolment: { ...fx.subRecords.enrolment, studyWay: null } }), row(1)] })
  t.equal(bad.status, 400)
  const fields = (bad.body.details.issues as Array<{ field: string; code: string }>).map(i => i.field)
  t.ok(fields.some(f => f.startsWith('students[1].gender')), `row 2's gender is named (${fields.join(', ')})`)
  t.ok(fields.some(f => f.startsWith('students[3].enrolment')), 'row 4\'s enrolment is named')
  t.ok(fields.includes('students[4]'), 'the repeated row 5 is named')
  t.notOk(fields.some(f => f.startsWith('students[0]') || f.startsWith('students[2]')), 'good rows are not')
  t.strictSame(node.counts(), before, 'nothing written, nothing sent upward')

  const file = { students: [row(1), row(2), row(3)] }
  const ok = await node.call('POST', url, file)
  t.equal(ok.status, 200, JSON.stringify(ok.body))
  t.equal(ok.body.created.length, 3)
  t.strictSame(ok.body.existing, [])
  const after = node.counts()
  t.equal(after.students - before.students, 3, 'three students')
  t.equal(after.student_guardians - before.student_guardians, 3, 'with their guardians')
  t.equal(after.student_enrolments - before.student_enrolments, 3, 'and enrolment info')

  const again = await node.call('POST', url, file)
  t.equal(again.status, 200)
  t.strictSame(again.body, { created: [], existing: ok.body.created }, 'the same file again: every row already held')
  t.strictSame(node.counts(), after, 'and nothing changed')

  const more = await node.call('POST', url, { students: [row(3), row(5)] })
  t.match(more.body, { created: [{ row: 1 }], existing: [{ row: 0 }] }, 'a file with one new student adds only it')

  const other = await node.call('POST', `/api/v1/schools/${school.id}/initial-entry`, { students: [row(6)] }, node.bureau)
  t.equal(other.status, 200, 'the bureau administrator may enter for the school too')
})

t.test('R-19.1 initial entry: a row whose name, birth date, gender or numbers are not text is refused with a stable code, not a 500, and nothing is written', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const url = `/api/v1/schools/${school.id}/initial-entry`
  const good = { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 9), studentNo: undefined, name: '学生9', namePinyin: null, enrolmentYm: '2021-09' }), classId: klass.id }
  const before = node.counts()
  // A row without an ID number is matched against the school's students by name, birth date and gender.
  for (const bad of [{ name: {} }, { name: {}, classId: 5 }, { birthDate: { y: 2016 } }, { gender: true }, { studentNo: ['G1'] }, { idNumber: {} }]) {
    const res = await node.call('POST', url, { students: [good, { ...good, idNumber: null, studentNo: null, name: '学生10', ...bad }] })
    t.equal(res.status, 400, `${JSON.stringify(bad)}: 400`)
    t.match(res.body, { code: /^(VALIDATION_FAILED|RECORD_[A-Z_]+)$/, message: /[\u4e00-\u9fff]/, details: { field: /students/ } }, `${JSON.stringify(bad)}: a stable code, a Chinese message and the field (${res.body.code})`)
  }
  t.strictSame(node.counts(), before, 'nothing written')
  t.equal((await node.call('POST', url, { students: [good] })).status, 200, 'the good row alone is entered')
})
