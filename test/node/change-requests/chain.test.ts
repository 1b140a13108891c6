/**
 * Change requests for locked records over a real node database with a clock the
 * test sets: the chain without the province (a guardian locked at the end of September, changed
 * after the bureau approves), rejection, withdrawal, a stale approval, a patch invalid when the
 * school applies and when it is applied, a direct write still refused; the chain with the
 * province for a growth record reported to it (the province's decision applied as its command).
 */
import t, { type Test } from 'tap'
import { createWorkingCalendar, PROVINCE_DATES } from '../../../config/calendar.ts'
import { createRolloverService } from '../../../node/calendar/rollover-service.ts'
import { createChangeRequestService } from '../../../node/change-requests/service.ts'
import { PROVINCE_DECISION_COMMAND } from '../../../node/change-requests/rules.ts'
import { createGrowthService } from '../../../node/growth/service.ts'
import { createRecordsService } from '../../../node/services/records/service.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import type { Command } from '../../../sync/command.ts'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool, type Json, type RecordsNode } from '../../records/setup.ts'
import { serviceActor } from '../status-changes/lib.ts'
import { growthNode, verifiedFile } from '../growth/lib.ts'

/** The records, growth and change-request services over `node`'s database, deciding "today" by `clock`. */
function engines(node: RecordsNode, clock: { day: string }) {
  const { storage, identity } = node.app
  const now = () => new Date(`${clock.day}T04:00:00Z`)
  const records = createRecordsService({ storage, identity, codes: node.app.records.codes, now })
  const growth = createGrowthService({ storage, identity, codes: node.app.records.codes, now })
  const cr = createChangeRequestService({
    storage, identity, records, growth, calendar: createWorkingCalendar(), reviewDays: 20, now,
    issue: (destination, type, payload) => node.app.sync.downward.issue(destination, type, payload),
  })
  return { records, growth, cr }
}

/**
 * A student entered in September 2026 with five guardians (one per test below), verified through
 * the API: locked from 1 October 2026. One node for the tests of this file.
 */
async function lockedStudent(t: Test) {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const s = await node.call('POST', '/api/v1/students', { ...fx.student({ enrolmentYm: '2026-09' }), schoolId: school.id, classId: klass.id, guardians: [1, 2, 3, 4, 5].map(i => ({ ...fx.subRecords.guardians[0], name: `监护人${i}` })) })
  t.equal(s.status, 201, 'student entered')
  const grade = await loginAs(node.app, 'grade_admin', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const v = await node.call('POST', `/api/v1/verification/students/${s.body.id}/verify`, undefined, grade)
  t.equal(v.status, 200, 'student verified')
  const clock = { day: '2026-10-08' }
  return { node, school, klass, student: s.body as Json, guardians: s.body.guardians as Json[], clock, ...engines(node, clock), as: { school: serviceActor(node.school), bureau: serviceActor(node.bureau) } }
}

const shared = lockedStudent(t)
const fixture = async (guardian: number) => {
  const f = await shared
  f.clock.day = '2026-10-08'
  return { ...f, guardian: f.guardians[guardian] }
}

const row = (node: RecordsNode, table: string, id: string) => node.app.storage.sqlite.prepare(`select * from ${table} where id = ?`).get(id) as Json
const thrown = async (fn: () => unknown): Promise<Json> => {
  try {
    await fn()
  } catch (err) {
    return err as Json
  }
  throw new Error('expected a refusal')
}

t.test('R-22.5 a guardian locked at the end of September changes only after the bureau approves, carried out as the bureau administrator', async t => {
  const f = await fixture(0)
  f.clock.day = '2026-09-30'
  const open = f.records.update(f.as.school, 'student_guardians', f.guardian.id, { version: 1, phone: '13900000001' })
  t.equal(open.version, 2, 'on 30 September the guardian is still written directly')
  t.match(await thrown(() => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 2, patch: { phone: '13900000002' }, reason: '电话变更' })), { code: 'CHANGE_REQUEST_NOT_LOCKED' }, 'an open record needs no change request')

  f.clock.day = '2026-10-01'
  const locked = await thrown(() => f.records.update(f.as.school, 'student_guardians', f.guardian.id, { version: 2, phone: '13900000002' }))
  t.match(locked, { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1', lockedFrom: '2026-10-01', changeRequest: 'POST /api/v1/change-requests', approvals: ['bureau'] } }, 'the refusal names the change-request route and who approves')

  f.clock.day = '2026-10-08'
  const applied = f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 2, patch: { phone: '13900000002' }, reason: '监护人更换手机号码' })
  t.match(applied, { status: 'pending_bureau', lockRule: 'R-22.1', needsProvince: false, subjectVersion: 2, patch: { phone: '13900000002' }, appliedOn: '2026-10-08', ageDays: 0, deadline: '2026-11-04' })
  t.equal(row(f.node, 'student_guardians', f.guardian.id).phone, '13900000001', 'applying changes nothing yet')
  t.same(f.cr.queue(() => true).items.map(r => r.id), [applied.id], 'the request is in the queue')
  t.equal(f.cr.openForSchool(String(f.school.id)), 1, 'a pending request of the school (a rollover blocker)')

  f.clock.day = '2026-10-12'
  t.match(f.cr.get(f.as.bureau, String(applied.id)), { ageDays: 4, ageWorkingDays: 3 }, 'its age in days and working days (Saturday 10 October 2026 is a working day)')
  const done = await f.cr.decide(f.as.bureau, String(applied.id), { version: 1, decision: 'approve', reason: '同意' })
  t.match(done, { status: 'carried_out', bureauDecision: 'approve', bureauBy: f.node.bureau.account.id, carriedOutBy: f.node.bureau.account.id, resultVersion: 3 })
  t.match(done.decisions, [
    { step: 'apply', by: f.node.school.account.id, reason: '监护人更换手机号码' },
    { step: 'bureau', by: f.node.bureau.account.id, decision: 'approve', reason: '同意' },
    { step: 'carry_out', by: f.node.bureau.account.id },
  ], 'the chain of decisions: who, when, decision, reason')
  const g = row(f.node, 'student_guardians', f.guardian.id)
  t.match(g, { phone: '13900000002', version: 3 }, 'the approved patch is applied')
  const outbox = f.node.app.storage.sqlite.prepare("select table_name t, actor from outbox where table_name in ('change_requests', 'student_guardians') order by id desc limit 2").all() as Json[]
  t.same(outbox.map(r => [r.t, r.actor]).sort(), [['change_requests', f.node.bureau.account.id], ['student_guardians', f.node.bureau.account.id]], 'both travel upward as ordinary change sets, written as the approving administrator')
  t.equal(f.cr.openForSchool(String(f.school.id)), 0)

  const again = await thrown(() => f.records.update(f.as.school, 'student_guardians', f.guardian.id, { version: 3, phone: '13900000003' }))
  t.equal(again.code, 'CALENDAR_RECORD_LOCKED', 'a direct write is still refused: the lock was lifted for the approved patch only')
})

t.test('R-22.5 the bureau rejects with a reason; the school withdraws until decided; an open request blocks the rollover', async t => {
  const f = await fixture(1)
  const ask = (phone: string) => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 1, patch: { phone }, reason: '电话变更' })
  const a = ask('13900000011')
  t.match(await thrown(() => f.cr.decide(f.as.bureau, String(a.id), { version: 1, decision: 'reject' })), { code: 'CHANGE_REQUEST_REASON_REQUIRED' }, 'a rejection needs its reason')
  const rejected = await f.cr.decide(f.as.bureau, String(a.id), { version: 1, decision: 'reject', reason: '缺少证明材料' })
  t.match(rejected, { status: 'rejected', bureauDecision: 'reject', bureauReason: '缺少证明材料' })
  t.match((rejected.decisions as Json[]).at(-1), { step: 'bureau', decision: 'reject', reason: '缺少证明材料' })
  t.equal(row(f.node, 'student_guardians', f.guardian.id).version, 1, 'the record is untouched')
  t.match(await thrown(() => f.cr.withdraw(f.as.school, String(a.id), { version: 2 })), { code: 'CHANGE_REQUEST_NOT_PENDING' }, 'a decided request is not withdrawn')

  const b = ask('13900000012')
  const rollover = createRolloverService({ storage: f.node.app.storage, identity: f.node.app.identity, codes: f.node.app.records.codes, dates: PROVINCE_DATES, now: () => new Date(`${f.clock.day}T04:00:00Z`) })
  const blockers = () => rollover.dryRun({ schoolYear: 2027 }).items.flatMap(i => i.blockers.map(b => b.code))
  t.ok(blockers().includes('pending_change_request'), 'a request awaiting the bureau blocks its school\'s rollover (R-21.1)')
  t.match(await thrown(() => f.cr.withdraw(f.as.school, String(b.id), { version: 7 })), { code: 'RECORD_VERSION_CONFLICT' })
  const withdrawn = f.cr.withdraw(f.as.school, String(b.id), { version: 1 })
  t.notOk(blockers().includes('pending_change_request'), 'once withdrawn it blocks nothing')
  t.match(withdrawn, { status: 'withdrawn', withdrawnBy: f.node.school.account.id })
  t.match(await thrown(() => f.cr.decide(f.as.bureau, String(b.id), { version: 2, decision: 'approve' })), { code: 'CHANGE_REQUEST_NOT_PENDING' }, 'nor is a withdrawn one approved')
  t.same(f.cr.queue(() => true).items, [], 'the queue of open requests is empty')
  t.same(f.cr.queue(() => true, ['rejected', 'withdrawn']).items.map(r => r.status), ['rejected', 'withdrawn'])
  t.equal(row(f.node, 'student_guardians', f.guardian.id).phone, '13900000000', 'nothing changed the guardian')
})

t.test('R-22.5 a stale approval is refused: an old request version changes nothing, a record changed since the application marks the request failed', async t => {
  const f = await fixture(2)
  const ask = (phone: string) => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 1, patch: { phone }, reason: '电话变更' })
  const a = ask('13900000021')
  const b = ask('13900000022')
  const before = f.node.counts()
  t.match(await thrown(() => f.cr.decide(f.as.bureau, String(a.id), { version: 9, decision: 'approve' })), { code: 'RECORD_VERSION_CONFLICT', details: { currentVersion: 1 } })
  t.same(f.node.counts(), before, 'nothing written')
  t.equal((await f.cr.decide(f.as.bureau, String(a.id), { version: 1, decision: 'approve' })).status, 'carried_out')
  const stale = await thrown(() => f.cr.decide(f.as.bureau, String(b.id), { version: 1, decision: 'approve' }))
  t.match(stale, { code: 'CHANGE_REQUEST_STALE', statusCode: 409, details: { changeRequest: b.id, status: 'failed', currentVersion: 2 } })
  t.match(f.cr.get(f.as.bureau, String(b.id)), { status: 'failed', failureCode: 'CHANGE_REQUEST_STALE', bureauDecision: 'approve' }, 'the request is marked failed')
  t.match(row(f.node, 'student_guardians', f.guardian.id), { phone: '13900000021', version: 2 }, 'the first change stands, the stale one is not applied')
})

t.test('R-22.5 a patch invalid when the school applies is refused with its code; one invalid when applied marks the request failed, nothing half-written', async t => {
  const f = await fixture(3)
  const before = f.node.counts()
  t.match(await thrown(() => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 1, patch: { phone: '12' }, reason: '电话变更' })), { code: 'RECORD_FIELD_FORMAT' }, 'the guardian route\'s own validator')
  t.match(await thrown(() => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 1, patch: { phone: '13900000031' }, reason: '' })), { code: 'RECORD_FIELD_REQUIRED', details: { field: 'reason' } })
  t.match(await thrown(() => f.cr.apply(f.as.school, { table: 'student_guardians', id: f.guardian.id, version: 1, patch: { version: 3 }, reason: '改' })), { code: 'CHANGE_REQUEST_PATCH_INVALID' })
  t.match(await thrown(() => f.cr.apply(f.as.school, { table: 'school_classes', id: f.klass.id, version: 1, patch: { name: '改' }, reason: '改' })), { code: 'CHANGE_REQUEST_TABLE_INVALID' })
  t.same(f.node.counts(), before, 'nothing stored')

  const spare = await f.node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026002', name: '一年级（2）班', foundedYm: '2026-09', grade: 1 }), schoolId: f.school.id })
  const move = f.cr.apply(f.as.school, { table: 'students', id: f.student.id, version: Number(row(f.node, 'students', f.student.id).version), patch: { classId: spare.body.id }, reason: '分班调整' })
  t.equal(move.status, 'pending_bureau')
  t.equal((await f.node.call('DELETE', `/api/v1/classes/${spare.body.id}`)).status, 204, 'the class the patch names is deleted meanwhile')
  const mid = f.node.counts()
  const refused = await thrown(() => f.cr.decide(f.as.bureau, String(move.id), { version: 1, decision: 'approve' }))
  t.match(refused, { code: 'CHANGE_REQUEST_NO_LONGER_VALID', details: { cause: 'RECORD_REFERENCE_INVALID', field: 'classId', status: 'failed' } })
  t.match(f.cr.get(f.as.bureau, String(move.id)), { status: 'failed', failureCode: 'CHANGE_REQUEST_NO_LONGER_VALID' })
  t.equal(row(f.node, 'students', f.student.id).class_id, f.klass.id, 'the student is not moved')
  t.same({ ...f.node.counts(), outbox: 0 }, { ...mid, outbox: 0 }, 'only the request row changed')
})

t.test('R-22.5 through the API: the lock refusal points at the route; apply, queue, approve; a stale approval answers its code and is audited as failed', async t => {
  const f = await fixture(4)
  const { node, student, guardian } = f
  const locked = await node.call('PATCH', `/api/v1/students/${student.id}/guardians/${guardian.id}`, { version: 1, phone: '13900000051' })
  t.match(locked, { status: 409, body: { code: 'CALENDAR_RECORD_LOCKED', details: { rule: 'R-22.1', changeRequest: 'POST /api/v1/change-requests', approvals: ['bureau'] } } })
  const ask = (phone: string) => node.call('POST', '/api/v1/change-requests', { table: 'student_guardians', id: guardian.id, version: 1, patch: { phone }, reason: '电话变更' })
  const a = await ask('13900000051')
  const b = await ask('13900000052')
  t.equal(a.status, 201, JSON.stringify(a.body))
  t.match(a.body, { status: 'pending_bureau', lockRule: 'R-22.1', subjectTable: 'student_guardians', decisions: [{ step: 'apply', by: node.school.account.id }] })
  t.not(a.body.patch.phone, '13900000051', 'the patch reads masked like the record')
  const queue = await node.call('GET', '/api/v1/change-requests', undefined, node.bureau)
  t.match(queue.body.items.find((r: Json) => r.id === a.body.id), { ageDays: Number, ageWorkingDays: Number, deadline: String, decisionSent: null }, 'the bureau\'s queue, with age and deadline')
  t.equal((await node.call('GET', `/api/v1/change-requests/${a.body.id}`, undefined, node.bureau)).body.id, a.body.id)
  t.equal((await node.call('POST', `/api/v1/change-requests/${a.body.id}/decide`, { version: 1, decision: 'approve' })).status, 403, 'the school does not approve its own request')
  const approved = await node.call('POST', `/api/v1/change-requests/${a.body.id}/decide`, { version: 1, decision: 'approve', reason: '同意' }, node.bureau)
  t.match(approved, { status: 200, body: { status: 'carried_out', resultVersion: 2 } })
  const stale = await node.call('POST', `/api/v1/change-requests/${b.body.id}/decide`, { version: 1, decision: 'approve' }, node.bureau)
  t.match(stale, { status: 409, body: { code: 'CHANGE_REQUEST_STALE', details: { changeRequest: b.body.id, status: 'failed' } } })
  const audit = readAudit(node.app.storage).filter(e => e.targetId === a.body.id || e.targetId === b.body.id).map(e => [e.targetId === a.body.id ? 'a' : 'b', e.action, e.outcome])
  t.same(audit, [['a', 'change_request_apply', 'ok'], ['b', 'change_request_apply', 'ok'], ['a', 'POST /api/v1/change-requests/:id/decide', 'denied'], ['a', 'change_request_approve', 'ok'], ['b', 'change_request_approve', 'failed']], 'each step audited with its write')
  const docs = (await node.app.inject({ method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, unknown> }
  t.ok(['/api/v1/change-requests', '/api/v1/change-requests/{id}', '/api/v1/change-requests/{id}/decide', '/api/v1/change-requests/{id}/withdraw'].every(p => p in docs.paths), 'in the OpenAPI document')
})

/** A growth node whose grade-10 file the school showed (公示) and reported to its bureau only, on 1 May 2027. */
async function reportedBySchool(t: Test) {
  const g = await growthNode(t)
  await verifiedFile(g)
  const clock = { day: '2027-04-01' }
  const { growth, cr } = engines(g.node, clock)
  const school = serviceActor(g.leader)
  const bureau = serviceActor(g.node.bureau)
  growth.publicity(school, String(g.school.id), { grade: 10, from: '2027-04-01', to: '2027-04-10' })
  clock.day = '2027-05-01'
  growth.schoolReport(school, String(g.school.id), { schoolYear: 2026, grade: 10 })
  return { g, clock, growth, cr, school, bureau }
}

t.test('R-24.2 a growth record reported to the province changes after the bureau agrees and the province approves, carried out as the province administrator', async t => {
  const { g, clock, growth, cr, school, bureau } = await reportedBySchool(t)
  const file = growth.file(school, String(g.student.id))
  const c = file.courses[0]

  // Reported by the school only: the bureau's approval suffices.
  const bureauOnly = cr.apply(school, { table: 'growth_courses', id: String(c.id), version: Number(c.version), patch: { examScore: 90 }, reason: '成绩录入错误' })
  t.match(bureauOnly, { lockRule: 'R-23.1', needsProvince: false })
  cr.withdraw(school, String(bureauOnly.id), { version: 1 })

  clock.day = '2027-09-20'
  growth.bureauReport(bureau, { schoolYear: 2026, grade: 10 })
  const locked = await thrown(() => growth.update(school, 'courses', String(g.student.id), String(c.id), { version: Number(c.version), proficiencyScore: 60 }))
  t.match(locked, { code: 'GROWTH_REPORTED_LOCKED', details: { stage: 'province', approvals: ['bureau', 'province'], changeRequest: 'POST /api/v1/change-requests' } })

  const a = cr.apply(school, { table: 'growth_courses', id: String(c.id), version: Number(c.version), patch: { proficiencyScore: 60 }, reason: '会考成绩更正' })
  t.match(a, { status: 'pending_bureau', lockRule: 'R-24.2', needsProvince: true })
  const agreed = await cr.decide(bureau, String(a.id), { version: 1, decision: 'approve', reason: '同意上报省级' })
  t.match(agreed, { status: 'pending_province', bureauDecision: 'approve', deadline: null })
  t.equal(row(g.node, 'growth_courses', String(c.id)).proficiency_score, 90, 'the bureau\'s agreement alone changes nothing')
  t.match(await thrown(() => cr.decide(bureau, String(a.id), { version: 2, decision: 'approve' })), { code: 'CHANGE_REQUEST_WRONG_TIER' }, 'the province decides, not the bureau')

  const command = (payload: Json): Command => ({ format: 1, issuer: '330000', destination: '330106', seq: 1, type: PROVINCE_DECISION_COMMAND, createdAt: '2027-09-21T02:00:00.000Z', payload })
  const approval = { id: a.id, version: 2, decision: 'approve', reason: '准予更正', by: 'province-admin-1', at: '2027-09-21T02:00:00.000Z' }
  const evBefore = row(g.node, 'growth_evaluations', String(file.evaluation!.id))
  t.match(await thrown(() => g.node.app.storage.write(() => cr.applyProvinceDecision(command({ ...approval, version: 1 })))), { code: 'RECORD_VERSION_CONFLICT' }, 'a decision on an older version is refused')
  t.match(await thrown(() => g.node.app.storage.write(() => cr.applyProvinceDecision({ ...command(approval), issuer: '330100' }))), { code: 'CHANGE_REQUEST_WRONG_TIER' }, 'a city\'s command does not stand for the province\'s approval')
  const result = g.node.app.storage.write(() => cr.applyProvinceDecision(command(approval)))
  t.same(result, { changeRequest: a.id, status: 'carried_out' })
  const done = cr.get(bureau, String(a.id))
  t.match(done, { status: 'carried_out', provinceNode: '330000', provinceDecision: 'approve', provinceBy: 'province-admin-1', provinceReason: '准予更正', carriedOutBy: 'province-admin-1' })
  t.same((done.decisions as Json[]).map(d => `${d.step}@${d.node}`), ['apply@330106', 'bureau@330106', 'province@330000', 'carry_out@330106'])
  t.match(row(g.node, 'growth_courses', String(c.id)), { proficiency_score: 60, entered_by: 'province-admin-1' }, 'the approved patch, as the province administrator')
  const evAfter = row(g.node, 'growth_evaluations', String(file.evaluation!.id))
  t.not(evAfter.proficiency_levels, evBefore.proficiency_levels, 'the generated figures are recomputed')
  t.ok(evAfter.version > evBefore.version)
  t.match(readAudit(g.node.app.storage).filter(e => e.targetId === a.id).map(e => [e.action, e.actorId]), [['change_request_province_approve', 'province-admin-1']], 'audited under the province administrator')
  t.match(await thrown(() => growth.update(school, 'courses', String(g.student.id), String(c.id), { version: Number(row(g.node, 'growth_courses', String(c.id)).version), proficiencyScore: 95 })), { code: 'GROWTH_REPORTED_LOCKED' }, 'a direct write is still refused')
})

t.test('R-24.2 a growth record of a school homed at the province: the province, its bureau too, agrees and approves in one decision, carried out at once', async t => {
  const g = await growthNode(t, { tier: 'province' })
  await verifiedFile(g)
  const clock = { day: '2027-05-01' }
  const { growth, cr } = engines(g.node, clock)
  const school = serviceActor(g.leader)
  const province = serviceActor(g.node.bureau)
  clock.day = '2027-04-01'
  growth.publicity(school, String(g.school.id), { grade: 10, from: '2027-04-01', to: '2027-04-10' })
  clock.day = '2027-05-01'
  growth.schoolReport(school, String(g.school.id), { schoolYear: 2026, grade: 10 })
  clock.day = '2027-09-20'
  growth.bureauReport(province, { schoolYear: 2026, grade: 10 })
  const c = growth.file(school, String(g.student.id)).courses[0]
  const a = cr.apply(school, { table: 'growth_courses', id: String(c.id), version: Number(c.version), patch: { proficiencyScore: 60 }, reason: '会考成绩更正' })
  t.match(a, { status: 'pending_bureau', lockRule: 'R-24.2', needsProvince: true })
  const done = await cr.decide(province, String(a.id), { version: 1, decision: 'approve', reason: '准予更正' })
  t.match(done, { status: 'carried_out', bureauDecision: 'approve', provinceNode: '330000', provinceDecision: 'approve', provinceReason: '准予更正' })
  t.same((done.decisions as Json[]).map(d => `${d.step}@${d.node}`), ['apply@330000', 'bureau@330000', 'province@330000', 'carry_out@330000'])
  t.equal(row(g.node, 'growth_courses', String(c.id)).proficiency_score, 60, 'the approved patch is written')
})

t.test('R-24.2 a request applied while the growth record was reported to the bureau only, still pending when the bureau reports to the province, needs the province too: the bureau\'s approval does not carry it out', async t => {
  const { g, clock, growth, cr, school, bureau } = await reportedBySchool(t)
  const c = growth.file(school, String(g.student.id)).courses[0]
  const a = cr.apply(school, { table: 'growth_courses', id: String(c.id), version: Number(c.version), patch: { examScore: 90 }, reason: '成绩录入错误' })
  t.match(a, { status: 'pending_bureau', lockRule: 'R-23.1', needsProvince: false }, 'applied under R-23.1: the bureau alone would approve')

  clock.day = '2027-09-20'
  growth.bureauReport(bureau, { schoolYear: 2026, grade: 10 })
  const before = row(g.node, 'growth_courses', String(c.id))
  const agreed = await cr.decide(bureau, String(a.id), { version: 1, decision: 'approve', reason: '同意' })
  t.match(agreed, { status: 'pending_province', bureauDecision: 'approve', needsProvince: true, lockRule: 'R-24.2' }, 'reported to the province meanwhile: the request now awaits the province')
  t.same(row(g.node, 'growth_courses', String(c.id)), before, 'the bureau\'s approval alone changes nothing')
  t.match(await thrown(() => cr.decide(bureau, String(a.id), { version: 2, decision: 'approve' })), { code: 'CHANGE_REQUEST_WRONG_TIER' }, 'the province decides next')
})
