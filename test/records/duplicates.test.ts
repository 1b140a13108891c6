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
