/**
 * Statistics refuse a bad query with a stable code and a Chinese message, never a 500:
 * a dimension named like a property every object has (toString, constructor, __proto__), and a
 * reference date the exports hand to `sqlOf` without the route's pattern.
 */
import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'

t.test('R-17.3 a dimension that is not the subject\'s own is refused with STATS_DIMENSION_UNKNOWN, not a 500', async t => {
  const app = await buildTestApp(t, { code: '330106' })
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  for (const subject of ['students', 'children', 'school-teachers', 'schools']) {
    for (const by of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const res = await app.inject({ method: 'GET', url: `/api/v1/statistics/${subject}?by=${by}`, headers: bureau.headers })
      t.equal(res.statusCode, 400, `${subject} by ${by}: 400`)
      t.match(res.json(), { code: 'STATS_DIMENSION_UNKNOWN', message: '没有这个统计维度', details: { dimensions: Array } }, `${subject} by ${by}: its code and the dimensions there are`)
    }
  }
  const fine = await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=gender', headers: bureau.headers })
  t.equal(fine.statusCode, 200, 'a dimension of its own is counted')

  const refusal = (fn: () => unknown) => {
    try {
      fn()
      return undefined
    } catch (err) {
      return { code: (err as { code?: string }).code, message: (err as Error).message }
    }
  }
  t.match(refusal(() => app.statistics.sqlOf(bureau.actor, { subject: 'students', by: 'toString' })), { code: 'STATS_DIMENSION_UNKNOWN' }, 'the SQL an export checks: the same refusal')
  t.match(refusal(() => app.statistics.sqlOf(bureau.actor, { subject: 'students', by: 'age', asOf: "2026-01-01' or '1" })), { code: 'STATS_PERIOD_INVALID', message: /统计日期/ }, 'an export\'s reference date that is not a date is refused before it is written into the SQL')
  t.equal(refusal(() => app.statistics.sqlOf(bureau.actor, { subject: 'students', by: 'age', asOf: '2026-09-01' })), undefined, 'a real date passes')
})
