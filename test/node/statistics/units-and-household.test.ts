/**
 * Statistics of schools and kindergartens themselves, and of 户口性质 and 留守儿童: the
 * counts agree with tallies made directly from the seeded rows; the two fields are written and
 * validated through the record routes.
 */
import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'
import { seedNode } from '../../../scripts/seed/index.ts'
import { recordsNode, withSchool } from '../../records/setup.ts'
import * as fx from '../../records/fixtures.ts'

type Row = Record<string, any>

function tally(rows: Row[], key: (r: Row) => unknown): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of rows) {
    const k = key(r)
    const s = k === null || k === undefined ? '' : String(k)
    out[s] = (out[s] ?? 0) + 1
  }
  return out
}
const asCounts = (table: { rows: Array<{ key: string; count: number }> }) => Object.fromEntries(table.rows.map(r => [r.key, r.count]))

t.test('statistics of schools, kindergartens, 户口性质 and 留守儿童 in a seeded county', async t => {
  const app = await buildTestApp(t, { code: '330106' })
  seedNode(app.storage, { node: { tier: 'county', code: '330106' }, students: 400, seed: 11, asOf: new Date('2026-11-20T04:00:00Z') })
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  const get = async (url: string) => {
    const res = await app.inject({ method: 'GET', url, headers: bureau.headers })
    t.equal(res.statusCode, 200, url)
    return res.json()
  }
  const all = (table: string) => app.storage.sqlite.prepare(`select * from ${table}`).all() as Row[]

  t.test('R-17.3 schools by category and run type, kindergartens by nature and rating, drilled to each unit', async t => {
    const schools = all('schools')
    t.ok(schools.length > 1)
    t.same(asCounts(await get('/api/v1/statistics/schools?by=schoolCategory')), tally(schools, s => s.category), 'schools by 学校类别')
    const byRun = await get('/api/v1/statistics/schools?by=runType&drill=true')
    t.same(asCounts(byRun), tally(schools, s => s.run_type), 'schools by 学校办别')
    t.equal(byRun.total, schools.length)
    t.same(byRun.units.map((u: Row) => u.unit).sort(), schools.map(s => s.school_code).sort(), 'drilled: one unit per school')
    t.ok(byRun.units.every((u: Row) => u.total === 1))
    const kgs = all('kindergartens')
    t.same(asCounts(await get('/api/v1/statistics/kindergartens?by=nature')), tally(kgs, k => k.nature), 'kindergartens by 办园性质')
    t.same(asCounts(await get('/api/v1/statistics/kindergartens?by=rating')), tally(kgs, k => k.rating), 'kindergartens by rating')
    const one = schools[0]!
    t.equal((await get(`/api/v1/statistics/schools?by=runType&unit=${one.school_code}`)).total, 1, 'a school scope counts itself')
    const s = app.storage.sqlite.prepare(`select school_code, class_id from students where class_id is not null limit 1`).get() as Row
    const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: s.school_code, classes: [s.class_id] })
    const refused = await app.inject({ method: 'GET', url: '/api/v1/statistics/schools?by=runType', headers: teacher.headers })
    t.equal(refused.json().code, 'STATS_SCOPE_TOO_NARROW', 'a class teacher does not count schools')
  })

  t.test('R-17.3 students and children by 户口性质 and 留守儿童', async t => {
    const students = all('students').filter(s => s.state === 'in_school')
    const children = all('children').filter(c => c.state === 'in_kindergarten')
    for (const [by, column] of [['householdType', 'household_type'], ['leftBehind', 'left_behind']] as const) {
      const table = await get(`/api/v1/statistics/students?by=${by}`)
      t.same(asCounts(table), tally(students, s => s[column]), `students by ${by}`)
      t.ok(Object.keys(asCounts(table)).length > 1, `the seed spreads ${by}`)
      t.ok(table.rows.every((r: Row) => r.label !== r.key), `${by} rows carry the code table's names`)
      t.same(asCounts(await get(`/api/v1/statistics/children?by=${by}`)), tally(children, c => c[column]), `children by ${by}`)
    }
  })
})

t.test('R-17.3 户口性质 and 留守儿童 are optional student fields, validated against their code tables', async t => {
  const node = await recordsNode(t)
  const { klass } = await withSchool(node)
  const before = node.counts()
  const bad = await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: klass.schoolId, classId: klass.id, householdType: '7' })
  t.equal(bad.status, 400)
  t.equal(bad.body.code, 'RECORD_CODE_UNKNOWN')
  t.equal(bad.body.details.field, 'householdType')
  t.same(node.counts(), before, 'nothing written')
  const ok = await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: klass.schoolId, classId: klass.id, householdType: '1', leftBehind: '2' })
  t.equal(ok.status, 201, JSON.stringify(ok.body))
  t.equal(ok.body.householdType, '1')
  t.equal(ok.body.leftBehind, '2')
  const stats = await node.call('GET', '/api/v1/statistics/students?by=leftBehind', undefined, node.bureau)
  t.same(stats.body.rows, [{ key: '2', label: '双亲外出务工', count: 1 }])
  const none = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 2), studentNo: `G${fx.idNumber('2016-03-15', '1', 2)}` }), schoolId: klass.schoolId, classId: klass.id })
  t.equal(none.status, 201, 'both may be left out')
})
