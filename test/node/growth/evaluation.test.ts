import t from 'tap'
import { PROVINCE_RULES, evaluate } from '../../../node/growth/rules.ts'
import { course, growthNode, quality } from './lib.ts'

type Json = Record<string, any>
const ids = (sources: Array<{ id: string }>) => sources.map(s => s.id).sort()

t.test('R-15.2 R-15.3 the evaluation is generated from the growth records and recomputed when they change', async t => {
  const g = await growthNode(t)
  const { node } = g
  const file = async (): Promise<Json> => (await node.call('GET', g.base, undefined, g.teacher)).body
  t.equal((await file()).evaluation, null, 'no evaluation before any record')

  const a = (await node.call('POST', `${g.base}/courses`, course(), g.teacher)).body
  const b = (await node.call('POST', `${g.base}/courses`, course({ moduleCode: 'N0201', name: '数学必修一', examScore: 72, proficiencyScore: 74 }), g.teacher)).body
  const c = (await node.call('POST', `${g.base}/courses`, course({ moduleCode: 'N0301', name: '英语必修一', examScore: 55, credits: 0, proficiencyScore: 58 }), g.teacher)).body
  let f = await file()
  t.match(f.evaluation, { courseStatus: 'incomplete', totalCredits: 4, requiredCredits: PROVINCE_RULES.requiredCredits, rulesEdition: 'zj-2026', aestheticsScore: null })
  t.same(JSON.parse(f.evaluation.proficiencyLevels), { A: 1, B: 1, C: 0, D: 1 }, 'proficiency levels from the 会考 scores')
  t.same(ids(f.sources.totalCredits), [a.id, b.id].sort(), 'the credits show the modules they came from')
  t.same(f.sources.proficiency.map((p: Json) => [p.id, p.level]).sort(), [[a.id, 'A'], [b.id, 'B'], [c.id, 'D']].sort())

  // A change of a record the figures depend on regenerates them in the same write.
  const v1 = f.evaluation.version
  t.equal((await node.call('PATCH', `${g.base}/courses/${c.id}`, { version: 1, examScore: 80, credits: 2, proficiencyScore: 86 }, g.teacher)).status, 200)
  f = await file()
  t.match(f.evaluation, { totalCredits: 6 })
  t.same(JSON.parse(f.evaluation.proficiencyLevels), { A: 2, B: 1, C: 0, D: 0 })
  t.ok(f.evaluation.version > v1, 'the evaluation was rewritten (and travels upward as a new version)')

  const q1 = (await node.call('POST', `${g.base}/qualities`, quality(), g.teacher)).body
  const q2 = (await node.call('POST', `${g.base}/qualities`, quality({ term: '2026-2', aesthetics: 90, sport: 80, inquiry: 81.5, labour: 70 }), g.teacher)).body
  f = await file()
  t.match(f.evaluation, { aestheticsScore: 87.5, sportScore: 85, inquiryScore: 80, labourScore: 79 }, 'the four project scores are the dimension means over the terms')
  for (const d of ['aesthetics', 'sport', 'inquiry', 'labour']) t.same(ids(f.sources.projects[d]), [q1.id, q2.id].sort(), `${d} shows its quality records`)

  t.equal((await node.call('DELETE', `${g.base}/qualities/${q2.id}?version=1`, undefined, g.teacher)).status, 204)
  t.equal((await node.call('DELETE', `${g.base}/courses/${a.id}?version=1`, undefined, g.teacher)).status, 204)
  f = await file()
  t.match(f.evaluation, { aestheticsScore: 85, sportScore: 90, inquiryScore: 78.5, labourScore: 88, totalCredits: 4 }, 'deleting a record regenerates too')

  // What is stored is what the rules give from the stored records.
  const fresh = evaluate(PROVINCE_RULES, f.courses, f.qualities)
  t.match(f.evaluation, fresh.figures)
})

t.test('R-15.1 R-15.2 R-15.3 the school writes the overall comment; a generated figure is never writable', async t => {
  const g = await growthNode(t)
  const { node } = g
  await node.call('POST', `${g.base}/courses`, course(), g.teacher)
  const comment = '热爱集体，诚实守信，学习态度端正，善于合作，日常表现良好。'
  const w = await node.call('PUT', `${g.base}/evaluation`, { overallComment: comment }, g.teacher)
  t.equal(w.status, 200, JSON.stringify(w.body))
  t.match(w.body, { overallComment: comment, totalCredits: 2 })

  const before = node.counts()
  const outbox = before.outbox
  for (const [key, value] of [['totalCredits', 144], ['courseStatus', 'complete'], ['aestheticsScore', 100], ['proficiencyLevels', '{"A":9}'], ['rulesEdition', 'x']] as const) {
    const r = await node.call('PUT', `${g.base}/evaluation`, { overallComment: comment, version: w.body.version, [key]: value }, g.teacher)
    t.equal(r.status, 400, key)
    t.equal(r.body.code, 'GROWTH_GENERATED_READONLY', key)
  }
  t.equal(node.counts().outbox, outbox, 'refused writes change nothing')
  // No other route writes the evaluation: the records API has none for it.
  for (const method of ['POST', 'PATCH', 'DELETE'] as const) {
    const r = await node.call(method, `/api/v1/students/${g.student.id}/growth/evaluation`, { totalCredits: 144 }, g.teacher)
    t.equal(r.status, 404, `${method} has no route`)
  }
  const stale = await node.call('PUT', `${g.base}/evaluation`, { overallComment: '改', version: 1 }, g.teacher)
  t.equal(stale.body.code, 'RECORD_VERSION_CONFLICT')
  const f = (await node.call('GET', g.base, undefined, g.teacher)).body
  t.match(f.evaluation, { overallComment: comment, totalCredits: 2, courseStatus: 'incomplete' })
})

t.test('R-15.2 rules as data: a resit counts its module once, and a complete course study needs the required credits', async t => {
  const rules = { ...PROVINCE_RULES, requiredCredits: 4 }
  const rec = (id: string, moduleCode: string, credits: number) => ({ id, version: 1, moduleCode, credits, proficiencyScore: null })
  const once = evaluate(rules, [rec('a', 'N0101', 0), rec('b', 'N0101', 2), rec('c', 'N0201', 2)], [])
  t.match(once.figures, { totalCredits: 4, courseStatus: 'complete' })
  t.same(ids(once.sources.totalCredits), ['b', 'c'])
  t.match(evaluate(rules, [rec('a', 'N0101', 2), rec('b', 'N0101', 2)], []).figures, { totalCredits: 2, courseStatus: 'incomplete' })
})
