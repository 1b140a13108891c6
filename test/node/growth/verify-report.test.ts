import t from 'tap'
import { course, growthNode, practice, quality } from './lib.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import { maskValue } from '../../../node/auth/sensitive.ts'

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

t.test('R-27.1 the 学籍号 in the growth file and its reports is masked unless the reader is granted id_number, and each clear showing is audited', async t => {
  const g = await growthNode(t)
  const { node } = g
  const clear = String(node.app.storage.sqlite.prepare('select student_no from students where id = ?').pluck().get(g.student.id))
  t.match(clear, /^G\d{17}[\dX]$/, 'a G-form 学籍号: the ID number behind a letter')
  const masked = String(maskValue('id_number', clear))
  const disclosures = () => readAudit(node.app.storage).filter(e => e.action === 'growth_file_disclosure')
  const reads = [g.base, `${g.base}/report`, `/api/v1/classes/${g.klass.id}/growth/report`]

  // The class administrator holds no id_number grant: masked everywhere, nothing disclosed.
  t.equal((await node.call('GET', g.base, undefined, g.teacher)).body.student.studentNo, masked)
  for (const url of reads) {
    const res = await node.app.inject({ url, headers: g.teacher.headers })
    t.equal(res.statusCode, 200, url)
    t.notOk(res.body.includes(clear.slice(1)), `${url}: no clear ID number`)
    t.ok(res.body.includes(masked), `${url}: the masked 学籍号`)
  }
  t.same(disclosures(), [], 'a masked read discloses nothing')

  // The school administrator granted id_number sees it in clear, and every showing is audited.
  t.equal((await node.call('GET', g.base, undefined, node.school)).body.student.studentNo, clear)
  for (const url of reads.slice(1)) t.ok((await node.app.inject({ url, headers: node.school.headers })).body.includes(clear), `${url}: clear to the granted`)
  t.same(disclosures().map(e => [e.actorId, e.targetTable, e.targetId, e.fields, e.outcome]), [
    [node.school.account.id, 'students', g.student.id, ['studentNo'], 'ok'],
    [node.school.account.id, 'students', g.student.id, ['studentNo'], 'ok'],
    [node.school.account.id, 'school_classes', g.klass.id, ['studentNo'], 'ok'],
  ])
})
