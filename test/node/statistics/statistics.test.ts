/**
 * Statistics on one node (R-17.2, R-17.3, R-17.4, R-17.6): every dimension agrees with counts made
 * directly from the seeded rows in JavaScript; a class teacher sees only their class; the query
 * plans read the covering index, never the table.
 */
import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'
import { seedNode } from '../../../scripts/seed/index.ts'

const AS_OF = '2026-11-20'
type Row = Record<string, any>

function ageAt(birth: string, ref: string): number {
  return Number(ref.slice(0, 4)) - Number(birth.slice(0, 4)) - (birth.slice(5) > ref.slice(5) ? 1 : 0)
}

/** The same tally the service makes, by hand, from every row. */
function tally<T>(rows: T[], key: (r: T) => unknown): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of rows) {
    const k = key(r)
    const s = k === null || k === undefined ? '' : String(k)
    out[s] = (out[s] ?? 0) + 1
  }
  return out
}

const asCounts = (table: { rows: Array<{ key: string; count: number }> }) => Object.fromEntries(table.rows.map(r => [r.key, r.count]))

t.test('statistics of a seeded county', async t => {
  const app = await buildTestApp(t, { code: '330106' })
  seedNode(app.storage, { node: { tier: 'county', code: '330106' }, students: 600, seed: 7, asOf: new Date(`${AS_OF}T04:00:00Z`) })
  const all = app.storage.sqlite.prepare('select * from students').all() as Row[]
  const classes = new Map((app.storage.sqlite.prepare('select * from school_classes').all() as Row[]).map(c => [c.id, c]))
  const schools = new Map((app.storage.sqlite.prepare('select * from schools').all() as Row[]).map(s => [s.school_code, s]))
  const inSchool = all.filter(s => s.state === 'in_school')
  t.ok(inSchool.length < all.length, `the seed holds students who left too (${all.length - inSchool.length} of ${all.length})`)

  const expected: Record<string, (s: Row) => unknown> = {
    grade: s => (s.class_id ? classes.get(s.class_id)?.grade : null),
    gender: s => s.gender,
    age: s => ageAt(s.birth_date, AS_OF),
    ethnicity: s => s.ethnicity,
    household: s => (!s.household_registration ? 'none' : s.household_registration.startsWith('33') ? 'in_province' : 'out_of_province'),
    floating: s => s.floating_status,
    state: s => s.state,
    category: s => s.student_category,
    schoolCategory: s => schools.get(s.school_code)?.category,
    runType: s => schools.get(s.school_code)?.run_type,
  }

  t.test('R-17.3 a bureau user counts every dimension of the county, in-school only unless asked', async t => {
    const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
    for (const [by, key] of Object.entries(expected)) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/statistics/students?by=${by}&asOf=${AS_OF}`, headers: bureau.headers })
      t.equal(res.statusCode, 200, by)
      const body = res.json()
      t.same(asCounts(body), tally(inSchool, key), `${by} agrees with the rows`)
      t.equal(body.total, inSchool.length)
      t.ok(body.rows.every((r: Row) => typeof r.label === 'string' && r.label !== ''), `${by} rows are labelled`)
    }
    const everyone = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=state&state=all', headers: bureau.headers })).json()
    t.same(asCounts(everyone), tally(all, s => s.state), 'state=all counts those who left')
    const graduated = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=gender&state=graduated', headers: bureau.headers })).json()
    t.equal(graduated.total, all.filter(s => s.state === 'graduated').length)

    // Drill-down: the county's schools; each school's figures are its own rows.
    const drill = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=gender&drill=true', headers: bureau.headers })).json()
    t.equal(drill.scope.level, 'division')
    t.same(drill.units.map((u: Row) => u.unit).sort(), [...new Set(inSchool.map(s => s.school_code))].sort(), 'one unit per school')
    for (const u of drill.units) t.same(u.counts, tally(inSchool.filter(s => s.school_code === u.unit), s => s.gender), `school ${u.unit}`)
    t.equal(drill.units.reduce((n: number, u: Row) => n + u.total, 0), drill.total, 'the schools sum to the county')
    t.ok(drill.units.every((u: Row) => u.name && u.name !== u.unit), 'units carry their names')

    // One school, drilled to its classes.
    const code = drill.units[0].unit
    const school = (await app.inject({ method: 'GET', url: `/api/v1/statistics/students?by=grade&unit=${code}&drill=true`, headers: bureau.headers })).json()
    t.equal(school.total, inSchool.filter(s => s.school_code === code).length)
    t.ok(school.units.length > 1, 'a school drills to its classes')

    // Children and teachers.
    const children = app.storage.sqlite.prepare(`select * from children where state = 'in_kindergarten'`).all() as Row[]
    const kids = (await app.inject({ method: 'GET', url: '/api/v1/statistics/children?by=category', headers: bureau.headers })).json()
    t.same(asCounts(kids), tally(children, c => c.child_category), 'children by category')
    const teachers = app.storage.sqlite.prepare('select * from school_teachers').all() as Row[]
    const tres = (await app.inject({ method: 'GET', url: '/api/v1/statistics/school-teachers?by=title', headers: bureau.headers })).json()
    t.same(asCounts(tres), tally(teachers, r => r.title), 'school teachers by title')
    const kgTeachers = (await app.inject({ method: 'GET', url: '/api/v1/statistics/kindergarten-teachers?by=gender', headers: bureau.headers })).json()
    t.equal(kgTeachers.total, (app.storage.sqlite.prepare('select count(*) n from kindergarten_teachers').get() as Row).n)

    // Refusals: stable codes, nothing else.
    const bad = async (url: string) => (await app.inject({ method: 'GET', url, headers: bureau.headers })).json().code
    t.equal(await bad('/api/v1/statistics/students?by=shoeSize'), 'STATS_DIMENSION_UNKNOWN')
    t.equal(await bad('/api/v1/statistics/students?by=gender&state=asleep'), 'STATS_STATE_UNKNOWN')
    t.equal(await bad('/api/v1/statistics/students?by=gender&unit=330108'), 'STATS_UNIT_UNKNOWN', 'another county is not in the scope')
    t.equal(await bad('/api/v1/statistics/annual?from=2026-09-01&to=2026-01-01'), 'STATS_PERIOD_INVALID')
    // Days the calendar does not have: ages and periods are never computed against them.
    t.equal(await bad('/api/v1/statistics/students?by=age&asOf=2026-02-30'), 'STATS_PERIOD_INVALID', '30 February')
    t.equal(await bad('/api/v1/statistics/annual?from=2026-02-29&to=2026-03-01'), 'STATS_PERIOD_INVALID', '29 February of a common year')
    t.equal(await bad('/api/v1/statistics/annual?from=2026-04-31&to=2026-05-01'), 'STATS_PERIOD_INVALID', '31 April')
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=age&asOf=2024-02-29', headers: bureau.headers })).statusCode, 200, 'a leap day is one')
  })

  t.test('R-17.3 annual tables: in school, entrants, graduates by grade and status changes by type over a period', async t => {
    const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
    const res = await app.inject({ method: 'GET', url: '/api/v1/statistics/annual?from=2025-09-01&to=2026-08-31', headers: bureau.headers })
    t.equal(res.statusCode, 200)
    const a = res.json()
    t.same(asCounts(a.inSchoolByGrade), tally(inSchool, expected.grade!))
    // Entrants by the grade they entered (R-21.1): the seeded schools came onto the node on AS_OF,
    // in 2026–27, and have not rolled over since, so a class's grade is its grade of 2026–27, one
    // more than in 2025–26 (a school year begins on 1 August). No student of a class has a
    // completion, so no class is held at the last grade of its 学制 after completing.
    const placedCompletions = app.storage.sqlite.prepare('select count(*) n from student_completions g join students s on s.id = g.student_id where s.class_id is not null').get() as Row
    t.equal(placedCompletions.n, 0, 'the seed completes no student who has a class')
    const schoolYearOf = (ym: string) => Number(ym.slice(0, 4)) - (ym.slice(5, 7) < '08' ? 1 : 0)
    const entryGrade = (s: Row) => {
      if (!s.class_id) return null
      const g = classes.get(s.class_id)!.grade - (2026 - schoolYearOf(s.enrolment_ym))
      return g >= 1 && g <= 12 ? g : null
    }
    t.same(asCounts(a.entrantsByGrade), tally(all.filter(s => s.enrolment_ym >= '2025-09' && s.enrolment_ym <= '2026-08'), entryGrade))
    const byId = new Map(all.map(s => [s.id, s]))
    const completions = (app.storage.sqlite.prepare('select * from student_completions').all() as Row[]).filter(c => c.completion_ym >= '2025-09' && c.completion_ym <= '2026-08')
    t.same(asCounts(a.graduatesByGrade), tally(completions, c => expected.grade!(byId.get(c.student_id)!)))
    const changes = (app.storage.sqlite.prepare('select * from student_status_changes').all() as Row[]).filter(c => c.processing_status === '5' && c.change_date >= '2025-09-01' && c.change_date <= '2026-08-31')
    t.same(asCounts(a.statusChangesByType), tally(changes, c => c.change_type))
    t.comment(`annual 2025-09-01..2026-08-31: ${a.inSchoolByGrade.total} in school, ${a.entrantsByGrade.total} entrants, ${a.graduatesByGrade.total} graduates, ${a.statusChangesByType.total} status changes`)
  })

  t.test('R-17.6 R-17.4 a class teacher sees only their class; a school administrator their school', async t => {
    const klass = inSchool.find(s => s.class_id)!
    const sibling = [...classes.values()].find(c => c.school_code === klass.school_code && c.id !== klass.class_id)!
    const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: klass.school_code, classes: [klass.class_id] })
    const own = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=gender&drill=true', headers: teacher.headers })).json()
    t.same(asCounts(own), tally(inSchool.filter(s => s.class_id === klass.class_id), s => s.gender), 'the class alone')
    t.same(own.units, [], 'nothing below one class')
    for (const unit of [sibling.id, klass.school_code, '330106']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/statistics/students?by=gender&unit=${unit}`, headers: teacher.headers })
      t.equal(res.json().code, 'STATS_UNIT_UNKNOWN', `not ${unit === sibling.id ? 'a sibling class' : unit}`)
    }
    t.equal((await app.inject({ method: 'GET', url: '/api/v1/statistics/school-teachers?by=gender', headers: teacher.headers })).json().code, 'STATS_SCOPE_TOO_NARROW')
    const annual = (await app.inject({ method: 'GET', url: '/api/v1/statistics/annual?from=2025-09-01&to=2026-08-31', headers: teacher.headers })).json()
    t.equal(annual.inSchoolByGrade.total, own.total, 'the annual tables of a teacher are their class too')

    const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [klass.school_code] })
    const school = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=grade&drill=true', headers: admin.headers })).json()
    const mine = inSchool.filter(s => s.school_code === klass.school_code)
    t.same(asCounts(school), tally(mine, expected.grade!))
    t.same(Object.fromEntries(school.units.map((u: Row) => [u.unit, u.total])), tally(mine, s => s.class_id), 'drilled to its classes')
  })

  t.test('statistics read the covering index, not the table (EXPLAIN QUERY PLAN)', async t => {
    const bureau = { accountId: 'x', username: 'x', role: 'bureau_user' as const, scope: { kind: 'bureau' as const, node: '330106' }, leader: false, grants: [] }
    for (const [subject, by, state] of [['students', 'gender', undefined], ['students', 'grade', undefined], ['students', 'age', 'all'], ['students', 'schoolCategory', undefined], ['children', 'ethnicity', undefined]] as const) {
      const q = app.statistics.sqlOf(bureau, { subject, by, state, drill: true })
      const plan = (app.storage.sqlite.prepare(`explain query plan ${q.sql}`).all(...q.params) as Row[]).map(r => r.detail as string)
      t.comment(`${subject} by ${by}${state ? ` state=${state}` : ''}: ${plan.join(' | ')}`)
      t.ok(plan.some(d => /USING COVERING INDEX (students|children)_stats/.test(d)), `${subject} by ${by} reads the covering index`)
      t.notOk(plan.some(d => /^SCAN (t|students|children)\b/.test(d)), `${subject} by ${by} scans no table`)
    }
  })
})
