/**
 * The rollover across the tiers (R-21.1) on three real node processes: the county is seeded as of
 * July (scripts/seed: records with their outbox rows, no SQL), its records reach the province,
 * the county's bureau administrator runs the rollover through the county's API, and the changes
 * travel up as ordinary change sets: at the province every student in school is one grade higher,
 * the graduating classes' students have completed, and the statistics match the county's.
 */
import t from 'tap'
import { seedNode } from '../../scripts/seed/index.ts'
import { apiLogin, countRows, startFederation, until } from './lib/federation.ts'

type Row = Record<string, any>

/** The final grade of the 学制 the seed uses (三年制 junior or senior ends at 9 or 12). */
const FINAL: Record<string, number[]> = { '6': [6], '3': [9, 12], '9': [9], '12': [12] }

t.test('R-21.1 a rollover run at the county reaches the province: every student one grade higher, graduates completed, counts as at the county', async t => {
  const [province, , county] = await startFederation(t)
  // Seed 32 gives a county whose schools have no pending business (test/node/calendar covers blockers).
  seedNode(county.storage, { node: { tier: 'county', code: '330106' }, students: 300, kindergartens: 1, seed: 32, asOf: new Date('2026-07-15T04:00:00Z') })
  const students = countRows(county.storage, 'students')
  const classes = countRows(county.storage, 'school_classes')
  await until('the province holds every student and class', () => countRows(province.storage, 'students') === students && countRows(province.storage, 'school_classes') === classes, 180000)

  const placed = (s: typeof province.storage) => new Map((s.sqlite.prepare(`select s.id, s.state, c.grade, c.schooling_length l, c.version from students s join school_classes c on c.id = s.class_id`).all() as Row[]).map(r => [r.id, r]))
  const before = placed(province.storage)
  const inSchool = [...before.values()].filter(r => r.state === 'in_school')
  const graduating = inSchool.filter(r => FINAL[r.l].includes(r.grade)).length
  t.ok(inSchool.length > 0 && graduating > 0, `${inSchool.length} students in school at the province, ${graduating} in graduating classes`)

  const session = await apiLogin(county)
  const dry = await session.call('GET', '/api/v1/calendar/rollover')
  t.equal(dry.status, 200)
  t.ok(dry.json.items.length > 0 && dry.json.items.every((i: Row) => i.state === 'ready'), 'the dry run: every school and kindergarten ready')
  const run = await session.call('POST', '/api/v1/calendar/rollover', {})
  t.equal(run.status, 200, JSON.stringify(run.json).slice(0, 300))
  t.match(run.json, { schoolYear: 2026, term: '2026-1' })
  t.ok(run.json.items.every((i: Row) => i.state === 'done'), 'the county rolled every school')

  const versions = (s: typeof province.storage) => s.sqlite.prepare('select group_concat(id || version) from (select id, version from school_classes order by id)').pluck().get()
  await until('the province holds the rolled classes and the completions', () => versions(province.storage) === versions(county.storage) && countRows(province.storage, 'student_completions') === countRows(county.storage, 'student_completions'), 120000)
  const after = placed(province.storage)
  let promoted = 0
  let wrong = 0
  for (const b of inSchool) {
    const a = after.get(b.id)!
    const final = FINAL[b.l].includes(b.grade)
    if (!final) promoted++
    if (final ? a.state !== 'graduated' || a.grade !== b.grade : a.state !== 'in_school' || a.grade !== b.grade + 1) wrong++
  }
  t.equal(wrong, 0, `R-21.1 at the province all ${promoted} students are one grade higher and the ${graduating} graduates have completed`)

  const province_ = await apiLogin(province)
  const byGrade = async (s: typeof session) => {
    const res = await s.call('GET', '/api/v1/statistics/students?by=grade')
    t.equal(res.status, 200)
    return Object.fromEntries(res.json.rows.map((r: Row) => [r.key, r.count]))
  }
  const atCounty = await byGrade(session)
  t.same(await byGrade(province_), atCounty, 'R-21.1 the province counts by grade what the county counts')
  const expected: Record<string, number> = {}
  for (const b of inSchool) if (!FINAL[b.l].includes(b.grade)) expected[b.grade + 1] = (expected[b.grade + 1] ?? 0) + 1
  t.same(atCounty, expected, 'and those are last year’s students one grade up, without the graduates')
})
