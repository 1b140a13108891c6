/**
 * Duplicate detection (查重) within the node: a duplicate ID number is refused at entry; the same
 * name, gender and birth date among records without an ID is accepted and opens a problem record,
 * listed for the school and its bureau, resolved by evidence, correction or deletion.
 */
import t from 'tap'
import { loginAs } from '../helper.ts'
import * as fx from './fixtures.ts'
import { rawCopy, recordsNode, withSchool, SCHOOL_CODE, type Json } from './setup.ts'

t.test('R-10.1 查重: same name, gender and birth date without ID opens a problem record for the school and its bureau', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const noId = { ...fx.student({ idNumber: null, studentNo: null, name: '王小五' }), schoolId: school.id, classId: klass.id }
  const first = (await node.call('POST', '/api/v1/students', noId)).body
  t.match((node.app.storage.sqlite.prepare('select student_no from students where id = ?').get(first.id) as Json).student_no, /^L33010620160315\d{4}$/, 'a temporary L 学籍号 is given when none was typed')
  t.match(first.studentNo, /^L330106\*{8}\d{4}$/, 'and shown masked')
  t.strictSame(first.problems, [])
  const mark = (node.app.storage.sqlite.prepare('select max(id) as n from outbox').get() as Json).n
  const second = await node.call('POST', '/api/v1/students', noId)
  t.equal(second.status, 201, 'accepted: without an ID the match may be two children')
  t.equal(second.body.problems.length, 1)
  const problem = second.body.problems[0]
  t.match(problem, { kind: 'duplicate_name_gender_birth', subjectTable: 'students', subjectId: second.body.id, otherId: first.id, schoolCode: SCHOOL_CODE, status: 'open', homeNode: '330106' })
  const rows = node.app.storage.sqlite.prepare('select table_name from outbox where id > ? order by id').all(mark) as Json[]
  t.strictSame(rows.map(r => r.table_name), ['students', 'problem_records'], 'the problem record is replicated with the write')
  t.equal((await node.call('GET', `/api/v1/students/${first.id}`)).body.problems[0].id, problem.id, 'both records show it')

  t.strictSame((await node.call('GET', '/api/v1/problems?status=open')).body.items.map((p: Json) => p.id), [problem.id], 'listed for the school')
  t.strictSame((await node.call('GET', '/api/v1/problems', undefined, node.bureau)).body.items.map((p: Json) => p.id), [problem.id], 'listed for the bureau')
  const far = await node.call('GET', '/api/v1/problems?offset=1e300', undefined, node.bureau)
  t.strictSame([far.status, far.body.items, far.body.total], [200, [], 1], 'an offset past any count answers an empty page')
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: SCHOOL_CODE, classes: [klass.id] })
  t.equal((await node.call('GET', '/api/v1/problems', undefined, teacher)).body.total, 0, 'not for a class teacher')

  // Resolution by evidence needs a note, and happens once.
  const url = `/api/v1/problems/${problem.id}/resolve`
  t.equal((await node.call('POST', url, { version: 1, resolution: 'evidence' }, node.bureau)).body.code, 'RECORD_FIELD_REQUIRED')
  t.equal((await node.call('POST', url, { version: 1, resolution: 'evidence', note: '双胞胎，附出生医学证明' }, teacher)).status, 403, 'a teacher holds no problem:resolve')
  // The school resolves its own problem records (they are listed for it), as the bureau may.
  const resolved = await node.call('POST', url, { version: 1, resolution: 'evidence', note: '双胞胎，附出生医学证明' })
  t.match(resolved.body, { status: 'resolved', resolution: 'evidence', resolutionNote: '双胞胎，附出生医学证明', resolvedBy: node.school.account.id, version: 2 })
  t.equal((await node.call('POST', url, { version: 2, resolution: 'corrected' }, node.bureau)).body.code, 'RECORD_PROBLEM_STATE')
})

t.test('R-10.1 查重 scan finds duplicate ID numbers that arrived otherwise; correction and deletion resolve', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const a = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  // Old data imported before this node checked it: the same ID number on a second row.
  const copyId = rawCopy(node, 'students', a.id, { student_no: 'L330106201603159999', name: '曾晓明' })
  const c1 = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '李雷' }), schoolId: school.id })).body
  const c2 = (await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '李雷' }), schoolId: school.id })).body

  t.equal((await node.call('POST', '/api/v1/problems/scan', undefined, node.school)).status, 403, 'the scan is the bureau administrator\'s')
  const scan = await node.call('POST', '/api/v1/problems/scan', undefined, node.bureau)
  t.strictSame(scan.body, { created: 1, open: 2 }, 'the duplicate ID is new; the name match was already open')
  t.strictSame((await node.call('POST', '/api/v1/problems/scan', undefined, node.bureau)).body, { created: 0, open: 2 }, 'a second scan opens nothing twice')
  const problems = (await node.call('GET', '/api/v1/problems', undefined, node.bureau)).body.items as Json[]
  const byId = problems.find(p => p.kind === 'duplicate_id_number')!
  t.match(byId, { subjectId: copyId, otherId: a.id, schoolCode: SCHOOL_CODE })
  const byName = problems.find(p => p.kind === 'duplicate_name_gender_birth')!

  // "Corrected" holds only once the records no longer match.
  const url = `/api/v1/problems/${byName.id}/resolve`
  t.equal((await node.call('POST', url, { version: 1, resolution: 'corrected' }, node.bureau)).body.code, 'RECORD_PROBLEM_STATE')
  t.equal((await node.call('PATCH', `/api/v1/students/${c2.id}`, { version: 1, name: '李蕾' })).status, 200)
  t.match((await node.call('POST', url, { version: 1, resolution: 'corrected' }, node.bureau)).body, { status: 'resolved', resolution: 'corrected' })
  t.equal(c1.problems.length, 0)

  // Deleting the duplicate resolves its problem as deleted.
  t.equal((await node.call('DELETE', `/api/v1/students/${copyId}`)).status, 204)
  t.match((await node.call('GET', `/api/v1/problems/${byId.id}`, undefined, node.bureau)).body, { status: 'resolved', resolution: 'deleted', version: 2 })
})

t.test('R-16.1 R-10.1 查重 a problem across two schools of the node is seen and resolved by the other school\'s registrar too, who reads no more of the first school\'s student; nobody else outside the two schools sees it', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const OTHER = '3301060102'
  const otherSchool = (await node.call('POST', '/api/v1/schools', fx.school({ schoolCode: OTHER, name: '杭州市西湖区文二路小学' }), node.bureau)).body
  const registrarB = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [OTHER] })
  const strangerSchool = (await node.call('POST', '/api/v1/schools', fx.school({ schoolCode: '3301060103', name: '杭州市西湖区学院路小学' }), node.bureau)).body
  const stranger = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [strangerSchool.schoolCode] })
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: SCHOOL_CODE, classes: [klass.id] })

  // School A registers first; school B's same name, gender and birth date without ID raises the problem.
  const noId = fx.student({ idNumber: null, studentNo: null, name: '王小五' })
  const mine = (await node.call('POST', '/api/v1/students', { ...noId, schoolId: school.id, classId: klass.id })).body
  const raised = await node.call('POST', '/api/v1/students', { ...noId, schoolId: otherSchool.id }, registrarB)
  t.equal(raised.status, 201)
  const problem = raised.body.problems[0]
  t.match(problem, { kind: 'duplicate_name_gender_birth', subjectId: raised.body.id, otherId: mine.id, schoolCode: OTHER }, 'the problem is the raising school\'s record')

  // School A (node.school, the registrar of SCHOOL_CODE): the problem concerns its student.
  const listed = await node.call('GET', '/api/v1/problems?status=open')
  t.equal(listed.status, 200)
  t.strictSame(listed.body.items.map((p: Json) => p.id), [problem.id], 'listed for the other school')
  t.strictSame(Object.keys(listed.body.items[0]).sort(), ['createdAt', 'epoch', 'homeNode', 'id', 'kind', 'otherId', 'otherSchoolCode', 'resolution', 'resolutionNote', 'resolvedAt', 'resolvedBy', 'schoolCode', 'status', 'subjectId', 'subjectTable', 'updatedAt', 'version'], 'the problem\'s fields, nothing of the other student\'s')
  t.equal(listed.body.items[0].otherSchoolCode, SCHOOL_CODE, 'naming its own school as the other record\'s')
  t.strictSame((await node.call('GET', `/api/v1/problems?schoolCode=${SCHOOL_CODE}`)).body.items.map((p: Json) => p.id), [problem.id], 'and under its own school code')
  t.equal((await node.call('GET', `/api/v1/problems/${problem.id}`)).status, 200, 'read alone')
  t.equal((await node.call('GET', `/api/v1/students/${raised.body.id}`)).status, 404, 'the other school\'s student stays out of reach')
  t.equal((await node.call('GET', `/api/v1/students/${raised.body.id}/guardians`)).status, 404, 'and its sub-records')
  t.strictSame((await node.call('GET', '/api/v1/problems', undefined, registrarB)).body.items.map((p: Json) => p.id), [problem.id], 'the raising school still sees it')
  t.equal((await node.call('GET', `/api/v1/students/${mine.id}`, undefined, registrarB)).status, 404, 'and does not reach the first school\'s student either')

  // for everyone else.
  t.equal((await node.call('GET', '/api/v1/problems', undefined, stranger)).body.total, 0, 'a third school does not see it')
  t.equal((await node.call('GET', `/api/v1/problems/${problem.id}`, undefined, stranger)).status, 404, 'nor read it')
  t.equal((await node.call('GET', `/api/v1/problems?schoolCode=${SCHOOL_CODE}`, undefined, stranger)).body.total, 0, 'nor by naming a school code')
  t.equal((await node.call('POST', `/api/v1/problems/${problem.id}/resolve`, { version: 1, resolution: 'evidence', note: '两人' }, stranger)).status, 404, 'nor resolve it')
  t.equal((await node.call('GET', '/api/v1/problems', undefined, teacher)).body.total, 0, 'a class teacher of the other school does not see it')
  t.equal((await node.call('GET', '/api/v1/problems', undefined, node.bureau)).body.total, 1, 'the bureau does')

  // The other school resolves it as the local rules allow: corrected only once they no longer match, then it stays resolved.
  const url = `/api/v1/problems/${problem.id}/resolve`
  t.equal((await node.call('POST', url, { version: 1, resolution: 'corrected' })).body.code, 'RECORD_PROBLEM_STATE', 'not corrected while they still match')
  t.equal((await node.call('PATCH', `/api/v1/students/${mine.id}`, { version: mine.version, name: '王晓五' })).status, 200, 'its own record corrected')
  const resolved = await node.call('POST', url, { version: 1, resolution: 'corrected' })
  t.match([resolved.status, resolved.body], [200, { status: 'resolved', resolution: 'corrected', resolvedBy: node.school.account.id, otherSchoolCode: SCHOOL_CODE }], 'resolved by the other school')
  t.equal((await node.call('GET', '/api/v1/problems?status=open', undefined, registrarB)).body.total, 0, 'and so for the raising school')
})

t.test('R-10.1 查重 the scan and a correction judge ID numbers by the entry rule: a resident ID number under another document type is a duplicate, two other document types sharing a number are not', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  const a = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id })).body
  // Old data: the resident ID number filed as 其他 on a second row; a Hong Kong permit and a
  // second passport with the number of a passport.
  const z = rawCopy(node, 'students', a.id, { student_no: 'L330106201603159998', id_doc_type: 'Z' })
  const passport = (await node.call('POST', '/api/v1/students', { ...fx.student({ studentNo: null, name: '李雷', idDocType: 'A', idNumber: 'E12345678' }), schoolId: school.id })).body
  rawCopy(node, 'students', passport.id, { student_no: 'L330106201603159997', id_doc_type: '6', name: '李磊' })
  const second = rawCopy(node, 'students', passport.id, { student_no: 'L330106201603159996', name: '李垒' })
  const scan = await node.call('POST', '/api/v1/problems/scan', undefined, node.bureau)
  t.strictSame(scan.body, { created: 2, open: 2 }, "two duplicates: the permit is nobody's")
  const problems = (await node.call('GET', '/api/v1/problems', undefined, node.bureau)).body.items as Json[]
  t.match(problems, [{ kind: 'duplicate_id_number', subjectId: z, otherId: a.id }, { kind: 'duplicate_id_number', subjectId: second, otherId: passport.id }])
  const resolve = (p: Json) => node.call('POST', `/api/v1/problems/${p.id}/resolve`, { version: 1, resolution: 'corrected' }, node.bureau)
  t.equal((await resolve(problems[0])).body.code, 'RECORD_PROBLEM_STATE', 'a resident ID number filed as 其他 is still the same number')
  // The second passport was a Macao permit: filed under its type, it no longer matches.
  t.equal((await node.call('PATCH', `/api/v1/students/${second}`, { version: 1, idDocType: '7' })).status, 200)
  t.match((await resolve(problems[1])).body, { status: 'resolved', resolution: 'corrected' }, 'corrected once the two are of document types that are not resident IDs')
})
