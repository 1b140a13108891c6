/**
 * Entry and completion deadlines per school (R-19.2, R-19.6; node/calendar/deadlines.ts): counts
 * of the school year's new students and completions, entered and verified, judged against their
 * deadline with a clock the test sets, on both sides of it; a local date; the route's scope.
 */
import t from 'tap'
import { PROVINCE_DATES } from '../../../config/calendar.ts'
import { createCalendarService } from '../../../node/calendar/service.ts'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool } from '../../records/setup.ts'

const noon = (day: string) => new Date(Date.parse(`${day}T12:00:00+08:00`))

t.test('R-19.2 R-19.6 a school’s new students and completion info against their deadlines', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const enter = async (seq: number, enrolmentYm: string) => {
    const r = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm }), schoolId: school.id, classId: klass.id })
    t.equal(r.status, 201, JSON.stringify(r.body))
    return String(r.body.id)
  }
  const a = await enter(1, '2025-09')
  const b = await enter(2, '2025-09')
  await enter(3, '2024-09')
  const d = await enter(4, '2020-09')
  t.equal((await node.call('POST', `/api/v1/students/${d}/completions`, fx.completion({ completionYm: '2026-06' }))).status, 201)
  const db = node.app.storage.sqlite
  // Verification has its own routes and roles (test/node/auth/verification.test.ts); here only its mark counts.
  const verify = (table: string, column: string, id: string) => db.prepare(`update ${table} set first_verified_at = '2025-09-20T02:00:00.000Z' where ${column} = ?`).run(id)
  verify('students', 'id', a)
  const clock = { now: noon('2025-09-30') }
  const svc = createCalendarService({ storage: node.app.storage, dates: PROVINCE_DATES, now: () => clock.now })
  const state = () => svc.deadlines(() => true)[0]

  t.match(state(), { schoolCode: fx.school().schoolCode, schoolYear: 2025, newStudents: { requirement: 'R-19.2', deadline: '2025-09-30', entered: 2, verified: 1, state: 'open', daysLeft: 0 } }, 'R-19.2 on the last day: open, one of two verified (last year’s entrant not counted)')
  clock.now = noon('2025-10-01')
  t.match(state().newStudents, { state: 'overdue', daysLeft: -1 }, 'R-19.2 the day after: overdue')
  verify('students', 'id', b)
  t.match(state().newStudents, { entered: 2, verified: 2, state: 'done' }, 'R-19.2 all verified: done')

  t.match(state().completions, { requirement: 'R-19.6', deadline: '2026-07-30', entered: 1, verified: 0 }, 'R-19.6 the graduate’s completion counts in 2025–26')
  clock.now = noon('2026-07-30')
  t.match(state().completions, { state: 'open', daysLeft: 0 }, 'R-19.6 on 30 July: open')
  clock.now = noon('2026-07-31')
  t.match(state().completions, { state: 'overdue' }, 'R-19.6 on 31 July: overdue')
  verify('student_completions', 'student_id', d)
  t.match(state().completions, { state: 'done' }, 'R-19.6 verified: done')
  clock.now = noon('2024-10-08')
  t.match(state(), { schoolYear: 2024, newStudents: { entered: 1, verified: 0, state: 'overdue' }, completions: { entered: 0, state: 'none' } }, 'another school year counts its own records')

  const late = createCalendarService({ storage: node.app.storage, dates: { ...PROVINCE_DATES, newStudentsBy: '10-15' }, now: () => noon('2025-10-01') })
  db.prepare('update students set first_verified_at = null where id = ?').run(b)
  t.match(late.deadlines(() => true)[0].newStudents, { deadline: '2025-10-15', state: 'open' }, 'R-30.1 with a local date of 15 October the same day is still open')

  const own = await node.call('GET', '/api/v1/calendar/deadlines')
  t.match(own, { status: 200, body: { items: [{ schoolId: school.id }] } }, 'the school administrator sees the school')
  t.equal(own.body.items.length, 1)
  const other = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: ['3301060199'] })
  t.strictSame((await node.call('GET', '/api/v1/calendar/deadlines', undefined, other)).body, { items: [] }, 'another school’s administrator sees nothing of it')
})

t.test('R-19.3 the end-of-term check lists unverified, unregistered and unplaced students and open problems of the term', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const enter = async (seq: number, over: Record<string, unknown> = {}) => {
    const r = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId: school.id, classId: klass.id, ...over })
    t.equal(r.status, 201, JSON.stringify(r.body))
    return String(r.body.id)
  }
  const registration = (term: string) => [{ ...fx.subRecords.registrations[0], term }]
  const done = await enter(1, { registrations: registration('2025-2') })
  const unverified = await enter(2, { registrations: registration('2025-2') })
  const autumnOnly = await enter(3, { registrations: registration('2025-1') })
  const unplaced = await enter(4, { classId: null, registrations: registration('2025-2') })
  const db = node.app.storage.sqlite
  // Verification has its own routes and roles; here only its state counts.
  db.prepare(`update students set verify_state = 'verified' where id in (?, ?, ?)`).run(done, autumnOnly, unplaced)
  const clock = { now: noon('2026-01-31') }
  const svc = createCalendarService({ storage: node.app.storage, dates: PROVINCE_DATES, now: () => clock.now })
  const check = () => svc.termCheck(() => true)[0]

  t.match(check(), { term: '2025-1', unverified: { count: 1, studentIds: [unverified] }, unplaced: { count: 1, studentIds: [unplaced] }, openProblems: 0 }, 'on 31 January the first term is checked')
  t.strictSame(check().unregistered, { count: 3, studentIds: [done, unverified, unplaced] }, 'those without a 2025-1 registration')
  clock.now = noon('2026-02-01')
  t.match(check(), { term: '2025-2', unregistered: { count: 1, studentIds: [autumnOnly] } }, 'from 1 February the second term: only the one without a 2025-2 registration')
  const local = createCalendarService({ storage: node.app.storage, dates: { ...PROVINCE_DATES, termTwoStarts: '02-20' }, now: () => noon('2026-02-01') })
  t.equal(local.termCheck(() => true)[0].term, '2025-1', 'R-30.1 a local second-term start of 20 February')

  const res = await node.call('GET', '/api/v1/calendar/term-check')
  t.match(res, { status: 200, body: { items: [{ schoolId: school.id, unverified: { count: 1 } }] } }, 'the school administrator’s check over HTTP')
})

t.test('R-19.3 R-16.1 R-17.6 the end-of-term check shows a teacher the students of its own classes only', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const other = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2023001', name: '三年级（1）班', grade: 3 }), schoolId: school.id })).body
  const enter = async (seq: number, classId: string | null) => String((await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId: school.id, classId })).body.id)
  const own = await enter(1, klass.id)
  const sibling = await enter(2, other.id)
  const unplaced = await enter(3, null)
  // Two students without an ID number, of the same name, gender and birth date: a 查重 problem about the sibling class's.
  const twin = { ...fx.student({ idNumber: null, studentNo: null, name: '同名生', namePinyin: null }), schoolId: school.id, classId: other.id }
  for (let i = 0; i < 2; i++) t.equal((await node.call('POST', '/api/v1/students', twin)).status, 201)
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const check = async (login = node.school) => (await node.call('GET', '/api/v1/calendar/term-check', undefined, login)).body.items[0]
  const whole = await check()
  t.strictSame([whole.unverified.count, whole.unverified.studentIds.slice(0, 3), whole.openProblems], [5, [own, sibling, unplaced], 1], 'the school administrator: the whole school, its open 查重 problem too')
  const mine = await check(teacher)
  t.strictSame([mine.schoolId, mine.unverified, mine.unplaced, mine.openProblems], [school.id, { count: 1, studentIds: [own] }, { count: 0, studentIds: [] }, 0], 'the teacher: its class, no other class, no student without one, no problem of another class')
})

t.test('R-19.2 R-19.6 R-16.1 the deadlines show a teacher the new students and completions of its own classes only', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const other = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2023001', name: '三年级（1）班', grade: 3 }), schoolId: school.id })).body
  const year = Number(new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 4)) - (new Date(Date.now() + 8 * 3600_000).toISOString().slice(5, 10) < '08-01' ? 1 : 0)
  const enter = async (seq: number, classId: string) => {
    const r = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm: `${year}-08` }), schoolId: school.id, classId })
    t.equal(r.status, 201, JSON.stringify(r.body).slice(0, 200))
    return String(r.body.id)
  }
  const own = await enter(1, klass.id)
  const sibling = await enter(2, other.id)
  await enter(3, other.id)
  for (const id of [own, sibling]) t.equal((await node.call('POST', `/api/v1/students/${id}/completions`, fx.completion({ completionYm: `${year}-08` }))).status, 201, 'a completion of this school year')
  node.app.storage.sqlite.prepare(`update students set first_verified_at = '${year}-09-20T02:00:00.000Z' where id = ?`).run(own)
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const deadlines = async (login = node.school) => (await node.call('GET', '/api/v1/calendar/deadlines', undefined, login)).body.items[0]
  t.match(await deadlines(), { schoolId: school.id, newStudents: { entered: 3, verified: 1 }, completions: { entered: 2, verified: 0 } }, 'the school administrator counts the whole school')
  t.match(await deadlines(node.bureau), { newStudents: { entered: 3, verified: 1 }, completions: { entered: 2 } }, 'so does the bureau')
  const mine = await deadlines(teacher)
  t.match(mine, { schoolId: school.id, newStudents: { entered: 1, verified: 1, state: 'done' }, completions: { entered: 1, verified: 0 } }, 'the teacher: its own class’s new student only, not the sibling class’s')
})
