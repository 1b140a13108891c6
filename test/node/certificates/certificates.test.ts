import t from 'tap'
import { toString as qrSvg } from 'qrcode'
import { buildTestApp, loginAs } from '../../helper.ts'
import { fullRow, schoolRow, studentRow, writeRows } from '../../../scripts/lib/sync-fixtures.ts'
import { SENSITIVE_CLASSES } from '../../../node/auth/sensitive.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, reveal, withSchool } from '../../records/setup.ts'

/** A county node with two schools, a verified student at the first with a status change carried out and a completion, one at the second. */
async function world(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t)
  const a = schoolRow('330106', '330106', 1)
  const b = schoolRow('330106', '330106', 2)
  writeRows(app.storage, 'schools', [a, b])
  const s: Record<string, string | number | null> = { ...studentRow('330106', a, 7), student_no: 'G330106201503010071', id_number: '330106201503010071', state: 'graduated', verify_state: 'verified' }
  const other = studentRow('330106', b, 8)
  writeRows(app.storage, 'students', [s, other])
  const now = new Date().toISOString()
  const base = { home_node: '330106', version: 1, epoch: 0, created_at: now, updated_at: now, student_id: s.id as string }
  writeRows(app.storage, 'student_status_changes', [fullRow('student_status_changes', { ...base, id: 'sc-1', change_type: '11', change_date: '2023-03-01', processing_status: '5', previous_student_no: 'L330106000000000007' })])
  writeRows(app.storage, 'student_completions', [fullRow('student_completions', { ...base, id: 'co-1', graduating_school_code: a.school_code as string, completion_ym: '2027-06', reason: '毕业' })])
  return { app, a, b, s, other }
}

t.test('R-26.1 a lookup by ID number or 学籍号 returns the student history (schools, status changes, completion), masked and within scope', async t => {
  const { app, a, b, s } = await world(t)
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  for (const q of [`idNumber=${s.id_number}`, `studentNo=${s.student_no}`]) {
    const res = await app.inject({ url: `/api/v1/student-history?${q}`, headers: bureau.headers })
    t.equal(res.statusCode, 200, q)
    const [h] = res.json().items
    t.equal(h.student.id, s.id)
    t.not(h.student.idNumber, s.id_number, 'the ID number is masked')
    t.match(h.student.studentNo, /^G330106\*{8}0071$/, 'the 学籍号 is masked')
    t.same(h.school, { schoolCode: a.school_code, name: a.name })
    t.match(h.statusChanges, [{ changeType: '11', changeDate: '2023-03-01' }])
    t.not(h.statusChanges[0].previousStudentNo, 'L330106000000000007', 'masked in the history too')
    t.match(h.completion, { completionYm: '2027-06', graduatingSchoolCode: a.school_code })
  }
  const otherSchool = await loginAs(app, 'school_admin', { kind: 'schools', schools: [b.school_code as string] })
  const hidden = await app.inject({ url: `/api/v1/student-history?idNumber=${s.id_number}`, headers: otherSchool.headers })
  t.equal(hidden.statusCode, 404, 'another school does not see it')
  t.equal(hidden.json().code, 'NOT_FOUND')
  for (const q of ['', `idNumber=1&studentNo=2`]) {
    const bad = await app.inject({ url: `/api/v1/student-history?${q}`, headers: bureau.headers })
    t.equal(bad.json().code, 'CERT_LOOKUP_INVALID', `"${q}" refused`)
    t.equal(bad.statusCode, 400)
  }
})

t.test('R-26.1 R-10.1 the history is found by an ID number or 学籍号 typed in full-width characters, with spaces or in lower case, as the records store it; one that is only blanks is refused', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const idNumber = Array.from({ length: 80 }, (_, i) => fx.idNumber('2016-03-15', '1', i + 1)).find(v => v.endsWith('X'))!
  const created = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber, studentNo: undefined, name: '学生五', namePinyin: null }), schoolId: school.id, classId: klass.id })
  t.equal(created.status, 201)
  const studentNo = String((await reveal(node, 'students', created.body.id, ['studentNo'])).studentNo)
  const fullWidth = (v: string) => v.replace(/[0-9A-Z]/g, c => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
  const typed: [string, string][] = [
    ['idNumber', idNumber],
    ['idNumber', fullWidth(idNumber)],
    ['idNumber', `${idNumber.slice(0, 6)} ${idNumber.slice(6, 14)}\u3000${idNumber.slice(14).toLowerCase()}`],
    ['studentNo', studentNo],
    ['studentNo', ` ${studentNo.toLowerCase()} `],
    ['studentNo', fullWidth(studentNo)],
  ]
  for (const [key, value] of typed) {
    const res = await node.call('GET', `/api/v1/student-history?${key}=${encodeURIComponent(value)}`)
    t.equal(res.status, 200, `${key} typed as ${JSON.stringify(value)}`)
    t.strictSame(res.body.items?.map((h: { student: { id: string } }) => h.student.id), [created.body.id])
  }
  const blank = await node.call('GET', `/api/v1/student-history?idNumber=${encodeURIComponent('\u3000 ')}`)
  t.match(blank, { status: 400, body: { code: 'CERT_LOOKUP_INVALID' } }, 'a number of blanks only is no number')
})

t.test('R-26.1 a school issues a printable 学籍证明 whose QR code carries the signed token; the public page verifies it and refuses one altered byte', async t => {
  const { app, a, s, other } = await world(t)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [a.school_code as string] }, { grants: [...SENSITIVE_CLASSES] })
  const res = await app.inject({ url: `/api/v1/students/${s.id}/certificate`, headers: admin.headers })
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], /text\/html/)
  const token = /核验码：([A-Za-z0-9_.-]+)/.exec(res.body)![1]
  t.ok(res.body.includes(await qrSvg(token, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })), 'the QR code encodes the token')
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  t.match(claims, { iss: '330106', student: { name: s.name, birthDate: s.birth_date }, school: { code: a.school_code }, state: 'graduated', statusChanges: [{ type: '11', date: '2023-03-01' }], completion: { ym: '2027-06' } })
  t.notOk(token.includes(String(s.id_number)) || JSON.stringify(claims).includes(String(s.id_number)), 'the ID number is not in the certificate')
  t.notOk(JSON.stringify(claims).includes(String(s.id)), 'no internal id either: only what the certificate states')

  const verify = (tok: string) => app.inject({ url: `/verify?t=${encodeURIComponent(tok)}` })
  const ok = await verify(token)
  t.equal(ok.statusCode, 200, 'public: no login')
  t.match(ok.body, /证明有效/)
  t.match(ok.body, s.name as string)
  // One altered byte in the payload, in the signature, or a forged certificate signed by another key.
  const parts = token.split('.')
  const payload = Buffer.from(parts[1], 'base64url')
  payload[payload.indexOf(Buffer.from('2027-06'))] = '3'.charCodeAt(0)
  for (const [what, tok] of [
    ['altered payload', `${parts[0]}.${payload.toString('base64url')}.${parts[2]}`],
    ['altered signature', `${parts[0]}.${parts[1]}.${parts[2][0] === 'A' ? 'B' : 'A'}${parts[2].slice(1)}`],
    ['not a token', 'hello'],
  ]) {
    const bad = await verify(tok)
    t.equal(bad.statusCode, 200)
    t.match(bad.body, /证明无效（CERT_INVALID）/, what)
    t.notMatch(bad.body, /证明有效/, what)
  }
  t.match((await app.inject({ url: '/verify' })).body, /<form/, 'the page without a token is the form')

  const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: a.school_code as string, classes: ['c'] })
  t.equal((await app.inject({ url: `/api/v1/students/${s.id}/certificate`, headers: teacher.headers })).json().code, 'FORBIDDEN', 'a teacher issues none')
  t.equal((await app.inject({ url: `/api/v1/students/${other.id}/certificate`, headers: admin.headers })).statusCode, 404, 'nor a school for another school\'s student')
  const audit = app.storage.sqlite.prepare("select count(*) from audit_log where action = 'certificate.issue'").pluck().get()
  t.ok(Number(audit) >= 1, 'issuing is audited')
})

t.test('R-26.1 R-18.1 a 学籍证明 states only what was verified and carried out: an unverified student gets none, and status changes applied for, rejected or withdrawn are not stated', async t => {
  const { app, a, s } = await world(t)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [a.school_code as string] })
  const issue = () => app.inject({ url: `/api/v1/students/${s.id}/certificate`, headers: admin.headers })
  app.storage.sqlite.prepare(`update students set verify_state = 'entered' where id = ?`).run(s.id)
  const refused = await issue()
  t.equal(refused.statusCode, 409)
  t.equal(refused.json().code, 'CERT_RECORD_UNVERIFIED', 'a record not verified (本级核对) is not certified')
  t.match(refused.json().message, /核对/)

  app.storage.sqlite.prepare(`update students set verify_state = 'verified' where id = ?`).run(s.id)
  const now = new Date().toISOString()
  const base = { home_node: '330106', version: 1, epoch: 0, created_at: now, updated_at: now, student_id: s.id as string }
  writeRows(app.storage, 'student_status_changes', [
    fullRow('student_status_changes', { ...base, id: 'sc-rejected', change_type: '21', change_date: '2024-03-01', processing_status: '4' }),
    fullRow('student_status_changes', { ...base, id: 'sc-withdrawn', change_type: '31', change_date: '2024-04-01', processing_status: '6' }),
    fullRow('student_status_changes', { ...base, id: 'sc-applied', change_type: '41', change_date: '2024-05-01', processing_status: '1' }),
  ])
  const res = await issue()
  t.equal(res.statusCode, 200, res.body)
  const token = /核验码：([A-Za-z0-9_.-]+)/.exec(res.body)![1]
  const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
  t.same(claims.statusChanges, [{ type: '11', date: '2023-03-01' }], 'only the change carried out')
})

t.test('R-26.1 R-19.5 a node holding the read-only copy of a student transferred away issues no 学籍证明 for it: only the home node certifies the record', async t => {
  const { app, a, s } = await world(t)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [a.school_code as string] })
  const issue = () => app.inject({ url: `/api/v1/students/${s.id}/certificate`, headers: admin.headers })
  t.equal((await issue()).statusCode, 200, 'issued while the student is homed here')
  // The handoff re-homes the departing student's copy at the receiving node (node/transfers/service.ts `approve`).
  app.storage.sqlite.prepare(`update students set home_node = '330108', epoch = epoch + 1 where id = ?`).run(s.id)
  const refused = await issue()
  t.equal(refused.statusCode, 409)
  t.match(refused.json(), { code: 'CERT_RECORD_NOT_HOME', details: { homeNode: '330108' } }, 'the old county reaches the copy but may not certify it')
  t.match(refused.json().message, /学籍所在节点/)
})

t.test('R-26.1 a bureau certifies the students homed in its area (its counties\' records); one transferred out of its area it no longer reaches', async t => {
  const app = await buildTestApp(t, { tier: 'city' })
  const school = schoolRow('330106', '330106', 1)
  writeRows(app.storage, 'schools', [school])
  const here: Record<string, string | number | null> = { ...studentRow('330106', school, 1), verify_state: 'verified' }
  const away: Record<string, string | number | null> = { ...studentRow('330106', school, 2), verify_state: 'verified' }
  writeRows(app.storage, 'students', [here, away])
  // Transferred to a county of another city: the copy held here is re-homed there.
  app.storage.sqlite.prepare(`update students set home_node = '330206', epoch = epoch + 1 where id = ?`).run(away.id)
  const bureau = await loginAs(app, 'bureau_admin', { kind: 'bureau', node: '330100' })
  const issue = (id: unknown) => app.inject({ url: `/api/v1/students/${id}/certificate`, headers: bureau.headers })
  const ok = await issue(here.id)
  t.equal(ok.statusCode, 200, 'the city certifies its county\'s student')
  const token = /核验码：([A-Za-z0-9_.-]+)/.exec(ok.body)![1]
  t.match(JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()), { iss: '330100', school: { code: school.school_code } })
  const verified = await app.inject({ url: `/verify?t=${token}` })
  t.match(verified.body, /证明有效/, 'and the certificate verifies here: the school lies in the issuer\'s area')
  t.equal((await issue(away.id)).statusCode, 404, 'outside the bureau\'s scope')
})
