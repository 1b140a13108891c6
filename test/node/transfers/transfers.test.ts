/**
 * Transfers between schools of different nodes in one process (test/sync/lib: real node
 * databases and keys, signed routed messages and commands over the in-memory transport):
 * county 330106 → county 330108 under city 330100, each step's checks and refusals, the handoff
 * with its epoch, the forged, replayed and stale handoffs the tiers above refuse, and a
 * kindergarten child on the same path.
 */
import t, { type Test } from 'tap'
import { createWorkingCalendar } from '../../../config/calendar.ts'
import { codes } from '../../../schema/codes/index.ts'
import { maskIdNumber } from '../../../schema/ids.ts'
import { createRecordsService, systemActor } from '../../../node/services/records/service.ts'
import { createStatusChangeService } from '../../../node/status-changes/service.ts'
import { createTransferService } from '../../../node/transfers/service.ts'
import { createStatisticsService } from '../../../node/statistics/service.ts'
import { inPause, subTables } from '../../../node/transfers/rules.ts'
import { createApplier } from '../../../sync/apply.ts'
import { canonicalJson } from '../../../sync/canonical.ts'
import { createReplicaRules } from '../../../node/services/records/replica-rules.ts'
import { signJws } from '../../../sync/keys.ts'
import { recordRouted, ROUTED_TYP, type RoutedMessage } from '../../../sync/routed.ts'
import { loadSigner } from '../../../sync/signers.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool } from '../../records/setup.ts'
import { loginAs } from '../../helper.ts'
import { makeFederation, settle, type TestSyncNode } from '../../sync/lib/nodes.ts'

type Json = Record<string, any>
const actor = systemActor('test')
const clock = { at: '2026-03-02T04:00:00Z' }
const now = () => new Date(clock.at)

function servicesOf(node: TestSyncNode) {
  const records = createRecordsService({ storage: node.storage, identity: { code: node.code }, codes, now })
  const statusChanges = createStatusChangeService({ storage: node.storage, identity: { code: node.code }, codes, calendar: createWorkingCalendar(), days: { apply: 7, review: 20 }, now })
  const transfers = createTransferService({ storage: node.storage, identity: { code: node.code }, statusChanges, pause: { from: '07-15', to: '08-14' }, timeoutDays: 60, now })
  for (const [type, h] of transfers.handlers) node.sync.registerRouted(type, h)
  return { records, statusChanges, transfers }
}

/** Packs, pushes, relays and pulls until the federation is quiet. */
async function drive(...nodes: TestSyncNode[]): Promise<void> {
  for (let round = 0; round < 20; round++) {
    await settle(...nodes)
    let moved = 0
    for (const n of nodes) {
      if (n.tier === 'province') continue
      await n.sync.routed.routePending()
      if (n.sync.routed.anyDue()) {
        await n.sync.pushOrigin(n.code)
        moved++
      }
      const { pulled, applied } = await n.sync.pullCommands()
      moved += pulled + applied
    }
    if (moved === 0) return
  }
  throw new Error('the federation did not settle')
}

/**
 * The status changes carried out in March 2026 (the clock's month) as `node`'s bureau files them
 * (R-17.3), per unit one tier down, by change type.
 */
function changesByUnit(node: TestSyncNode): Record<string, Record<string, number>> {
  const stats = createStatisticsService({ storage: node.storage, identity: { code: node.code }, codes, now })
  const bureau = { accountId: 'x', username: 'x', role: 'bureau_user' as const, scope: { kind: 'bureau' as const, node: node.code }, leader: false, grants: [] }
  const { units } = stats.annual(bureau, { from: '2026-03-01', to: '2026-03-31', drill: true }).statusChangesByType
  return Object.fromEntries(units.map(u => [u.unit, u.counts]))
}

const one = (node: TestSyncNode, sql: string, ...args: unknown[]) => node.storage.sqlite.prepare(sql).get(...args) as Json | undefined
const all = (node: TestSyncNode, sql: string, ...args: unknown[]) => node.storage.sqlite.prepare(sql).all(...args) as Json[]

/** The sub-records of a student as held on a node, without what a handoff changes (home, epoch, version). */
function file(node: TestSyncNode, id: string): Json {
  const out: Json = {}
  for (const table of subTables('student').filter(x => x !== 'student_status_changes')) {
    out[table] = all(node, `select * from ${table} where student_id = ? order by id`, id).map(({ home_node: _h, epoch: _e, version: _v, ...rest }) => rest)
  }
  return out
}

async function setup(t: Test) {
  const fed = await makeFederation(t, { secondCounty: true })
  const a = { node: fed.county, ...servicesOf(fed.county) }
  const b = { node: fed.county2!, ...servicesOf(fed.county2!) }
  a.records.create(actor, 'supervising_units', fx.unit())
  const schoolA = a.records.create(actor, 'schools', fx.school())
  const classA = a.records.create(actor, 'school_classes', { ...fx.klass(), schoolId: schoolA.id })
  b.records.create(actor, 'supervising_units', fx.unit({ unitCode: '3301080001', divisionCode: '330108', name: '杭州市滨江区教育局' }))
  const schoolB = b.records.create(actor, 'schools', fx.school({ schoolCode: '3301080101', unitCode: '3301080001', divisionCode: '330108', name: '杭州市滨江区江南小学' }))
  const classB = b.records.create(actor, 'school_classes', { ...fx.klass(), schoolId: schoolB.id })
  const nodes = [fed.county, fed.county2!, fed.city, fed.province]
  return { ...fed, a, b, schoolA, classA, schoolB, classB, nodes, go: () => drive(...nodes) }
}

// One federation for the file (starting four nodes costs seconds); each test has its own students.
const s = await setup(t)
let seq = 10
/** A new student of county 330106's school, with its own ID number. */
const newStudent = (over: Json = {}) => {
  seq++
  return s.a.records.create(actor, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: null, name: `学生${seq}` }), schoolId: s.schoolA.id, classId: s.classA.id, ...over })
}

t.test('R-19.5 pure rules: the yearly pause and the complete file', async t => {
  t.ok(inPause('2026-07-15', { from: '07-15', to: '08-14' }))
  t.ok(inPause('2026-08-14', { from: '07-15', to: '08-14' }))
  t.notOk(inPause('2026-08-15', { from: '07-15', to: '08-14' }))
  t.ok(inPause('2027-01-02', { from: '12-30', to: '01-03' }), 'a window may wrap the new year')
  t.ok(subTables('student').includes('student_guardians') && subTables('student').includes('growth_courses') && subTables('student').includes('student_status_changes'))
  t.strictSame(subTables('child').sort(), ['child_attendances', 'child_family_members', 'child_guardians', 'child_registrations', 'child_status_changes'])
})

t.test('R-19.5 a student transferred from a county to another ends homed at the receiver with the epoch raised; the sender keeps a read-only record; the city and province hold one student with every sub-record', async t => {
  const student = newStudent(fx.subRecords)
  await s.go()
  const before = file(s.province, String(student.id))
  t.equal(before.student_guardians.length, 1)

  const req = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  t.match(req, { role: 'receiver', status: 'requested', receiverNode: '330108' })
  s.b.transfers.send(actor, req.id)
  await s.go()
  const atA = s.a.transfers.list(() => true).find(r => r.id === req.id)!
  t.match(atA, { role: 'sender', status: 'received', subjectId: student.id, senderNode: '330106' }, 'the sending node received it, through the city')
  t.match(one(s.a.node, 'select change_type, processing_status from student_status_changes where id = ?', atA.statusChangeId), { change_type: '21', processing_status: '1' }, 'the engine applied the 转出')
  t.match(s.b.transfers.list(() => true).find(r => r.id === req.id), { status: 'received', senderUnitCode: '3301060101', subjectId: student.id }, 'the receiver sees it received')

  const approved = s.a.transfers.approve(actor, req.id, { approvalDocNo: '西教〔2026〕9号' })
  t.match(approved, { status: 'approved', epoch: 1 })
  t.match(one(s.a.node, 'select home_node, epoch, state from students where id = ?', student.id), { home_node: '330108', epoch: 1, state: 'transferred_out' }, 'the sender keeps a read-only record of the departure')
  t.throws(() => s.a.records.update(actor, 'students', String(student.id), { name: '改名', version: 99 }), { code: 'RECORD_NOT_HOME' }, 'writes at the sender are refused, naming the new home')
  t.match(s.a.statusChanges.certificate(actor, String(atA.statusChangeId)), { change: { changeType: '21', processingStatus: '5' }, org: { code: '3301060101' } }, 'the sending school prints the 转学证明 from its record of the departure')
  await s.go()

  const atB = s.b.transfers.list(() => true).find(r => r.id === req.id)!
  t.match(atB, { status: 'completed', epoch: 1, subjectId: student.id })
  t.same(atB.steps.map((x: Json) => x.step), ['requested', 'sent', 'received', 'completed'], 'each step with its time')
  t.match(one(s.b.node, 'select home_node, epoch, state, class_id, school_code from students where id = ?', student.id), { home_node: '330108', epoch: 1, state: 'in_school', class_id: s.classB.id, school_code: '3301080101' })
  for (const n of [s.city, s.province]) {
    t.equal(one(n, 'select count(*) c from students where id_number = ?', student.idNumber)!.c, 1, `${n.code} holds one student`)
    t.match(one(n, 'select home_node, epoch, state, school_code from students where id = ?', student.id), { home_node: '330108', epoch: 1, state: 'in_school', school_code: '3301080101' }, `${n.code}: the receiver is the home`)
    t.same(file(n, String(student.id)), before, `${n.code}: every sub-record equal to the sender's`)
    t.same(all(n, 'select change_type, processing_status, home_node from student_status_changes where student_id = ? order by change_type', student.id), [
      { change_type: '21', processing_status: '5', home_node: '330108' }, { change_type: '22', processing_status: '5', home_node: '330108' },
    ], `${n.code}: the 转出 and the 转入, carried out`)
    t.equal(one(n, 'select count(*) c from sync_quarantine')!.c, 0, `${n.code}: nothing quarantined`)
    t.same(all(n, 'select change_type, unit_code, previous_school_code, current_school_code from student_status_changes where student_id = ? order by change_type', student.id), [
      { change_type: '21', unit_code: '3301060101', previous_school_code: '3301060101', current_school_code: '3301080101' },
      { change_type: '22', unit_code: '3301080101', previous_school_code: '3301060101', current_school_code: '3301080101' },
    ], `${n.code}: R-10.10 each names the school left and the school gone to, and is counted at the school that applied it`)
  }
  t.same(changesByUnit(s.city), { '330106': { '21': 1 }, '330108': { '22': 1 } }, 'R-17.3 R-17.4 the city counts the 转出 at the sending county, the 转入 at the receiving one')
  t.same(changesByUnit(s.province), { '330100': { '21': 1, '22': 1 } }, 'the province counts both in the city')
  t.same(changesByUnit(s.a.node), { '3301060101': { '21': 1 } }, 'the sending county counts its school\'s 转出 (its read-only copy of the departure)')
  t.same(changesByUnit(s.b.node), { '3301080101': { '22': 1 } }, 'the receiving county its school\'s 转入 only: the 转出 it holds was the other county\'s business')
  // The new home writes; the tiers above take it at the new epoch.
  const cur = one(s.b.node, 'select version from students where id = ?', student.id)!
  s.b.records.update(actor, 'students', String(student.id), { name: '曾小明改', version: cur.version })
  await s.go()
  t.equal(one(s.province, 'select name from students where id = ?', student.id)!.name, '曾小明改', 'the province takes the new home\'s writes')
})

t.test('R-19.5 a city-run school sends a student to a county below it: after the county took the student in, the city still prints the 转学证明 of its own school', async t => {
  const c = { node: s.city, ...servicesOf(s.city) }
  c.records.create(actor, 'supervising_units', fx.unit({ unitCode: '3301000001', divisionCode: '330100', name: '杭州市教育局' }))
  const school = c.records.create(actor, 'schools', fx.school({ schoolCode: '3301000101', unitCode: '3301000001', divisionCode: '330100', name: '杭州市直属实验小学' }))
  const klass = c.records.create(actor, 'school_classes', { ...fx.klass(), schoolId: school.id })
  seq++
  const student = c.records.create(actor, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: null, name: `学生${seq}` }), schoolId: school.id, classId: klass.id })
  await s.go()

  const req = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  s.b.transfers.send(actor, req.id)
  await s.go()
  const atCity = c.transfers.list(() => true).find(r => r.id === req.id)!
  t.match(atCity, { role: 'sender', status: 'received', senderNode: '330100', senderUnitCode: '3301000101' })
  c.transfers.approve(actor, req.id, { approvalDocNo: '杭教〔2026〕3号' })
  await s.go()
  t.match(one(s.b.node, 'select home_node, school_code from students where id = ?', student.id), { home_node: '330108', school_code: '3301080101' }, 'the county took the student in')
  t.match(one(s.city, 'select home_node, school_code from students where id = ?', student.id), { home_node: '330108', school_code: '3301080101' }, 'the city holds the county\'s record of the student now')
  t.match(c.statusChanges.certificate(actor, String(atCity.statusChangeId)), { change: { changeType: '21' }, org: { code: '3301000101', name: '杭州市直属实验小学' } }, 'the 转学证明 names the city\'s school that sent the student')
})

t.test('R-19.5 a student transferred to another county and back: the first school takes the file over its read-only copy of the departure, sub-records the other county dropped go, and every tier ends with the student homed back; R-17.4 each county counts its own 转出 and 转入', async t => {
  const student = newStudent(fx.subRecords)
  await s.go()
  const before = changesByUnit(s.city)
  const there = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  s.b.transfers.send(actor, there.id)
  await s.go()
  s.a.transfers.approve(actor, there.id, {})
  await s.go()
  // At the new home one guardian is removed and a resume entry added before the student goes back.
  const guardian = one(s.b.node, 'select id, version from student_guardians where student_id = ?', student.id)!
  s.b.records.remove(actor, 'student_guardians', String(guardian.id), { version: guardian.version })
  await s.go()

  const back = s.a.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classA.id) })
  s.a.transfers.send(actor, back.id)
  await s.go()
  t.match(s.b.transfers.approve(actor, back.id, {}), { status: 'approved', epoch: 2 })
  await s.go()
  t.match(s.a.transfers.list(() => true).find(r => r.id === back.id), { status: 'completed', epoch: 2 }, 'the first county completes the transfer back')
  for (const n of [s.a.node, s.city, s.province]) {
    t.match(one(n, 'select home_node, epoch, state, class_id, school_code from students where id = ?', student.id), { home_node: '330106', epoch: 2, state: 'in_school', school_code: '3301060101' }, `${n.code}: homed back at 330106, in school`)
    t.equal(one(n, 'select count(*) c from student_guardians where student_id = ?', student.id)!.c, 0, `${n.code}: the guardian removed at 330108 is gone`)
    t.equal(one(n, 'select count(*) c from sync_quarantine')!.c, 0, `${n.code}: nothing quarantined`)
  }
  t.equal(one(s.a.node, 'select class_id from students where id = ?', student.id)!.class_id, s.classA.id, 'placed in the class the school asked for')
  t.equal(one(s.a.node, "select count(*) c from sync_commands where error_code is not null")!.c, 0, 'no delivery failed')
  t.same(all(s.a.node, 'select change_type from student_status_changes where student_id = ? order by change_type', student.id).map(r => r.change_type), ['21', '21', '22', '22'], 'the file holds both transfers: two 转出, two 转入')
  const after = changesByUnit(s.city)
  const added = (county: string, type: string) => (after[county]?.[type] ?? 0) - (before[county]?.[type] ?? 0)
  t.same(['330106', '330108'].map(c => [added(c, '21'), added(c, '22')]), [[1, 1], [1, 1]], 'the city counts one 转出 and one 转入 at each county, though the file of all four is homed at 330106')
})

t.test('R-19.5 R-10.10 the 转出 a transfer applied moves only with the transfer: the status-change workflow and the record routes refuse it, and the receiving school cannot delete the class it named', async t => {
  const student = newStudent()
  const klass = s.b.records.create(actor, 'school_classes', { ...fx.klass({ classCode: '2020002', name: '四年级（2）班' }), schoolId: s.schoolB.id })
  await s.go()
  const req = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(klass.id) })
  s.b.transfers.send(actor, req.id)
  await s.go()
  const atA = s.a.transfers.list(() => true).find(r => r.id === req.id)!
  const change = () => one(s.a.node, 'select version, processing_status from student_status_changes where id = ?', atA.statusChangeId)!
  const refused = { code: 'STATUS_CHANGE_BY_TRANSFER', details: { transferId: req.id } }
  t.throws(() => s.a.statusChanges.review(actor, String(atA.statusChangeId), { version: change().version, decision: 'approve' }), refused, 'no approval outside the transfer: it would hand nothing over')
  t.throws(() => s.a.statusChanges.review(actor, String(atA.statusChangeId), { version: change().version, decision: 'reject', reason: '不同意' }), refused)
  t.throws(() => s.a.statusChanges.withdraw(actor, String(atA.statusChangeId), { version: change().version }), refused)
  t.throws(() => s.a.records.update(actor, 'student_status_changes', String(atA.statusChangeId), { reason: '改', version: change().version }), refused)
  t.throws(() => s.a.records.remove(actor, 'student_status_changes', String(atA.statusChangeId), { version: change().version }), refused)
  t.match(change(), { processing_status: '1' }, 'the 转出 is untouched')
  t.throws(() => s.b.records.remove(actor, 'school_classes', String(klass.id)), { code: 'RECORD_IN_USE', details: { rule: 'open_transfer', id: req.id } }, 'the target class of an open transfer stays')

  s.a.transfers.approve(actor, req.id, {})
  await s.go()
  t.match(s.b.transfers.list(() => true).find(r => r.id === req.id), { status: 'completed' }, 'the transfer itself still finishes')
  t.match(one(s.b.node, 'select home_node, state, class_id from students where id = ?', student.id), { home_node: '330108', state: 'in_school', class_id: klass.id })
})

t.test('R-19.5 refusals: pause, wrong school, same node, a masked or mistyped ID number or 学籍号, not found, pending business; a rejected or withdrawn transfer leaves the student where they were', async t => {
  const student = newStudent()
  const busy = newStudent()
  s.a.statusChanges.apply(actor, 'student', String(busy.id), fx.application({ changeType: '11', changeDate: '2026-02-27' }))
  await s.go()

  clock.at = '2026-07-20T04:00:00Z'
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) }), { code: 'TRANSFER_PAUSED' })
  clock.at = '2026-03-02T04:00:00Z'
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classA.id) }), { code: 'NOT_FOUND' }, 'a class not held here')
  t.throws(() => s.city.storage.write(() => createTransferService({ storage: s.city.storage, identity: { code: '330100' }, statusChanges: s.a.statusChanges, pause: { from: '07-15', to: '08-14' }, timeoutDays: 60, now })
    .request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classA.id) })), { code: 'TRANSFER_CLASS_INVALID' }, 'a replica of another node\'s class')
  const teacher = { ...actor, unrestricted: false, reach: () => false }
  t.throws(() => s.b.transfers.request(teacher, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) }), { code: 'NOT_FOUND' }, 'a school the account does not manage')
  t.throws(() => s.a.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classA.id) }), { code: 'TRANSFER_SAME_NODE' })
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', targetClassId: String(s.classB.id) }), { code: 'TRANSFER_PERSON_REQUIRED' })
  // The API shows ID numbers and 学籍号 masked; a masked or mistyped number would find nobody.
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: maskIdNumber(String(student.idNumber)), targetClassId: String(s.classB.id) }), { code: 'TRANSFER_PERSON_INVALID', details: { field: 'idNumber', rule: 'ID_FORMAT' } }, 'a masked ID number')
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: `${String(student.idNumber).slice(0, 17)}${String(student.idNumber)[17] === '0' ? '1' : '0'}`, targetClassId: String(s.classB.id) }), { code: 'TRANSFER_PERSON_INVALID', details: { rule: 'ID_CHECKSUM' } }, 'a mistyped ID number')
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', studentNo: 'G330106********0034', targetClassId: String(s.classB.id) }), { code: 'TRANSFER_PERSON_INVALID', details: { field: 'studentNo' } }, 'a masked 学籍号')

  const ghost = s.b.transfers.request(actor, { kind: 'student', idNumber: fx.idNumber('2016-03-15', '1', 77), targetClassId: String(s.classB.id) })
  const pending = s.b.transfers.request(actor, { kind: 'student', idNumber: String(busy.idNumber), targetClassId: String(s.classB.id) })
  const rejected = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) }), { code: 'TRANSFER_OPEN_EXISTS' })
  t.throws(() => s.b.transfers.approve(actor, rejected.id, {}), { code: 'TRANSFER_STEP_INVALID' }, 'only the sender approves')
  for (const r of [ghost, pending, rejected]) s.b.transfers.send(actor, r.id)
  await s.go()
  const status = () => Object.fromEntries(s.b.transfers.list(() => true).map(r => [r.id, [r.status, r.code]]))
  t.match(status(), { [ghost.id]: ['not_found', 'TRANSFER_NOT_FOUND'], [pending.id]: ['refused', 'TRANSFER_PENDING_BUSINESS'], [rejected.id]: ['received', null] })

  t.throws(() => s.a.transfers.reject(actor, rejected.id, { reason: '' }), { code: 'STATUS_CHANGE_REASON_REQUIRED' })
  s.a.transfers.reject(actor, rejected.id, { reason: '材料不全' })
  await s.go()
  t.match(s.b.transfers.list(() => true).find(r => r.id === rejected.id), { status: 'rejected', reason: '材料不全' })
  t.match(one(s.a.node, 'select home_node, epoch, state from students where id = ?', student.id), { home_node: '330106', epoch: 0, state: 'in_school' }, 'rejected: the student stays')
  t.match(one(s.province, 'select home_node, epoch, state from students where id = ?', student.id), { home_node: '330106', epoch: 0, state: 'in_school' })

  const withdrawn = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  s.b.transfers.send(actor, withdrawn.id)
  await s.go()
  s.b.transfers.withdraw(actor, withdrawn.id)
  await s.go()
  const sent = s.a.transfers.list(() => true).find(r => r.id === withdrawn.id)!
  t.match(sent, { status: 'withdrawn' }, 'the sender hears of the withdrawal')
  t.match(one(s.a.node, 'select processing_status from student_status_changes where id = ?', sent.statusChangeId), { processing_status: '6' }, 'its 转出 is withdrawn by the engine')
  t.match(one(s.a.node, 'select home_node, state from students where id = ?', student.id), { home_node: '330106', state: 'in_school' }, 'withdrawn: the student stays')
  t.throws(() => s.a.transfers.approve(actor, withdrawn.id, {}), { code: 'TRANSFER_STEP_INVALID' })

  const late = s.b.transfers.request(actor, { kind: 'student', idNumber: String(student.idNumber), targetClassId: String(s.classB.id) })
  s.b.transfers.send(actor, late.id)
  clock.at = '2026-05-02T04:00:00Z'
  t.equal(s.b.transfers.expire(), 1, 'abandoned after the configured days')
  await s.go()
  t.match(s.b.transfers.list(() => true).find(r => r.id === late.id), { status: 'expired', code: 'TRANSFER_EXPIRED' })
  t.match(s.a.transfers.list(() => true).find(r => r.id === late.id), { status: 'withdrawn', code: 'TRANSFER_EXPIRED' })
  t.match(one(s.a.node, 'select home_node, state from students where id = ?', student.id), { home_node: '330106', state: 'in_school' })
  clock.at = '2026-03-02T04:00:00Z'
})

t.test('R-19.5 forged, replayed and stale handoffs are refused by the tiers above, so are a handoff under the wrong person table and one of a record not held yet; a replayed handoff is refused by the receiver', async t => {
  const student = newStudent()
  await s.go()
  const handoff = (origin: string, epoch: number, destination = '330108'): RoutedMessage => ({
    format: 1, id: crypto.randomUUID(), origin, destination, find: null, type: 'transfer.handoff',
    handoff: { table: 'students', subjectId: String(student.id), epoch }, body: { transferId: 'x', kind: 'student', file: {} }, createdAt: new Date().toISOString(),
  })
  const push = async (from: TestSyncNode, m: RoutedMessage) =>
    s.city.sync.receiver.serve({ code: from.code, tier: 'county' }, { type: 'routed.push', message: await signJws(JSON.parse(canonicalJson(m)), ROUTED_TYP, await loadSigner(from.storage)) })

  await t.rejects(push(s.b.node, handoff('330108', 1)), { code: 'SYNC_HANDOFF_NOT_HOME' }, 'a node that is not the home cannot hand the record over')
  await t.rejects(push(s.b.node, handoff('330106', 1)), { code: /SYNC_(SIGNATURE_INVALID|KEY_UNKNOWN)/ }, 'forged: signed by another node than the origin it names')
  await t.rejects(push(s.a.node, handoff('330106', 2)), { code: 'SYNC_HANDOFF_STALE' }, 'the epoch must rise by exactly one')
  // The record named under the other person table, or one not held here: never recorded unchecked.
  const asChild = { ...handoff('330108', 1), handoff: { table: 'children' as const, subjectId: String(student.id), epoch: 50 } }
  await t.rejects(push(s.b.node, asChild), { code: 'SYNC_HANDOFF_NOT_HOME', details: { heldIn: 'students' } }, 'a student handed over as a child')
  const unknown = { ...handoff('330108', 1), handoff: { table: 'students' as const, subjectId: crypto.randomUUID(), epoch: 1 } }
  await t.rejects(push(s.b.node, unknown), { code: 'SYNC_HANDOFF_UNKNOWN', statusCode: 503 }, 'a record not held here yet: the sender retries')
  t.equal(one(s.city, 'select count(*) c from sync_handoffs')!.c, one(s.city, "select count(*) c from sync_handoffs where subject_id <> ?", student.id)!.c, 'neither is recorded')
  const stolen = { ...one(s.a.node, 'select * from students where id = ?', student.id)!, home_node: '330108', epoch: 50, name: '被篡改' }
  const apply = createApplier(s.city.storage, createReplicaRules({ storage: s.city.storage, self: { code: '330100', tier: 'city' }, codes }))
  t.match(s.city.storage.write(() => apply.apply([{ table: 'students', key: { id: String(student.id) }, op: 'upsert', row: stolen, version: 1, epoch: 50 }], { code: '330108', tier: 'county' })).bad, [{ code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }], 'and the other county\'s rows of the student are refused')
  const good = handoff('330106', 1)
  const jws = await signJws(JSON.parse(canonicalJson(good)), ROUTED_TYP, await loadSigner(s.a.node.storage))
  t.match(await s.city.sync.receiver.serve({ code: '330106', tier: 'county' }, { type: 'routed.push', message: jws }), { status: 'stored' })
  t.match(await s.city.sync.receiver.serve({ code: '330106', tier: 'county' }, { type: 'routed.push', message: jws }), { status: 'duplicate' }, 'the same message again changes nothing')
  t.match(one(s.city, 'select home_node, epoch from students where id = ?', student.id), { home_node: '330108', epoch: 1 }, 'the city re-homed its replica at the raised epoch')
  await t.rejects(push(s.a.node, handoff('330106', 1)), { code: 'SYNC_HANDOFF_NOT_HOME' }, 'a replayed handoff under a new id: the record is no longer the sender\'s')
  t.equal(one(s.city, 'select count(*) c from sync_handoffs where subject_id = ?', student.id)!.c, 1, 'recorded once')

  // At the receiver: a handoff for a transfer it did not request (or completed) is refused.
  const msg = handoff('330106', 1)
  t.throws(() => s.b.transfers.handlers.get('transfer.handoff')!.deliver(msg, { storage: s.b.node.storage, self: { code: '330108', tier: 'county' } }), { code: 'TRANSFER_HANDOFF_UNEXPECTED' })
  t.equal(one(s.b.node, 'select count(*) c from students where id = ?', student.id)!.c, 0, 'nothing imported')
})

t.test('R-19.5 R-D.2 a handoff of a record its parent does not hold yet waits for the change sets that carry the record: neither is lost, neither holds the other back', async t => {
  const student = newStudent()
  t.equal(one(s.city, 'select count(*) c from students where id = ?', student.id)!.c, 0, 'the city does not hold the student yet')
  s.a.node.storage.write(() => recordRouted(s.a.node.storage, '330106', { destination: '330108', find: null, type: 'transfer.handoff', handoff: { table: 'students', subjectId: String(student.id), epoch: 1 }, body: { transferId: crypto.randomUUID(), kind: 'student', file: {} } }))
  await s.a.node.sync.routed.routePending()
  t.ok(s.a.node.sync.routed.anyDue(), 'the handoff is due upward before the change set carrying the student')
  await s.go()
  for (const n of [s.city, s.province]) {
    t.match(one(n, 'select home_node, epoch from students where id = ?', student.id), { home_node: '330108', epoch: 1 }, `${n.code}: the student arrived, then the handoff re-homed it`)
    t.equal(one(n, 'select count(*) c from sync_handoffs where subject_id = ?', student.id)!.c, 1, `${n.code}: the handoff is recorded once`)
  }
  t.equal(one(s.a.node, 'select count(*) c from sync_routed where refused_code is not null')!.c, 0, 'nothing refused')
})

t.test('R-12.5 a kindergarten child is transferred on the same path', async t => {
  s.a.records.create(actor, 'kindergartens', fx.kindergarten())
  const kgA = one(s.a.node, 'select id from kindergartens')!
  const classA = s.a.records.create(actor, 'kindergarten_classes', { ...fx.kgClass(), kindergartenId: kgA.id })
  const kgB = s.b.records.create(actor, 'kindergartens', fx.kindergarten({ kindergartenCode: '3301080201', unitCode: '3301080001', divisionCode: '330108', name: '滨江区第一幼儿园' }))
  const classB = s.b.records.create(actor, 'kindergarten_classes', { ...fx.kgClass(), kindergartenId: kgB.id })
  const child = s.a.records.create(actor, 'children', { ...fx.child(), kindergartenId: kgA.id, classId: classA.id, ...fx.childSubRecords })
  await s.go()
  const req = s.b.transfers.request(actor, { kind: 'child', idNumber: String(child.idNumber), targetClassId: String(classB.id) })
  s.b.transfers.send(actor, req.id)
  await s.go()
  t.throws(() => s.a.transfers.approve(actor, req.id, { approvalDocNo: '西教〔2026〕5号' }), { code: 'RECORD_FIELD_NOT_ALLOWED', details: { field: 'approvalDocNo' } }, 'R-12.5 a child\'s 转出 keeps no 批准文号: the approval with one is refused')
  t.match(s.a.transfers.list(() => true).find(r => r.id === req.id), { status: 'received' }, 'and nothing moved')
  s.a.transfers.approve(actor, req.id, {})
  await s.go()
  t.match(s.b.transfers.list(() => true).find(r => r.id === req.id), { kind: 'child', status: 'completed', epoch: 1 })
  const sent = s.a.transfers.list(() => true).find(r => r.id === req.id)!
  t.match(s.a.statusChanges.certificate(actor, String(sent.statusChangeId)), { kind: 'child', org: { code: '3301060901' }, destination: '3301080201' }, 'the sending kindergarten prints the 转学证明, naming the kindergarten gone to')
  for (const n of [s.b.node, s.province]) {
    t.match(one(n, 'select home_node, epoch, state, class_id from children where id = ?', child.id), { home_node: '330108', epoch: 1, state: 'in_kindergarten', class_id: classB.id }, `${n.code}`)
    t.equal(one(n, 'select count(*) c from child_guardians where child_id = ?', child.id)!.c, 1)
  }
})

t.test('R-19.5 R-12.5 R-10.1 an ID number or 学籍号 typed in full-width characters, with spaces or in lower case is the number as the records store it: the request finds the student (child) and counts as the same open request', async t => {
  const fullWidth = (v: string) => v.replace(/[0-9A-Z]/g, c => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
  const byId = newStudent()
  const byNo = newStudent()
  const studentNo = String(one(s.a.node, 'select student_no from students where id = ?', byNo.id)!.student_no)
  const kgA = one(s.a.node, 'select id from kindergartens') ?? s.a.records.create(actor, 'kindergartens', fx.kindergarten())
  const kgB = one(s.b.node, 'select id from kindergartens') ?? s.b.records.create(actor, 'kindergartens', fx.kindergarten({ kindergartenCode: '3301080201', unitCode: '3301080001', divisionCode: '330108', name: '滨江区第一幼儿园' }))
  const classA = s.a.records.create(actor, 'kindergarten_classes', { ...fx.kgClass({ classCode: 'K2025009', name: '小九班' }), kindergartenId: kgA.id })
  const classB = s.b.records.create(actor, 'kindergarten_classes', { ...fx.kgClass({ classCode: 'K2025009', name: '小九班' }), kindergartenId: kgB.id })
  const child = s.a.records.create(actor, 'children', { ...fx.child({ idNumber: fx.idNumber('2022-05-20', '2', 21), name: '全角童' }), kindergartenId: kgA.id, classId: classA.id })
  await s.go()

  const typed = [
    { kind: 'student' as const, idNumber: `${fullWidth(String(byId.idNumber).slice(0, 6))}\u3000${fullWidth(String(byId.idNumber).slice(6))}`, targetClassId: String(s.classB.id), id: byId.id, table: 'students' },
    { kind: 'student' as const, studentNo: ` ${studentNo.slice(0, 7).toLowerCase()} ${studentNo.slice(7)} `, targetClassId: String(s.classB.id), id: byNo.id, table: 'students' },
    { kind: 'child' as const, idNumber: fullWidth(String(child.idNumber)), targetClassId: String(classB.id), id: child.id, table: 'children' },
  ]
  const requests = typed.map(({ id: _id, table: _table, ...input }) => s.b.transfers.request(actor, input))
  t.match(one(s.b.node, 'select id_number, student_no from transfers where id = ?', requests[0].id), { id_number: byId.idNumber, student_no: null }, 'the ID number kept as stored')
  t.match(one(s.b.node, 'select id_number, student_no from transfers where id = ?', requests[1].id), { id_number: null, student_no: studentNo }, 'the 学籍号 kept as stored')
  t.match(one(s.b.node, 'select id_number from transfers where id = ?', requests[2].id), { id_number: child.idNumber })
  t.throws(() => s.b.transfers.request(actor, { kind: 'student', idNumber: String(byId.idNumber), targetClassId: String(s.classB.id) }), { code: 'TRANSFER_OPEN_EXISTS' }, 'typed the other way, the same person\'s open request')
  t.throws(() => s.a.transfers.request(actor, { kind: 'child', idNumber: fullWidth(String(child.idNumber)), targetClassId: String(classA.id) }), { code: 'TRANSFER_SAME_NODE' }, 'a child of this node typed in full-width characters')

  for (const r of requests) s.b.transfers.send(actor, r.id)
  await s.go()
  for (const r of requests) s.a.transfers.approve(actor, r.id, {})
  await s.go()
  for (const [i, r] of requests.entries()) {
    t.match(s.b.transfers.list(() => true).find(x => x.id === r.id), { status: 'completed', subjectId: typed[i].id }, `${typed[i].kind} ${i}: handed over`)
    t.match(one(s.b.node, `select home_node from ${typed[i].table} where id = ?`, typed[i].id), { home_node: '330108' })
  }
})

t.test('R-19.5 R-10.1 a resident ID number filed under another document type is the same person to a transfer: the receiving node that holds it refuses the request as its own, and the sending node finds the student', async t => {
  const filedAsOther = newStudent({ idDocType: 'Z' })
  t.equal(one(s.a.node, 'select id_doc_type from students where id = ?', filedAsOther.id)!.id_doc_type, 'Z')
  await s.go()
  t.throws(() => s.a.transfers.request(actor, { kind: 'student', idNumber: String(filedAsOther.idNumber), targetClassId: String(s.classA.id) }), { code: 'TRANSFER_SAME_NODE' }, 'the receiving node holds the student under 其他')
  // The request as it reaches the sending node (sync/routed.ts delivers it there).
  const transferId = crypto.randomUUID()
  const message: RoutedMessage = {
    format: 1, id: crypto.randomUUID(), origin: '330108', destination: '330106', find: { table: 'students', idNumber: String(filedAsOther.idNumber), studentNo: null },
    type: 'transfer.request', handoff: null, body: { transferId, kind: 'student', receiverUnitCode: '3301080101' }, createdAt: new Date().toISOString(),
  }
  s.a.node.storage.write(() => s.a.transfers.handlers.get('transfer.request')!.deliver(message, { storage: s.a.node.storage, self: { code: '330106', tier: 'county' } }))
  t.match(s.a.transfers.list(() => true).find(r => r.id === transferId), { role: 'sender', status: 'received', subjectId: filedAsOther.id }, 'the sending node found the student and applied its 转出')
})

t.test('R-19.5 R-12.5 R-10.1 a resident ID number filed as 其他 at the sending county is routed to its home: the request sent from another county finds the student (child) there, is approved and completes', async t => {
  const student = newStudent({ idDocType: 'Z' })
  const kgA = one(s.a.node, 'select id from kindergartens') ?? s.a.records.create(actor, 'kindergartens', fx.kindergarten())
  const kgB = one(s.b.node, 'select id from kindergartens') ?? s.b.records.create(actor, 'kindergartens', fx.kindergarten({ kindergartenCode: '3301080201', unitCode: '3301080001', divisionCode: '330108', name: '滨江区第一幼儿园' }))
  const classA = s.a.records.create(actor, 'kindergarten_classes', { ...fx.kgClass({ classCode: 'K2025011', name: '小十一班' }), kindergartenId: kgA.id })
  const classB = s.b.records.create(actor, 'kindergarten_classes', { ...fx.kgClass({ classCode: 'K2025011', name: '小十一班' }), kindergartenId: kgB.id })
  const child = s.a.records.create(actor, 'children', { ...fx.child({ idDocType: 'Z', idNumber: fx.idNumber('2022-05-20', '2', 31), name: '其他童' }), kindergartenId: kgA.id, classId: classA.id })
  await s.go()
  for (const n of [s.city, s.province]) {
    t.match(one(n, 'select id_doc_type from students where id = ?', student.id), { id_doc_type: 'Z' }, `${n.code} holds the student filed as 其他`)
    t.match(one(n, 'select id_doc_type from children where id = ?', child.id), { id_doc_type: 'Z' }, `${n.code} holds the child filed as 其他`)
  }
  const cases = [
    { kind: 'student' as const, person: student, table: 'students', targetClassId: String(s.classB.id) },
    { kind: 'child' as const, person: child, table: 'children', targetClassId: String(classB.id) },
  ]
  const requests = cases.map(c => s.b.transfers.request(actor, { kind: c.kind, idNumber: String(c.person.idNumber), targetClassId: c.targetClassId }))
  for (const r of requests) s.b.transfers.send(actor, r.id)
  await s.go()
  for (const [i, c] of cases.entries()) {
    t.match(s.a.transfers.list(() => true).find(r => r.id === requests[i].id), { role: 'sender', status: 'received', subjectId: c.person.id }, `${c.kind}: the request reached the sending county through the city`)
    t.match(s.b.transfers.list(() => true).find(r => r.id === requests[i].id), { status: 'received', subjectId: c.person.id }, `${c.kind}: the receiver sees it received, not not_found`)
  }
  for (const r of requests) s.a.transfers.approve(actor, r.id, {})
  await s.go()
  for (const [i, c] of cases.entries()) {
    t.match(s.b.transfers.list(() => true).find(r => r.id === requests[i].id), { status: 'completed', epoch: 1 }, `${c.kind}: completed`)
    for (const n of [s.b.node, s.province]) t.match(one(n, `select home_node, epoch, id_doc_type from ${c.table} where id = ?`, c.person.id), { home_node: '330108', epoch: 1, id_doc_type: 'Z' }, `${c.kind} at ${n.code}: homed at the receiving county`)
  }
})

t.test('R-19.5 the applier takes a person\'s rows from the new home only through a recorded handoff, and ignores the old home\'s late rows', async t => {
  const moved = newStudent()
  const other = newStudent()
  await s.go()
  const p = s.province
  const image = (id: unknown, over: Json) => ({ ...one(p, 'select * from students where id = ?', id)!, ...over })
  const fromB = (id: unknown) => {
    const row = image(id, { home_node: '330108', epoch: 1, school_id: s.schoolB.id, school_code: '3301080101', class_id: s.classB.id })
    row.version = Number(row.version) + 1
    return { table: 'students', key: { id: String(id) }, op: 'upsert' as const, row, version: Number(row.version) }
  }
  const apply = (rows: any[], code: string) => p.storage.write(() => p.sync.applier.apply(rows, { code, tier: 'county' }))
  t.match(apply([fromB(other.id)], '330108'), { upserts: 0, bad: [{ code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: 'home' }] }, 'no handoff: another node cannot take the record')
  // A handoff recorded before the old home's copy was re-homed here (its rows came after it).
  p.storage.sqlite.prepare(`insert into sync_handoffs (id, subject_table, subject_id, from_node, to_node, epoch, recorded_at) values (?, 'students', ?, '330106', '330108', 1, ?)`).run(crypto.randomUUID(), moved.id, new Date().toISOString())
  t.match(apply([fromB(moved.id)], '330108'), { upserts: 1, bad: [] }, 'the new home of a verified handoff writes at the raised epoch')
  t.match(one(p, 'select home_node, epoch from students where id = ?', moved.id), { home_node: '330108', epoch: 1 })
  const late = image(moved.id, { home_node: '330106', epoch: 0, name: '旧名' })
  t.match(apply([{ table: 'students', key: { id: String(moved.id) }, op: 'upsert', row: late, version: Number(late.version) }], '330106'), { upserts: 0, stale: 1, bad: [] }, 'the old home\'s late row is stale, not refused')
})

t.test('R-19.5 R-16.1 R-17.6 the transfer list shows a teacher the transfers of its own class only: by the student held here, else the class asked for', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const other = (await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2023001', name: '三年级（1）班', grade: 3 }), schoolId: school.id })).body
  const student = async (seq: number, classId: string) => String((await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null }), schoolId: school.id, classId })).body.id)
  const [own, sibling] = [await student(1, klass.id), await student(2, other.id)]
  const at = new Date().toISOString()
  const insert = node.app.storage.sqlite.prepare(`insert into transfers (id, role, kind, status, receiver_node, receiver_unit_code, target_class_id, id_number, sender_node, sender_unit_code, subject_id, name, steps, created_at, updated_at)
    values (?, ?, 'student', 'requested', ?, ?, ?, ?, ?, ?, ?, ?, '[]', ?, ?)`)
  const row = (id: string, role: 'receiver' | 'sender', targetClass: string, subject: string | null) =>
    insert.run(id, role, role === 'receiver' ? '330106' : '330108', role === 'receiver' ? school.schoolCode : '3301080101', targetClass, fx.idNumber('2016-03-15', '1', 9), role === 'sender' ? '330106' : '330108', role === 'sender' ? school.schoolCode : '3301080101', subject, subject ? '某学生' : null, at, at)
  row('in-own', 'receiver', klass.id, null)
  row('in-sibling', 'receiver', other.id, null)
  row('out-own', 'sender', 'a-class-there', own)
  row('out-sibling', 'sender', 'a-class-there', sibling)
  row('out-unknown', 'sender', 'a-class-there', 'no-such-student')
  const teacher = await loginAs(node.app, 'teacher', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const ids = async (login = node.school) => (await node.call('GET', '/api/v1/transfers', undefined, login)).body.items.map((i: { id: string }) => i.id).sort()
  t.strictSame(await ids(), ['in-own', 'in-sibling', 'out-own', 'out-sibling', 'out-unknown'], 'the school administrator: every transfer of the school')
  t.strictSame(await ids(teacher), ['in-own', 'out-own'], 'the teacher: its class\'s, none naming no class')
})
