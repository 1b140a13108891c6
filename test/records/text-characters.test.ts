/**
 * Text that is not well-formed UTF-16 — a lone surrogate half, which SQLite would store as
 * replacement bytes and which breaks a record's canonical JSON — is refused in every text-like
 * field (free text, names, addresses, e-mail, web addresses …) with RECORD_FIELD_FORMAT (names:
 * RECORD_NAME_CHARACTER), at entry and on sync apply alike (one validator, node/records/validate.ts);
 * characters outside the BMP, such as the rare-name characters of CJK Extension B, still pass.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { signChangeSet, type ChangeRow, type ChangeSetBody } from '../../sync/changeset.ts'
import { loadSigner } from '../../sync/signers.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { makeFederation, settle, type TestSyncNode } from '../sync/lib/nodes.ts'
import * as fx from './fixtures.ts'
import { recordsNode, withSchool, type Json } from './setup.ts'

/** 𠀀 U+20000, the first character of CJK Extension B (a surrogate pair in UTF-16). */
const EXT_B = '\u{20000}'

t.test('R-25.2 R-10.1 R-10.2 a lone surrogate in a text field is refused with a code and a Chinese message and changes nothing; astral characters pass', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const created = await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id, studentNo: null, schoolStudentNo: 'A01' })
  t.equal(created.status, 201, JSON.stringify(created.body))
  const student = created.body
  const readBack = async () => (await node.call('GET', `/api/v1/students/${student.id}`)).body

  const hostile: Array<[string, string, number]> = [
    ['lone high surrogate', '\ud800', 1],
    ['lone low surrogate', '\udc00', 1],
    ['high surrogate then a letter', `A\ud83dB`, 2],
    ['reversed pair', '\ude00\ud83d', 1],
    ['lone high after an astral character', `${EXT_B}\ud800`, 2],
  ]
  for (const [what, v, position] of hostile) {
    const before = node.counts()
    const stored = await readBack()
    const patched = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: stored.version, schoolStudentNo: v })
    t.equal(patched.status, 400, `${what}: PATCH 400`)
    t.equal(patched.body.code, 'RECORD_FIELD_FORMAT', `${what}: stable code`)
    t.match(patched.body.details, { field: 'schoolStudentNo', rule: 'lone_surrogate' }, `${what}: names the field and the rule`)
    t.match(patched.body.message, new RegExp(`^学号的第 ${position} 个字符（U\\+D[89A-F][0-9A-F]{2}）`), `${what}: Chinese message naming the field and the position`)
    t.strictSame(node.counts(), before, `${what}: nothing written`)
    t.strictSame(await readBack(), stored, `${what}: the record unchanged`)
  }

  // A new record (a résumé entry's free-text remark), an e-mail and a web address, a name-kind field.
  const before = node.counts()
  const resume = await node.call('POST', `/api/v1/students/${student.id}/resumes`, { fromYm: '2022-09', schoolName: '文三路小学', remarks: '备注\ud800' })
  t.equal(resume.status, 400, 'POST: 400')
  t.match(resume.body, { code: 'RECORD_FIELD_FORMAT', details: { field: 'remarks', rule: 'lone_surrogate' } })
  t.match(resume.body.message, /^备注的第 3 个字符（U\+D800）是不成对的代理码元/)
  for (const [key, v] of [['email', 'a\udc00@example.cn'], ['homepage', 'http://www.\ud800.cn']] as const) {
    const r = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: (await readBack()).version, [key]: v })
    t.match([r.status, r.body.code, r.body.details?.field], [400, 'RECORD_FIELD_FORMAT', key], `${key}: refused`)
  }
  const address = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: (await readBack()).version, currentAddress: '杭州市\ud800西湖区' })
  t.match([address.status, address.body.code, address.body.details?.field], [400, 'RECORD_NAME_CHARACTER', 'currentAddress'], 'an address (name kind): refused as before')
  t.match(address.body.message, /^现住址的第 4 个字符（U\+D800）是不成对的代理码元/, 'with a message that says what the character is')
  t.strictSame(node.counts(), before, 'nothing written')

  // Characters outside the BMP are whole characters: accepted, stored and read back as sent.
  const rare = `${EXT_B}01`
  const ok = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: (await readBack()).version, schoolStudentNo: rare, currentAddress: `杭州市${EXT_B}\u{2A6D6}路` })
  t.equal(ok.status, 200, JSON.stringify(ok.body))
  t.equal(ok.body.schoolStudentNo, rare)
  t.equal(node.app.storage.sqlite.prepare('select school_student_no from students where id = ?').pluck().get(student.id), rare, 'stored as the same characters')
  const resumeOk = await node.call('POST', `/api/v1/students/${student.id}/resumes`, { fromYm: '2022-09', schoolName: `${EXT_B}村小学`, remarks: `备注${EXT_B}` })
  t.equal(resumeOk.status, 201, JSON.stringify(resumeOk.body))
  t.equal(resumeOk.body.remarks, `备注${EXT_B}`)
  const max = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: (await readBack()).version, schoolStudentNo: EXT_B.repeat(30) })
  t.equal(max.status, 200, '30 astral characters are 30 characters of the 30 allowed')
})

type Row = Record<string, unknown>
const upsert = (table: string, row: Row): ChangeRow => ({ table, key: { id: row.id as string }, op: 'upsert', row, version: 1 })
const head = (n: TestSyncNode, origin: string) =>
  n.storage.sqlite.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string }
async function pushNext(from: TestSyncNode, parent: TestSyncNode, rows: ChangeRow[]) {
  const at = head(parent, from.code)
  const body: ChangeSetBody = { format: 1, origin: from.code, seq: at.seq + 1, prev: at.hash, createdAt: new Date().toISOString(), rows }
  return from.sync.transport!.request({ type: 'changeset.push', changeSet: await signChangeSet(body, await loadSigner(from.storage)) })
}
const badRows = (n: TestSyncNode, origin: string) =>
  (n.storage.sqlite.prepare('select bad_rows from sync_quarantine where origin = ? order by received_at desc limit 1').pluck().get(origin) as string | undefined) ?? '[]'

t.test('R-D.2 R-25.2 a row arriving by sync with a lone surrogate in a text field is refused with the API\'s code; an astral character applies', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const students = city.storage.sqlite.prepare('select count(*) from students').pluck().get()
  const good = studentRow('330106', school, 7)
  await t.rejects(pushNext(county, city, [upsert('students', { ...good, id: randomUUID(), school_student_no: 'A\ud800' })]), { code: 'SYNC_ROW_INVALID' }, 'refused')
  const [bad] = JSON.parse(badRows(city, '330106')) as Array<{ issues?: Json[] }>
  t.match(bad.issues, [{ code: 'RECORD_FIELD_FORMAT', field: 'schoolStudentNo', rule: 'lone_surrogate' }], 'the API\'s code, field and rule in the quarantine reasons')
  t.equal(city.storage.sqlite.prepare('select count(*) from students').pluck().get(), students, 'nothing applied')
  await t.resolves(pushNext(county, city, [upsert('students', { ...good, school_student_no: `${EXT_B}07` })]), 'a 学号 with a CJK Extension B character applies')
  t.equal(city.storage.sqlite.prepare('select school_student_no from students where id = ?').pluck().get(good.id), `${EXT_B}07`)
})
