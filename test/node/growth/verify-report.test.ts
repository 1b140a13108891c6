import t from 'tap'
import { course, growthNode, practice, quality } from './lib.ts'

t.test('growth records: class administrators enter, the evaluation leading group verifies or returns with a reason', async t => {
  const g = await growthNode(t)
  const { node } = g
  const c = (await node.call('POST', `${g.base}/courses`, course(), g.teacher)).body
  const url = (step: string) => `/api/v1/verification/growth_courses/${c.id}/${step}`
  t.equal((await node.call('POST', url('verify'), undefined, g.teacher)).status, 403, 'the class administrator does not verify')
  t.equal((await node.call('POST', url('return'), { reason: ' ' }, g.leader)).body.code, 'RETURN_REASON_REQUIRED')
  const back = await node.call('POST', url('return'), { reason: '会考成绩与成绩单不符' }, g.leader)
  t.match(back.body, { verifyState: 'returned', returnReason: '会考成绩与成绩单不符' })
  t.equal((await node.call('POST', url('resubmit'), undefined, g.teacher)).body.verifyState, 'entered')
  t.equal((await node.call('POST', url('verify'), undefined, g.leader)).body.verifyState, 'verified')

  const ev = (await node.call('GET', g.base, undefined, g.teacher)).body.evaluation
  t.equal((await node.call('POST', `/api/v1/verification/growth_evaluations/${ev.id}/verify`, undefined, g.leader)).body.verifyState, 'verified')
  // A record the figures depend on changes: the record and the regenerated evaluation are unverified again.
  await node.call('PATCH', `${g.base}/courses/${c.id}`, { version: 4, examScore: 60, proficiencyScore: 60 }, g.teacher)
  const after = (await node.call('GET', g.base, undefined, g.teacher)).body
  t.equal(after.courses[0].verifyState, 'entered')
  t.equal(after.evaluation.verifyState, 'entered', 'a regenerated evaluation is checked again')
})

t.test('the printable report of a student and the export of a class', async t => {
  const g = await growthNode(t)
  const { node } = g
  await node.call('POST', `${g.base}/courses`, course(), g.teacher)
  await node.call('POST', `${g.base}/practices`, practice({ topic: '<script>茶园</script>' }), g.teacher)
  await node.call('POST', `${g.base}/qualities`, quality(), g.teacher)
  await node.call('PUT', `${g.base}/evaluation`, { overallComment: '品学兼优' }, g.teacher)
  const res = await node.app.inject({ url: `${g.base}/report`, headers: g.teacher.headers })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  for (const s of ['@media print', '曾小明', '语文必修一', '龙井村', '品学兼优', '<td>78.5</td>', '审美与艺术']) t.ok(res.body.includes(s), `shows ${s}`)
  t.notOk(res.body.includes('<script>'), 'typed text is escaped')
  const cls = await node.app.inject({ url: `/api/v1/classes/${g.klass.id}/growth/report`, headers: g.teacher.headers })
  t.equal(cls.statusCode, 200)
  t.equal(cls.body.split('<section class="student">').length - 1, 1, 'one section per student of the class')
  const student = await node.app.inject({ url: `/api/v1/classes/${g.klass.id}/growth/report`, headers: node.bureau.headers })
  t.equal(student.statusCode, 200, 'the bureau exports it too')
})
