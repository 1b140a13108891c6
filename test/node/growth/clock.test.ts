/**
 * The growth service's test clock (node/growth/clock.ts) is honoured only by node processes started
 * from the test bundle (scripts/lib/node-bundle.mjs defines XUEJI_TEST_BUNDLE); this file is built
 * without that constant, like dist/ and a tsx run, so here the variable is ignored, as on a
 * production node. test/federation/change-requests.test.ts uses it in real processes.
 */
import t from 'tap'
import { TEST_CLOCK_ENV, growthClock } from '../../../node/growth/clock.ts'
import { chinaToday } from '../../../node/records/validate.ts'
import { growthNode, verifiedFile } from './lib.ts'

t.test('R-23.1 R-25.2 a node not started from the test bundle ignores the test clock variable and keeps the real clock', async t => {
  const ignored = growthClock({ [TEST_CLOCK_ENV]: '30' })
  t.equal(ignored.offsetDays, 0)
  t.match(ignored.ignored, /honoured only by node processes that tests start/)
  t.ok(Math.abs(ignored.now().getTime() - Date.now()) < 1000, 'the real clock')
  const none = growthClock({})
  t.same([none.offsetDays, none.ignored], [0, undefined], 'no variable: the real clock, nothing to say')

  // A whole app built here with the variable set: the 公示 still cannot be backdated or cut short.
  const saved = process.env[TEST_CLOCK_ENV]
  process.env[TEST_CLOCK_ENV] = '30'
  t.teardown(() => {
    if (saved === undefined) delete process.env[TEST_CLOCK_ENV]
    else process.env[TEST_CLOCK_ENV] = saved
  })
  const g = await growthNode(t)
  await verifiedFile(g)
  const today = chinaToday(new Date())
  const opened = await g.node.call('POST', `/api/v1/schools/${g.school.id}/growth/publicity`, { grade: 10, from: today, to: today }, g.leader)
  t.same([opened.status, opened.body], [200, { evaluations: 1 }], 'a period of today, by the real clock')
  const report = await g.node.call('POST', `/api/v1/schools/${g.school.id}/growth/report`, { schoolYear: 2026, grade: 10 }, g.leader)
  t.match(report.body, { code: 'GROWTH_PUBLICITY_PENDING', details: { rule: 'publicity' } }, 'not reported 30 days early')
})

t.test('R-23.1 in the test bundle the offset is whole days, 0–366; anything else is ignored', async t => {
  const ahead = growthClock({ [TEST_CLOCK_ENV]: '2' }, true)
  t.equal(ahead.offsetDays, 2)
  t.equal(ahead.ignored, undefined)
  t.ok(Math.abs(ahead.now().getTime() - Date.now() - 2 * 86400000) < 1000, 'two days ahead')
  for (const bad of ['-1', '1.5', '367', 'tomorrow', '1e2']) {
    const c = growthClock({ [TEST_CLOCK_ENV]: bad }, true)
    t.equal(c.offsetDays, 0, `${bad}: the real clock`)
    t.match(c.ignored, /whole number of days/, `${bad}: said why`)
  }
})
