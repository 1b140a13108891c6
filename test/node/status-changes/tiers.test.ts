/**
 * Across tiers in one process (test/sync/lib: real node databases and keys, signed change sets):
 * an overdue review at a county raises an alert that reaches the city and the province,
 * where the city's bureau lists it as addressed to it; a student whose schooling ended is
 * refused deletion at the county while the province keeps the record.
 */
import t from 'tap'
import { createWorkingCalendar } from '../../../config/calendar.ts'
import { codes } from '../../../schema/codes/index.ts'
import { createRecordsService, systemActor } from '../../../node/services/records/service.ts'
import { createStatusChangeService } from '../../../node/status-changes/service.ts'
import * as fx from '../../records/fixtures.ts'
import { makeFederation, settle, type TestSyncNode } from '../../sync/lib/nodes.ts'
import { leaderVerifies } from './lib.ts'

const actor = systemActor('test')
const clock = { at: '2026-03-02T04:00:00Z' }
const engineOf = (node: TestSyncNode) =>
  createStatusChangeService({ storage: node.storage, identity: { code: node.code }, codes, calendar: createWorkingCalendar(), days: { apply: 7, review: 20 }, now: () => new Date(clock.at) })

t.test('R-20.1 an overdue status-change review escalates to the city as an alert that syncs upward', async t => {
  const { province, city, county } = await makeFederation(t)
  const records = createRecordsService({ storage: county.storage, identity: { code: county.code }, codes })
  records.create(actor, 'supervising_units', fx.unit())
  const school = records.create(actor, 'schools', fx.school())
  const klass = records.create(actor, 'school_classes', { ...fx.klass(), schoolId: school.id })
  const student = records.create(actor, 'students', { ...fx.student(), schoolId: school.id, classId: klass.id })

  const engine = engineOf(county)
  const a = engine.apply(actor, 'student', String(student.id), fx.application({ changeType: '11', changeDate: '2026-02-27' }))
  clock.at = '2026-03-31T04:00:00Z'
  t.equal(engine.escalateOverdue(), 1)
  await settle(county, city)

  const everyone = () => true
  const atCity = engineOf(city).alerts(everyone)
  t.match(atCity, [{ kind: 'status_change_review_overdue', homeNode: '330106', addressedTo: '330100', subjectId: a.id, deadline: '2026-03-30' }], 'the city lists the alert addressed to it')
  t.match(engineOf(city).queue(everyone).items, [{ id: a.id, escalatedAt: '2026-03-31T04:00:00.000Z', overdue: true }], 'the city replica shows the overdue application')
  t.equal((province.storage.sqlite.prepare('select count(*) n from alerts where addressed_to = ?').get('330100') as { n: number }).n, 1, 'the province holds it too')
  t.strictSame(engineOf(province).alerts(everyone), [], 'not addressed to the province')
})

t.test('R-26.1 a student whose schooling ended is not deleted at the county, and the province keeps the record', async t => {
  const { province, city, county } = await makeFederation(t)
  const records = createRecordsService({ storage: county.storage, identity: { code: county.code }, codes })
  records.create(actor, 'supervising_units', fx.unit())
  const school = records.create(actor, 'schools', fx.school())
  const klass = records.create(actor, 'school_classes', { ...fx.klass(), schoolId: school.id })
  const student = records.create(actor, 'students', { ...fx.student(), schoolId: school.id, classId: klass.id })
  const engine = engineOf(county)
  clock.at = '2026-03-02T04:00:00Z'
  const a = engine.apply(actor, 'student', String(student.id), fx.application({ changeType: '31', changeDate: '2026-02-27' }))
  const version = leaderVerifies(county.storage, county.code, a.id)
  engine.review(actor, String(a.id), { version, decision: 'approve' })
  engine.carryOut(actor, String(a.id), { version: version + 1 })
  t.throws(() => records.remove(actor, 'students', String(student.id)), { code: 'RECORD_DELETE_VERIFIED' })
  await settle(county, city)
  const held = province.storage.sqlite.prepare('select state from students where id = ?').get(student.id)
  t.strictSame(held, { state: 'withdrawn' }, 'the province holds the student, ended by the status change')
  t.equal((province.storage.sqlite.prepare('select processing_status p from student_status_changes where id = ?').get(a.id) as { p: string }).p, '5')
})
