/**
 * The acceptance test of the death report (R-20.2, R-D.4) over five real node processes, through
 * the HTTP API only (no SQL writes): province, two cities, a county under each (test/federation/lib/five-nodes.ts).
 * Then the receiving tiers' ownership check of a report, in process (test/sync/lib/nodes.ts).
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { DEATH_REPORT_TYP } from '../../sync/death.ts'
import { signJws } from '../../sync/keys.ts'
import { loadSigner } from '../../sync/signers.ts'
import { makeFederation, settle, type TestSyncNode } from '../sync/lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import * as fx from '../records/fixtures.ts'
import { TEST_PASSWORD } from '../helper.ts'
import { apiLogin, type ApiSession } from './lib/federation.ts'
import { startFiveNodes } from './lib/five-nodes.ts'

type Json = Record<string, any>

const SCHOOL = '3301060101'

/** Polls `probe` until it answers something truthy. */
async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 50))
  }
}

const ok = (r: { status: number; json: Json }, status: number, what: string) => {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`)
  return r.json
}

t.test('R-20.2 R-D.4 R-26.1 five nodes through the HTTP API: a county\'s death report reaches its city and the province, the acknowledgements return, a report made while the city was down arrives after it is back', async t => {
  const nodes = await startFiveNodes(t)
  const county = nodes['330106']
  const bureau = await apiLogin(county)
  ok(await bureau.call('POST', '/api/v1/units', fx.unit()), 201, 'unit')
  const school = ok(await bureau.call('POST', '/api/v1/schools', fx.school()), 201, 'school')
  ok(await bureau.call('POST', '/api/v1/accounts', { username: 'xiaozhang', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] } }), 201, 'school admin')
  const head = await apiLogin(county, 'xiaozhang')
  // the school leadership verifies what the school administrator applied for.
  ok(await bureau.call('POST', '/api/v1/accounts', { username: 'xiaoli', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] }, leader: true }), 201, 'school leader')
  const leader = await apiLogin(county, 'xiaoli')
  const klass = ok(await head.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: school.id }), 201, 'class')
  let n = 0
  const newStudent = async () => {
    n++
    return ok(await head.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', n), studentNo: null, name: `学生${n}` }), schoolId: school.id, classId: klass.id }), 201, 'student')
  }
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const death = async (student: Json) => {
    const a = ok(await head.call('POST', `/api/v1/students/${student.id}/status-changes`, fx.application({ changeType: '51', changeDate: today, deathDate: today, deathCause: '疾病', responsibility: '1', reviewOpinion: '情况属实', currentSchoolCode: null })), 201, 'apply')
    const { version } = ok(await leader.call('POST', `/api/v1/verification/student_status_changes/${a.id}/verify`), 200, 'verify')
    ok(await bureau.call('POST', `/api/v1/status-changes/${a.id}/review`, { version, decision: 'approve', approvalDocNo: '西教〔2026〕1号' }), 200, 'review')
    return ok(await bureau.call('POST', `/api/v1/status-changes/${a.id}/carry-out`, { version: version + 1 }), 200, 'carry out')
  }
  const reports = async (c: ApiSession, status = 'all') => ok(await c.call('GET', `/api/v1/death-reports?status=${status}`), 200, 'list').items as Json[]

  const first = await newStudent()
  const carried = await death(first)
  const t0 = Date.now()
  const city = await apiLogin(nodes['330100'])
  const province = await apiLogin(nodes['330000'])
  const atCity = await poll('the alert at the city', async () => (await reports(city, 'unacknowledged')).find(r => r.changeId === carried.id))
  t.comment(`death report alert at the city ${Date.now() - t0} ms after the carry-out answered (target: 2000 ms)`)
  t.match(atCity, { origin: '330106', event: 'death', subjectId: first.id, direction: 'received', receivedFrom: '330106', unacknowledged: true })
  const atProvince = await poll('the alert at the province', async () => (await reports(province, 'unacknowledged')).find(r => r.id === atCity.id))
  t.comment(`and at the province ${Date.now() - t0} ms after`)
  t.match(atProvince, { receivedFrom: '330100', origin: '330106' })
  t.strictSame(await reports(await apiLogin(nodes['330200'])), [], 'the other city is not told')
  t.match((await reports(bureau, 'unacknowledged')).map(r => r.id), [atCity.id], 'the county shows it unacknowledged')

  ok(await city.call('POST', `/api/v1/death-reports/${atCity.id}/acknowledge`), 200, 'city ack')
  t.match(await city.call('POST', `/api/v1/death-reports/${atCity.id}/acknowledge`), { status: 409, json: { code: 'DEATH_REPORT_ACKED' } }, 'once')
  const audit = ok(await city.call('GET', '/api/v1/audit?limit=1000'), 200, 'audit').entries as Json[]
  t.equal(audit.filter(e => e.action === 'death_report_acknowledge' && e.targetId === atCity.id && e.outcome === 'ok').length, 1, 'the acknowledgement is in the city\'s audit log, once')
  ok(await province.call('POST', `/api/v1/death-reports/${atCity.id}/acknowledge`), 200, 'province ack')
  const acked = await poll('both acknowledgements at the county', async () => (await reports(bureau)).find(r => r.id === atCity.id && r.acks.length === 2))
  t.match(acked, { unacknowledged: false, direction: 'sent' })
  t.same(acked.acks.map((a: Json) => a.node).sort(), ['330000', '330100'], 'the city\'s and the province\'s acknowledgements came back down')

  // The city is down while the next death is carried out.
  await nodes['330100'].stop()
  const second = await newStudent()
  const carried2 = await death(second)
  const pending = (await reports(bureau, 'unacknowledged')).find(r => r.changeId === carried2.id)
  t.match(pending, { deliveredAt: null, unacknowledged: true }, 'the county shows it undelivered and unacknowledged')
  await nodes['330100'].start()
  // The city's session is kept in its database across the restart.
  const late = await poll('the report at the city after it came back', async () => (await reports(city, 'unacknowledged')).find(r => r.changeId === carried2.id), 60000)
  ok(await city.call('POST', `/api/v1/death-reports/${late.id}/acknowledge`), 200, 'late ack')
  await poll('the late acknowledgement at the county', async () => (await reports(bureau)).find(r => r.id === late.id && !r.unacknowledged))
  t.pass('delivered and acknowledged after the city came back')

  // the county refuses to delete a student whose death was carried out; the province holds the record.
  const current = ok(await head.call('GET', `/api/v1/students/${first.id}`), 200, 'read')
  t.match(await head.call('DELETE', `/api/v1/students/${first.id}?version=${current.version}`), { status: 409, json: { code: 'RECORD_DELETE_VERIFIED' } })
  const held = await poll('the student at the province', async () => {
    const r = await province.call('GET', `/api/v1/students/${first.id}`)
    return r.status === 200 && r.json.state === 'deceased' ? r.json : undefined
  })
  t.match(held, { id: first.id, homeNode: '330106' }, 'the province holds the student, ended by the death')
})

t.test('R-20.2 R-D.4 R-25.2 a death report is taken only about a record its origin owns: held here, the subject must be homed at the origin, at the school the report names', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  const student = studentRow('330106', school, 7)
  writeRows(county.storage, 'students', [student])
  const other = schoolRow('330108', '330108', 2)
  writeRows(county2!.storage, 'schools', [other])
  await settle(county, county2!, city, province)

  const report = (over: Record<string, unknown>) => ({
    format: 1, id: randomUUID(), origin: '330106', event: 'death', kind: 'student', subjectId: student.id, name: student.name, unitCode: school.school_code,
    changeId: randomUUID(), eventDate: '2026-01-05', reverses: null, priorState: 'in_school', createdAt: new Date().toISOString(), ...over,
  })
  const send = async (from: TestSyncNode, r: Record<string, unknown>) =>
    from.sync.transport!.request({ type: 'death.report', report: await signJws(r, DEATH_REPORT_TYP, await loadSigner(from.storage)) })
  const refused = { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }
  await t.rejects(send(county2!, report({ origin: '330108' })), { ...refused, details: { reason: 'home' } }, 'another county\'s student')
  await t.rejects(send(county2!, report({ origin: '330108', unitCode: other.school_code })), { ...refused, details: { reason: 'home' } }, 'the same, under its own school')
  await t.rejects(send(county, report({ unitCode: other.school_code })), { ...refused, details: { reason: 'unit' } }, 'its own student, named at another school')
  await t.rejects(send(county, report({ kind: 'child' })), { ...refused, details: { reason: 'kind' } }, 'a student reported as a kindergarten child')
  await t.rejects(send(county2!, report({ origin: '330108', subjectId: randomUUID() })), { ...refused, details: { reason: 'unit' } }, 'a subject not held yet, at a school of another node')
  t.same(city.sync.death.list(), [], 'none is stored')

  // A subject whose rows are still on their way behind the priority path: taken, at a school of the origin's.
  const inFlight = report({ origin: '330108', subjectId: randomUUID(), unitCode: other.school_code })
  t.match(await send(county2!, inFlight), { status: 'stored' }, 'a subject not held yet, at its own school')
  t.match(await send(county, report({})), { status: 'stored' }, 'its own student, at its school')
  await city.sync.sendDeathReports()
  t.equal(province.sync.death.list().length, 2, 'both relayed to the province, which checks them the same way')
})
