/**
 * The 1 August rollover (R-21.1; node/calendar/rollover.ts, rollover-service.ts) on a real node
 * database with a clock the test sets: the dry run with each kind of blocker, a blocked school left
 * alone while the others roll, the real run (grades, class names, the term, graduates completing
 * through the completion path, kindergarten classes and leavers), a repeated run that changes
 * nothing, and the lock following the school's rollover on both sides of its day. Then the
 * routes: the dry run and the run over HTTP, their refusals and OpenAPI.
 */
import t, { type Test } from 'tap'
import { PROVINCE_DATES } from '../../../config/calendar.ts'
import { promotedName } from '../../../node/calendar/rollover.ts'
import { createRolloverService } from '../../../node/calendar/rollover-service.ts'
import { createRecordsService } from '../../../node/services/records/service.ts'
import { inScope } from '../../../node/auth/access.ts'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withKindergarten, withSchool, type Json, type RecordsNode } from '../../records/setup.ts'
import { application, serviceActor, verifyChange } from '../status-changes/lib.ts'

const noon = (day: string) => new Date(Date.parse(`${day}T12:00:00+08:00`))
const lastSecond = (day: string) => new Date(Date.parse(`${day}T23:59:59+08:00`))
const firstSecond = (day: string) => new Date(Date.parse(`${day}T00:00:00+08:00`))
const realToday = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)

/** POSTs a record (as the school administrator unless told) and expects it created. */
const creator = (t: Test, node: RecordsNode) => async (url: string, body: Json, login = node.school) => {
  const r = await node.call('POST', url, body, login)
  t.equal(r.status, 201, `${url}: ${JSON.stringify(r.body).slice(0, 300)}`)
  return r.body
}

t.test('R-21.1 class names follow the grade where they write it', async t => {
  t.equal(promotedName('四年级（1）班', 4, 5, 'school'), '五年级（1）班')
  t.equal(promotedName('4年级（1）班', 4, 5, 'school'), '5年级（1）班')
  t.equal(promotedName('初二（1）班', 8, 9, 'school'), '初三（1）班')
  t.equal(promotedName('高一3班', 10, 11, 'school'), '高二3班')
  t.equal(promotedName('2024级(1)班', 2, 3, 'school'), '2024级(1)班', 'a name without a grade is kept')
  t.equal(promotedName('小一班', 1, 2, 'kindergarten'), '中一班')
  t.equal(promotedName('中(2)班', 2, 3, 'kindergarten'), '大(2)班')
})

t.test('R-21.1 R-22.3 dry run with every blocker, a blocked school left alone, the real run, a repeated run, and the lock following the rollover', async t => {
  const node = await recordsNode(t)
  const db = node.app.storage.sqlite
  const { school, klass: g4 } = await withSchool(node)
  const { kg, kgClass: small } = await withKindergarten(node)
  const created = creator(t, node)
  const g6 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2021001', name: '六年级（1）班', grade: 6 }), schoolId: school.id })
  const big = await created('/api/v1/kindergarten-classes', { ...fx.kgClass({ classCode: 'K2023001', name: '大一班', grade: 3 }), kindergartenId: kg.id })
  let seq = 10
  const student = (classId: string, schoolId = school.id, login = node.school) =>
    created('/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId, classId }, login)
  const [s1, s2, s3, s4] = [await student(g4.id), await student(g4.id), await student(g6.id), await student(g4.id)]
  const child = (classId: string, classCode: string) => created('/api/v1/children', {
    ...fx.child({ idNumber: fx.idNumber('2022-05-20', '2', ++seq), name: `幼儿${seq}`, namePinyin: null }), kindergartenId: kg.id, classId,
    ...fx.childSubRecords, registrations: [{ ...fx.childSubRecords.registrations[0], classCode }],
    attendance: { kindergartenCode: fx.kindergarten().kindergartenCode, entryYm: '2024-09', attendanceWay: '1' },
  })
  const c1 = await child(small.id, small.classCode)
  const c2 = await child(big.id, big.classCode)
  // A second school (the bureau's) with a class whose 学制 does not fit its grade.
  const schoolB = await created('/api/v1/schools', fx.school({ schoolCode: '3301060102', name: '西湖区第二小学' }), node.bureau)
  const b2 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2025001', name: '二年级（1）班', grade: 2 }), schoolId: schoolB.id }, node.bureau)
  const b8 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2025002', name: '初二（1）班', grade: 8 }), schoolId: schoolB.id }, node.bureau)
  const b1 = await student(b2.id, schoolB.id, node.bureau)

  const clock = { now: noon('2027-08-01') }
  const svc = createRolloverService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, dates: PROVINCE_DATES, now: () => clock.now })
  const item = (report: { items: Json[] }, id: string) => report.items.find(i => i.unitId === id)!
  const grade = (table: string, id: string) => (db.prepare(`select grade, name from ${table} where id = ?`).get(id) as Json)
  const state = (table: string, id: string) => (db.prepare(`select state from ${table} where id = ?`).get(id) as Json).state

  // Pending business: an application of 休学 for s4, not yet reviewed.
  const applied = await created(`/api/v1/students/${s4.id}/status-changes`, application({ changeType: '11', changeDate: realToday() }))
  let dry = svc.dryRun()
  t.match(dry, { schoolYear: 2027, day: '2027-08-01', term: '2027-1' }, 'the rollover into 2027–28 on 1 August; the term becomes 2027-1')
  t.match(item(dry, school.id), { state: 'blocked', promoted: 3, completing: 1, blockers: [{ code: 'pending_status_change', recordIds: [applied.id], personIds: [s4.id] }] }, 'R-21.1 a pending status change blocks the school')
  t.match(item(dry, school.id).classes, [{ classId: g4.id, action: 'up', toGrade: 5, toName: '五年级（1）班', pupils: 3 }, { classId: g6.id, action: 'complete', pupils: 1 }], 'and the dry run lists what would change')
  t.match(item(dry, schoolB.id), { state: 'blocked', blockers: [{ code: 'schooling_mismatch', classId: b8.id }] }, 'a 学制 that does not fit the grade (六年制, grade 8) blocks school B')
  t.match(item(dry, kg.id), { state: 'ready', promoted: 1, completing: 1, blockers: [] }, 'the kindergarten is ready')
  t.equal(item(dry, kg.id).blockers.length, 0)

  // Carried out, the 休学 leaves s4 suspended in a class that moves.
  const appliedVersion = await verifyChange(node, applied.id)
  t.equal((await node.call('POST', `/api/v1/status-changes/${applied.id}/review`, { version: appliedVersion, decision: 'approve', approvalDocNo: '西教〔2026〕9号' }, node.bureau)).status, 200)
  t.equal((await node.call('POST', `/api/v1/status-changes/${applied.id}/carry-out`, { version: appliedVersion + 1 }, node.bureau)).status, 200)
  dry = svc.dryRun()
  t.match(item(dry, school.id), { state: 'blocked', promoted: 2, blockers: [{ code: 'not_in_school', classId: g4.id, personIds: [s4.id] }] }, 'R-21.1 a suspended student in a class that moves blocks the school')
  t.equal(item(dry, school.id).blockers.length, 1, 'the carried-out change no longer does')

  // The real run: the kindergarten rolls, the blocked schools are left alone.
  const outboxBefore = node.counts().outbox
  let run = svc.run()
  t.match(item(run, kg.id), { state: 'done', rolledOn: '2027-08-01', promoted: 1, completing: 1 })
  t.match(item(run, school.id), { state: 'blocked' })
  t.match(item(run, schoolB.id), { state: 'blocked' })
  t.match(grade('kindergarten_classes', small.id), { grade: 2, name: '中一班' }, 'R-21.1 小班 → 中班')
  t.match(grade('kindergarten_classes', big.id), { grade: 3, name: '大一班' }, 'the 大班 stays; its children leave')
  t.equal(state('children', c1.id), 'in_kindergarten')
  t.equal(state('children', c2.id), 'left', 'R-21.1 a child leaving for primary school completes its kindergarten record')
  t.match(db.prepare('select leave_ym, leave_reason from child_attendances where child_id = ?').get(c2.id), { leave_ym: '2027-07', leave_reason: /升入小学/ })
  t.match([grade('school_classes', g4.id), grade('school_classes', g6.id), grade('school_classes', b2.id)], [{ grade: 4 }, { grade: 6 }, { grade: 2 }], 'the blocked schools are not rolled')
  t.equal(state('students', s3.id), 'in_school')
  const rows = db.prepare('select table_name t, count(*) n from outbox where id > (select coalesce(max(id), 0) - ? from outbox) group by table_name order by 1').all(node.counts().outbox - outboxBefore)
  t.strictSame(rows, [{ t: 'child_attendances', n: 1 }, { t: 'children', n: 1 }, { t: 'kindergarten_classes', n: 1 }], 'its changes are in the outbox, to travel upward as change sets')

  // while the school's rollover is blocked, its past year stays open; an older year is locked by date.
  db.prepare(`update students set first_verified_at = '2025-09-20T02:00:00.000Z'`).run()
  const records = (when: Date) => createRecordsService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, now: () => when, dates: PROVINCE_DATES })
  const actor = serviceActor(node.school)
  const exam = records(noon('2027-07-01')).create(actor, 'student_exams', { ...fx.subRecords.exams[0], term: '2026-2', examDate: '2027-06-20' }, s1.id)
  const older = records(noon('2026-07-01')).create(actor, 'student_exams', { ...fx.subRecords.exams[0], term: '2025-2', examDate: '2026-06-20', course: '语文' }, s1.id)
  const edit = (when: Date, row: Json) => {
    const version = (db.prepare('select version from student_exams where id = ?').get(row.id) as Json).version
    try {
      records(when).update(actor, 'student_exams', String(row.id), { version, termComment: `评语${when.getTime()}` }, s1.id)
      return { ok: true }
    } catch (err) {
      return { ok: false, code: (err as Json).code, details: (err as Json).details }
    }
  }
  t.match(edit(noon('2027-08-03'), exam), { ok: true }, 'R-22.3 the 2026–27 exam is open while the school’s rollover is blocked')
  t.match(edit(noon('2027-08-03'), older), { ok: false, code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3', lockedFrom: '2026-08-01' } }, 'R-22.3 an older year stays locked from its own rollover day')

  // Blockers resolved: s4 resumes (复学), B's class gets its 学制 (三年制 junior).
  const back = await created(`/api/v1/students/${s4.id}/status-changes`, application({ changeType: '12', changeDate: realToday() }))
  const backVersion = await verifyChange(node, back.id)
  t.equal((await node.call('POST', `/api/v1/status-changes/${back.id}/review`, { version: backVersion, decision: 'approve', approvalDocNo: '西教〔2026〕10号' }, node.bureau)).status, 200)
  t.equal((await node.call('POST', `/api/v1/status-changes/${back.id}/carry-out`, { version: backVersion + 1 }, node.bureau)).status, 200)
  t.equal((await node.call('PATCH', `/api/v1/classes/${b8.id}`, { version: b8.version, schoolingLength: '3' }, node.bureau)).status, 200)
  clock.now = noon('2027-08-05')
  t.match(item(svc.dryRun(), school.id), { state: 'ready', promoted: 3, completing: 1 })
  run = svc.run()
  t.match(run.items.map((i: Json) => i.state), ['done', 'done', 'done'], 'R-21.1 once unblocked, every school has rolled')
  t.match(item(run, school.id), { state: 'done', rolledOn: '2027-08-05', promoted: 3, completing: 1 })
  t.match(grade('school_classes', g4.id), { grade: 5, name: '五年级（1）班' }, 'R-21.1 the class moves up with its students')
  t.match(grade('school_classes', b8.id), { grade: 9, name: '初三（1）班' })
  t.match(grade('school_classes', b2.id), { grade: 3, name: '三年级（1）班' })
  for (const s of [s1, s2, s4, b1]) t.equal(state('students', s.id), 'in_school', 'promoted students stay in school')
  t.equal(state('students', s3.id), 'graduated', 'R-21.1 the graduating class completes: its student is graduated')
  t.match(db.prepare('select graduating_school_code, completion_ym, verify_state from student_completions where student_id = ?').get(s3.id), { graduating_school_code: fx.school().schoolCode, completion_ym: '2027-07', verify_state: 'entered' }, 'through a completion record (R-10.9), to be verified by the school')
  t.match(db.prepare(`select state, term, day from calendar_rollovers where unit_id = ? and school_year = 2027`).get(school.id), { state: 'done', term: '2027-1', day: '2027-08-05' }, 'the school’s marker: rolled into 2027-1 on 5 August')

  // after the run, the past year locks from the day the school rolled: both sides of it.
  t.match(edit(lastSecond('2027-08-04'), exam), { ok: true }, 'R-22.3 open until 23:59:59 of the day before the school’s rollover')
  t.match(edit(firstSecond('2027-08-05'), exam), { ok: false, code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3', lastOpenDay: '2027-08-04', lockedFrom: '2027-08-05' } }, 'R-22.3 locked from 00:00 of the day it rolled')

  // A repeated run changes nothing.
  const counts = node.counts()
  const again = svc.run()
  t.match(again.items.map((i: Json) => i.state), ['done', 'done', 'done'])
  t.strictSame(node.counts(), counts, 'R-21.1 a second run writes nothing: no record, no outbox row')
  t.match(grade('school_classes', g4.id), { grade: 5 })
})

t.test('R-21.1 the dry-run and run routes: scope, refusals, OpenAPI', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const next = new Date(Date.now() + 8 * 3600_000).getUTCFullYear() + (realToday().slice(5) >= '08-01' ? 1 : 0)
  const dry = await node.call('GET', `/api/v1/calendar/rollover?schoolYear=${next}`, undefined, node.bureau)
  t.match(dry, { status: 200, body: { schoolYear: next, term: `${next}-1`, items: [{ unitId: school.id, state: 'ready', classes: [{ classId: klass.id, toGrade: 5 }] }] } }, 'the bureau previews next year’s rollover')
  const other = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: ['3301060199'] })
  t.strictSame((await node.call('GET', `/api/v1/calendar/rollover?schoolYear=${next}`, undefined, other)).body.items, [], 'another school’s administrator sees nothing of it')
  t.match(await node.call('GET', '/api/v1/calendar/rollover?schoolYear=2001', undefined, node.bureau), { status: 400, body: { code: 'CALENDAR_ROLLOVER_YEAR' } })
  t.match(await node.call('POST', '/api/v1/calendar/rollover', {}, node.school), { status: 403, body: { code: 'FORBIDDEN' } }, 'a school administrator may not run it')
  t.match(await node.call('POST', '/api/v1/calendar/rollover', { schoolId: 'nope' }, node.bureau), { status: 400, body: { code: 'CALENDAR_ROLLOVER_UNIT' } })
  // Today's rollover took effect before this school was entered: it starts in the new year.
  const run = await node.call('POST', '/api/v1/calendar/rollover', {}, node.bureau)
  t.match(run, { status: 200, body: { items: [{ unitId: school.id, state: 'done', promoted: 0 }] } })
  t.equal((node.app.storage.sqlite.prepare('select grade from school_classes where id = ?').get(klass.id) as Json).grade, 4, 'a school entered after the rollover day is not promoted')
  const doc = (await node.app.inject({ method: 'GET', url: '/docs/json' })).json() as Json
  t.ok(doc.paths['/api/v1/calendar/rollover']?.get && doc.paths['/api/v1/calendar/rollover']?.post && doc.paths['/api/v1/calendar/reminders']?.get, 'the routes are in OpenAPI')
})

t.test('R-21.1 R-16.1 R-17.6 the dry run shows a class-bound reader its school\'s blockers, but only its own classes\' students in them', async t => {
  const node = await recordsNode(t)
  const { school, klass: g4 } = await withSchool(node)
  const g3 = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2023001', name: '三年级（1）班', grade: 3 }), schoolId: school.id })).body
  let seq = 40
  const student = async (classId: string) => (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId: school.id, classId })).body
  const [own, sibling] = [await student(g4.id), await student(g3.id)]
  const apply = async (s: Json) => (await node.call('POST', `/api/v1/students/${s.id}/status-changes`, application({ changeType: '11', changeDate: realToday() }))).body
  const [ownChange, siblingChange] = [await apply(own), await apply(sibling)]
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [g4.id] })
  const svc = createRolloverService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, dates: PROVINCE_DATES, now: () => noon('2027-08-01') })
  const pending = (login: typeof teacher) => svc.dryRun({ reaches: tg => inScope(login.actor, tg) }).items[0].blockers.find(b => b.code === 'pending_status_change')!
  t.match(pending(node.school), { personIds: [own.id, sibling.id], recordIds: [ownChange.id, siblingChange.id] }, 'the school administrator sees every student it blocks on')
  t.strictSame([pending(teacher).personIds, pending(teacher).recordIds], [[own.id], [ownChange.id]], 'the teacher: its own class only')
  t.match(pending(teacher).message, /^有 2 项学籍异动尚未办结.*（其中 1 项在您的管理范围内）$/, 'the message counts the school and says how many the teacher sees')
  t.notMatch(pending(node.school).message, /其中/, 'the administrator sees them all')
})

t.test('R-21.1 R-16.1 R-17.5 the dry run lists a class-bound reader its own classes only, with their pupils, before and after the run', async t => {
  const node = await recordsNode(t)
  const { school, klass: g4 } = await withSchool(node)
  const created = creator(t, node)
  const g3 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2023001', name: '三年级（1）班', grade: 3 }), schoolId: school.id })
  const g6 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2021001', name: '六年级（1）班', grade: 6 }), schoolId: school.id })
  let seq = 80
  const student = (classId: string) =>
    created('/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId: school.id, classId })
  // Grade 4: two pupils, grade 3: one, grade 6: three.
  for (const classId of [g4.id, g4.id, g3.id, g6.id, g6.id, g6.id]) await student(classId)
  const gradeAdmin = await loginAs(node.app, 'grade_admin', { kind: 'classes', school: school.schoolCode, classes: [g4.id, g6.id] })
  const classAdmin = await loginAs(node.app, 'class_admin', { kind: 'classes', school: school.schoolCode, classes: [g3.id] })
  const next = new Date(Date.now() + 8 * 3600_000).getUTCFullYear() + (realToday().slice(5) >= '08-01' ? 1 : 0)
  const preview = async (login: typeof gradeAdmin) => {
    const r = await node.call('GET', `/api/v1/calendar/rollover?schoolYear=${next}`, undefined, login)
    t.equal(r.status, 200)
    const [item] = r.body.items
    return { classes: item.classes.map((c: Json) => [c.classId, c.action, c.pupils]), promoted: item.promoted, completing: item.completing }
  }
  // Classes in class-code order: 2020001 (grade 4), 2021001 (grade 6), 2023001 (grade 3).
  t.strictSame(await preview(node.school), { classes: [[g4.id, 'up', 2], [g6.id, 'complete', 3], [g3.id, 'up', 1]], promoted: 3, completing: 3 }, 'the school administrator sees every class: 2 + 1 promoted, 3 completing')
  t.strictSame(await preview(gradeAdmin), { classes: [[g4.id, 'up', 2], [g6.id, 'complete', 3]], promoted: 2, completing: 3 }, 'the grade administrator of grades 4 and 6 sees those two classes and their pupils only')
  t.strictSame(await preview(classAdmin), { classes: [[g3.id, 'up', 1]], promoted: 1, completing: 0 }, 'the class administrator of grade 3 its own class only')

  // Once the school has rolled, the report of what the run did is narrowed the same way.
  const svc = createRolloverService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, dates: PROVINCE_DATES, now: () => noon(`${next}-08-01`) })
  t.match(svc.run().items, [{ unitId: school.id, state: 'done', promoted: 3, completing: 3 }])
  const done = (login: typeof gradeAdmin) => {
    const item = svc.dryRun({ reaches: tg => inScope(login.actor, tg) }).items[0]
    return { state: item.state, classes: item.classes.length, promoted: item.promoted, completing: item.completing }
  }
  t.strictSame(done(node.school), { state: 'done', classes: 0, promoted: 3, completing: 3 }, 'the administrator: the whole school\'s run')
  t.strictSame(done(gradeAdmin), { state: 'done', classes: 0, promoted: 2, completing: 3 }, 'the grade administrator: its own classes\' pupils')
  t.strictSame(done(classAdmin), { state: 'done', classes: 0, promoted: 1, completing: 0 }, 'the class administrator: its own class\'s')
})

t.test('R-21.1 a school whose graduate cannot complete is blocked, named in the dry run, and the node\'s other schools still roll', async t => {
  const node = await recordsNode(t)
  const db = node.app.storage.sqlite
  const { school, klass: g4 } = await withSchool(node)
  const created = creator(t, node)
  const g6 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2021001', name: '六年级（1）班', grade: 6 }), schoolId: school.id })
  let seq = 60
  const student = (classId: string, schoolId = school.id, login = node.school) =>
    created('/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId, classId }, login)
  const late = await student(g6.id)
  const pupil = await student(g4.id)
  const schoolB = await created('/api/v1/schools', fx.school({ schoolCode: '3301060102', name: '西湖区第二小学' }), node.bureau)
  const b2 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2025001', name: '二年级（1）班', grade: 2 }), schoolId: schoolB.id }, node.bureau)
  const schoolC = await created('/api/v1/schools', fx.school({ schoolCode: '3301060103', name: '西湖区第三小学' }), node.bureau)
  const c6 = await created('/api/v1/classes', { ...fx.klass({ classCode: '2021002', name: '六年级（2）班', grade: 6 }), schoolId: schoolC.id }, node.bureau)
  const odd = await student(c6.id, schoolC.id, node.bureau)

  const year = new Date(Date.now() + 8 * 3600_000).getUTCFullYear() + 1
  // The rollover of next year, the school entered before it: a graduate of school A entered (while
  // its run waited) with 入学年月 in August, after the completion month of July.
  db.prepare('update students set enrolment_ym = ? where id = ?').run(`${year}-08`, late.id)
  // School C: a graduate whose record no blocker looks at refuses its completion (in school, yet
  // holding one already: a record put right by hand).
  await created(`/api/v1/students/${odd.id}/completions`, fx.completion({ graduatingSchoolCode: '3301060103', completionYm: '2026-07' }), node.bureau)
  db.prepare(`update students set state = 'in_school' where id = ?`).run(odd.id)
  const svc = createRolloverService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, dates: PROVINCE_DATES, now: () => noon(`${year}-08-02`) })
  const item = (report: { items: Json[] }, id: string) => report.items.find(i => i.unitId === id)!
  const grade = (id: string) => (db.prepare('select grade from school_classes where id = ?').get(id) as Json).grade

  const dry = svc.dryRun()
  t.match(item(dry, school.id), { state: 'blocked', blockers: [{ code: 'enrolled_after_completion', personIds: [late.id], message: new RegExp(`入学年月晚于毕业年月 ${year}-07`) }] }, 'the dry run names the graduate who enrolled after the completion month')
  t.match(item(dry, schoolB.id), { state: 'ready' })

  const before = node.counts()
  let run: { items: Json[] } = { items: [] }
  t.doesNotThrow(() => { run = svc.run() }, 'the run does not stop at a school it cannot roll')
  t.match(item(run, school.id), { state: 'blocked', blockers: [{ code: 'enrolled_after_completion' }] })
  t.match(item(run, schoolB.id), { state: 'done', rolledOn: `${year}-08-02` }, 'school B rolls')
  t.match(item(run, schoolC.id), { state: 'blocked', blockers: [{ code: 'rollover_refused', message: /学年升级未能完成.*RECORD_DUPLICATE_KEY/ }] }, 'school C: the refusal, named, blocks it')
  t.strictSame([grade(g4.id), grade(g6.id), grade(b2.id), grade(c6.id)], [4, 6, 3, 6], 'A and C unchanged, B promoted')
  t.equal(node.counts().student_completions, before.student_completions, 'no completion written for A or C')
  t.equal((db.prepare('select state from students where id = ?').get(pupil.id) as Json).state, 'in_school')
  t.match(db.prepare('select state from calendar_rollovers where unit_id = ? and school_year = ?').get(schoolC.id, year), { state: 'blocked' }, 'C is recorded as blocked: its past year stays open (R-22.3)')
  t.ok(svc.pending(), 'the timer tries again at its next check')

  // Fixed: A's graduate's 入学年月, C's birth date; the next run rolls both.
  db.prepare('update students set enrolment_ym = ? where id = ?').run('2021-09', late.id)
  db.prepare('delete from student_completions where student_id = ?').run(odd.id)
  run = svc.run()
  t.match(run.items.map(i => i.state), ['done', 'done', 'done'], 'once fixed, every school has rolled')
  t.strictSame([grade(g4.id), grade(b2.id)], [5, 3], 'B is not rolled twice')
})
