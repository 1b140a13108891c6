/**
 * The acceptance test of transfers between nodes and of "deleting is not ending"
 * over five real node processes, through the HTTP API only (no SQL writes): province,
 * two cities, a county under each (test/federation/lib/five-nodes.ts), sharing one start.
 */
import t from 'tap'
import * as fx from '../records/fixtures.ts'
import { TEST_PASSWORD } from '../helper.ts'
import { apiLogin, type ApiSession } from './lib/federation.ts'
import { startFiveNodes } from './lib/five-nodes.ts'

type Json = Record<string, any>

const SCHOOL_S = '3301060101'
const SCHOOL_R = '3302030101'
const SUBS = ['resumes', 'guardians', 'family-members', 'registrations', 'exams', 'awards', 'punishments', 'enrolments']

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

// A pause day that never comes (02-30): the test runs whatever today's date is.
const nodes = await startFiveNodes(t, { calendar: { transferPause: { from: '02-30', to: '02-30' } } })

// The sending county 330106 (杭州) and the receiving county 330203 (宁波).
const sBureau = await apiLogin(nodes['330106'])
ok(await sBureau.call('POST', '/api/v1/units', fx.unit()), 201, 'unit')
const schoolS = ok(await sBureau.call('POST', '/api/v1/schools', fx.school()), 201, 'school')
ok(await sBureau.call('POST', '/api/v1/accounts', { username: 'xiaozhang', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL_S] } }), 201, 'school admin')
const sHead = await apiLogin(nodes['330106'], 'xiaozhang')
const classS = ok(await sHead.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: schoolS.id }), 201, 'class')

const rBureau = await apiLogin(nodes['330203'])
ok(await rBureau.call('POST', '/api/v1/units', fx.unit({ unitCode: '3302030001', divisionCode: '330203', name: '宁波市海曙区教育局' })), 201, 'unit')
const schoolR = ok(await rBureau.call('POST', '/api/v1/schools', fx.school({ schoolCode: SCHOOL_R, unitCode: '3302030001', divisionCode: '330203', name: '宁波市海曙区中心小学' })), 201, 'school')
ok(await rBureau.call('POST', '/api/v1/accounts', { username: 'xiaoli', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL_R] } }), 201, 'school admin')
const rHead = await apiLogin(nodes['330203'], 'xiaoli')
const classR = ok(await rHead.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: schoolR.id }), 201, 'class')
const province = await apiLogin(nodes['330000'])

let n = 0
/** A student of the sending school, with the full ID number (the API answers it masked; the receiving school has it from the transfer papers). */
const newStudent = async (over: Json = {}): Promise<Json> => {
  n++
  const idNumber = fx.idNumber('2016-03-15', '1', n)
  const created = ok(await sHead.call('POST', '/api/v1/students', { ...fx.student({ idNumber, studentNo: null, name: `学生${n}` }), schoolId: schoolS.id, classId: classS.id, ...over }), 201, 'student')
  return { ...created, idNumber }
}
const transfers = async (c: ApiSession) => ok(await c.call('GET', '/api/v1/transfers'), 200, 'transfers').items as Json[]
const ENDED = ['completed', 'rejected', 'withdrawn', 'expired', 'not_found', 'refused']
/** Polls until the transfer has `status`; one that ended otherwise fails at once. */
const transfer = (c: ApiSession, id: string, status: string) => poll(`transfer ${status}`, async () => {
  const x = (await transfers(c)).find(x => x.id === id)
  if (x && x.status !== status && ENDED.includes(x.status)) throw new Error(`transfer ${id} ended ${x.status} (${x.code ?? ''}) while waiting for ${status}`)
  return x?.status === status ? x : undefined
})
/** Sub-records as read through the API, without what a handoff changes (home, epoch, version). */
const subRecords = async (c: ApiSession, id: string) => {
  const out: Json = {}
  for (const sub of SUBS) {
    const items = ok(await c.call('GET', `/api/v1/students/${id}/${sub}`), 200, sub).items as Json[]
    out[sub] = items.map(({ homeNode: _h, epoch: _e, version: _v, ...rest }) => rest)
  }
  return out
}
/**
 * The receiving school's request, sent by its bureau. The province routes it by its replica, so
 * first the student must have reached the province: a request for someone it does not hold yet
 * ends not_found at the receiver (and the sender never hears of it).
 */
const request = async (student: Json) => {
  await poll('the student at the province', async () => (await province.call('GET', `/api/v1/students/${student.id}`)).status === 200)
  const req = ok(await rHead.call('POST', '/api/v1/transfers', { kind: 'student', idNumber: student.idNumber, targetClassId: classR.id }), 201, 'request')
  ok(await rBureau.call('POST', `/api/v1/transfers/${req.id}/send`), 200, 'send')
  return req
}

t.test('R-19.5 five nodes through the HTTP API: a student with sub-records moves from a county of one city to a county of the other, the receiver becomes the home with the epoch raised, the sender keeps it read-only, the province holds one student with every sub-record equal', async t => {
  const student = await newStudent(fx.subRecords)
  const original = await subRecords(sHead, student.id)
  t.equal(original.guardians.length, 1)

  const req = await request(student)
  const atS = await transfer(sBureau, req.id, 'received')
  t.match(atS, { role: 'sender', subjectId: student.id, receiverNode: '330203' }, 'routed through the province to the sending county')
  await transfer(rHead, req.id, 'received')
  ok(await sBureau.call('POST', `/api/v1/transfers/${req.id}/approve`, { approvalDocNo: '西教〔2026〕12号' }), 200, 'approve')
  const done = await transfer(rHead, req.id, 'completed')
  t.same(done.steps.map((s: Json) => s.step), ['requested', 'sent', 'received', 'completed'], 'the receiving school sees each step')
  t.same((await transfers(sHead)).find(x => x.id === req.id)!.steps.map((s: Json) => s.step), ['received', 'approved'], 'the sending school sees its steps')

  t.match(ok(await rHead.call('GET', `/api/v1/students/${student.id}`), 200, 'at R'), { homeNode: '330203', epoch: 1, state: 'in_school', classId: classR.id, schoolCode: SCHOOL_R })
  const departed = ok(await sHead.call('GET', `/api/v1/students/${student.id}?state=all`), 200, 'at S')
  t.match(departed, { homeNode: '330203', epoch: 1, state: 'transferred_out' }, 'the sending county keeps a read-only record')
  t.match(await sHead.call('PATCH', `/api/v1/students/${student.id}`, { version: departed.version, name: '改名' }), { status: 409, json: { code: 'RECORD_NOT_HOME', details: { homeNode: '330203' } } }, 'writes refused, naming the new home')

  const held = await poll('the receiver as home at the province', async () => {
    const r = await province.call('GET', `/api/v1/students/${student.id}`)
    return r.status === 200 && r.json.homeNode === '330203' && r.json.state === 'in_school' && r.json.schoolCode === SCHOOL_R ? r.json : undefined
  })
  t.match(held, { epoch: 1, schoolCode: SCHOOL_R })
  const found = ok(await province.call('GET', `/api/v1/students?q=${student.idNumber}&state=all`), 200, 'search')
  t.equal(found.total, 1, 'the province holds ONE student')
  const atProvince = await poll('every sub-record at the province', async () => {
    const subs = await subRecords(province, student.id)
    return JSON.stringify(subs) === JSON.stringify(original) ? subs : undefined
  })
  t.same(atProvince, original, 'every sub-record equal to the sender\'s original')
})

t.test('R-19.5 a rejected transfer leaves the student where they were; R-26.1 a verified student is not deleted at the county and the province still holds it', async t => {
  const student = await newStudent()
  const req = await request(student)
  await transfer(sBureau, req.id, 'received')
  ok(await sBureau.call('POST', `/api/v1/transfers/${req.id}/reject`, { reason: '转入材料不全' }), 200, 'reject')
  t.match(await transfer(rHead, req.id, 'rejected'), { reason: '转入材料不全' })
  t.match(ok(await sHead.call('GET', `/api/v1/students/${student.id}`), 200, 'at S'), { homeNode: '330106', epoch: 0, state: 'in_school' }, 'the student stays at the sending school')
  t.equal((await rHead.call('GET', `/api/v1/students/${student.id}`)).status, 404, 'nothing at the receiving county')

  ok(await sHead.call('POST', '/api/v1/accounts', { username: 'laowang', password: TEST_PASSWORD, role: 'grade_admin', scope: { kind: 'classes', school: SCHOOL_S, classes: [classS.id] } }), 201, 'grade admin')
  const grade = await apiLogin(nodes['330106'], 'laowang')
  ok(await grade.call('POST', `/api/v1/verification/students/${student.id}/verify`), 200, 'verify')
  const current = ok(await sHead.call('GET', `/api/v1/students/${student.id}`), 200, 'read')
  t.match(await sHead.call('DELETE', `/api/v1/students/${student.id}?version=${current.version}`), { status: 409, json: { code: 'RECORD_DELETE_VERIFIED' } }, 'R-26.1 a verified student is not deleted')
  const kept = await poll('the verified student at the province', async () => {
    const r = await province.call('GET', `/api/v1/students/${student.id}`)
    return r.status === 200 && r.json.verifyState === 'verified' ? r.json : undefined
  })
  t.match(kept, { homeNode: '330106', state: 'in_school', epoch: 0 }, 'the province holds the student, unmoved by the rejected transfer')
  const changes = ok(await province.call('GET', `/api/v1/students/${student.id}/status-changes`), 200, 'changes').items as Json[]
  t.match(changes, [{ changeType: '21', processingStatus: '4' }], 'the province sees the rejected 转出')
})
