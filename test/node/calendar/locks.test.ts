/**
 * Locks on expiry (R-22.1–R-22.4, node/calendar/locks.ts) as the records service judges them:
 * a table of rule × record × day, each lock day on both sides of its boundary (23:59:59 of the
 * last open day and 00:00:00 of the next, Asia/Shanghai), over a real node database with a clock
 * the test sets. Then creation and deletion, the refusal's details, the verification gate, the
 * initial entry and a city's date override (R-30.1).
 */
import t, { type Test } from 'tap'
import { datesFor, nextDay, PROVINCE_DATES, type CalendarDates } from '../../../config/calendar.ts'
import { loadConfig } from '../../../config/load.ts'
import { createRecordsService, systemActor, type RecordsActor } from '../../../node/services/records/service.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withKindergarten, withSchool, type Json, type RecordsNode } from '../../records/setup.ts'
import { serviceActor } from '../status-changes/lib.ts'

/** The last second of a China day and the first second of the next, as UTC instants. */
const lastSecond = (day: string) => new Date(Date.parse(`${day}T23:59:59+08:00`))
const firstSecond = (day: string) => new Date(Date.parse(`${day}T00:00:00+08:00`))

interface Fixture {
  node: RecordsNode
  school: RecordsActor
  /** Row ids by table: the student's and its sub-records', the graduate's completion. */
  ids: Record<string, string>
  at(when: Date, dates?: CalendarDates): ReturnType<typeof createRecordsService>
}

/** A student entered in September 2025 with every sub-record, and a graduate of July 2026; both verified. */
async function fixture(t: Test): Promise<Fixture> {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const body = {
    ...fx.student({ enrolmentYm: '2025-09' }), schoolId: school.id, classId: klass.id,
    ...fx.subRecords,
    enrolment: { ...fx.subRecords.enrolment, enrolmentYm: '2025-09' },
    registrations: [{ ...fx.subRecords.registrations[0], term: '2025-1' }, { ...fx.subRecords.registrations[0], term: '2025-2', dueDate: '2026-02-25', actualDate: '2026-02-25', lateReason: null }],
  }
  const s = await node.call('POST', '/api/v1/students', body)
  t.equal(s.status, 201, 'student entered')
  const g = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 2), studentNo: undefined, name: '曾小军', namePinyin: 'zeng xiao jun', enrolmentYm: '2020-09' }), schoolId: school.id, classId: klass.id })
  t.equal(g.status, 201, 'graduate entered')
  const c = await node.call('POST', `/api/v1/students/${g.body.id}/completions`, fx.completion({ completionYm: '2026-07' }))
  t.equal(c.status, 201, 'completion entered')
  const db = node.app.storage.sqlite
  // Verification has its own routes and roles (test/node/auth/verification.test.ts); here only its mark matters.
  db.prepare(`update students set first_verified_at = '2025-09-20T02:00:00.000Z'`).run()
  db.prepare(`update student_completions set first_verified_at = '2026-07-10T02:00:00.000Z'`).run()
  const id = (table: string, column = 'student_id', owner = s.body.id as string) => (db.prepare(`select id from ${table} where ${column} = ?`).get(owner) as { id: string }).id
  const reg = (term: string) => (db.prepare('select id from student_registrations where student_id = ? and term = ?').get(s.body.id, term) as { id: string }).id
  const ids = {
    students: s.body.id as string,
    student_resumes: id('student_resumes'),
    student_guardians: id('student_guardians'),
    student_family_members: id('student_family_members'),
    student_enrolments: id('student_enrolments'),
    'student_registrations 2025-1': reg('2025-1'),
    'student_registrations 2025-2': reg('2025-2'),
    student_exams: id('student_exams'),
    student_awards: id('student_awards'),
    student_punishments: id('student_punishments'),
    student_completions: id('student_completions', 'student_id', g.body.id as string),
  }
  const at = (when: Date, dates: CalendarDates = PROVINCE_DATES) => createRecordsService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, now: () => when, dates })
  return { node, school: serviceActor(node.school), ids, at }
}

/** Every lock rule: the record it holds, a harmless edit, and its last open day under the province's dates. */
const CASES: Array<{ rule: string; record: string; patch: Json; lastOpenDay: string }> = [
  { rule: 'R-22.1', record: 'students', patch: { phone: '13800000009' }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.1', record: 'student_resumes', patch: { remarks: '表现优秀' }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.1', record: 'student_guardians', patch: { phone: '13900000009' }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.1', record: 'student_family_members', patch: { phone: '13700000009' }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.1', record: 'student_enrolments', patch: { financialAid: null }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.2', record: 'student_registrations 2025-1', patch: { lateReason: '事假' }, lastOpenDay: '2025-09-30' },
  { rule: 'R-22.2', record: 'student_registrations 2025-2', patch: { lateReason: '事假' }, lastOpenDay: '2026-03-31' },
  { rule: 'R-22.3', record: 'student_exams', patch: { termComment: '稳步提高' }, lastOpenDay: '2026-07-31' },
  { rule: 'R-22.3', record: 'student_awards', patch: { reason: '品学兼优，乐于助人' }, lastOpenDay: '2025-07-31' },
  { rule: 'R-22.3', record: 'student_punishments', patch: { reason: '多次无故迟到' }, lastOpenDay: '2026-07-31' },
  { rule: 'R-22.4', record: 'student_completions', patch: { comment: '品学兼优' }, lastOpenDay: '2026-07-30' },
]

const tableOf = (record: string) => record.split(' ')[0]

function attempt(f: Fixture, when: Date, record: string, patch: Json, dates?: CalendarDates) {
  const table = tableOf(record)
  const id = f.ids[record]
  const row = f.node.app.storage.sqlite.prepare(`select version from ${table} where id = ?`).get(id) as { version: number }
  const owner = table === 'students' ? undefined : (f.node.app.storage.sqlite.prepare(`select student_id from ${table} where id = ?`).get(id) as { student_id: string }).student_id
  try {
    f.at(when, dates).update(f.school, table, id, { ...patch, version: row.version }, owner)
    return { ok: true as const }
  } catch (err) {
    const e = err as { code?: string; details?: Json; message: string }
    return { ok: false as const, code: e.code, details: e.details, message: e.message }
  }
}

t.test('R-22.1 R-22.2 R-22.3 R-22.4 every lock on both sides of its day (rule × record × date)', async t => {
  const f = await fixture(t)
  for (const c of CASES) {
    const before = attempt(f, lastSecond(c.lastOpenDay), c.record, c.patch)
    t.ok(before.ok, `${c.rule} ${c.record}: open until 23:59:59 of ${c.lastOpenDay}${before.ok ? '' : ` (${before.code} ${JSON.stringify(before.details)})`}`)
    const outbox = f.node.counts().outbox
    const after = attempt(f, firstSecond(nextDay(c.lastOpenDay)), c.record, c.patch)
    t.match(after, { ok: false, code: 'CALENDAR_RECORD_LOCKED', details: { rule: c.rule, lastOpenDay: c.lastOpenDay, lockedFrom: nextDay(c.lastOpenDay) } }, `${c.rule} ${c.record}: locked from 00:00 of the next day`)
    t.equal(f.node.counts().outbox, outbox, 'a refused write changes nothing')
  }
})

t.test('R-22.1 a refusal names its rule, the day it took effect and how to get the change made', async t => {
  const f = await fixture(t)
  const r = attempt(f, firstSecond('2026-11-30'), 'students', { phone: '13800000008' })
  t.match(r, { ok: false, code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1', lockedFrom: '2025-10-01', lastOpenDay: '2025-09-30', table: 'students' } })
  t.match(r.ok ? '' : r.message, /R-22\.1/, 'the message names the rule')
  t.match(r.ok ? '' : r.message, /2025-10-01/, 'and the day the lock took effect')
  t.match(r.ok ? '' : r.message, /修改申请.*审批/, 'and how the change is made (修改申请 and its approval)')
  // Over HTTP, with the node's real clock (its lock took effect long ago): a 409 with the same code.
  const res = await f.node.call('PATCH', `/api/v1/students/${f.ids.students}`, { phone: '13800000008', version: 1 })
  t.match(res, { status: 409, body: { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1' } } })
  const before = f.node.counts()
  const added = await f.node.call('POST', `/api/v1/students/${f.ids.students}/guardians`, { ...fx.subRecords.guardians[0], name: '曾二海' })
  t.match(added, { status: 409, body: { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1' } } }, 'adding a guardian over HTTP: refused')
  const removed = await f.node.call('DELETE', `/api/v1/students/${f.ids.students}/awards/${f.ids.student_awards}`)
  t.match(removed, { status: 409, body: { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3' } } }, 'deleting last year’s award over HTTP: refused')
  t.strictSame(f.node.counts(), before, 'nothing written, nothing sent upward')
})

t.test('R-22.1 R-22.3 creating and deleting sub-records are judged like edits', async t => {
  const f = await fixture(t)
  const guardian = { name: '曾二海', relationship: '51', address: '杭州市西湖区文一路 1 号', phone: '13900000002', postcode: '310012', email: null }
  const open = f.at(lastSecond('2025-09-30')).create(f.school, 'student_guardians', guardian, f.ids.students)
  t.ok(open.id, 'a guardian added on the last open day')
  t.throws(() => f.at(firstSecond('2025-10-01')).create(f.school, 'student_guardians', { ...guardian, name: '曾三海' }, f.ids.students), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1' } }, 'and refused the day after')
  const exam = { ...fx.subRecords.exams[0], term: '2025-2', examDate: '2026-06-20', course: '数学' }
  t.throws(() => f.at(firstSecond('2026-08-01')).create(f.school, 'student_exams', exam, f.ids.students), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3' } }, 'an exam of the past school year cannot be added after the rollover')
  const added = f.at(lastSecond('2026-07-31')).create(f.school, 'student_exams', exam, f.ids.students)
  t.throws(() => f.at(firstSecond('2026-08-01')).remove(f.school, 'student_exams', String(added.id), { ownerId: f.ids.students }), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3' } }, 'nor deleted')
  t.throws(() => f.at(lastSecond('2026-07-31')).update(f.school, 'student_exams', String(added.id), { version: Number(added.version), term: '2024-2', examDate: '2025-06-20' }, f.ids.students), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.3' } }, 'nor moved into a locked school year by an edit')
  f.at(lastSecond('2026-07-31')).remove(f.school, 'student_exams', String(added.id), { ownerId: f.ids.students })
  t.pass('deleted while open')
  // A person's own row: moving the entry month back into a year whose lock has passed.
  const version = (f.node.app.storage.sqlite.prepare('select version from students where id = ?').get(f.ids.students) as Json).version
  t.throws(() => f.at(lastSecond('2025-09-30')).update(f.school, 'students', f.ids.students, { version, enrolmentYm: '2024-09' }), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1', lastOpenDay: '2024-09-30' } }, 'an entry month moved into a locked year is refused')
})

t.test('R-22.1 a person never verified is still being entered and stays open; the seed’s initial entry is not judged (R-19.1)', async t => {
  const f = await fixture(t)
  f.node.app.storage.sqlite.prepare('update students set first_verified_at = null where id = ?').run(f.ids.students)
  t.ok(attempt(f, firstSecond('2026-11-30'), 'student_guardians', { phone: '13900000007' }).ok, 'unverified late entry: open')
  f.node.app.storage.sqlite.prepare(`update students set first_verified_at = '2026-11-30T02:00:00.000Z' where id = ?`).run(f.ids.students)
  t.match(attempt(f, firstSecond('2026-11-30'), 'student_guardians', { phone: '13900000006' }), { ok: false, code: 'CALENDAR_RECORD_LOCKED' }, 'verified after its lock day: locked at once')
  const row = f.node.app.storage.sqlite.prepare('select version from student_guardians where id = ?').get(f.ids.student_guardians) as { version: number }
  f.at(firstSecond('2026-11-30')).update(systemActor('seed', { initialEntry: true }), 'student_guardians', f.ids.student_guardians, { phone: '13900000005', version: row.version }, f.ids.students)
  t.pass('the initial entry of a school’s existing records writes through')
})

t.test('R-30.1 a city moves a lock day by configuration; its counties follow, other cities keep the province date', async t => {
  const config = loadConfig({
    node: { tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://city.example/' },
    calendar: { local: { '330100': { newStudentsBy: '10-15', registrationSpringBy: '04-10' }, '330106': { registrationSpringBy: '04-05' } } },
  })
  t.strictSame(config.calendar.dates, PROVINCE_DATES, 'the province defaults, 9月31日 kept as written')
  const xihu = datesFor('330106', config.calendar.dates, config.calendar.local)
  t.match(xihu, { newStudentsBy: '10-15', registrationSpringBy: '04-05', completionBy: '07-30' }, 'Xihu: its city’s date, its own over the city’s')
  t.match(datesFor('330212', config.calendar.dates, config.calendar.local), PROVINCE_DATES, 'Ningbo’s Yinzhou: the province’s')
  t.throws(() => loadConfig({ node: { tier: 'county', code: '330106', name: 'x', parentUrl: 'http://c/' }, calendar: { local: { '330100': { newStudentsBy: '9/31' } } } }), { code: 'CONFIG_INVALID' }, 'a malformed date stops the start')

  const f = await fixture(t)
  t.ok(attempt(f, lastSecond('2025-10-15'), 'students', { phone: '13800000007' }, xihu).ok, 'R-22.1 in Xihu: open on 15 October')
  t.match(attempt(f, firstSecond('2025-10-16'), 'students', { phone: '13800000006' }, xihu), { ok: false, details: { rule: 'R-22.1', lastOpenDay: '2025-10-15' } }, 'locked from 16 October')
  t.match(attempt(f, firstSecond('2025-10-01'), 'student_guardians', { phone: '13800000005' }), { ok: false, details: { rule: 'R-22.1' } }, 'while the province date locks on 1 October')
})

t.test('R-22.1 R-22.2 a kindergarten child’s own info and registrations lock like a student’s', async t => {
  const node = await recordsNode(t)
  const { kg, kgClass } = await withKindergarten(node)
  const created = await node.call('POST', '/api/v1/children', {
    ...fx.child({ entryYm: '2025-09' }), kindergartenId: kg.id, classId: kgClass.id, ...fx.childSubRecords,
    registrations: [{ ...fx.childSubRecords.registrations[0], term: '2025-2', dueDate: '2026-02-25', actualDate: '2026-02-25' }],
  })
  t.equal(created.status, 201, JSON.stringify(created.body))
  const db = node.app.storage.sqlite
  db.prepare(`update children set first_verified_at = '2025-09-20T02:00:00.000Z'`).run()
  const school = serviceActor(node.school)
  const at = (when: Date) => createRecordsService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, now: () => when })
  const cases = [
    { rule: 'R-22.1', table: 'children', id: String(created.body.id), owner: undefined, patch: { phone: '13600000009' }, lastOpenDay: '2025-09-30' },
    { rule: 'R-22.1', table: 'child_guardians', id: (db.prepare('select id from child_guardians').get() as Json).id, owner: String(created.body.id), patch: { phone: '13500000009' }, lastOpenDay: '2025-09-30' },
    { rule: 'R-22.2', table: 'child_registrations', id: (db.prepare('select id from child_registrations').get() as Json).id, owner: String(created.body.id), patch: { lateReason: '事假' }, lastOpenDay: '2026-03-31' },
  ]
  for (const c of cases) {
    const version = () => (db.prepare(`select version from ${c.table} where id = ?`).get(c.id) as Json).version as number
    t.throws(() => at(firstSecond(nextDay(c.lastOpenDay))).update(school, c.table, c.id, { ...c.patch, version: version() }, c.owner), { code: 'CALENDAR_RECORD_LOCKED', details: { rule: c.rule } }, `${c.rule} ${c.table}: locked after ${c.lastOpenDay}`)
    at(lastSecond(c.lastOpenDay)).update(school, c.table, c.id, { ...c.patch, version: version() }, c.owner)
    t.pass(`${c.rule} ${c.table}: open on ${c.lastOpenDay}`)
  }
})
