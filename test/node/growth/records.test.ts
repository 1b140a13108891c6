import t from 'tap'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { course, growthNode, practice, quality, research, service } from './lib.ts'

t.test('R-13.1 growth records are kept for senior high students only', async t => {
  const g = await growthNode(t)
  const { node } = g
  // A primary-school class of the same node: its student has no growth record.
  const primary = await node.call('POST', '/api/v1/schools', fx.school({ schoolCode: '3301060102', name: '文三路小学', category: '211' }), node.bureau)
  const klass = await node.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: primary.body.id }, node.bureau)
  const pupil = await node.call('POST', '/api/v1/students', { ...fx.student({ studentNo: undefined, idNumber: fx.idNumber('2016-03-15', '1', 2), schoolStudentNo: '2' }), schoolId: primary.body.id, classId: klass.body.id }, node.bureau)
  t.equal(pupil.status, 201, JSON.stringify(pupil.body))
  const head = await loginAs(node.app, 'class_admin', { kind: 'classes', school: '3301060102', classes: [klass.body.id] })
  const before = node.counts()
  const r = await node.call('POST', `/api/v1/students/${pupil.body.id}/growth/courses`, course(), head)
  t.equal(r.status, 409)
  t.equal(r.body.code, 'GROWTH_NOT_SENIOR_HIGH')
  t.same(node.counts(), before, 'nothing written')
  t.equal((await node.call('POST', `${g.base}/courses`, course(), g.teacher)).status, 201, 'the grade-10 student of the 高级中学 has one')
})

t.test('R-14.1 course study: national and local modules written, validated and read back', async t => {
  const g = await growthNode(t)
  const { node } = g
  const n = await node.call('POST', `${g.base}/courses`, course({ name: '随便写的名字' }), g.teacher)
  t.equal(n.status, 201, JSON.stringify(n.body))
  t.match(n.body, { moduleCode: 'N0101', name: '语文必修一', classHours: 36, examScore: 88, credits: 2, proficiencyScore: 90, verifyState: 'entered', enteredBy: g.teacher.account.id, homeNode: '330106' }, 'a national module is named by the module table')
  const l = await node.call('POST', `${g.base}/courses`, { term: '2026-1', moduleCode: 'S01', name: '西湖文化', classHours: 18, examScore: 75, credits: 1 }, g.teacher)
  t.equal(l.status, 201, JSON.stringify(l.body))
  t.equal(l.body.name, '西湖文化', 'a school-based course keeps the name the school gives it')

  const before = node.counts()
  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['a bad exam score', course({ examScore: 105 }), 'GROWTH_SCORE_OUT_OF_SCALE'],
    ['a score off its step', course({ examScore: 88.3 }), 'GROWTH_SCORE_OUT_OF_SCALE'],
    ['a bad 会考 score', course({ proficiencyScore: -1 }), 'GROWTH_SCORE_OUT_OF_SCALE'],
    ['an unknown module', course({ moduleCode: 'N9999' }), 'GROWTH_MODULE_UNKNOWN'],
    ['a course kind as module', course({ moduleCode: 'N' }), 'GROWTH_MODULE_UNKNOWN'],
    ['credits outside the rule', course({ credits: 3 }), 'GROWTH_CREDIT_OUT_OF_RULE'],
    ['credits for a failed exam', course({ examScore: 50 }), 'GROWTH_CREDIT_OUT_OF_RULE'],
    ['national class hours off the rule', course({ classHours: 20 }), 'GROWTH_CREDIT_OUT_OF_RULE'],
    ['a 会考 score for a school course', { term: '2026-1', moduleCode: 'S01', name: '西湖文化', classHours: 18, examScore: 75, credits: 1, proficiencyScore: 80 }, 'GROWTH_FIELD_NOT_ALLOWED'],
    ['a missing term', course({ term: undefined }), 'RECORD_FIELD_REQUIRED'],
  ]
  for (const [what, body, code] of refusals) {
    const r = await node.call('POST', `${g.base}/courses`, body, g.teacher)
    t.equal(r.status, 400, what)
    t.equal(r.body.code, code, what)
    t.match(r.body.message, /[\u4e00-\u9fff]/, `${what}: a Chinese message`)
  }
  t.same(node.counts(), before, 'refusals change nothing')

  const file = await node.call('GET', g.base, undefined, g.teacher)
  t.equal(file.status, 200)
  t.same(file.body.courses.map((c: { id: string }) => c.id), [n.body.id, l.body.id], 'read back')

  const upd = await node.call('PATCH', `${g.base}/courses/${n.body.id}`, { version: 1, examScore: 95 }, g.teacher)
  t.equal(upd.status, 200)
  t.match(upd.body, { examScore: 95, version: 2 })
  const bad = await node.call('PATCH', `${g.base}/courses/${n.body.id}`, { version: 2, credits: 1 }, g.teacher)
  t.equal(bad.body.code, 'GROWTH_CREDIT_OUT_OF_RULE', 'an update is checked by the same rules')
  const stale = await node.call('PATCH', `${g.base}/courses/${n.body.id}`, { version: 1, examScore: 90 }, g.teacher)
  t.equal(stale.body.code, 'RECORD_VERSION_CONFLICT')
})

t.test('R-14.2 comprehensive practice: research, community service, social practice', async t => {
  const g = await growthNode(t)
  const { node } = g
  for (const body of [research(), service(), practice()]) {
    const r = await node.call('POST', `${g.base}/practices`, body, g.teacher)
    t.equal(r.status, 201, JSON.stringify(r.body))
    t.match(r.body, body, `${String(body.kind)} read back as written`)
  }
  const before = node.counts()
  const refusals: Array<[string, Record<string, unknown>, string]> = [
    ['an evaluation off the scale', research({ evaluation: '很好' }), 'GROWTH_SCORE_OUT_OF_SCALE'],
    ['an unknown kind', research({ kind: 'party' }), 'GROWTH_FIELD_NOT_ALLOWED'],
    ['members for community service', service({ members: '张三' }), 'GROWTH_FIELD_NOT_ALLOWED'],
    ['service without a place', service({ place: null }), 'GROWTH_FIELD_NOT_ALLOWED'],
    ['an end before the start', practice({ toDate: '2026-10-01' }), 'GROWTH_FIELD_NOT_ALLOWED'],
    ['a malformed date', practice({ fromDate: '2026-13-40' }), 'RECORD_FIELD_FORMAT'],
  ]
  for (const [what, body, code] of refusals) {
    const r = await node.call('POST', `${g.base}/practices`, body, g.teacher)
    t.equal(r.status, 400, what)
    t.equal(r.body.code, code, what)
  }
  t.same(node.counts(), before, 'refusals change nothing')
  const file = await node.call('GET', g.base, undefined, node.bureau)
  t.same(file.body.practices.map((p: { kind: string }) => p.kind), ['research', 'community_service', 'social_practice'])
})

t.test('R-14.3 quality development: the description and the four dimension scores', async t => {
  const g = await growthNode(t)
  const { node } = g
  const r = await node.call('POST', `${g.base}/qualities`, quality(), g.teacher)
  t.equal(r.status, 201, JSON.stringify(r.body))
  t.match(r.body, quality())
  const before = node.counts()
  for (const d of ['aesthetics', 'sport', 'inquiry', 'labour']) {
    const bad = await node.call('POST', `${g.base}/qualities`, quality({ term: '2026-2', [d]: 101 }), g.teacher)
    t.equal(bad.body.code, 'GROWTH_SCORE_OUT_OF_SCALE', d)
    t.equal(bad.body.details.field, d)
  }
  const twice = await node.call('POST', `${g.base}/qualities`, quality(), g.teacher)
  t.equal(twice.body.code, 'RECORD_DUPLICATE_KEY', 'one quality record per term')
  t.same(node.counts(), before, 'refusals change nothing')
  const file = await node.call('GET', g.base, undefined, g.teacher)
  t.match(file.body.qualities, [quality()])
})

t.test('R-14.1 in-school exams are shown in the growth file, not entered twice', async t => {
  const g = await growthNode(t)
  const exam = { term: '2026-1', examDate: '2026-11-10', course: '数学', examCategory: '2', score: 92 }
  const r = await g.node.call('POST', `/api/v1/students/${g.student.id}/exams`, exam)
  t.equal(r.status, 201, JSON.stringify(r.body))
  const file = await g.node.call('GET', g.base, undefined, g.teacher)
  t.match(file.body.exams, [exam])
})

t.test('growth records: entry by class administrators only, other schools see nothing', async t => {
  const g = await growthNode(t)
  const { node } = g
  const r = await node.call('POST', `${g.base}/courses`, course(), node.school)
  t.equal(r.status, 403, 'a school administrator does not enter growth records (R-17.5)')
  const other = await loginAs(node.app, 'class_admin', { kind: 'classes', school: '3301069999', classes: ['x'] })
  t.equal((await node.call('POST', `${g.base}/courses`, course(), other)).status, 404, 'another school\'s class administrator does not reach the student')
  t.equal((await node.call('GET', g.base, undefined, other)).status, 404)
})

t.test('a student deleted before any verification takes their growth records with them, each with its tombstone', async t => {
  const g = await growthNode(t)
  const { node } = g
  const c = (await node.call('POST', `${g.base}/courses`, course(), g.teacher)).body
  const del = await node.call('DELETE', `/api/v1/students/${g.student.id}?version=1`)
  t.equal(del.status, 204, JSON.stringify(del.body))
  const tombstones = node.app.storage.sqlite.prepare("select table_name from outbox where op = 'delete' order by id").all() as Array<{ table_name: string }>
  t.same(tombstones.map(r => r.table_name).sort(), ['growth_courses', 'growth_evaluations', 'students'], 'the replicas above delete them too')
  t.equal(node.counts().growth_courses, 0)
  t.ok(c.id)
})

t.test('R-30.1 a county adds its school-based courses to the module table by configuration', async t => {
  // Not t.testdir(): buildTestApp makes the test's fixture dir afresh.
  const localDir = mkdtempSync(join(tmpdir(), 'xueji-codes-'))
  t.teardown(() => rmSync(localDir, { recursive: true, force: true }))
  writeFileSync(join(localDir, 'growth_module.xihu-2026.json'), JSON.stringify({
    table: 'growth_module', title: '普通高中课程模块（西湖区扩充）', standard: 'local (Xihu)', edition: 'xihu-2026', extends: 'growth_module',
    codes: [{ code: 'S3301', name: '西湖龙井茶文化', parent: 'S' }],
  }))
  const g = await growthNode(t, { config: { codes: { localDir } } })
  const local = await g.node.call('POST', `${g.base}/courses`, { term: '2026-1', moduleCode: 'S3301', name: '西湖龙井茶文化', classHours: 18, examScore: 90, credits: 2 }, g.teacher)
  t.equal(local.status, 201, JSON.stringify(local.body))
  t.equal((await g.node.call('POST', `${g.base}/courses`, { term: '2026-1', moduleCode: 'S3301', name: '西湖龙井茶文化', classHours: 18, examScore: 90, credits: 2.5 }, g.teacher)).body.code, 'GROWTH_CREDIT_OUT_OF_RULE', 'under the credit rule of its kind')
})
