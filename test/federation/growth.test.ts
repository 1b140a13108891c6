/**
 * Growth records reach the province like every record: entered through the county's
 * HTTP API by a class administrator, verified there by the evaluation leading group, and read at
 * the province through its API with the generated evaluation and the records it came from.
 */
import t from 'tap'
import { TEST_PASSWORD } from '../helper.ts'
import * as fx from '../records/fixtures.ts'
import { course, quality, research } from '../node/growth/lib.ts'
import { apiLogin, startFederation, until, type ApiSession, type RealNode } from './lib/federation.ts'

const count = (n: RealNode, sql: string, ...params: unknown[]) => Number(Object.values(n.storage.sqlite.prepare(sql).get(...params) as object)[0])

t.test('R-13.1 R-14.1 R-14.2 R-14.3 R-15.2 growth records and the evaluation reach the city and the province', async t => {
  const [province, city, county] = await startFederation(t)
  const admin = await apiLogin(county)
  const created = async (s: ApiSession, path: string, body: object) => {
    const res = await s.call('POST', path, body)
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`)
    return res.json
  }
  await created(admin, '/api/v1/units', fx.unit())
  const school = await created(admin, '/api/v1/schools', fx.school({ name: '杭州市西湖区文三路高级中学', category: '342' }))
  const klass = await created(admin, '/api/v1/classes', { ...fx.klass({ classCode: '2026101', name: '高一（1）班', foundedYm: '2026-09', schoolingLength: '3', grade: 10 }), schoolId: school.id })
  const student = await created(admin, '/api/v1/students', { ...fx.student({ enrolmentYm: '2026-09' }), schoolId: school.id, classId: klass.id })
  // The bureau opens the school's account (a leader: the evaluation leading group), the school its class administrator's.
  await created(admin, '/api/v1/accounts', { username: 'pingjia', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [school.schoolCode] }, leader: true })
  const leader = await apiLogin(county, 'pingjia')
  await created(leader, '/api/v1/accounts', { username: 'gao1ban', password: TEST_PASSWORD, role: 'class_admin', scope: { kind: 'classes', school: school.schoolCode, classes: [klass.id] } })
  const teacher = await apiLogin(county, 'gao1ban')

  const base = `/api/v1/students/${student.id}/growth`
  const c = await created(teacher, `${base}/courses`, course())
  await created(teacher, `${base}/practices`, research())
  await created(teacher, `${base}/qualities`, quality())
  const comment = await teacher.call('PUT', `${base}/evaluation`, { overallComment: '品学兼优，乐于助人。' })
  t.equal(comment.status, 200, JSON.stringify(comment.json))
  const ev = (await teacher.call('GET', base)).json.evaluation
  const verified = await leader.call('POST', `/api/v1/verification/growth_evaluations/${ev.id}/verify`)
  t.equal(verified.status, 200, JSON.stringify(verified.json))

  await until('the verified evaluation at the province', () =>
    count(province, "select count(*) from growth_evaluations where id = ? and verify_state = 'verified' and total_credits = 2", ev.id) === 1)
  for (const table of ['growth_courses', 'growth_practices', 'growth_qualities', 'growth_evaluations']) {
    t.equal(count(city, `select count(*) from ${table} where student_id = ?`, student.id), 1, `${table} at the city`)
    t.equal(count(province, `select count(*) from ${table} where student_id = ?`, student.id), 1, `${table} at the province`)
  }

  const atProvince = await apiLogin(province)
  const file = (await atProvince.call('GET', base)).json
  t.match(file.evaluation, { overallComment: '品学兼优，乐于助人。', totalCredits: 2, aestheticsScore: 85, verifyState: 'verified', homeNode: '330106' }, 'the province reads the generated figures')
  t.same(file.sources.totalCredits.map((s: { id: string }) => s.id), [c.id], 'and the records they came from')
  const write = await atProvince.call('PATCH', `${base}/courses/${c.id}`, { version: 1, examScore: 99 })
  t.not(write.status, 200, 'a replica is not written at the province')
})
