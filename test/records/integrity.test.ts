/**
 * Integrity of the records service beyond a single field: 查重 resolutions that hold, duplicate
 * ID numbers however they are typed or filed, the formal 学籍号 that stays, and edits that change
 * nothing writing nothing.
 */
import t from 'tap'
import { personQuery } from '../../node/services/records/federation-check.ts'
import * as fx from './fixtures.ts'
import { rawCopy, recordsNode, verifiedStudent, withSchool, type Json, type RecordsNode } from './setup.ts'

const lastOutboxId = (node: RecordsNode) => (node.app.storage.sqlite.prepare('select coalesce(max(id), 0) as n from outbox').get() as { n: number }).n
/** Full-width (U+FF10…) digits and X, as an input method types them. */
const fullWidth = (s: string) => s.replace(/[0-9X]/g, c => String.fromCharCode(c.charCodeAt(0) + 0xfee0))

t.test('R-10.1 查重 a problem resolved by evidence (佐证) stays resolved: an edit of either record or a scan does not reopen it', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const twin = { ...fx.student({ idNumber: null, studentNo: null, name: '王小五' }), schoolId: school.id, classId: klass.id }
  const a = (await node.call('POST', '/api/v1/students', twin)).body
  const b = (await node.call('POST', '/api/v1/students', twin)).body
  const problem = b.problems[0]
  t.equal(problem.kind, 'duplicate_name_gender_birth')
  const resolved = await node.call('POST', `/api/v1/problems/${problem.id}/resolve`, { version: 1, resolution: 'evidence', note: '双胞胎，附出生医学证明' })
  t.equal(resolved.status, 200)

  const editB = await node.call('PATCH', `/api/v1/students/${b.id}`, { version: b.version, phone: '13911112222' })
  t.equal(editB.status, 200)
  t.strictSame(editB.body.problems, [], 'editing the subject does not open the settled pair again')
  const editA = await node.call('PATCH', `/api/v1/students/${a.id}`, { version: a.version, phone: '13922223333' })
  t.strictSame(editA.body.problems, [], 'nor editing the other record')
  t.strictSame((await node.call('POST', '/api/v1/problems/scan', undefined, node.bureau)).body, { created: 0, open: 0 }, 'nor a scan')
  t.equal((await node.call('GET', '/api/v1/problems?status=open', undefined, node.bureau)).body.total, 0)

  // A third record matching both is a new pair each time: those are opened.
  const c = (await node.call('POST', '/api/v1/students', twin)).body
  t.equal(c.problems.length, 2, 'a new record matching the pair opens its own problems')
})

t.test('R-10.1 查重 an ID number already registered is refused under any document type, in full-width characters or with spaces', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const first = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const id = fx.student().idNumber
  const spaced = `${id.slice(0, 6)} ${id.slice(6, 14)}\u3000${id.slice(14)}`
  const cases: Array<[string, Json]> = [
    ['filed as 其他 (Z)', { idDocType: 'Z', idNumber: id }],
    ['filed as a passport (A), lower-case x', { idDocType: 'A', idNumber: id.toLowerCase() }],
    ['full-width characters', { idNumber: fullWidth(id) }],
    ['full-width, filed as 其他', { idDocType: 'Z', idNumber: fullWidth(id) }],
    ['with spaces (and an ideographic space)', { idNumber: spaced }],
  ]
  for (const [what, over] of cases) {
    const before = node.counts()
    const r = await node.call('POST', '/api/v1/students', { ...fx.student({ studentNo: null, name: '曾晓明', ...over }), schoolId: school.id })
    t.equal(r.status, 409, `${what}: refused`)
    t.equal(r.body.code, 'RECORD_DUPLICATE_ID', `${what}: RECORD_DUPLICATE_ID`)
    t.match(r.body.message, /查重/, `${what}: Chinese message`)
    t.strictSame(node.counts(), before, `${what}: nothing written`)
  }
  // Nor can an edit of another student take the number that way.
  const other = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '李雷' }), schoolId: school.id })).body
  const moved = await node.call('PATCH', `/api/v1/students/${other.id}`, { version: other.version, idDocType: 'Z', idNumber: fullWidth(id) })
  t.equal(moved.body.code, 'RECORD_DUPLICATE_ID', 'an edit is refused too')

  // A new number typed full-width with spaces is stored as the number itself, with its G 学籍号.
  const fresh = fx.idNumber('2016-03-15', '1', 5)
  const created = await node.call('POST', '/api/v1/students', { ...fx.student({ studentNo: null, name: '韩梅', idNumber: ` ${fullWidth(fresh.slice(0, 9))} ${fresh.slice(9)} ` }), schoolId: school.id })
  t.equal(created.status, 201, JSON.stringify(created.body))
  const row = node.app.storage.sqlite.prepare('select id_number, student_no from students where id = ?').get(created.body.id) as Json
  t.strictSame(row, { id_number: fresh, student_no: `G${fresh}` })
  t.strictSame((await node.call('GET', `/api/v1/students?q=${encodeURIComponent(fullWidth(fresh))}`)).body.items.map((s: Json) => s.id), [created.body.id], 'found by the number typed full-width')
  t.equal(first.problems.length, 0)

  // 查重 across the federation asks about the number as stored, under any document type.
  t.equal(personQuery('students', { idNumber: spaced, idDocType: '1' })?.idNumber, id)
  t.strictSame(personQuery('children', { idNumber: fullWidth(id), idDocType: 'Z' }), { table: 'children', idNumber: id, idDocType: 'Z' }, 'with the document type it is filed under')
  t.strictSame(personQuery('students', { idNumber: 'e1234 567', idDocType: 'A' }), { table: 'students', idNumber: 'E1234567', idDocType: 'A' }, 'a passport number too, compared as a passport number')
  t.strictSame(personQuery('students', { idNumber: '12345', idDocType: '1' }), undefined, 'a resident ID number of the wrong form is the validator\'s to refuse')
})

t.test('R-10.1 查重 a duplicate ID number already on the node (old data) does not block other edits of either record', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const a = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const copy = { id: rawCopy(node, 'students', a.id, { student_no: 'L330106201603159999', name: '曾晓明' }) }
  const edited = await node.call('PATCH', `/api/v1/students/${a.id}`, { version: a.version, phone: '13911112222' })
  t.equal(edited.status, 200, 'an edit that leaves the ID number alone passes')
  const fixed = await node.call('PATCH', `/api/v1/students/${copy.id}`, { version: 1, idNumber: fx.idNumber('2016-03-15', '1', 6) })
  t.equal(fixed.status, 200, 'correcting the duplicate passes')
  const back = await node.call('PATCH', `/api/v1/students/${copy.id}`, { version: 2, idNumber: fx.student().idNumber })
  t.equal(back.body.code, 'RECORD_DUPLICATE_ID', 'and giving it the taken number again is refused')
})

t.test('R-10.1 a formal G 学籍号 is fixed: an edit cannot turn it back into a temporary L or a J number; L → G is a key change', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const g = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const mark = lastOutboxId(node)
  for (const no of ['L330106201603150042', `J${fx.idNumber('2016-03-15', '1', 9)}`]) {
    const r = await node.call('PATCH', `/api/v1/students/${g.id}`, { version: 1, studentNo: no })
    t.equal(r.status, 400, `${no[0]}: refused`)
    t.equal(r.body.code, 'RECORD_FIELD_NOT_ALLOWED')
    t.strictSame([r.body.details?.field, r.body.details?.rule], ['studentNo', 'formal_student_no_fixed'])
    t.match(r.body.message, /正式学籍号/)
  }
  t.equal(lastOutboxId(node), mark, 'nothing written')
  t.equal((await node.call('GET', `/api/v1/students/${g.id}`)).body.version, 1)

  // A temporary number becomes the formal one once the ID number is known.
  const l = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '李雷' }), schoolId: school.id })).body
  const id = fx.idNumber('2016-03-15', '1', 4)
  const up = await node.call('PATCH', `/api/v1/students/${l.id}`, { version: 1, idNumber: id, studentNo: `G${id}` })
  t.equal(up.status, 200, JSON.stringify(up.body))
  t.equal(node.app.storage.sqlite.prepare('select student_no from students where id = ?').pluck().get(l.id), `G${id}`)
})

t.test('R-18.1 a PATCH that changes nothing writes nothing: no version, no outbox row, the verification kept', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const { student } = await verifiedStudent(node, school.id, klass.id)
  const read = (await node.call('GET', `/api/v1/students/${student.id}`)).body
  t.equal(read.verifyState, 'verified')
  const mark = lastOutboxId(node)

  const same = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: read.version, name: read.name, phone: '13800000000', onlyChild: true })
  t.equal(same.status, 200)
  t.equal(same.body.version, read.version, 'the version stays')
  t.equal(same.body.verifyState, 'verified', 'still verified: nothing was edited')
  const g = read.guardians[0]
  t.equal((await node.call('PATCH', `/api/v1/students/${student.id}/guardians/${g.id}`, { version: g.version })).body.version, g.version)
  t.equal(lastOutboxId(node), mark, 'no outbox row')
  t.equal((await node.call('GET', `/api/v1/students/${student.id}`)).body.verifyState, 'verified', 'nor did the guardian put its student back')

  // A real change still bumps the version and puts the record back to entered.
  const changed = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: read.version, phone: '13812345678' })
  t.strictSame([changed.body.version, changed.body.verifyState], [read.version + 1, 'entered'])
  // And a stale version is refused even when it would change nothing.
  t.equal((await node.call('PATCH', `/api/v1/students/${student.id}`, { version: read.version })).body.code, 'RECORD_VERSION_CONFLICT')
})
