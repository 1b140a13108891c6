/**
 * The status-change workflow (node/status-changes) with a controlled clock: every type from the
 * school's application through the bureau's review to carrying out, with the person's state and
 * the school's derived counts after each; children through the same engine; what a
 * school may not do.
 */
import t from 'tap'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { withKindergarten, SCHOOL_CODE, type Json } from '../../records/setup.ts'
import { application, newStudent, schoolWithClasses, verifyChange, workflowNode } from './lib.ts'

const code = (fn: () => unknown) => {
  try {
    fn()
    return 'ok'
  } catch (err) {
    return (err as { code?: string }).code ?? String(err)
  }
}

t.test('R-10.10 R-20.1 every student status-change type from application to carried out: the state, class and school counts after each', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { school, classes } = await schoolWithClasses(node)
  // A grade-10 class, so expulsion (refused in compulsory education) has a student it applies to.
  const senior = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026010', name: '高一（1）班', grade: 10 }), schoolId: school.id })).body
  classes[10] = senior

  // The model the school's figures must agree with: state and grade of every student.
  const model = new Map<string, { state: string; grade: number }>()
  const add = async (grade: number) => {
    const s = await newStudent(node, school.id, classes[grade].id)
    model.set(s.id, { state: 'in_school', grade })
    return s.id as string
  }
  const a = await add(4), b = await add(4), c = await add(4), d = await add(4), e = await add(4), f = await add(4), g = await add(4), h = await add(10), i = await add(4), j = await add(4)

  const steps: Array<{ type: string; who: string; target?: number; state: string; extra?: Json }> = [
    { type: '11', who: a, state: 'suspended' }, // 休学
    { type: '12', who: a, target: 3, state: 'in_school' }, // 复学 into a lower grade
    { type: '13', who: b, state: 'stopped' }, // 停学
    { type: '02', who: c, target: 4, state: 'in_school' }, // 留级 (stays in grade 4, another year)
    { type: '03', who: d, target: 3, state: 'in_school' }, // 降级
    { type: '04', who: e, target: 5, state: 'in_school' }, // 跳级
    { type: '21', who: f, state: 'transferred_out' }, // 转出
    { type: '22', who: f, target: 4, state: 'in_school' }, // 转入 (back after the transfer out)
    { type: '31', who: g, state: 'withdrawn' }, // 退学
    { type: '42', who: h, state: 'expelled' }, // 开除学籍 (grade 10)
    { type: '51', who: i, state: 'deceased', extra: { deathDate: '2026-02-26', deathCause: '疾病', responsibility: '1', reviewOpinion: '情况属实', currentSchoolCode: null } },
    { type: '99', who: j, state: 'in_school' }, // 其他: no state change
  ]
  t.strictSame([...new Set(steps.map(s => s.type))].sort(), node.app.records.codes.get('status_change_type').codes.map(c => c.code).sort(), 'every type of the code table')

  for (const s of steps) {
    w.day('2026-03-02')
    const applied = w.engine.apply(w.school, 'student', s.who, application({ changeType: s.type, changeDate: '2026-02-27', targetClassId: s.target ? classes[s.target].id : null, ...s.extra }))
    t.equal(applied.processingStatus, '1', `${s.type} applied`)
    w.day('2026-03-04')
    t.equal(code(() => w.engine.review(w.bureau, String(applied.id), { version: 1, decision: 'approve' })), 'STATUS_CHANGE_NOT_VERIFIED', 'R-18.1 not before the school leadership verified it')
    const version = await verifyChange(node, applied.id)
    const approved = w.engine.review(w.bureau, String(applied.id), { version, decision: 'approve', approvalDocNo: '西教〔2026〕9号' })
    t.match(approved, { processingStatus: '3', approvalDate: '2026-03-04', approvalDocNo: '西教〔2026〕9号', reviewedBy: node.bureau.account.id })
    const before = (await node.call('GET', `/api/v1/students/${s.who}`)).body
    t.equal(before.state, model.get(s.who)!.state, 'the state does not move before it is carried out')
    const done = w.engine.carryOut(w.bureau, String(applied.id), { version: version + 1 })
    t.match(done, { processingStatus: '5', carriedOutBy: node.bureau.account.id, result: '已办理' })

    const m = model.get(s.who)!
    m.state = s.state
    if (s.target) m.grade = s.target
    const read = (await node.call('GET', `/api/v1/students/${s.who}`)).body
    t.equal(read.state, s.state, `${s.type}: state ${s.state}`)
    t.equal(read.classId, classes[m.grade].id, `${s.type}: class of grade ${m.grade}`)
    const inSchool = [...model.values()].filter(x => x.state === 'in_school')
    const byGrade = [3, 4, 5, 10].map(grade => ({ grade, count: inSchool.filter(x => x.grade === grade).length })).filter(x => x.count > 0)
    const figures = (await node.call('GET', `/api/v1/schools/${school.id}`)).body.derived
    t.strictSame({ total: figures.studentsTotal, byGrade: figures.studentsByGrade }, { total: inSchool.length, byGrade }, `${s.type}: R-8.1 counts only in-school students`)
  }
  t.equal((await node.call('GET', '/api/v1/students')).body.total, [...model.values()].filter(x => x.state === 'in_school').length, 'the student list shows those in school')
  t.equal((await node.call('GET', '/api/v1/students?state=all')).body.total, 10, 'state=all shows everyone')
  t.equal((await node.call('GET', '/api/v1/students?state=deceased')).body.total, 1)

  // 开除学籍 is refused in compulsory education (grades 1–9), nothing written.
  const k = await add(4)
  const rows = node.counts().student_status_changes
  t.equal(code(() => w.engine.apply(w.school, 'student', k, application({ changeType: '42', changeDate: '2026-02-27' }))), 'STATUS_CHANGE_NOT_ALLOWED')
  // A change the state does not allow, a placement without its class, a class of another school.
  t.equal(code(() => w.engine.apply(w.school, 'student', k, application({ changeType: '12', changeDate: '2026-02-27' }))), 'STATUS_CHANGE_STATE_INVALID', '复学 of a student in school')
  t.equal(code(() => w.engine.apply(w.school, 'student', k, application({ changeType: '02', changeDate: '2026-02-27' }))), 'STATUS_CHANGE_CLASS_INVALID', '留级 without its class')
  t.equal(code(() => w.engine.apply(w.school, 'student', k, application({ changeType: '02', changeDate: '2026-02-27', targetClassId: 'no-such-class' }))), 'STATUS_CHANGE_CLASS_INVALID')
  t.equal(node.counts().student_status_changes, rows, 'refusals write nothing')

  // One open application at a time; a rejection needs its reason; a rejected one never moves the student.
  const open = w.engine.apply(w.school, 'student', k, application({ changeType: '11', changeDate: '2026-02-27' }))
  t.equal(code(() => w.engine.apply(w.school, 'student', k, application({ changeType: '31', changeDate: '2026-02-27' }))), 'STATUS_CHANGE_PENDING_EXISTS')
  t.equal(code(() => w.engine.carryOut(w.bureau, String(open.id), { version: 1 })), 'STATUS_CHANGE_NOT_PENDING', 'not carried out before approval')
  const openVersion = await verifyChange(node, open.id)
  t.equal(code(() => w.engine.review(w.bureau, String(open.id), { version: openVersion, decision: 'reject', reason: ' ' })), 'STATUS_CHANGE_REASON_REQUIRED')
  const rejected = w.engine.review(w.bureau, String(open.id), { version: openVersion, decision: 'reject', reason: '证明材料不全' })
  t.match(rejected, { processingStatus: '4', result: '证明材料不全', approvalDate: null })
  t.equal(code(() => w.engine.carryOut(w.bureau, String(open.id), { version: openVersion + 1 })), 'STATUS_CHANGE_NOT_PENDING')
  t.equal((await node.call('GET', `/api/v1/students/${k}`)).body.state, 'in_school')
  // Withdrawn by the school before the review.
  const again = w.engine.apply(w.school, 'student', k, application({ changeType: '11', changeDate: '2026-02-27' }))
  t.equal(w.engine.withdraw(w.school, String(again.id), { version: 1 }).processingStatus, '6')
  t.equal(code(() => w.engine.review(w.bureau, String(again.id), { version: 2, decision: 'approve' })), 'STATUS_CHANGE_NOT_PENDING')
  // Stale version.
  const third = w.engine.apply(w.school, 'student', k, application({ changeType: '11', changeDate: '2026-02-27' }))
  t.equal(code(() => w.engine.review(w.bureau, String(third.id), { version: 7, decision: 'approve' })), 'RECORD_VERSION_CONFLICT')

  // Every step travelled: the outbox holds each version of the change and the moved student.
  const outbox = node.app.storage.sqlite.prepare("select table_name t, count(*) n from outbox where table_name in ('student_status_changes', 'students') group by table_name").all() as { t: string; n: number }[]
  t.ok(outbox.find(r => r.t === 'student_status_changes')!.n >= steps.length * 3, 'apply, review and carry-out each append an outbox row')
})

t.test('R-12.5 kindergarten children go through the same engine over their own table and codes', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { kg, kgClass } = await withKindergarten(node)
  const other = (await node.call('POST', '/api/v1/kindergarten-classes', { ...fx.kgClass({ classCode: 'K2025002', name: '中一班', grade: 2 }), kindergartenId: kg.id })).body
  const mk = async (n: number) => (await node.call('POST', '/api/v1/children', { ...fx.child({ idNumber: fx.idNumber('2022-05-20', '2', 20 + n), name: `幼儿${n}` }), kindergartenId: kg.id, classId: kgClass.id })).body.id as string
  const x = await mk(1), y = await mk(2), z = await mk(3)
  const total = async () => (await node.call('GET', `/api/v1/kindergartens/${kg.id}`)).body.derived.childrenTotal
  t.equal(await total(), 3)

  const run = async (who: string, type: string, state: string, extra: Json = {}) => {
    w.day('2026-03-02')
    const a = w.engine.apply(w.school, 'child', who, application({ changeType: type, changeDate: '2026-02-27', previousSchoolCode: null, currentSchoolCode: null, ...extra }))
    const version = await verifyChange(node, a.id, 'child')
    w.engine.review(w.bureau, String(a.id), { version, decision: 'approve' })
    const done = w.engine.carryOut(w.bureau, String(a.id), { version: version + 1 })
    t.equal(done.kind, 'child')
    const read = (await node.call('GET', `/api/v1/children/${who}`)).body
    t.equal(read.state, state, `${type}: ${state}`)
    return read
  }
  await run(x, '11', 'suspended') // 休园
  t.equal(await total(), 2)
  t.equal((await run(x, '12', 'in_kindergarten', { targetClassId: other.id })).classId, other.id, '复园 into another class')
  await run(y, '21', 'left') // 转出
  t.equal((await run(y, '22', 'in_kindergarten', { targetClassId: kgClass.id })).state, 'in_kindergarten') // 转入
  await run(y, '31', 'left') // 退园
  await run(z, '51', 'deceased', { deathDate: '2026-02-26', deathCause: '疾病', responsibility: '1', reviewOpinion: '属实' })
  await run(x, '99', 'in_kindergarten')
  t.equal(await total(), 1, 'R-8.3 counts children in kindergarten only')
  t.equal((await node.call('GET', '/api/v1/children')).body.total, 1)
  // The children's own code table: 停学 is a student's change.
  t.equal(code(() => w.engine.apply(w.school, 'child', x, application({ changeType: '13', changeDate: '2026-02-27', previousSchoolCode: null, currentSchoolCode: null }))), 'RECORD_CODE_UNKNOWN')
})

t.test('R-12.5 a child\'s status change keeps no 批准文号: its review refuses one (RECORD_FIELD_NOT_ALLOWED) and changes nothing; without it the review passes; a student\'s review keeps it (R-10.10)', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { school, classes } = await schoolWithClasses(node)
  const { kg, kgClass } = await withKindergarten(node)
  const child = (await node.call('POST', '/api/v1/children', { ...fx.child({ idNumber: fx.idNumber('2022-05-20', '2', 40), name: '幼儿文号' }), kindergartenId: kg.id, classId: kgClass.id })).body
  const a = w.engine.apply(w.school, 'child', String(child.id), application({ changeType: '11', changeDate: '2026-02-27', previousSchoolCode: null, currentSchoolCode: null }))
  const version = await verifyChange(node, a.id, 'child')
  const review = (id: unknown, body: Json) => node.call('POST', `/api/v1/status-changes/${String(id)}/review`, body, node.bureau)
  const before = node.counts()
  for (const decision of ['approve', 'reject']) {
    const refused = await review(a.id, { version, decision, reason: '家长申请', approvalDocNo: '西教〔2026〕7号' })
    t.match(refused, { status: 400, body: { code: 'RECORD_FIELD_NOT_ALLOWED', details: { field: 'approvalDocNo', rule: 'child_no_approval_doc_no' } } }, `${decision} with a 批准文号: refused`)
    t.match(refused.body.message, /幼儿异动.*批准文号/, 'in Chinese, naming what is refused')
  }
  t.strictSame(node.counts(), before, 'nothing written')
  t.match((await node.call('GET', `/api/v1/status-changes?status=open`)).body.items.find((c: Json) => c.id === a.id), { processingStatus: '1', version }, 'still applied, its version unchanged')
  const blank = await review(a.id, { version, decision: 'approve', approvalDocNo: null })
  t.match(blank, { status: 200, body: { kind: 'child', processingStatus: '3' } }, 'approved without a 批准文号')
  t.notOk('approvalDocNo' in blank.body, 'a child\'s change has no 批准文号 to show')

  const student = await newStudent(node, school.id, classes[4].id)
  const s = w.engine.apply(w.school, 'student', String(student.id), application({ changeType: '11', changeDate: '2026-02-27' }))
  const sv = await verifyChange(node, s.id)
  t.match(await review(s.id, { version: sv, decision: 'approve', approvalDocNo: '西教〔2026〕8号' }), { status: 200, body: { kind: 'student', processingStatus: '3', approvalDocNo: '西教〔2026〕8号' } }, 'a student\'s review keeps its 批准文号')
})

t.test('R-10.10 only the workflow sets processingStatus: the record routes refuse it, and nothing changes', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { classes } = await schoolWithClasses(node)
  const s = await newStudent(node, (await node.call('GET', '/api/v1/schools')).body.items[0].id, classes[4].id)
  const before = node.counts()

  // Applying with a status of its own choosing.
  const forged = await node.call('POST', `/api/v1/students/${s.id}/status-changes`, { ...application({ changeType: '51', deathDate: '2026-02-26', deathCause: '疾病', currentSchoolCode: null }), processingStatus: '5' })
  t.equal(forged.status, 400)
  t.equal(forged.body.code, 'STATUS_CHANGE_PROCESSING_RESERVED')
  t.strictSame(node.counts(), before, 'nothing written')

  // A real application through the API, then the school patching its status.
  const applied = await node.call('POST', `/api/v1/students/${s.id}/status-changes`, application({ changeType: '11', changeDate: new Date().toISOString().slice(0, 10) }))
  t.equal(applied.status, 201)
  t.match(applied.body, { processingStatus: '1', kind: 'student', late: false, overdue: false })
  const url = `/api/v1/students/${s.id}/status-changes/${applied.body.id}`
  for (const patch of [{ processingStatus: '5' }, { processingStatus: '3' }, { approvalDocNo: '自批〔2026〕1号' }, { result: '已办理' }]) {
    const r = await node.call('PATCH', url, { version: 1, ...patch })
    t.equal(r.body.code, 'STATUS_CHANGE_PROCESSING_RESERVED', `PATCH ${Object.keys(patch)[0]}`)
  }
  t.equal((await node.call('PATCH', url, { version: 1, changeType: '31' })).body.code, 'STATUS_CHANGE_FIELD_FIXED')
  t.equal((await node.call('PATCH', url, { version: 1, reason: '因病休学' })).status, 200, 'a pending application may be corrected')
  t.equal((await node.call('GET', url)).body.processingStatus, '1')

  const paths = Object.keys((await node.app.inject('/docs/json')).json().paths)
  for (const p of ['/api/v1/students/{studentId}/status-changes', '/api/v1/children/{childId}/status-changes', '/api/v1/status-changes', '/api/v1/status-changes/alerts', '/api/v1/status-changes/{id}/review', '/api/v1/status-changes/{id}/carry-out', '/api/v1/status-changes/{id}/withdraw']) {
    t.ok(paths.includes(p), `OpenAPI documents ${p}`)
  }

  // Who does what: the school cannot review or carry out; the bureau cannot apply.
  const id = applied.body.id
  t.equal((await node.call('POST', `/api/v1/status-changes/${id}/review`, { version: 2, decision: 'approve' })).body.code, 'FORBIDDEN')
  t.equal((await node.call('POST', `/api/v1/students/${s.id}/status-changes`, application(), node.bureau)).body.code, 'FORBIDDEN')
  const queue = (await node.call('GET', '/api/v1/status-changes', undefined, node.bureau)).body
  t.equal(queue.total, 1)
  t.match(queue.items[0], { id, ageWorkingDays: 0, ageDays: 0, overdue: false })
  t.ok(queue.items[0].deadlines.reviewBy > queue.items[0].appliedOn, 'the queue shows the review deadline')
  t.match((await node.call('POST', `/api/v1/status-changes/${id}/review`, { version: 2, decision: 'approve' }, node.bureau)).body, { code: 'STATUS_CHANGE_NOT_VERIFIED', details: { verifyState: 'entered' } }, 'R-18.1 the bureau reviews what the school leadership verified')
  t.equal(await verifyChange(node, id), 3)
  const approved = await node.call('POST', `/api/v1/status-changes/${id}/review`, { version: 3, decision: 'approve' }, node.bureau)
  t.equal(approved.status, 200)
  t.match(node.app.storage.sqlite.prepare('select action, target_table, target_id, actor_id from audit_log order by seq desc limit 1').get(),
    { action: 'status_change_approve', target_table: 'student_status_changes', target_id: id, actor_id: node.bureau.account.id }, 'the review is audited with its record')
  t.equal((await node.call('PATCH', url, { version: 4, reason: '改' })).body.code, 'STATUS_CHANGE_NOT_PENDING', 'no edit after the review')
  t.equal((await node.call('DELETE', `${url}?version=4`)).body.code, 'STATUS_CHANGE_NOT_PENDING', 'no delete after the review')
  t.equal((await node.call('POST', `/api/v1/status-changes/${id}/carry-out`, { version: 4 })).body.code, 'FORBIDDEN')
  const done = await node.call('POST', `/api/v1/status-changes/${id}/carry-out`, { version: 4 }, node.bureau)
  t.equal(done.status, 200)
  t.equal(done.body.processingStatus, '5')
  t.equal((await node.call('GET', `/api/v1/students/${s.id}`)).body.state, 'suspended')

  // The student's own record route cannot set the state either (it is not a field of the record).
  const st = (await node.call('GET', `/api/v1/students/${s.id}`)).body
  await node.call('PATCH', `/api/v1/students/${s.id}`, { version: st.version, state: 'in_school' })
  t.equal((await node.call('GET', `/api/v1/students/${s.id}`)).body.state, 'suspended')
})

t.test('R-26.1 a student ever verified is never deleted; an unverified entry mistake is', async t => {
  const w = await workflowNode(t)
  const { node } = w
  const { school, classes } = await schoolWithClasses(node)
  const grade = await loginAs(node.app, 'grade_admin', { kind: 'classes', school: SCHOOL_CODE, classes: [classes[4].id] })
  const kept = await newStudent(node, school.id, classes[4].id)
  t.equal((await node.call('POST', `/api/v1/verification/students/${kept.id}/verify`, undefined, grade)).status, 200)
  // An edit puts it back to "entered"; it was still verified once.
  const v = (await node.call('GET', `/api/v1/students/${kept.id}`)).body.version
  t.equal((await node.call('PATCH', `/api/v1/students/${kept.id}`, { version: v, phone: '13700000000' })).body.verifyState, 'entered')
  const before = node.counts()
  const del = await node.call('DELETE', `/api/v1/students/${kept.id}`)
  t.equal(del.status, 409)
  t.equal(del.body.code, 'RECORD_DELETE_VERIFIED')
  t.strictSame(node.counts(), before, 'nothing deleted, nothing sent upward')

  // A student whose state moved is not deleted either, verified or not.
  const left = await newStudent(node, school.id, classes[4].id)
  const a = w.engine.apply(w.school, 'student', left.id, application({ changeType: '31', changeDate: '2026-02-27' }))
  const version = await verifyChange(node, a.id)
  w.engine.review(w.bureau, String(a.id), { version, decision: 'approve' })
  w.engine.carryOut(w.bureau, String(a.id), { version: version + 1 })
  t.equal((await node.call('DELETE', `/api/v1/students/${left.id}`)).body.code, 'RECORD_DELETE_VERIFIED')
  t.equal((await node.call('POST', `/api/v1/students/${left.id}/completions`, fx.completion())).body.code, 'STATUS_CHANGE_STATE_INVALID', 'a student who left does not graduate')

  const mistake = await newStudent(node, school.id, classes[4].id)
  t.equal((await node.call('DELETE', `/api/v1/students/${mistake.id}`)).status, 204, 'an unverified entry mistake is deleted (its tombstone travels up)')
})
