/**
 * The transfer certificate (转学证明; the handover of the file between nodes is not built yet): printable HTML for an approved or carried-out 转出,
 * the transfer out of the province (a status change with its certificate, no handoff).
 */
import t from 'tap'
import { loginAs } from '../../helper.ts'
import { maskIdNumber } from '../../../schema/ids.ts'
import * as fx from '../../records/fixtures.ts'
import { KG_CODE, recordsNode, SCHOOL_CODE, withKindergarten } from '../../records/setup.ts'
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

t.test('R-19.5 R-12.5 R-27.1 a kindergarten child\'s approved 转出 prints a 转学证明 of the kindergarten: the child\'s ID number, clear only to an account granted it and audited, and the day of the approval', async t => {
  const node = await recordsNode(t)
  const { kg, kgClass } = await withKindergarten(node)
  const idNumber = fx.idNumber('2022-05-20', '2', 31)
  const created = await node.call('POST', '/api/v1/children', { ...fx.child({ idNumber, name: '单<晓>雨' }), kindergartenId: kg.id, classId: kgClass.id })
  t.equal(created.status, 201)
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  const a = await node.call('POST', `/api/v1/children/${created.body.id}/status-changes`, { changeType: '21', changeDate: today, reason: '随父母迁居', documentNos: '证明〔2026〕2号' })
  t.equal(a.status, 201)
  const review = await node.call('POST', `/api/v1/status-changes/${a.body.id}/review`, { version: await verifyChange(node, a.body.id, 'child'), decision: 'approve' }, node.bureau)
  t.equal(review.status, 200)
  const url = `/api/v1/status-changes/${a.body.id}/certificate`

  const res = await node.app.inject({ method: 'POST', url, headers: node.school.headers })
  t.equal(res.statusCode, 200)
  const row = (label: string) => new RegExp(`<th>${label}</th><td>([^<]*)</td>`).exec(res.body)?.[1]
  t.equal(row('幼儿姓名'), '单&lt;晓&gt;雨', 'the child, its name escaped')
  t.equal(row('身份证件号'), idNumber, 'the ID number in clear to an account granted it')
  t.equal(row('原就读幼儿园'), `${kg.name}（${KG_CODE}）`)
  t.equal(row('审批日期'), today, 'the day the bureau approved it')
  t.equal(row('证明材料文号'), '证明〔2026〕2号')
  for (const label of ['学生姓名', '全国学籍号', '原就读学校']) t.equal(row(label), undefined, `no ${label} on a child's certificate`)

  const plain = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [KG_CODE] })
  const masked = await node.app.inject({ method: 'POST', url, headers: plain.headers })
  t.equal(masked.statusCode, 200)
  t.notOk(masked.body.includes(idNumber), 'the ID number masked for an account without the grant')
  t.ok(masked.body.includes(maskIdNumber(idNumber)))

  const entries = node.app.storage.sqlite.prepare(`select actor_id a, target_table t, fields_json f from audit_log where action = 'transfer_certificate' and target_id = ? and outcome = 'ok' order by seq`).all(a.body.id) as { a: string; t: string; f: string }[]
  t.same(entries.map(e => [e.a, e.t, JSON.parse(e.f)]), [[node.school.account.id, 'child_status_changes', ['idNumber']], [plain.account.id, 'child_status_changes', []]], 'each printing audited, the revealed field named')
})
