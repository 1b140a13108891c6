/**
 * The transfer certificate (转学证明; the handover of the file between nodes is not built yet): printable HTML for an approved or carried-out 转出,
 * the transfer out of the province (a status change with its certificate, no handoff).
 */
import t from 'tap'
import { loginAs } from '../../helper.ts'
import { recordsNode, SCHOOL_CODE } from '../../records/setup.ts'
import { application, newStudent, schoolWithClasses, verifyChange } from './lib.ts'

t.test('a transfer out of the province: the approved 转出 prints its certificate; the 学籍号 is clear only to an account granted it, and the printing is audited', async t => {
  const node = await recordsNode(t)
  const { school, classes } = await schoolWithClasses(node)
  const s = await newStudent(node, school.id, classes[4].id)
  const studentNo = (await node.call('POST', `/api/v1/reveal/students/${s.id}`, { fields: ['studentNo'] })).body.values.studentNo as string
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const a = await node.call('POST', `/api/v1/students/${s.id}/status-changes`, application({ changeType: '21', changeDate: today, reason: '随父母迁居<上海>', currentSchoolCode: '3101040001' }))
  t.equal(a.status, 201)
  const url = `/api/v1/status-changes/${a.body.id}/certificate`

  const early = await node.call('POST', url)
  t.match(early, { status: 409, body: { code: 'STATUS_CHANGE_NO_CERTIFICATE', details: { rule: 'approved_only' } } }, 'not before the bureau approves')
  t.equal((await node.call('POST', `/api/v1/status-changes/${a.body.id}/review`, { version: await verifyChange(node, a.body.id), decision: 'approve', approvalDocNo: '西教〔2026〕7号' }, node.bureau)).status, 200)

  const res = await node.app.inject({ method: 'POST', url, headers: node.school.headers })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /^text\/html/)
  for (const text of ['转学证明', s.name, studentNo, '杭州市西湖区文三路小学', '3101040001', '西教〔2026〕7号', '已批准', '随父母迁居&lt;上海&gt;']) t.ok(res.body.includes(text), `prints ${text}`)
  t.notOk(res.body.includes('<上海>'), 'what the school typed is escaped')

  const plain = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [SCHOOL_CODE] })
  const masked = await node.app.inject({ method: 'POST', url, headers: plain.headers })
  t.equal(masked.statusCode, 200)
  t.notOk(masked.body.includes(studentNo), 'the 学籍号 masked for an account without the grant')

  const entries = node.app.storage.sqlite.prepare(`select actor_id a, fields_json f from audit_log where action = 'transfer_certificate' and target_id = ? and outcome = 'ok' order by seq`).all(a.body.id) as { a: string; f: string }[]
  t.same(entries.map(e => [e.a, JSON.parse(e.f)]), [[node.school.account.id, ['studentNo']], [plain.account.id, []]], 'each printing audited, with the revealed field named')

  t.equal((await node.call('POST', `/api/v1/status-changes/${a.body.id}/carry-out`, { version: 3 }, node.bureau)).status, 200)
  const done = await node.app.inject({ method: 'POST', url, headers: node.bureau.headers })
  t.ok(done.body.includes('已办理'), 'after carrying out')
  t.equal((await node.call('GET', `/api/v1/students/${s.id}?state=all`)).body.state, 'transferred_out', 'the student left; no handoff, the record stays here')

  const other = await node.call('POST', `/api/v1/students/${(await newStudent(node, school.id, classes[4].id)).id}/status-changes`, application({ changeType: '11', changeDate: today }))
  t.match(await node.call('POST', `/api/v1/status-changes/${other.body.id}/certificate`), { status: 409, body: { code: 'STATUS_CHANGE_NO_CERTIFICATE', details: { rule: 'transfer_out_only' } } })
})
