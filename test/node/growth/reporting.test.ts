/**
 * Reporting deadlines and the lock after reporting, generated from a
 * table of rule × date: each deadline on both sides of its date, with a clock the test sets; the
 * 公示 period and the objection path before a report.
 */
import t from 'tap'
import { scopeFilter } from '../../../node/auth/access.ts'
import { createGrowthService } from '../../../node/growth/service.ts'
import { recordsActor } from '../../../node/services/records/service.ts'
import { chinaToday } from '../../../node/records/validate.ts'
import { loginAs } from '../../helper.ts'
import { course, growthNode, verifiedFile, type GrowthNode } from './lib.ts'

const engine = (g: GrowthNode, day: string) =>
  createGrowthService({ storage: g.node.app.storage, identity: g.node.app.identity, codes: g.node.app.records.codes, now: () => new Date(`${day}T04:00:00Z`) })
const as = (g: GrowthNode, who: 'leader' | 'bureau') => {
  const login = who === 'leader' ? g.leader : g.node.bureau
  return recordsActor(login.actor, scopeFilter(login.actor))
}

// School year 2026 = 2026–2027: the deadlines fall in 2027.
const CASES = [
  { req: 'R-23.1', who: 'school', grade: 10, day: '2027-07-31', deadline: '2027-07-31', late: false },
  { req: 'R-23.1', who: 'school', grade: 11, day: '2027-08-01', deadline: '2027-07-31', late: true },
  { req: 'R-23.1', who: 'school', grade: 12, day: '2027-05-30', deadline: '2027-05-30', late: false },
  { req: 'R-23.1', who: 'school', grade: 12, day: '2027-05-31', deadline: '2027-05-30', late: true },
  { req: 'R-24.1', who: 'bureau', grade: 10, day: '2027-09-30', deadline: '2027-09-30', late: false },
  { req: 'R-24.1', who: 'bureau', grade: 11, day: '2027-10-01', deadline: '2027-09-30', late: true },
  { req: 'R-24.1', who: 'bureau', grade: 12, day: '2027-06-10', deadline: '2027-06-10', late: false },
  { req: 'R-24.1', who: 'bureau', grade: 12, day: '2027-06-11', deadline: '2027-06-10', late: true },
] as const

for (const c of CASES) {
  t.test(`${c.req} grade ${c.grade} reported by the ${c.who} on ${c.day}: deadline ${c.deadline}, ${c.late ? 'late' : 'on time'}`, async t => {
    const g = await growthNode(t, { grade: c.grade })
    await verifiedFile(g)
    const round = { schoolYear: 2026, grade: c.grade }
    engine(g, '2027-04-01').publicity(as(g, 'leader'), String(g.school.id), { grade: c.grade, from: '2027-04-01', to: '2027-04-10' })
    const school = engine(g, c.who === 'school' ? c.day : '2027-05-01').schoolReport(as(g, 'leader'), String(g.school.id), round)
    if (c.who === 'school') t.same(school, { reported: 1, deadline: c.deadline, late: c.late })
    else t.same(engine(g, c.day).bureauReport(as(g, 'bureau'), round), { reported: 1, deadline: c.deadline, late: c.late })
    const progress = engine(g, c.day).progress(as(g, 'bureau'), 2026)
    t.match(progress, [{ schoolCode: g.school.schoolCode, grade: c.grade, evaluations: 1, verified: 1, reported: 1, bureauReported: c.who === 'bureau' ? 1 : 0 }])
  })
}

t.test('R-23.1 R-24.1 only verified records are reported; reported records lock, with the change-request path named', async t => {
  const g = await growthNode(t)
  const { node } = g
  const c = (await node.call('POST', `${g.base}/courses`, course(), g.teacher)).body
  const before = node.counts()
  const early = await node.call('POST', `/api/v1/schools/${g.school.id}/growth/report`, { schoolYear: 2026, grade: 10 }, g.leader)
  t.equal(early.status, 409)
  t.equal(early.body.code, 'GROWTH_NOT_VERIFIED')
  t.same(node.counts(), before, 'nothing reported')
  await node.call('DELETE', `${g.base}/courses/${c.id}?version=1`, undefined, g.teacher)

  await verifiedFile(g)
  const unpublished = await node.call('POST', `/api/v1/schools/${g.school.id}/growth/report`, { schoolYear: 2026, grade: 10 }, g.leader)
  t.match(unpublished.body, { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'not before the 公示')
  // A real 公示 period (it starts no earlier than today), reported the day after it ends.
  t.same(engine(g, '2027-05-01').publicity(as(g, 'leader'), String(g.school.id), { grade: 10, from: '2027-05-01', to: '2027-05-10' }), { evaluations: 1 })
  t.same(engine(g, '2027-05-11').schoolReport(as(g, 'leader'), String(g.school.id), { schoolYear: 2026, grade: 10 }), { reported: 1, deadline: '2027-07-31', late: false })
  t.equal((await node.call('POST', `/api/v1/schools/${g.school.id}/growth/report`, { schoolYear: 2026, grade: 10 }, g.leader)).body.code, 'GROWTH_ALREADY_REPORTED')

  const file = (await node.call('GET', g.base, undefined, g.teacher)).body
  const locked = await node.call('PATCH', `${g.base}/courses/${file.courses[0].id}`, { version: file.courses[0].version, examScore: 99 }, g.teacher)
  t.equal(locked.status, 409)
  t.match(locked.body, { code: 'GROWTH_REPORTED_LOCKED', details: { stage: 'bureau', approvals: ['bureau'] } })
  t.equal((await node.call('POST', `${g.base}/practices`, { kind: 'research', term: '2026-1', topic: 'x', fromDate: '2026-10-01', evaluation: '优秀' }, g.teacher)).body.code, 'GROWTH_REPORTED_LOCKED')
  t.equal((await node.call('PUT', `${g.base}/evaluation`, { overallComment: '改' }, g.teacher)).body.code, 'GROWTH_REPORTED_LOCKED')

  const reopen = await node.call('POST', `/api/v1/verification/growth_evaluations/${file.evaluation.id}/return`, { reason: '重新核对' }, g.leader)
  t.equal(reopen.body.code, 'GROWTH_REPORTED_LOCKED', 'a reported evaluation is not returned through the verification queue either')
  const bureau = await node.call('POST', '/api/v1/growth/report', { schoolYear: 2026, grade: 10 }, node.bureau)
  t.equal(bureau.status, 200, JSON.stringify(bureau.body))
  t.equal(bureau.body.reported, 1)
  const after = await node.call('DELETE', `${g.base}/courses/${file.courses[0].id}?version=${file.courses[0].version}`, undefined, g.teacher)
  t.match(after.body, { code: 'GROWTH_REPORTED_LOCKED', details: { stage: 'province', approvals: ['bureau', 'province'] } })
  t.match(after.body.message, /省级批准/)
  const progress = await node.call('GET', '/api/v1/growth/progress?schoolYear=2026', undefined, node.bureau)
  t.match(progress.body.items, [{ grade: 10, evaluations: 1, verified: 1, reported: 1, bureauReported: 1, schoolDeadline: '2027-07-31', bureauDeadline: '2027-09-30' }])
})

t.test('R-23.1 the 公示 period: the student sees their evaluation and objects, the school answers, then reports', async t => {
  const g = await growthNode(t)
  const { node } = g
  await verifiedFile(g)
  const pupil = await loginAs(node.app, 'student', { kind: 'student', school: g.school.schoolCode, studentId: g.student.id })
  const leader = as(g, 'leader')
  const self = recordsActor(pupil.actor, scopeFilter(pupil.actor))
  const bad = await node.call('POST', `/api/v1/schools/${g.school.id}/growth/publicity`, { grade: 10, from: '2027-05-10', to: '2027-05-01' }, g.leader)
  t.equal(bad.body.code, 'GROWTH_PUBLICITY_INVALID')
  engine(g, '2027-04-20').publicity(leader, String(g.school.id), { grade: 10, from: '2027-05-01', to: '2027-05-10' })

  t.throws(() => engine(g, '2027-04-30').object(self, String(g.student.id), '评语与事实不符'), { code: 'GROWTH_NOT_IN_PUBLICITY' }, 'not before the period')
  t.throws(() => engine(g, '2027-05-11').object(self, String(g.student.id), '评语与事实不符'), { code: 'GROWTH_NOT_IN_PUBLICITY' }, 'not after it')
  const objection = engine(g, '2027-05-05').object(self, String(g.student.id), '社会实践记录漏填')
  t.match(objection, { reason: '社会实践记录漏填', raisedBy: pupil.account.id, answer: null })
  const seen = await node.call('GET', g.base, undefined, pupil)
  t.equal(seen.status, 200, 'the student reads their own evaluation')
  t.match(seen.body, { evaluation: { publicFrom: '2027-05-01', publicTo: '2027-05-10', verifyState: 'verified' }, objections: [{ id: objection.id, answer: null }] })
  t.equal((await node.call('POST', `${g.base}/objections`, { reason: 'x' }, g.teacher)).status, 403, 'staff do not raise objections')

  const round = { schoolYear: 2026, grade: 10 }
  t.throws(() => engine(g, '2027-05-20').schoolReport(leader, String(g.school.id), round), { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'objection' } }, 'an open objection holds the report')
  t.equal((await node.call('POST', `${g.base}/objections/${String(objection.id)}/answer`, { answer: '经核实已补录' }, g.teacher)).status, 403, 'the class administrator does not answer')
  const answered = await node.call('POST', `${g.base}/objections/${String(objection.id)}/answer`, { answer: '经核实已补录' }, g.leader)
  t.match(answered.body, { answer: '经核实已补录', answeredBy: g.leader.account.id })
  t.equal((await node.call('POST', `${g.base}/objections/${String(objection.id)}/answer`, { answer: '再答' }, g.leader)).body.code, 'GROWTH_OBJECTION_ANSWERED')
  t.throws(() => engine(g, '2027-05-10').schoolReport(leader, String(g.school.id), round), { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'not on the last day of the 公示')
  t.same(engine(g, '2027-05-11').schoolReport(leader, String(g.school.id), round), { reported: 1, deadline: '2027-07-31', late: false })
})

t.test('R-23.1 R-16.1 R-17.5 a grade is published and reported by a leader reaching the whole school, not by one bound to a class', async t => {
  const g = await growthNode(t)
  const { node } = g
  await verifiedFile(g)
  // A member of the evaluation group bound to the class: verifies its class's records, acts on no whole grade.
  const classLeader = await loginAs(node.app, 'class_admin', { kind: 'classes', school: g.school.schoolCode, classes: [g.klass.id] }, { leader: true })
  const rec = await node.call('POST', `${g.base}/courses`, course({ term: '2026-2', moduleCode: 'N0102', name: '语文必修二' }), g.teacher)
  t.equal((await node.call('POST', `/api/v1/verification/growth_courses/${rec.body.id}/verify`, undefined, classLeader)).body.verifyState, 'verified', 'a record of its class')
  const ev = (await node.call('GET', g.base, undefined, g.teacher)).body.evaluation
  t.equal((await node.call('POST', `/api/v1/verification/growth_evaluations/${ev.id}/verify`, undefined, classLeader)).body.verifyState, 'verified', 'and the evaluation regenerated from it')
  const today = chinaToday(new Date())
  const publicity = { grade: 10, from: today, to: today }
  for (const [url, body] of [[`/api/v1/schools/${g.school.id}/growth/publicity`, publicity], [`/api/v1/schools/${g.school.id}/growth/report`, { schoolYear: 2026, grade: 10 }]] as const) {
    const r = await node.call('POST', url, body, classLeader)
    t.equal(r.status, 404, url)
    t.equal(r.body.code, 'NOT_FOUND')
  }
  t.equal(node.app.storage.sqlite.prepare('select count(*) from growth_evaluations where public_from is not null or reported_at is not null').pluck().get(), 0, 'nothing published or reported')
  const ok = await node.call('POST', `/api/v1/schools/${g.school.id}/growth/publicity`, publicity, g.leader)
  t.same([ok.status, ok.body], [200, { evaluations: 1 }], 'the school\'s leader publishes it')
})

t.test('R-23.1 the 公示 period starts no earlier than today and, once open, is only extended: a grade is reported only after a real period with every objection answered', async t => {
  const g = await growthNode(t)
  const { node } = g
  await verifiedFile(g)
  const leader = as(g, 'leader')
  const school = String(g.school.id)
  const period = () => node.app.storage.sqlite.prepare('select public_from, public_to, version from growth_evaluations').get() as { public_from: string | null; public_to: string | null; version: number }
  const round = { schoolYear: 2026, grade: 10 }

  // Through the API, on the node's own clock: a period in the past, even partly, is refused and changes nothing.
  const today = chinaToday(new Date())
  const yesterday = chinaToday(new Date(Date.now() - 86400000))
  const before = node.counts()
  for (const [what, from, to] of [['wholly in the past', '2026-01-01', '2026-01-10'], ['ending yesterday', yesterday, yesterday], ['starting yesterday', yesterday, today]] as const) {
    const r = await node.call('POST', `/api/v1/schools/${school}/growth/publicity`, { grade: 10, from, to }, g.leader)
    t.equal(r.status, 400, `${what}: 400`)
    t.match(r.body, { code: 'GROWTH_PUBLICITY_INVALID', details: { field: 'from', rule: 'not_before_today', today } }, `${what}: stable code, the rule and today named`)
    t.match(r.body.message, /公示期不能早于今天/, `${what}: Chinese message`)
  }
  t.strictSame(node.counts(), before, 'nothing written')
  t.match(period(), { public_from: null, public_to: null }, 'no period set')
  const now = await node.call('POST', `/api/v1/schools/${school}/growth/report`, round, g.leader)
  t.match(now.body, { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'so the grade cannot be reported at once')
  const same = await node.call('POST', `/api/v1/schools/${school}/growth/publicity`, { grade: 10, from: today, to: today }, g.leader)
  t.same([same.status, same.body], [200, { evaluations: 1 }], 'a period of today alone is accepted')
  t.match((await node.call('POST', `/api/v1/schools/${school}/growth/report`, round, g.leader)).body, { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'and reporting waits until it has ended')

  // With a clock the test sets. Not yet open: it may still be moved, to start today or later.
  engine(g, '2027-04-20').publicity(leader, school, { grade: 10, from: '2027-05-01', to: '2027-05-10' })
  t.throws(() => engine(g, '2027-04-25').publicity(leader, school, { grade: 10, from: '2027-04-24', to: '2027-04-30' }), { code: 'GROWTH_PUBLICITY_INVALID', details: { rule: 'not_before_today' } }, 'not to a start before today')
  t.same(engine(g, '2027-04-25').publicity(leader, school, { grade: 10, from: '2027-04-25', to: '2027-04-30' }), { evaluations: 1 }, 'a period not yet open moves to today')
  t.match(period(), { public_from: '2027-04-25', public_to: '2027-04-30' })

  // Open: only extended, from its own start or from today, never ended sooner.
  const opened = period()
  const refusals: Array<[string, string, string, 'from' | 'to']> = [
    ['moved into the past', '2027-04-01', '2027-04-10', 'from'],
    ['its start moved earlier, though extended', '2027-04-20', '2027-05-10', 'from'],
    ['its end brought forward, keeping its start', '2027-04-25', '2027-04-27', 'to'],
    ['restarted today with an earlier end', '2027-04-28', '2027-04-29', 'to'],
  ]
  for (const [what, from, to, field] of refusals) {
    t.throws(() => engine(g, '2027-04-28').publicity(leader, school, { grade: 10, from, to }), { code: 'GROWTH_PUBLICITY_INVALID', details: { field } }, `${what}: refused`)
    t.same(period(), opened, `${what}: the period unchanged`)
  }
  t.throws(() => engine(g, '2027-04-28').publicity(leader, school, { grade: 10, from: '2027-04-25', to: '2027-04-29' }), { code: 'GROWTH_PUBLICITY_INVALID', details: { rule: 'not_shortened', publicFrom: '2027-04-25', publicTo: '2027-04-30' } }, 'the refusal names the open period')
  t.same(engine(g, '2027-04-28').publicity(leader, school, { grade: 10, from: '2027-04-25', to: '2027-05-06' }), { evaluations: 1 }, 'an open period is extended, keeping its start')
  t.same(engine(g, '2027-04-28').publicity(leader, school, { grade: 10, from: '2027-04-25', to: '2027-05-06' }), { evaluations: 1 }, 'and may be sent again unchanged')
  t.match(period(), { public_from: '2027-04-25', public_to: '2027-05-06' })

  // Reporting: only after the period has ended by the clock, with every objection answered.
  const pupil = await loginAs(node.app, 'student', { kind: 'student', school: g.school.schoolCode, studentId: g.student.id })
  const objection = engine(g, '2027-05-06').object(recordsActor(pupil.actor, scopeFilter(pupil.actor)), String(g.student.id), '评语与事实不符')
  t.throws(() => engine(g, '2027-05-06').schoolReport(leader, school, round), { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'not on the last day')
  t.throws(() => engine(g, '2027-05-07').schoolReport(leader, school, round), { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'objection' } }, 'not with an objection open')
  engine(g, '2027-05-07').answer(leader, String(g.student.id), String(objection.id), '经核实，评语无误')
  t.same(engine(g, '2027-05-07').schoolReport(leader, school, round), { reported: 1, deadline: '2027-07-31', late: false }, 'then reported')
})
