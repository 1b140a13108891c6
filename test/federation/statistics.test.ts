/**
 * Statistics across the tiers on three real node processes: the county and the
 * city (its own city-run schools) are seeded through scripts/seed (records with their outbox rows,
 * no SQL), the change sets travel up, and each tier's figures agree with counts made directly
 * from the seeded rows at the home nodes: the county sums to the city, the city to the province.
 */
import t from 'tap'
import { seedNode } from '../../scripts/seed/index.ts'
import { apiLogin, countRows, startFederation, until } from './lib/federation.ts'

type Row = Record<string, any>

function tally<T>(rows: T[], key: (r: T) => unknown): Record<string, number> {
  const out: Record<string, number> = {}
  for (const r of rows) {
    const k = String(key(r) ?? '')
    out[k] = (out[k] ?? 0) + 1
  }
  return out
}

function add(...parts: Array<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of parts) for (const [k, n] of Object.entries(p)) out[k] = (out[k] ?? 0) + n
  return out
}

const counts = (table: Row) => Object.fromEntries(table.rows.map((r: Row) => [r.key, r.count]))

t.test('R-17.2 R-17.3 statistics at each tier agree with the seed: the county sums to the city, the city to the province', async t => {
  const [province, city, county] = await startFederation(t)
  const asOf = new Date('2026-11-20T04:00:00Z')
  seedNode(county.storage, { node: { tier: 'county', code: '330106' }, students: 400, kindergartens: 1, seed: 21, asOf })
  seedNode(city.storage, { node: { tier: 'city', code: '330100' }, students: 150, kindergartens: 1, seed: 22, asOf })

  // What each home node holds, counted here in JavaScript from its own rows.
  const own = (s: typeof county.storage) => {
    const classes = new Map((s.sqlite.prepare('select id, grade from school_classes').all() as Row[]).map(c => [c.id, c.grade]))
    const students = (s.sqlite.prepare(`select * from students where state = 'in_school' and home_node = ?`).all(s === county.storage ? '330106' : '330100') as Row[])
    return { gender: tally(students, r => r.gender), grade: tally(students, r => classes.get(r.class_id)), total: students.length }
  }
  const atCounty = own(county.storage)
  const atCityOwn = own(city.storage)
  t.ok(atCounty.total > 0 && atCityOwn.total > 0, `seeded: county ${atCounty.total} in school, city-run schools ${atCityOwn.total}`)

  const all = countRows(county.storage, 'students') + countRows(city.storage, 'students')
  const classes = countRows(county.storage, 'school_classes') + countRows(city.storage, 'school_classes')
  const started = Date.now()
  await until('the province holds every student and class', () => countRows(province.storage, 'students') === all && countRows(province.storage, 'school_classes') === classes, 180000)
  await until('the city holds the county too', () => countRows(city.storage, 'students') === all, 60000)
  t.comment(`consolidated ${all} students at the province in ${((Date.now() - started) / 1000).toFixed(1)} s`)

  // One session per node: the administrator enrols TOTP at the first login.
  const sessions = new Map([[county, await apiLogin(county)], [city, await apiLogin(city)], [province, await apiLogin(province)]])
  const ask = async (node: typeof county, path: string) => {
    const res = await sessions.get(node)!.call('GET', path)
    t.equal(res.status, 200, `${node.code} ${path}`)
    return res.json
  }
  for (const by of ['gender', 'grade'] as const) {
    const c = await ask(county, `/api/v1/statistics/students?by=${by}&drill=true`)
    const ci = await ask(city, `/api/v1/statistics/students?by=${by}&drill=true`)
    const p = await ask(province, `/api/v1/statistics/students?by=${by}&drill=true`)
    t.same(counts(c), atCounty[by], `county by ${by} = the county's seed`)
    t.same(counts(ci), add(atCounty[by], atCityOwn[by]), `city by ${by} = the county's seed + the city's own`)
    t.same(counts(p), counts(ci), `province by ${by} = the city (one city in this federation)`)
    // Drill-down: the city's units are the county and the city's own schools; the province's unit is the city.
    t.same(Object.fromEntries(ci.units.map((u: Row) => [u.unit, u.counts])), { '330106': counts(c), '330100': atCityOwn[by] }, `the county sums into the city by ${by}`)
    t.same(Object.fromEntries(p.units.map((u: Row) => [u.unit, u.total])), { '330100': ci.total }, `the cities sum to the province by ${by}`)
    t.equal(p.units[0].name, '杭州市', 'units are named from the division codes')
  }
  // Drilling at the province into the county gives the county's own figures.
  const narrowed = await ask(province, '/api/v1/statistics/students?by=gender&unit=330106')
  t.same(counts(narrowed), atCounty.gender, 'the province drilled into the county sees what the county sees')
})
