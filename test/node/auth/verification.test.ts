import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'
import { seedWorld } from './fixtures.ts'

t.test('R-18.1 the grade administrator\'s queue, return with a reason, resubmit by the enterer, verify', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const sql = app.storage.sqlite
  const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] })
  sql.prepare('update students set entered_by = ? where id = ?').run(teacher.account.id, w.students.A1)
  const grade = await loginAs(app, 'grade_admin', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1, w.A.classes.A2] })
  const queue = async (h: Record<string, string>, q = '') => (await app.inject({ url: `/api/v1/verification/queue${q}`, headers: h })).json().items as { table: string; id: string; verifyState: string; returnReason: string | null }[]

  const items = await queue(grade.headers)
  t.same(items.filter(i => i.table === 'students').map(i => i.id).sort(), [w.students.A1, w.students.A2].sort(), 'students of the grade, not of school B or C')
  t.same(items.filter(i => i.table === 'school_classes').map(i => i.id).sort(), [w.A.classes.A1, w.A.classes.A2].sort(), 'class info too')
  t.notOk(items.some(i => i.table === 'schools' || i.table === 'student_status_changes'), 'school info and status changes are the leadership\'s')
  t.same(await queue(teacher.headers), [], 'a teacher verifies nothing')

  const noReason = await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/return`, headers: grade.headers, payload: { reason: '   ' } })
  t.equal(noReason.json().code, 'RETURN_REASON_REQUIRED')
  const ret = await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/return`, headers: grade.headers, payload: { reason: '出生日期与身份证号不一致' } })
  t.equal(ret.statusCode, 200, ret.body)
  t.same([ret.json().verifyState, ret.json().returnReason], ['returned', '出生日期与身份证号不一致'])
  t.same((await queue(teacher.headers, '?state=returned')).map(i => [i.id, i.returnReason]), [[w.students.A1, '出生日期与身份证号不一致']], 'the enterer sees it returned, with the reason')
  const again = await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/resubmit`, headers: teacher.headers })
  t.equal(again.json().verifyState, 'entered')
  const ok = await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/verify`, headers: grade.headers })
  t.equal(ok.statusCode, 200)
  t.same([ok.json().verifyState, ok.json().verifiedBy], ['verified', grade.account.id])
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/verify`, headers: grade.headers })).json().code, 'VERIFY_STATE_INVALID')

  // Out of scope: 404; lacking the function: 403.
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.B1}/verify`, headers: grade.headers })).statusCode, 404)
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A2}/verify`, headers: teacher.headers })).json().code, 'FORBIDDEN')

  // Every state change travels upward through the outbox, stamped with the actor.
  const rows = sql.prepare("select actor, row_json from outbox where table_name = 'students' order by id").all() as { actor: string; row_json: string }[]
  t.same(rows.map(r => [r.actor, JSON.parse(r.row_json).verify_state]), [[grade.account.id, 'returned'], [teacher.account.id, 'entered'], [grade.account.id, 'verified']])
})

t.test('R-18.1 R-16.1 school info and status changes are verified by the school leadership (school info only by a leader reaching the whole school), unit info by the bureau administrator', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const leader = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] }, { leader: true })
  // A leader bound to a class verifies that class's status changes, never the school's own record.
  const classLeader = await loginAs(app, 'teacher', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, { leader: true })
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/schools/${w.A.id}/verify`, headers: admin.headers })).json().code, 'FORBIDDEN', 'the administrator enters, it does not verify')
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/schools/${w.A.id}/verify`, headers: classLeader.headers })).json().code, 'FORBIDDEN', 'a leader bound to a class does not verify school info')
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/schools/${w.A.id}/verify`, headers: leader.headers })).json().verifyState, 'verified')
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/student_status_changes/${w.statusChangeA1}/verify`, headers: classLeader.headers })).json().verifyState, 'verified', 'a status change of its class')
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/schools/${w.B.id}/verify`, headers: leader.headers })).statusCode, 404, 'another school')
  const bureau = await loginAs(app, 'bureau_admin', { kind: 'bureau', node: '330106' })
  const queue = (await app.inject({ url: '/api/v1/verification/queue', headers: bureau.headers })).json().items
  t.same(queue.map((i: { table: string }) => i.table), ['supervising_units'])
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/supervising_units/${w.unit}/verify`, headers: bureau.headers })).json().verifyState, 'verified')
  t.equal((await app.inject({ method: 'POST', url: `/api/v1/verification/schools/${w.C.id}/verify`, headers: leader.headers })).statusCode, 404, 'a replica of another county is never writable here')
})
