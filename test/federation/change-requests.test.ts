/**
 * A change after reporting to the province, end to end across real county, city and
 * province nodes, through their HTTP APIs only: a county school's growth record, reported by the
 * school and by the county to the province, is changed on the school's application at the county,
 * the county bureau's agreement, and the province's approval, which reaches the county as a
 * signed command; the county applies it, and the changed record with the recomputed evaluation
 * reaches the province.
 */
import t from 'tap'
import { TEST_PASSWORD } from '../helper.ts'
import * as fx from '../records/fixtures.ts'
import { course, quality } from '../node/growth/lib.ts'
import { apiLogin, startFederation, type ApiSession } from './lib/federation.ts'
import { PROVINCE_DECISION_COMMAND } from '../../node/change-requests/rules.ts'
import { TEST_CLOCK_ENV } from '../../node/growth/clock.ts'
import { chinaToday } from '../../node/records/validate.ts'

/** Polls an API answer until `check` holds (generous: the machine is shared). */
async function until<T>(what: string, read: () => Promise<T>, check: (v: T) => boolean, ms = 90000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await read()
    if (check(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`)
    await new Promise(r => setTimeout(r, 200))
  }
}

t.test('R-24.2 a county school\'s growth record reported to the province changes after the school applies, the county agrees and the province approves by a signed command', async t => {
  const [province, , county] = await startFederation(t)
  const admin = await apiLogin(county)
  const ok = async (s: ApiSession, method: string, path: string, body?: object, status = 200) => {
    const res = await s.call(method, path, body)
    if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`)
    return res.json
  }
  await ok(admin, 'POST', '/api/v1/units', fx.unit(), 201)
  const school = await ok(admin, 'POST', '/api/v1/schools', fx.school({ name: '杭州市西湖区文三路高级中学', category: '342' }), 201)
  const klass = await ok(admin, 'POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026101', name: '高一（1）班', foundedYm: '2026-09', schoolingLength: '3', grade: 10 }), schoolId: school.id }, 201)
  const student = await ok(admin, 'POST', '/api/v1/students', { ...fx.student({ enrolmentYm: '2026-09' }), schoolId: school.id, classId: klass.id }, 201)
  await ok(admin, 'POST', '/api/v1/accounts', { username: 'pingjia', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [school.schoolCode] }, leader: true }, 201)
  const leader = await apiLogin(county, 'pingjia')
  await ok(leader, 'POST', '/api/v1/accounts', { username: 'gao1ban', password: TEST_PASSWORD, role: 'class_admin', scope: { kind: 'classes', school: school.schoolCode, classes: [klass.id] } }, 201)
  const teacher = await apiLogin(county, 'gao1ban')

  // The growth file entered, verified, shown (公示 from today, R-23.1) and, once the period is over,
  // reported by the school, then by the county.
  const base = `/api/v1/students/${student.id}/growth`
  const c = await ok(teacher, 'POST', `${base}/courses`, course(), 201)
  const q = await ok(teacher, 'POST', `${base}/qualities`, quality(), 201)
  await ok(teacher, 'PUT', `${base}/evaluation`, { overallComment: '品学兼优' })
  const ev = (await ok(teacher, 'GET', base)).evaluation
  for (const [table, id] of [['growth_courses', c.id], ['growth_qualities', q.id], ['growth_evaluations', ev.id]]) await ok(leader, 'POST', `/api/v1/verification/${table}/${id}/verify`)
  const today = chinaToday(new Date())
  const past = await leader.call('POST', `/api/v1/schools/${school.id}/growth/publicity`, { grade: 10, from: '2026-11-01', to: '2026-11-10' })
  t.match(past, { status: 400, json: { code: 'GROWTH_PUBLICITY_INVALID', details: { rule: 'not_before_today' } } }, 'a 公示 period in the past is refused')
  await ok(leader, 'POST', `/api/v1/schools/${school.id}/growth/publicity`, { grade: 10, from: today, to: today })
  const early = await leader.call('POST', `/api/v1/schools/${school.id}/growth/report`, { schoolYear: 2026, grade: 10 })
  t.match(early, { status: 409, json: { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } } }, 'no report on the last day of the 公示')
  // The next day, for the county's growth service: its process restarted with the test clock a day
  // ahead (node/growth/clock.ts; honoured only by the test bundle the federation's nodes run).
  await county.stop()
  await county.start({ [TEST_CLOCK_ENV]: '1' })
  await ok(leader, 'POST', `/api/v1/schools/${school.id}/growth/report`, { schoolYear: 2026, grade: 10 })
  await ok(admin, 'POST', '/api/v1/growth/report', { schoolYear: 2026, grade: 10 })

  const file = await ok(teacher, 'GET', base)
  const current = file.courses[0]
  const refused = await teacher.call('PATCH', `${base}/courses/${current.id}`, { version: current.version, proficiencyScore: 60 })
  t.match(refused, { status: 409, json: { code: 'GROWTH_REPORTED_LOCKED', details: { stage: 'province', approvals: ['bureau', 'province'], changeRequest: 'POST /api/v1/change-requests' } } }, 'the reported record is locked and the refusal names the way')

  // The school applies at the county; the county bureau agrees.
  const applied = await ok(leader, 'POST', '/api/v1/change-requests', { table: 'growth_courses', id: current.id, version: current.version, patch: { proficiencyScore: 60 }, reason: '会考成绩登记错误，申请更正' }, 201)
  t.match(applied, { status: 'pending_bureau', lockRule: 'R-24.2', needsProvince: true })
  const agreed = await ok(admin, 'POST', `/api/v1/change-requests/${applied.id}/decide`, { version: 1, decision: 'approve', reason: '情况属实，同意' })
  t.equal(agreed.status, 'pending_province')

  // The request reaches the province in its replica; the province approves there.
  const atProvince = await apiLogin(province)
  const pending = await until('the request at the province', () => atProvince.call('GET', '/api/v1/change-requests?status=pending_province'),
    r => r.json.items?.some((i: { id: string }) => i.id === applied.id))
  const seen = pending.json.items.find((i: { id: string }) => i.id === applied.id)
  t.match(seen, { homeNode: '330106', version: 2, bureauDecision: 'approve', decisionSent: null })
  const sent = await ok(atProvince, 'POST', `/api/v1/change-requests/${applied.id}/decide`, { version: 2, decision: 'approve', reason: '准予更正' })
  t.match(sent, { status: 'pending_province', decisionSent: { decision: 'approve' } }, 'the decision goes down as a signed command')
  const twice = await atProvince.call('POST', `/api/v1/change-requests/${applied.id}/decide`, { version: 2, decision: 'approve' })
  // Refused as sent, or as no longer pending when the county has already carried it out: one command either way.
  t.ok(['CHANGE_REQUEST_DECISION_SENT', 'CHANGE_REQUEST_NOT_PENDING'].includes(twice.json.code), `and only once (${twice.json.code})`)
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_commands where issuer = ? and type = ?').pluck().get('330000', PROVINCE_DECISION_COMMAND), 1, 'one decision command issued')
  t.equal((await atProvince.call('PATCH', `${base}/courses/${current.id}`, { version: current.version, proficiencyScore: 60 })).status === 200, false, 'the province does not write the replica itself')

  // The county applies it as the province administrator; the change and the recomputed figures reach the province.
  const done = await until('the county carrying it out', () => admin.call('GET', `/api/v1/change-requests/${applied.id}`), r => r.json.status === 'carried_out')
  t.match(done.json.decisions.map((d: { step: string; node: string }) => `${d.step}@${d.node}`), ['apply@330106', 'bureau@330106', 'province@330000', 'carry_out@330106'])
  t.equal(done.json.provinceBy, done.json.carriedOutBy, 'carried out as the approving province administrator')
  const after = await ok(teacher, 'GET', base)
  t.equal(after.courses[0].proficiencyScore, 60)
  t.not(after.evaluation.proficiencyLevels, file.evaluation.proficiencyLevels, 'the generated figures are recomputed at the county')

  const there = await until('the changed record at the province', () => atProvince.call('GET', base),
    r => r.json.courses?.[0]?.proficiencyScore === 60 && r.json.evaluation?.proficiencyLevels === after.evaluation.proficiencyLevels)
  t.match(there.json.evaluation, { homeNode: '330106', version: after.evaluation.version, proficiencyLevels: after.evaluation.proficiencyLevels }, 'the province reads the changed record and the recomputed evaluation')
  const closed = await until('the request closed at the province', () => atProvince.call('GET', `/api/v1/change-requests/${applied.id}`), r => r.json.status === 'carried_out')
  t.match(closed.json, { provinceNode: '330000', provinceDecision: 'approve', provinceReason: '准予更正' })
})
