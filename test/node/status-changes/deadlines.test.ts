/**
 * Deadlines of the status-change workflow with a controlled clock: 7 working days from the change
 * to the application (R-19.4, late ones accepted and flagged), 20 working days for the review
 * (R-20.1), both across the 2026 Spring Festival and its make-up Saturdays; a provisional
 * deadline in 2027; an overdue review escalating to the next tier up.
 */
import t from 'tap'
import { createWorkingCalendar } from '../../../config/calendar.ts'
import { createStatusChangeService } from '../../../node/status-changes/service.ts'
import { application, newStudent, schoolWithClasses, verifyChange, workflowNode } from './lib.ts'
import { loginAs } from '../../helper.ts'

t.test('R-19.4 R-20.1 the 7- and 20-working-day deadlines across the 2026 Spring Festival and a make-up working Saturday', async t => {
  const w = await workflowNode(t)
  const { school, classes } = await schoolWithClasses(w.node)
  const s1 = await newStudent(w.node, school.id, classes[4].id)
  const s2 = await newStudent(w.node, school.id, classes[4].id)

  // Changed on Friday 13 Feb: the 7th working day after is Monday 2 March (14 and 28 Feb are
  // make-up Saturdays, 15–23 Feb the festival).
  w.day('2026-03-02')
  const onTime = w.engine.apply(w.school, 'student', s1.id, application({ changeType: '11', changeDate: '2026-02-13' }))
  t.match(onTime, { appliedOn: '2026-03-02', late: false, deadlines: { applyBy: '2026-03-02', applyByProvisional: false } })
  w.day('2026-03-03')
  const late = w.engine.apply(w.school, 'student', s2.id, application({ changeType: '11', changeDate: '2026-02-13' }))
  t.match(late, { appliedOn: '2026-03-03', late: true, processingStatus: '1' }, 'a late application is accepted and flagged')

  // Applied on Tuesday 10 Feb: 20 working days run 11–14 Feb (4, the Saturday included), 24–28 Feb (5),
  // then 2–13 March (10) and 16 March (the 20th).
  const s3 = await newStudent(w.node, school.id, classes[4].id)
  w.day('2026-02-10')
  const early = w.engine.apply(w.school, 'student', s3.id, application({ changeType: '11', changeDate: '2026-02-09' }))
  t.match(early.deadlines, { reviewBy: '2026-03-16', reviewByProvisional: false })

  // The queue shows each item's age (working and calendar days) and whether its review is overdue.
  const reach = () => true
  w.day('2026-03-16')
  let item = w.engine.queue(reach).items.find(i => i.id === early.id)!
  t.match(item, { ageWorkingDays: 20, ageDays: 34, overdue: false })
  w.day('2026-03-17')
  item = w.engine.queue(reach).items.find(i => i.id === early.id)!
  t.match(item, { ageWorkingDays: 21, overdue: true })
  t.strictSame(w.engine.queue(reach).items.map(i => i.id), [early.id, onTime.id, late.id], 'oldest first')
  t.comment(`queue ages on 2026-03-17: ${w.engine.queue(reach).items.map(i => `${i.appliedOn} ${i.ageWorkingDays}wd/${i.ageDays}d`).join(', ')}`)
})

t.test('R-19.4 R-20.1 a deadline in 2027, a year without an official calendar, is provisional', async t => {
  const w = await workflowNode(t)
  const { school, classes } = await schoolWithClasses(w.node)
  const s = await newStudent(w.node, school.id, classes[4].id)
  w.day('2026-12-28')
  const a = w.engine.apply(w.school, 'student', s.id, application({ changeType: '11', changeDate: '2026-12-28' }))
  t.match(a, { deadlines: { applyBy: '2027-01-06', applyByProvisional: true, reviewByProvisional: true } })
  // The same application read by a node whose configuration has the 2027 calendar (R-30.1).
  const configured = createStatusChangeService({
    storage: w.node.app.storage, identity: w.node.app.identity, codes: w.node.app.records.codes,
    calendar: createWorkingCalendar({ '2027': { off: ['01-01..01-03'], work: [] } }), days: { apply: 7, review: 20 }, now: () => new Date(w.clock.at),
  })
  t.match(configured.queue(() => true).items[0].deadlines, { applyBy: '2027-01-07', applyByProvisional: false })
})

t.test('R-20.1 an overdue review escalates to the next tier up as an alert that syncs upward, once', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { school, classes } = await schoolWithClasses(node)
  const s = await newStudent(node, school.id, classes[4].id)
  w.day('2026-03-02')
  const a = w.engine.apply(w.school, 'student', s.id, application({ changeType: '11', changeDate: '2026-02-27' }))
  t.match(a, { deadlines: { reviewBy: '2026-03-30' } })
  w.day('2026-03-30')
  t.equal(w.engine.escalateOverdue(), 0, 'on its last day it is not overdue')
  w.day('2026-03-31')
  t.equal(w.engine.escalateOverdue(), 1)
  t.equal(w.engine.escalateOverdue(), 0, 'escalated once')
  const alert = node.app.storage.sqlite.prepare('select * from alerts').get() as Record<string, unknown>
  t.match(alert, { kind: 'status_change_review_overdue', home_node: '330106', addressed_to: '330100', school_code: school.schoolCode, subject_id: a.id, deadline: '2026-03-30', deadline_provisional: 'no' })
  const outbox = node.app.storage.sqlite.prepare("select op from outbox where table_name = 'alerts'").all()
  t.strictSame(outbox, [{ op: 'upsert' }], 'the alert travels upward in the next change set')
  const item = w.engine.queue(() => true).items[0]
  t.ok(item.escalatedAt, 'the queue item shows it was escalated')
  const listed = (await node.call('GET', '/api/v1/status-changes/alerts', undefined, node.bureau)).body.items
  t.match(listed, [{ subjectId: a.id, addressedTo: '330100' }], 'visible to the bureau')
  t.equal((await node.call('GET', '/api/v1/status-changes/alerts')).body.items.length, 1, 'and to the school it is about')
  // A review after escalation still works and ends the business.
  t.equal(w.engine.review(w.bureau, String(a.id), { version: await verifyChange(node, a.id), decision: 'approve' }).processingStatus, '3')
})

t.test('R-20.1 R-16.1 R-17.6 an overdue-review alert is shown to the teacher of its student\'s class only', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { school, classes } = await schoolWithClasses(node)
  const own = await newStudent(node, school.id, classes[4].id)
  const sibling = await newStudent(node, school.id, classes[3].id)
  w.day('2026-03-02')
  const a = w.engine.apply(w.school, 'student', own.id, application({ changeType: '11', changeDate: '2026-02-27' }))
  const b = w.engine.apply(w.school, 'student', sibling.id, application({ changeType: '11', changeDate: '2026-02-27' }))
  w.day('2026-03-31')
  t.equal(w.engine.escalateOverdue(), 2)
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [classes[4].id] })
  const subjects = async (login = node.school) => (await node.call('GET', '/api/v1/status-changes/alerts', undefined, login)).body.items.map((i: { subjectId: string }) => i.subjectId).sort()
  t.strictSame(await subjects(), [a.id, b.id].sort(), 'the school administrator: both')
  t.strictSame(await subjects(teacher), [a.id], 'the teacher: its class\'s student only')
})
