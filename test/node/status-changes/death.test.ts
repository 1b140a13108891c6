/**
 * The death report's priority path (R-20.2, R-D.4, DESIGN §7) across province ← city ← county in
 * one process (test/sync/lib: real node databases and keys, signed reports and commands): the
 * report is relayed to every tier, each bureau acknowledges and the acknowledgements come back
 * down signed; an unacknowledged report is re-sent and notified again; the student's pending
 * business freezes; a death recorded in error is reversed through its own approval and the
 * reversal travels the same way; after a Redis flush the reconciler rebuilds the job from SQLite.
 */
import t from 'tap'
import { Redis } from 'ioredis'
import { createWorkingCalendar } from '../../../config/calendar.ts'
import { codes } from '../../../schema/codes/index.ts'
import { createRecordsService, systemActor } from '../../../node/services/records/service.ts'
import { createStatusChangeService } from '../../../node/status-changes/service.ts'
import type { DeathReportView } from '../../../sync/death.ts'
import { issueNodeToken } from '../../../sync/node-token.ts'
import { loadSigner } from '../../../sync/signers.ts'
import { NODE_AUTH_SCHEME } from '../../../sync/transport.ts'
import * as fx from '../../records/fixtures.ts'
import { REDIS_URL, loginAs, uniquePrefix } from '../../helper.ts'
import { makeFederation, makeNode, type TestSyncNode } from '../../sync/lib/nodes.ts'
import { until } from '../../federation/lib/federation.ts'
import { recordsNode, type Json } from '../../records/setup.ts'
import { application, leaderVerifies, newStudent, schoolWithClasses, verifyChange } from './lib.ts'

const actor = systemActor('test')
const clock = { at: '2026-03-02T04:00:00Z' }
const engineOf = (node: TestSyncNode) =>
  createStatusChangeService({ storage: node.storage, identity: { code: node.code }, codes, calendar: createWorkingCalendar(), days: { apply: 7, review: 20 }, now: () => new Date(clock.at), onDeathReported: () => node.sync.deathReported() })

const DEATH = { changeType: '51', changeDate: '2026-02-27', deathDate: '2026-02-26', deathCause: '疾病', responsibility: '1', reviewOpinion: '情况属实', currentSchoolCode: null }

/** A school with one student at `node`. */
function studentAt(node: TestSyncNode) {
  const records = createRecordsService({ storage: node.storage, identity: { code: node.code }, codes })
  records.create(actor, 'supervising_units', fx.unit())
  const school = records.create(actor, 'schools', fx.school())
  const klass = records.create(actor, 'school_classes', { ...fx.klass(), schoolId: school.id })
  return records.create(actor, 'students', { ...fx.student(), schoolId: school.id, classId: klass.id })
}

/** Applies, approves and carries out one change. */
function carryOut(node: TestSyncNode, studentId: string, fields: Record<string, unknown>) {
  const engine = engineOf(node)
  const a = engine.apply(actor, 'student', studentId, fx.application(fields))
  const version = leaderVerifies(node.storage, node.code, a.id)
  engine.review(actor, String(a.id), { version, decision: 'approve', approvalDocNo: '教〔2026〕1号' })
  return engine.carryOut(actor, String(a.id), { version: version + 1 })
}

const stateOf = (node: TestSyncNode, id: unknown) => (node.storage.sqlite.prepare('select state from students where id = ?').get(id) as { state: string }).state
const only = (node: TestSyncNode): DeathReportView => {
  const all = node.sync.death.list()
  if (all.length !== 1) throw new Error(`${node.code} holds ${all.length} death reports`)
  return all[0]
}

t.test('R-20.2 R-D.4 a death carried out at a county reaches the city and the province; each acknowledges and the acknowledgement returns signed', async t => {
  const { province, city, county } = await makeFederation(t, { sync: { deathResendMs: 100 } })
  const student = studentAt(county)
  const change = carryOut(county, String(student.id), DEATH)
  t.equal(stateOf(county, student.id), 'deceased')

  const sent = only(county)
  t.match(sent, { direction: 'sent', event: 'death', origin: '330106', subjectId: student.id, changeId: change.id, eventDate: '2026-02-26', unitCode: student.schoolCode, deliveredAt: null, unacknowledged: true, priorState: 'in_school' })
  t.match(await county.sync.sendDeathReports(), { sent: 1 }, 'the county sends it on the priority path, no change set needed')
  t.equal(city.storage.sqlite.prepare('select count(*) from sync_change_sets').pluck().get(), 0, 'no change set went up with it')
  t.match(only(city), { id: sent.id, direction: 'received', receivedFrom: '330106', notifyCount: 1, unacknowledged: true, name: student.name }, 'the city bureau is alerted')

  await city.sync.sendDeathReports()
  t.match(only(province), { id: sent.id, direction: 'received', receivedFrom: '330100', origin: '330106', unacknowledged: true }, 'relayed to the province, the county\'s signature verified there')
  t.same((await province.sync.status()).deathReports, { undelivered: 0, refused: 0, toAcknowledge: 1 }, 'the province\'s sync status counts it to acknowledge')

  // Not acknowledged yet: re-sent after deathResendMs, and the city is notified again.
  await new Promise(r => setTimeout(r, 150))
  t.match(await county.sync.sendDeathReports(), { sent: 1 }, 're-sent while unacknowledged')
  t.equal(only(city).notifyCount, 2, 'the city bureau notified again')

  await city.sync.death.acknowledge(city.sync.downward, sent.id, 'city-admin')
  t.match(only(city), { ackedBy: 'city-admin', unacknowledged: false })
  await county.sync.pullCommands()
  t.match(only(county), { unacknowledged: false, acks: [{ node: '330100' }] }, 'the city\'s acknowledgement reached the county')
  await new Promise(r => setTimeout(r, 150))
  t.match(await county.sync.sendDeathReports(), { sent: 0 }, 'acknowledged: no more re-sends')

  await province.sync.death.acknowledge(province.sync.downward, sent.id, 'province-admin')
  await city.sync.pullCommands()
  await county.sync.pullCommands()
  t.same(only(county).acks.map(a => a.node), ['330100', '330000'], 'both tiers\' acknowledgements at the county, in order')
  const applied = county.storage.sqlite.prepare(`select issuer, json_extract(result, '$.status') s from sync_commands where type = 'death.ack' order by id`).all()
  t.same(applied, [{ issuer: '330100', s: 'applied' }, { issuer: '330000', s: 'applied' }], 'applied once each at the county')
  t.match(only(city).acks, [{ node: '330100' }, { node: '330000' }], 'the city sees the province\'s acknowledgement it relayed')
})

t.test('R-20.2 a forged or foreign death report is refused by the parent', async t => {
  const { city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const student = studentAt(county)
  carryOut(county, String(student.id), DEATH)
  await county.sync.sendDeathReports()
  const jws = county.storage.sqlite.prepare('select jws from sync_death_reports').pluck().get() as string
  const [h, p, s] = jws.split('.')
  const body = JSON.parse(Buffer.from(p, 'base64url').toString())
  const forged = [h, Buffer.from(JSON.stringify({ ...body, id: 'forged', name: '他人' })).toString('base64url'), s].join('.')
  await t.rejects(city.sync.receiver.handle(await tokenOf(county), { type: 'death.report', report: forged }), { code: 'SYNC_SIGNATURE_INVALID' }, 'an altered report does not verify')
  await t.rejects(city.sync.receiver.handle(await tokenOf(county2!), { type: 'death.report', report: jws }), { code: 'SYNC_ORIGIN_OUTSIDE_SUBTREE' }, 'a sibling cannot relay another county\'s report')
  t.equal(city.sync.death.list().length, 1, 'only the genuine report is held')
})

/** The authorization header of one request from `node` to the city. */
async function tokenOf(node: TestSyncNode): Promise<string> {
  const s = await loadSigner(node.storage)
  return `${NODE_AUTH_SCHEME} ${await issueNodeToken({ iss: node.code, aud: '330100', kid: s.kid, privateKey: s.privateKey })}`
}

t.test('R-20.2 the dead student\'s pending business freezes; a death recorded in error is reversed through its own approval and reported the same way', async t => {
  const { province, city, county } = await makeFederation(t)
  const student = studentAt(county)
  const engine = engineOf(county)
  const pending = engine.apply(actor, 'student', String(student.id), fx.application({ changeType: '11', changeDate: '2026-02-27' }))
  const pendingVersion = leaderVerifies(county.storage, county.code, pending.id)
  carryOut(county, String(student.id), DEATH)
  t.throws(() => engine.review(actor, String(pending.id), { version: pendingVersion, decision: 'approve' }), { code: 'STATUS_CHANGE_PERSON_DECEASED' }, 'the open 休学 application is frozen')
  t.throws(() => engine.apply(actor, 'student', String(student.id), fx.application({ changeType: '31', changeDate: '2026-02-28' })), { code: 'STATUS_CHANGE_PERSON_DECEASED' }, 'no new business')
  t.throws(() => engine.apply(actor, 'student', String(student.id), fx.application(DEATH)), { code: 'STATUS_CHANGE_PERSON_DECEASED' }, 'no second death')

  const reversal = carryOut(county, String(student.id), { changeType: '99', changeDate: '2026-03-02', reason: '误报死亡，撤销死亡登记' })
  t.equal(stateOf(county, student.id), 'in_school', 'the reversal restores the state before the death')
  const [rev, death] = county.sync.death.list()
  t.match(rev, { event: 'reversal', reverses: death.id, changeId: reversal.id, direction: 'sent' })
  t.match(engine.review(actor, String(pending.id), { version: pendingVersion, decision: 'approve' }), { processingStatus: '3' }, 'the pending business goes on')

  await county.sync.sendDeathReports()
  await city.sync.sendDeathReports()
  t.same(province.sync.death.list().map(r => [r.event, r.unacknowledged]), [['reversal', true], ['death', true]], 'the reversal reaches the province as a report of its own')
})

t.test('R-20.2 R-D.4 a death report made while the parent is down is delivered once it is back, after a Redis flush, from SQLite', async t => {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: null })
  t.teardown(() => redis.quit())
  const prefix = uniquePrefix()
  const province = await makeNode(t, { tier: 'province', code: '330000' })
  const city = await makeNode(t, { tier: 'city', code: '330100', parent: province })
  const county = await makeNode(t, { tier: 'county', code: '330106', parent: city, redis, prefix })
  await county.sync.start()
  county.link.up = false
  const student = studentAt(county)
  carryOut(county, String(student.id), DEATH)
  await until('the first attempt failed', () => (county.storage.sqlite.prepare('select failures from sync_link').pluck().get() as number) > 0, 10000)
  t.equal(city.sync.death.list().length, 0, 'the city is down: nothing arrived')
  t.match(only(county), { deliveredAt: null, unacknowledged: true }, 'the county shows it as not delivered, unacknowledged')

  // Redis loses every job; SQLite still holds the report.
  const keys = await redis.keys(`${prefix}:*`)
  if (keys.length) await redis.del(...keys)
  county.link.up = true
  await until('the reconciler rebuilt the job and the city got the report', () => city.sync.death.list().length === 1, 20000)
  t.match(only(city), { origin: '330106', unacknowledged: true })
  await city.sync.death.acknowledge(city.sync.downward, only(city).id, 'city-admin')
  await until('the acknowledgement came back down', () => !only(county).unacknowledged, 20000)
  t.pass('acknowledged after the parent came back')
})

t.test('R-20.2 R-D.4 the death-report routes: the reporting node lists its report as unacknowledged, cannot acknowledge it itself, and the school sees its own', async t => {
  const node = await recordsNode(t)
  const { classes } = await schoolWithClasses(node)
  const s = await newStudent(node, (await node.call('GET', '/api/v1/schools')).body.items[0].id, classes[4].id)
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const applied = await node.call('POST', `/api/v1/students/${s.id}/status-changes`, application({ ...DEATH, changeDate: today, deathDate: today }))
  t.equal(applied.status, 201)
  const id = applied.body.id
  const version = await verifyChange(node, id)
  t.equal((await node.call('POST', `/api/v1/status-changes/${id}/review`, { version, decision: 'approve' }, node.bureau)).status, 200)
  const done = await node.call('POST', `/api/v1/status-changes/${id}/carry-out`, { version: version + 1 }, node.bureau)
  t.equal(done.status, 200)

  const listed = (await node.call('GET', '/api/v1/death-reports?status=unacknowledged', undefined, node.bureau)).body.items
  t.match(listed, [{ direction: 'sent', event: 'death', subjectId: s.id, changeId: id, origin: node.app.identity.code, acks: [] }], 'the bureau sees its report')
  t.same((await node.call('GET', '/api/v1/death-reports')).body.items.map((r: Json) => r.changeId), [id], 'the school sees the report about its student')
  const own = await node.call('POST', `/api/v1/death-reports/${listed[0].id}/acknowledge`, undefined, node.bureau)
  t.match(own, { status: 409, body: { code: 'DEATH_REPORT_OWN' } }, 'a node does not acknowledge its own report')
  t.match(await node.call('POST', '/api/v1/death-reports/no-such-report/acknowledge', undefined, node.bureau), { status: 404, body: { code: 'NOT_FOUND' } })
  t.match(await node.call('POST', `/api/v1/death-reports/${listed[0].id}/acknowledge`), { status: 403, body: { code: 'FORBIDDEN' } }, 'the school may not acknowledge')
  t.equal((await node.call('GET', '/api/v1/death-reports', undefined, node.bureau)).body.items[0].ackedAt, null, 'nothing changed')
  const paths = Object.keys((await node.app.inject('/docs/json')).json().paths)
  for (const p of ['/api/v1/death-reports', '/api/v1/death-reports/{id}/acknowledge']) t.ok(paths.includes(p), `OpenAPI documents ${p}`)
})

t.test('R-12.5 R-20.2 a kindergarten child\'s death takes the same priority path, and its reversal too', async t => {
  const { city, county } = await makeFederation(t)
  const records = createRecordsService({ storage: county.storage, identity: { code: county.code }, codes })
  records.create(actor, 'supervising_units', fx.unit())
  const kg = records.create(actor, 'kindergartens', fx.kindergarten())
  const klass = records.create(actor, 'kindergarten_classes', { ...fx.kgClass(), kindergartenId: kg.id })
  const child = records.create(actor, 'children', { ...fx.child(), kindergartenId: kg.id, classId: klass.id })
  const engine = engineOf(county)
  const go = (fields: Record<string, unknown>) => {
    const a = engine.apply(actor, 'child', String(child.id), fx.application({ previousSchoolCode: null, currentSchoolCode: null, ...fields }))
    const version = leaderVerifies(county.storage, county.code, a.id, 'child')
    engine.review(actor, String(a.id), { version, decision: 'approve' })
    return engine.carryOut(actor, String(a.id), { version: version + 1 })
  }
  const done = go(DEATH)
  t.equal((county.storage.sqlite.prepare('select state from children where id = ?').get(child.id) as { state: string }).state, 'deceased')
  t.throws(() => engine.apply(actor, 'child', String(child.id), fx.application({ changeType: '11', changeDate: '2026-03-02', previousSchoolCode: null, currentSchoolCode: null })), { code: 'STATUS_CHANGE_PERSON_DECEASED' })
  go({ changeType: '99', changeDate: '2026-03-02', reason: '误报，撤销死亡登记' })
  t.equal((county.storage.sqlite.prepare('select state from children where id = ?').get(child.id) as { state: string }).state, 'in_kindergarten')
  await county.sync.sendDeathReports()
  t.match(city.sync.death.list(), [
    { event: 'reversal', kind: 'child', subjectId: child.id, unitCode: kg.kindergartenCode },
    { event: 'death', kind: 'child', subjectId: child.id, changeId: done.id, unitCode: kg.kindergartenCode, priorState: 'in_kindergarten' },
  ], 'both reports at the city')
})

t.test('R-20.2 a report the parent refuses shows the code at the reporting node and is offered again only every deathResendMs', async t => {
  const { city, county } = await makeFederation(t, { sync: { deathResendMs: 300 } })
  const student = studentAt(county)
  carryOut(county, String(student.id), DEATH)
  county.link.up = false
  await t.rejects(county.sync.sendDeathReports(), 'the parent is away: signed and kept')
  // Damaged after signing: the parent's signature check refuses it.
  const db = county.storage.sqlite
  db.prepare('update sync_death_reports set jws = ?').run(`${(db.prepare('select jws from sync_death_reports').pluck().get() as string).slice(0, -4)}AAAA`)
  county.link.up = true
  await new Promise(r => setTimeout(r, 250)) // the link's backoff after the failure
  t.match(await county.sync.sendDeathReports(), { sent: 0, refused: 1 })
  t.match(only(county), { refusedCode: 'SYNC_SIGNATURE_INVALID', deliveredAt: null, unacknowledged: true }, 'the reporting node shows the refusal')
  t.same((await county.sync.status()).deathReports, { undelivered: 1, refused: 1, toAcknowledge: 0 }, 'and its sync status counts it')
  t.match(await county.sync.sendDeathReports(), { sent: 0, refused: 0 }, 'not offered again at once')
  t.equal(city.sync.death.list().length, 0, 'nothing stored at the city')
  await new Promise(r => setTimeout(r, 350))
  t.match(await county.sync.sendDeathReports(), { refused: 1 }, 'offered again after deathResendMs')
})

t.test('R-20.2 R-16.1 R-17.6 death reports are listed to the teacher of the student\'s class only; one about a student not held here to no teacher', async t => {
  const node = await recordsNode(t)
  const { school, classes } = await schoolWithClasses(node)
  const own = await newStudent(node, school.id, classes[4].id)
  const sibling = await newStudent(node, school.id, classes[3].id)
  const insert = node.app.storage.sqlite.prepare('insert into sync_death_reports (id, origin, event, report, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?)')
  for (const [id, subjectId] of [['r-own', own.id], ['r-sibling', sibling.id], ['r-unknown', 'a-student-not-held-here']]) {
    const report = { format: 1, id, origin: '330106', event: 'death', kind: 'student', subjectId, name: '某学生', unitCode: school.schoolCode, changeId: `c-${id}`, eventDate: '2026-02-26', reverses: null, priorState: 'in_school', createdAt: new Date().toISOString() }
    insert.run(id, '330106', 'death', JSON.stringify(report), 'x.y.z', '330106', report.createdAt)
  }
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [classes[4].id] })
  const ids = async (login = node.school) => (await node.call('GET', '/api/v1/death-reports', undefined, login)).body.items.map((r: Json) => r.id).sort()
  t.strictSame(await ids(), ['r-own', 'r-sibling', 'r-unknown'], 'the school administrator: every report about its school')
  t.strictSame(await ids(teacher), ['r-own'], 'the teacher: its class\'s student only')
  t.equal((await node.call('GET', `/api/v1/students/${sibling.id}`, undefined, teacher)).status, 404, 'as the student record itself')
})
