/**
 * what one student's record covers, built through the workflows that write it (the record
 * routes, the status-change engine, the growth file and its generated evaluation, the rollover
 * and the completion path) on one senior high student, then read back as that student's record.
 * Transfer (转学) here is the 转出 / 转入 pair of the status-change table; the handover between
 * nodes is test/federation/transfers.test.ts.
 */
import t from 'tap'
import { createWorkingCalendar, PROVINCE_DATES } from '../../config/calendar.ts'
import { createRolloverService } from '../../node/calendar/rollover-service.ts'
import { createStatusChangeService } from '../../node/status-changes/service.ts'
import { loginAs } from '../helper.ts'
import { serviceActor, application, verifyChange } from '../node/status-changes/lib.ts'
import { verifiedFile, type GrowthNode } from '../node/growth/lib.ts'
import * as fx from './fixtures.ts'
import { recordsNode, type Json } from './setup.ts'

const thisMonth = () => new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 7)

t.test('R-3.1 one student\'s record covers enrolment, visiting study, suspension, resumption, transfer, promotion, graduation, the comprehensive evaluation, exams, awards and punishments, beside the unit, school and class records', async t => {
  const node = await recordsNode(t)
  const ok = (r: { status: number; body: Json }, what: string, status = 201) => {
    t.equal(r.status, status, what)
    if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }
  const unit = ok(await node.call('POST', '/api/v1/units', fx.unit(), node.bureau), '主管单位')
  const school = ok(await node.call('POST', '/api/v1/schools', fx.school({ name: '杭州市西湖区文三路高级中学', category: '342' }), node.bureau), '学校')
  const klass = ok(await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026101', name: '高一（1）班', foundedYm: '2026-09', schoolingLength: '3', grade: 10 }), schoolId: school.id }), '班级')
  // Entered this month, so that no lock on expiry is reached while the record is built.
  const student = ok(await node.call('POST', '/api/v1/students', { ...fx.student({ enrolmentYm: thisMonth() }), schoolId: school.id, classId: klass.id }), '学生')
  const sub = (path: string, body: Json, what: string) => node.call('POST', `/api/v1/students/${student.id}/${path}`, body).then(r => ok(r, what))

  // 入学 as 借读 (学生来源 2), exams, awards and punishments.
  await sub('enrolments', { ...fx.subRecords.enrolment, enrolmentYm: thisMonth(), studentSource: '2' }, '入学信息（借读）')
  await sub('exams', fx.subRecords.exams[0]!, '在校考试')
  await sub('awards', fx.subRecords.awards[0]!, '奖励')
  await sub('punishments', fx.subRecords.punishments[0]!, '处分')

  // 休学 → 复学 and 转出 → 转入, each applied by the school, approved and carried out by the bureau.
  const engine = createStatusChangeService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, calendar: createWorkingCalendar(), days: { apply: 7, review: 20 } })
  const school_ = serviceActor(node.school)
  const bureau = serviceActor(node.bureau)
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  for (const [changeType, more] of [['11', {}], ['12', { targetClassId: klass.id }], ['21', {}], ['22', { targetClassId: klass.id }]] as const) {
    const a = engine.apply(school_, 'student', student.id, application({ changeType, changeDate: today, ...more }))
    const version = await verifyChange(node, a.id)
    engine.review(bureau, String(a.id), { version, decision: 'approve', approvalDocNo: '西教〔2026〕9号' })
    const done = engine.carryOut(bureau, String(a.id), { version: version + 1 })
    t.equal(done.processingStatus, '5', `异动 ${changeType} 已办理`)
  }

  // The growth file and the evaluation generated from it.
  const teacher = await loginAs(node.app, 'class_admin', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const leader = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [school.schoolCode] }, { leader: true })
  const g: GrowthNode = { node, school, klass, student, teacher, leader, base: `/api/v1/students/${student.id}/growth` }
  await verifiedFile(g)

  // Promotion: the 1 August rollover moves the class, and the student with it, up to grade 11.
  const rollover = createRolloverService({ storage: node.app.storage, identity: node.app.identity, codes: node.app.records.codes, dates: PROVINCE_DATES, now: () => new Date('2027-08-01T04:00:00Z') })
  const rolled = rollover.run({ unitId: school.id })
  t.match(rolled.items, [{ unitId: school.id, state: 'done', promoted: 1 }], '学年升级 done for the school')

  // Graduation through the completion record.
  await sub('completions', fx.completion({ graduatingSchoolCode: school.schoolCode }), '结业信息')

  const read = ok(await node.call('GET', `/api/v1/students/${student.id}`), 'the student\'s record', 200)
  t.equal(read.state, 'graduated', '毕业: the completion ended the record as graduated')
  t.equal(read.enrolment.studentSource, '2', '入学 with 借读 as its source')
  t.same(read.statusChanges.map((c: Json) => c.changeType), ['11', '12', '21', '22'], '休学, 复学, 转出 and 转入, in order')
  t.equal(read.exams.length, 1, '学业考试')
  t.equal(read.awards.length, 1, '奖励')
  t.equal(read.punishments.length, 1, '处分')
  t.equal(read.completion.graduatingSchoolCode, school.schoolCode, '毕业 record')
  const cls = ok(await node.call('GET', `/api/v1/classes/${klass.id}`), 'the class record', 200)
  t.equal(cls.grade, 11, '升级: the student\'s class moved up to grade 11')
  const growth = ok(await node.call('GET', g.base, undefined, teacher), 'the growth file', 200)
  t.ok(growth.evaluation, '综合素质评价 on the record')
  t.equal(growth.evaluation.overallComment, '品学兼优')
  ok(await node.call('GET', `/api/v1/units/${unit.id}`), 'the supervising unit record', 200)
  ok(await node.call('GET', `/api/v1/schools/${school.id}`), 'the school record', 200)
})
