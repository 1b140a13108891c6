/**
 * Every record of Articles 7–12 written through the API and read back with every field
 * (R-7.1 … ): the whole object is compared, sensitive fields in the masked form every read
 * shows, and their clear values through the audited reveal action.
 */
import t, { type Test } from 'tap'
import { SENSITIVE_FIELDS } from '../../node/auth/sensitive.ts'
import * as fx from './fixtures.ts'
import { expectedRead, recordsNode, reveal, withKindergarten, withSchool, type Json, type RecordsNode } from './setup.ts'

/** Sensitive fields of a table that the input filled: revealed, they must equal what was sent. */
async function revealsClear(t: Test, node: RecordsNode, table: string, id: string, input: Json) {
  const fields = Object.keys(SENSITIVE_FIELDS[table] ?? {}).filter(f => input[f] !== undefined && input[f] !== null)
  if (fields.length === 0) return
  const clear = await reveal(node, table, id, fields)
  t.strictSame(clear, Object.fromEntries(fields.map(f => [f, input[f]])), `${table}: sensitive fields stored as sent`)
}

t.test('R-7.1 R-8.1 R-8.2 R-9.1 supervising unit, school, teacher and class read back with every field', async t => {
  const node = await recordsNode(t)
  const { unit, school, klass } = await withSchool(node)
  t.strictSame(unit, expectedRead('supervising_units', fx.unit(), unit, node.bureau), 'R-7.1 supervising unit')
  t.strictSame((await node.call('GET', `/api/v1/units/${unit.id}`)).body, unit, 'R-7.1 read back by id')

  const derived = { year: new Date().getFullYear(), classesTotal: 1, classesByGrade: [{ grade: 4, count: 1 }], studentsTotal: 0, studentsByGrade: [], graduatesThisYear: 0, enrolmentThisYear: 0 }
  const readSchool = (await node.call('GET', `/api/v1/schools/${school.id}`)).body
  t.strictSame(readSchool, expectedRead('schools', fx.school(), school, node.bureau, { derived }), 'R-8.1 school with derived counts')

  const teacher = await node.call('POST', '/api/v1/school-teachers', { ...fx.teacher(), schoolId: school.id })
  t.equal(teacher.status, 201)
  const age = new Date().getFullYear() - 1980 - (new Date().getMonth() + 1 < 5 ? 1 : 0)
  t.strictSame((await node.call('GET', `/api/v1/school-teachers/${teacher.body.id}`)).body, expectedRead('school_teachers', { ...fx.teacher(), schoolId: school.id }, teacher.body, node.school, { age }), 'R-8.2 teacher, age derived')

  t.strictSame((await node.call('GET', `/api/v1/classes/${klass.id}`)).body, expectedRead('school_classes', { ...fx.klass(), schoolId: school.id }, klass, node.school, { schoolCode: school.schoolCode }), 'R-9.1 class')
})

t.test('R-10.1 R-10.2 R-10.3 R-10.4 R-10.5 R-10.6 R-10.7 R-10.8 a student with every sub-record in one request', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const input = { ...fx.student({ householdType: '3', leftBehind: '0' }), schoolId: school.id, classId: klass.id }
  const created = await node.call('POST', '/api/v1/students', { ...input, ...fx.subRecords })
  t.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300))
  const read = (await node.call('GET', `/api/v1/students/${created.body.id}`)).body
  t.strictSame(read, created.body, 'the create answers the record as a read does')
  const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  t.ok([read.id, read.guardians[0].id, read.resumes[0].id].every(id => v7.test(id)), 'new records get time-ordered (version-7) ids')

  const expected = expectedRead('students', input, read, node.school, { schoolCode: school.schoolCode, pinyinInitials: 'zxm', state: 'in_school' })
  const groups = ['resumes', 'guardians', 'familyMembers', 'registrations', 'exams', 'awards', 'punishments', 'enrolment', 'completion', 'statusChanges', 'problems']
  const person = Object.fromEntries(Object.entries(read).filter(([k]) => !groups.includes(k)))
  t.strictSame(person, expected, 'R-10.1 personal info')

  const tables: Record<string, string> = {
    resumes: 'student_resumes', guardians: 'student_guardians', familyMembers: 'student_family_members', registrations: 'student_registrations',
    exams: 'student_exams', awards: 'student_awards', punishments: 'student_punishments',
  }
  const reqs: Record<string, string> = { resumes: 'R-10.2', guardians: 'R-10.3', familyMembers: 'R-10.4', registrations: 'R-10.5', exams: 'R-10.6', awards: 'R-10.7', punishments: 'R-10.7' }
  for (const [group, table] of Object.entries(tables)) {
    const sent = (fx.subRecords as Json)[group] as Json[]
    t.equal(read[group].length, sent.length, `${group}: all written`)
    sent.forEach((item, i) => {
      t.strictSame(read[group][i], expectedRead(table, { ...item, studentId: read.id }, read[group][i], node.school), `${reqs[group]} ${group}[${i}]`)
    })
    await revealsClear(t, node, table, read[group][0].id, sent[0])
  }
  t.strictSame(read.enrolment, expectedRead('student_enrolments', { ...fx.subRecords.enrolment, studentId: read.id }, read.enrolment, node.school), 'R-10.8 enrolment')
  await revealsClear(t, node, 'student_enrolments', read.enrolment.id, fx.subRecords.enrolment)
  t.equal(read.completion, null)
  t.strictSame(read.statusChanges, [])
  t.strictSame(read.problems, [])
  await revealsClear(t, node, 'students', read.id, input)

  // Each group also has its own routes: list and read one.
  const list = await node.call('GET', `/api/v1/students/${read.id}/guardians`)
  t.strictSame(list.body.items, read.guardians)
  const one = await node.call('GET', `/api/v1/students/${read.id}/awards/${read.awards[0].id}`)
  t.strictSame(one.body, read.awards[0])
})

t.test('R-10.9 R-10.10 completion and status changes, with death details for type 51', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const student = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const completion = await node.call('POST', `/api/v1/students/${student.id}/completions`, fx.completion())
  t.equal(completion.status, 201)
  t.strictSame((await node.call('GET', `/api/v1/students/${student.id}/completions/${completion.body.id}`)).body,
    expectedRead('student_completions', { ...fx.completion(), studentId: student.id }, completion.body, node.school), 'R-10.9 completion')

  t.equal((await node.call('GET', `/api/v1/students/${student.id}`)).body.state, 'graduated', 'a completion ends the schooling')

  // Status changes are applied for (node/status-changes); a withdrawn one leaves room for the next.
  const other = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '钱多多' }), schoolId: school.id, classId: klass.id })).body
  const sub = (id: string) => `/api/v1/students/${other.id}/status-changes/${id}`
  const transfer = await node.call('POST', `/api/v1/students/${other.id}/status-changes`, fx.application())
  t.equal(transfer.status, 201)
  t.strictSame((await node.call('GET', sub(transfer.body.id))).body, expectedRead('student_status_changes', { ...fx.application(), studentId: other.id }, transfer.body, node.school, fx.applied(true, school.schoolCode)), 'R-10.10 transfer out')
  t.equal((await node.call('POST', `/api/v1/status-changes/${transfer.body.id}/withdraw`, { version: 1 })).status, 200)

  const death = fx.application({ changeType: '51', changeDate: '2026-04-02', reason: '交通事故', deathDate: '2026-04-01', deathCause: '交通事故', responsibility: '1', reviewOpinion: '情况属实', currentSchoolCode: null })
  const d = await node.call('POST', `/api/v1/students/${other.id}/status-changes`, death)
  t.equal(d.status, 201)
  t.strictSame((await node.call('GET', sub(d.body.id))).body, expectedRead('student_status_changes', { ...death, studentId: other.id }, d.body, node.school, fx.applied(true, school.schoolCode)), 'R-10.10 death details masked on read')
  await revealsClear(t, node, 'student_status_changes', d.body.id, death)

  const read = (await node.call('GET', `/api/v1/students/${student.id}`)).body
  t.equal(read.completion.id, completion.body.id)
  t.strictSame((await node.call('GET', `/api/v1/students/${other.id}`)).body.statusChanges.map((s: Json) => s.id), [transfer.body.id, d.body.id])
})

t.test('R-8.3 R-8.4 R-11.1 R-12.1 R-12.2 R-12.3 R-12.4 R-12.5 kindergarten, teacher, class, child and its records', async t => {
  const node = await recordsNode(t)
  const { kg, kgClass } = await withKindergarten(node)
  const child = { ...fx.child({ householdType: '1', leftBehind: '2' }), kindergartenId: kg.id, classId: kgClass.id }
  const created = await node.call('POST', '/api/v1/children', { ...child, ...fx.childSubRecords })
  t.equal(created.status, 201, JSON.stringify(created.body).slice(0, 300))
  const c = created.body

  const kgRead = (await node.call('GET', `/api/v1/kindergartens/${kg.id}`)).body
  const derived = { classesTotal: 1, classesByGrade: [{ grade: 1, count: 1 }], childrenTotal: 1, childrenByAge: [{ age: ageOn('2022-05-20'), count: 1 }] }
  t.strictSame(kgRead, expectedRead('kindergartens', fx.kindergarten(), kg, node.bureau, { derived }), 'R-8.3 kindergarten with derived class and child counts and ages')

  const teacher = await node.call('POST', '/api/v1/kindergarten-teachers', { ...fx.teacher({ post: '01', isHead: true }), kindergartenId: kg.id })
  t.equal(teacher.status, 201)
  t.equal(teacher.body.age, ageOn('1980-05-01'))
  t.strictSame(teacher.body, expectedRead('kindergarten_teachers', { ...fx.teacher(), kindergartenId: kg.id }, teacher.body, node.school, { age: teacher.body.age }), 'R-8.4 director')

  t.strictSame(kgClass, expectedRead('kindergarten_classes', { ...fx.kgClass(), kindergartenId: kg.id }, kgClass, node.school, { kindergartenCode: kg.kindergartenCode }), 'R-11.1 kindergarten class')

  const groups = ['guardians', 'familyMembers', 'registrations', 'attendance', 'statusChanges', 'problems']
  const person = Object.fromEntries(Object.entries(c).filter(([k]) => !groups.includes(k)))
  t.strictSame(person, expectedRead('children', child, c, node.school, { kindergartenCode: kg.kindergartenCode, pinyinInitials: 'sxy', state: 'in_kindergarten' }), 'R-12.1 child')
  t.notOk('political' in c || 'schoolStudentNo' in c, 'R-12.1 no political status, no 学号')
  await revealsClear(t, node, 'children', c.id, child)
  t.strictSame(c.guardians[0], expectedRead('child_guardians', { ...fx.childSubRecords.guardians[0], childId: c.id }, c.guardians[0], node.school), 'R-12.2 guardian')
  t.strictSame(c.familyMembers[0], expectedRead('child_family_members', { ...fx.childSubRecords.familyMembers[0], childId: c.id }, c.familyMembers[0], node.school), 'R-12.2 family member')
  await revealsClear(t, node, 'child_guardians', c.guardians[0].id, fx.childSubRecords.guardians[0])
  t.strictSame(c.registrations[0], expectedRead('child_registrations', { ...fx.childSubRecords.registrations[0], childId: c.id }, c.registrations[0], node.school), 'R-12.3 registration')

  const attendance = { kindergartenCode: kg.kindergartenCode, entryYm: '2025-09', sourceArea: '330106', attendanceWay: '1', leaveYm: '2026-07', leaveReason: '随父母迁居' }
  const a = await node.call('POST', `/api/v1/children/${c.id}/attendances`, attendance)
  t.equal(a.status, 201)
  t.strictSame(a.body, expectedRead('child_attendances', { ...attendance, childId: c.id }, a.body, node.school), 'R-12.4 entry and leaving')

  const change = { changeType: '51', changeDate: '2026-04-02', reason: '疾病', deathDate: '2026-04-01', deathCause: '疾病', responsibility: '1', reviewOpinion: '属实' }
  const s = await node.call('POST', `/api/v1/children/${c.id}/status-changes`, change)
  t.equal(s.status, 201)
  const { approvalDate: _d, approvalDocNo: _n, ...childApplied } = fx.applied(true, kg.kindergartenCode)
  t.strictSame((await node.call('GET', `/api/v1/children/${c.id}/status-changes/${s.body.id}`)).body, expectedRead('child_status_changes', { ...change, childId: c.id }, s.body, node.school, childApplied), 'R-12.5 status change with death details')
  await revealsClear(t, node, 'child_status_changes', s.body.id, change)

  const read = (await node.call('GET', `/api/v1/children/${c.id}`)).body
  t.equal(read.attendance.id, a.body.id)
  t.equal(read.statusChanges[0].id, s.body.id)
})

/** Completed years at today (China time is close enough for these fixed dates). */
t.test('R-27.1 R-25.1 a list item is its record as read alone, masked the same, whether the read workers or the main thread make the page', async t => {
  for (const readWorkers of [2, 0]) {
    const node = await recordsNode(t, { config: { server: { readWorkers } } })
    const { school } = await withSchool(node)
    const { kg } = await withKindergarten(node)
    // Sub-records too: a real (an exam's score), booleans, nulls, and text JSON must escape.
    const resumes = [{ ...fx.subRecords.resumes[0], remarks: '表现"良好"\\优 𠮷' }]
    const made = [
      await node.call('POST', '/api/v1/students', { ...fx.student({ householdType: '3', leftBehind: '0' }), schoolId: school.id, ...fx.subRecords, resumes }),
      await node.call('POST', '/api/v1/school-teachers', { ...fx.teacher(), schoolId: school.id }),
      await node.call('POST', '/api/v1/children', { ...fx.child(), kindergartenId: kg.id }),
    ]
    for (const r of made) t.equal(r.status, 201, JSON.stringify(r.body).slice(0, 200))
    const groups = new Set(['resumes', 'guardians', 'familyMembers', 'registrations', 'exams', 'awards', 'punishments', 'enrolment', 'completion', 'statusChanges', 'attendance', 'problems'])
    for (const [path, id] of [['students', made[0].body.id], ['school-teachers', made[1].body.id], ['children', made[2].body.id], ['schools', school.id]]) {
      const read = (await node.call('GET', `/api/v1/${path}/${id}`)).body
      const listed = await node.app.inject({ method: 'GET', url: `/api/v1/${path}`, headers: node.school.headers })
      t.equal(listed.headers['content-type'], 'application/json; charset=utf-8')
      const item = (listed.json() as Json).items.find((i: Json) => i.id === id)
      const alone = Object.fromEntries(Object.entries(read).filter(([k]) => !groups.has(k) && k !== 'derived'))
      t.strictSame(item, alone, `${path} (readWorkers ${readWorkers}): every field, masked as a read masks it`)
    }
    const student = (await node.call('GET', `/api/v1/students/${made[0].body.id}`)).body
    t.equal(student.resumes[0].remarks, resumes[0].remarks)
    const paths: Record<string, string> = { resumes: 'resumes', guardians: 'guardians', familyMembers: 'family-members', registrations: 'registrations', exams: 'exams', awards: 'awards', punishments: 'punishments', enrolment: 'enrolments' }
    for (const [group, path] of Object.entries(paths)) {
      const listed = await node.call('GET', `/api/v1/students/${student.id}/${path}`)
      t.strictSame(listed.body.items, [student[group]].flat(), `${path} (readWorkers ${readWorkers}): the student's read shows them so`)
    }
  }
})

t.test('R-27.1 a list asked for some fields answers those and the id, masked as a read masks them; a field its records lack is refused', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  const student = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id })).body
  const teacher = (await node.call('POST', '/api/v1/school-teachers', { ...fx.teacher(), schoolId: school.id })).body
  const items = async (path: string) => (await node.call('GET', path)).body.items as Json[]
  t.strictSame(await items('/api/v1/students?fields=name,%20idNumber,name'), [{ id: student.id, name: student.name, idNumber: student.idNumber }], 'the id, the name and the ID number masked as read')
  t.match(student.idNumber, /\*{8}/, 'the read masks the ID number')
  t.strictSame(await items('/api/v1/school-teachers?fields=name,age'), [{ id: teacher.id, name: teacher.name, age: teacher.age }], "a teacher's age when asked")
  t.strictSame(await items('/api/v1/school-teachers?fields=name'), [{ id: teacher.id, name: teacher.name }], 'and not otherwise')
  t.strictSame(Object.keys((await items('/api/v1/students?fields='))[0]).length, Object.keys((await items('/api/v1/students'))[0]).length, 'fields= empty: every field')
  const refused = await node.call('GET', '/api/v1/students?fields=name,nope,age')
  t.equal(refused.status, 400)
  t.equal(refused.body.code, 'QUERY_FIELD_UNKNOWN')
  t.strictSame(refused.body.details.unknown, ['nope', 'age'], 'a student has no age field')
  t.match(refused.body.message, /没有这些字段：nope、age/)
})

function ageOn(birth: string): number {
  const today = new Date().toISOString().slice(0, 10)
  const years = Number(today.slice(0, 4)) - Number(birth.slice(0, 4))
  return today.slice(5) < birth.slice(5) ? years - 1 : years
}
