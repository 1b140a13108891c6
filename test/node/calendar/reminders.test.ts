/**
 * Reminders before the deadlines of new-student entry and completion info:
 * raised with a clock the test sets, `reminderDays` before the deadline and not before, to the
 * school and its bureau, once per school and deadline, not for a school that has finished; listed
 * by `GET /api/v1/calendar/reminders` within the reader's scope.
 */
import t from 'tap'
import { PROVINCE_DATES } from '../../../config/calendar.ts'
import { createCalendarService } from '../../../node/calendar/service.ts'
import { createRecordsService } from '../../../node/services/records/service.ts'
import * as fx from '../../records/fixtures.ts'
import { loginAs } from '../../helper.ts'
import { recordsNode, withSchool, type Json } from '../../records/setup.ts'
import { serviceActor } from '../status-changes/lib.ts'

const noon = (day: string) => new Date(Date.parse(`${day}T12:00:00+08:00`))

t.test('R-19.2 R-19.6 a reminder before each deadline to the school and its bureau, once per school and deadline', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const b = await node.call('POST', '/api/v1/schools', fx.school({ schoolCode: '3301060102', name: '西湖区第二小学' }), node.bureau)
  const bClass = await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2027001', grade: 1 }), schoolId: b.body.id }, node.bureau)
  t.equal(bClass.status, 201)
  // This year's new students, entered in September 2027: A's unverified, B's verified.
  const records = createRecordsService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, now: () => noon('2027-09-10'), dates: PROVINCE_DATES })
  const entrant = (schoolId: string, classId: string, seq: number, actor = serviceActor(node.school)) =>
    records.create(actor, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `新生${seq}`, namePinyin: null, enrolmentYm: '2027-09' }), schoolId, classId })
  entrant(school.id, klass.id, 1)
  const verified = entrant(String(b.body.id), String(bClass.body.id), 2, serviceActor(node.bureau))
  node.app.storage.sqlite.prepare(`update students set first_verified_at = '2027-09-12T02:00:00.000Z' where id = ?`).run(verified.id)

  const clock = { now: noon('2027-09-15') }
  const svc = createCalendarService({ storage: node.app.storage, dates: PROVINCE_DATES, now: () => clock.now, bureauCode: '330106', reminderDays: 14 })
  t.equal(svc.raiseReminders(), 0, 'R-19.2 fifteen days before 30 September: not yet')
  clock.now = noon('2027-09-16')
  t.equal(svc.raiseReminders(), 1, 'R-19.2 fourteen days before: one reminder')
  t.match(svc.reminders(() => true), [{ schoolId: school.id, bureauCode: '330106', requirement: 'R-19.2', schoolYear: 2027, deadline: '2027-09-30', state: 'open', entered: 1, verified: 0 }], 'to the school whose new student is unverified, and its bureau; not to the school that has finished')
  t.equal(svc.raiseReminders(), 0, 'raised once: a second check the same day raises nothing')
  clock.now = noon('2027-09-30')
  t.equal(svc.raiseReminders(), 0, 'nor on the deadline')

  clock.now = noon('2028-07-16')
  t.equal(svc.raiseReminders(), 2, 'R-19.6 fourteen days before 30 July: both schools, no completion info entered yet')
  t.equal(svc.raiseReminders(), 0)

  // The API: the school sees its own, the bureau all.
  const own = await node.call('GET', '/api/v1/calendar/reminders')
  t.equal(own.status, 200)
  t.strictSame(own.body.items.map((r: Json) => `${r.schoolCode} ${r.requirement}`).sort(), ['3301060101 R-19.2', '3301060101 R-19.6'], 'the school administrator lists the school’s reminders')
  const bureau = await node.call('GET', '/api/v1/calendar/reminders', undefined, node.bureau)
  t.equal(bureau.body.items.length, 3, 'the bureau lists every school’s')
})

t.test('R-19.2 R-16.1 R-17.5 a class-bound reader sees a reminder with its own classes\' counts, not the school\'s', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  const classX = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2027001', name: '一年级（1）班', grade: 1 }), schoolId: school.id })).body
  const classY = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2027002', name: '一年级（2）班', grade: 1 }), schoolId: school.id })).body
  // New students of 2027, entered in September: two in class X, three in class Y.
  const records = createRecordsService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, now: () => noon('2027-09-10'), dates: PROVINCE_DATES })
  const entrant = (classId: string, seq: number) =>
    records.create(serviceActor(node.school), 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `新生${seq}`, namePinyin: null, enrolmentYm: '2027-09' }), schoolId: school.id, classId })
  const [x1] = [entrant(classX.id, 1), entrant(classX.id, 2)]
  for (const seq of [3, 4, 5]) entrant(classY.id, seq)
  // The grade administrator of class X verifies one of its two.
  const gradeAdmin = await loginAs(node.app, 'grade_admin', { kind: 'classes', school: school.schoolCode, classes: [classX.id] })
  t.equal((await node.call('POST', `/api/v1/verification/students/${x1.id}/verify`, undefined, gradeAdmin)).status, 200)
  const classAdmin = await loginAs(node.app, 'class_admin', { kind: 'classes', school: school.schoolCode, classes: [classY.id] })

  const svc = createCalendarService({ storage: node.app.storage, dates: PROVINCE_DATES, now: () => noon('2027-09-16'), bureauCode: '330106', reminderDays: 14 })
  t.equal(svc.raiseReminders(), 1, 'one reminder: the school has unverified new students')
  const listed = async (login: typeof gradeAdmin) => {
    const r = await node.call('GET', '/api/v1/calendar/reminders', undefined, login)
    t.equal(r.status, 200)
    return r.body.items.map((i: Json) => ({ schoolId: i.schoolId, requirement: i.requirement, state: i.state, entered: i.entered, verified: i.verified }))
  }
  t.strictSame(await listed(node.school), [{ schoolId: school.id, requirement: 'R-19.2', state: 'open', entered: 5, verified: 1 }], 'the school administrator: the school\'s 5 entered, 1 verified')
  t.strictSame(await listed(gradeAdmin), [{ schoolId: school.id, requirement: 'R-19.2', state: 'open', entered: 2, verified: 1 }], 'the grade administrator of class X: its 2, 1 of them verified')
  t.strictSame(await listed(classAdmin), [{ schoolId: school.id, requirement: 'R-19.2', state: 'open', entered: 3, verified: 0 }], 'the class administrator of class Y: its 3, none verified')
  t.strictSame(await listed(node.bureau), await listed(node.school), 'the bureau sees the school\'s counts')
})
