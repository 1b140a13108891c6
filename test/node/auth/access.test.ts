import t from 'tap'
import { can, delegationRefusal, inScope, mayAppointLeader, scopeFilter, inSubtree, permissionsOf, type Actor, type NewAccount, type Role, type Scope } from '../../../node/auth/access.ts'
import { afterEdit, resubmit, returnRecord, verify, type VerifyFields } from '../../../node/auth/verification.ts'

const actor = (role: Role, scope: Scope, more: Partial<Actor> = {}): Actor => ({ accountId: `acc-${role}`, username: role, role, scope, leader: false, grants: [], ...more })
const bureau = actor('bureau_admin', { kind: 'bureau', node: '330106' }, { grants: ['id_number', 'phone'] })
const bureauUser = actor('bureau_user', { kind: 'bureau', node: '330106' })
const central = actor('central_school_admin', { kind: 'schools', schools: ['S1', 'S2'] }, { grants: ['phone'] })
const schoolAdmin = actor('school_admin', { kind: 'schools', schools: ['S1'] })
const grade = actor('grade_admin', { kind: 'classes', school: 'S1', classes: ['c1', 'c2'] })
const classAdmin = actor('class_admin', { kind: 'classes', school: 'S1', classes: ['c1'] })
const teacher = actor('teacher', { kind: 'classes', school: 'S1', classes: ['c1'] })
const student = actor('student', { kind: 'student', school: 'S1', studentId: 'st1' })

t.test('R-17.1 exactly the roles of Art. 17 plus the central-school administrator, each with its scope kind', async t => {
  const { ROLES, SCOPE_KIND_OF_ROLE } = await import('../../../node/auth/access.ts')
  t.same([...ROLES].sort(), ['bureau_admin', 'bureau_user', 'central_school_admin', 'class_admin', 'grade_admin', 'school_admin', 'student', 'teacher'])
  t.same(SCOPE_KIND_OF_ROLE, { bureau_admin: 'bureau', bureau_user: 'bureau', central_school_admin: 'schools', school_admin: 'schools', grade_admin: 'classes', class_admin: 'classes', teacher: 'classes', student: 'student' })
})

t.test('R-17.2 bureau administrator: unit entry and verification, maintenance, statistics, accounts, audit', async t => {
  for (const p of ['unit:write', 'unit:verify', 'student:write', 'stats:read', 'account:manage', 'status_change:approve', 'audit:read'] as const) t.ok(can(bureau, p), p)
  t.notOk(can(bureau, 'student:verify'), 'student info is verified at school level')
})

t.test('R-17.3 bureau ordinary user: query and statistics only', async t => {
  t.same(permissionsOf(bureauUser), ['unit:read', 'school:read', 'class:read', 'student:read', 'stats:read'])
})

t.test('R-17.4 school administrator: school info and status changes, maintenance, accounts; verification of school info needs the leader flag', async t => {
  for (const a of [schoolAdmin, central]) {
    for (const p of ['school:write', 'status_change:write', 'student:write', 'class:write', 'stats:read', 'account:manage', 'unit:write'] as const) t.ok(can(a, p), `${a.role} ${p}`)
    t.notOk(can(a, 'school:verify'))
    t.notOk(can(a, 'audit:read'))
  }
  t.ok(can({ ...schoolAdmin, leader: true }, 'school:verify'))
  t.ok(can({ ...schoolAdmin, leader: true }, 'status_change:verify'))
})

t.test('R-17.5 grade and class administrators: class, student and growth entry; query; statistics', async t => {
  for (const a of [grade, classAdmin]) for (const p of ['class:write', 'student:write', 'growth:write', 'student:read', 'stats:read'] as const) t.ok(can(a, p), `${a.role} ${p}`)
  for (const a of [grade, classAdmin]) for (const p of ['school:write', 'status_change:write', 'account:manage', 'student:delete'] as const) t.notOk(can(a, p), `${a.role} not ${p}`)
  t.ok(can(grade, 'student:verify'))
  t.ok(can(grade, 'class:verify'))
  t.notOk(can(classAdmin, 'student:verify'))
})

t.test('R-17.6 teacher (school ordinary user): student entry, query, statistics', async t => {
  t.same(permissionsOf(teacher).filter(p => p !== 'sensitive:reveal'), ['school:read', 'class:read', 'student:read', 'student:write', 'stats:read'])
})

t.test('R-17.7 student: read only their own record', async t => {
  // Reading, and objecting to their own evaluation during its 公示 period (the one write, growth:object).
  t.same(permissionsOf(student).filter(p => p !== 'sensitive:reveal'), ['student:read', 'growth:object'])
  t.ok(inScope(student, { school: 'S1', classId: 'c1', studentId: 'st1' }))
  t.notOk(inScope(student, { school: 'S1', classId: 'c1', studentId: 'st2' }), 'a classmate')
  t.notOk(inScope(student, { school: 'S1' }), 'the school record')
  t.notOk(inScope(student, { school: 'S1', classId: 'c1' }), 'the class record')
  t.same(scopeFilter(student), { all: false, schools: ['S1'], studentId: 'st1' })
})

t.test('R-16.1 bureau users reach their whole area, school users their own school, class-bound users their classes', async t => {
  t.ok(inScope(bureauUser, { school: 'S9', homeNode: '330106' }))
  t.notOk(inScope(bureauUser, { school: 'S9', homeNode: '330108' }), 'another county')
  const city = actor('bureau_user', { kind: 'bureau', node: '330100' })
  t.ok(inScope(city, { homeNode: '330108' }), 'a city reaches its counties')
  t.notOk(inScope(city, { homeNode: '330206' }), 'but not another city')
  t.ok(inSubtree('330000', '331002'))
  t.ok(inScope(schoolAdmin, { school: 'S1', classId: 'c9', studentId: 'x' }))
  t.notOk(inScope(schoolAdmin, { school: 'S2' }), 'a sibling school')
  t.ok(inScope(central, { school: 'S2' }))
  t.ok(inScope(teacher, { school: 'S1', classId: 'c1', studentId: 'x' }))
  t.notOk(inScope(teacher, { school: 'S1', classId: 'c2', studentId: 'y' }), 'a sibling class')
  t.notOk(inScope(teacher, { school: 'S1', studentId: 'y' }), 'a student without a class is not reached by class-bound staff')
  t.ok(inScope(teacher, { school: 'S1' }), 'their school record')
  t.notOk(inScope(teacher, { school: 'S2', classId: 'c1' }), 'same class id at another school')
  t.ok(inScope(schoolAdmin, { schools: ['S1', 'S3'] }), 'a unit supervising their school')
  t.same(scopeFilter(bureau), { all: true, homeNodePrefix: '330106' })
  t.same(scopeFilter(teacher), { all: false, schools: ['S1'], classes: ['c1'] })
})

t.test('R-17.2 R-17.4 delegation: nobody creates an account above their rights or outside their scope', async t => {
  const none: string[] = []
  t.equal(delegationRefusal(bureau, { role: 'bureau_user', scope: { kind: 'bureau', node: '330106' }, leader: false, grants: none }), null)
  t.equal(delegationRefusal(bureau, { role: 'central_school_admin', scope: { kind: 'schools', schools: ['S1', 'S2'] }, leader: false, grants: ['phone'] }), null)
  t.equal(delegationRefusal(bureau, { role: 'bureau_admin', scope: { kind: 'bureau', node: '330106' }, leader: false, grants: none }), 'ROLE')
  t.equal(delegationRefusal(bureau, { role: 'bureau_user', scope: { kind: 'bureau', node: '330100' }, leader: false, grants: none }), 'SCOPE', 'the city above')
  t.equal(delegationRefusal(bureau, { role: 'bureau_user', scope: { kind: 'bureau', node: '330106' }, leader: false, grants: ['health'] }), 'GRANTS', 'a grant it does not hold')
  t.equal(delegationRefusal(schoolAdmin, { role: 'teacher', scope: { kind: 'classes', school: 'S1', classes: ['c1'] }, leader: false, grants: none }), null)
  t.equal(delegationRefusal(schoolAdmin, { role: 'student', scope: { kind: 'student', school: 'S1', studentId: 'st1' }, leader: false, grants: none }), null)
  t.equal(delegationRefusal(schoolAdmin, { role: 'grade_admin', scope: { kind: 'classes', school: 'S2', classes: ['c1'] }, leader: false, grants: none }), 'SCOPE', 'another school')
  t.equal(delegationRefusal(schoolAdmin, { role: 'school_admin', scope: { kind: 'schools', schools: ['S1'] }, leader: false, grants: none }), 'ROLE')
  t.equal(delegationRefusal(schoolAdmin, { role: 'bureau_user', scope: { kind: 'bureau', node: '330106' }, leader: false, grants: none }), 'ROLE')
  t.equal(delegationRefusal(schoolAdmin, { role: 'teacher', scope: { kind: 'schools', schools: ['S1'] }, leader: false, grants: none }), 'SCOPE_KIND')
  t.equal(delegationRefusal(central, { role: 'school_admin', scope: { kind: 'schools', schools: ['S2'] }, leader: false, grants: none }), null)
  t.equal(delegationRefusal(central, { role: 'school_admin', scope: { kind: 'schools', schools: ['S1', 'S2'] }, leader: false, grants: none }), 'SCOPE', 'a school admin has one school')
  t.equal(delegationRefusal({ ...central, leader: true }, { role: 'teacher', scope: { kind: 'classes', school: 'S1', classes: ['c1'] }, leader: true, grants: none }), null, 'a leader appoints a leader')
  t.equal(delegationRefusal({ ...schoolAdmin, leader: true }, { role: 'student', scope: { kind: 'student', school: 'S1', studentId: 's' }, leader: true, grants: none }), 'LEADER', 'a student is never a leader')
  for (const a of [bureauUser, grade, classAdmin, teacher, student]) {
    t.equal(delegationRefusal(a, { role: 'student', scope: { kind: 'student', school: 'S1', studentId: 's' }, leader: false, grants: none }), 'ROLE', `${a.role} creates nobody`)
  }
})

t.test('R-18.1 who verifies what, return with a reason, resubmit, no verifying one\'s own entry', async t => {
  const rec: VerifyFields = { verifyState: 'entered', enteredBy: teacher.accountId, enteredAt: 'x', verifiedBy: null, verifiedAt: null, returnReason: null }
  const now = '2026-09-10T00:00:00.000Z'
  t.equal(verify(rec, grade, 'student', now).verifyState, 'verified')
  t.equal(verify(rec, grade, 'student', now).verifiedBy, grade.accountId)
  t.throws(() => verify(rec, teacher, 'student', now), { code: 'VERIFY_NOT_ALLOWED' })
  t.throws(() => verify(rec, schoolAdmin, 'school', now), { code: 'VERIFY_NOT_ALLOWED' }, 'school info: leadership only')
  t.equal(verify(rec, { ...schoolAdmin, leader: true }, 'school', now).verifyState, 'verified')
  t.equal(verify(rec, { ...schoolAdmin, leader: true }, 'status_change', now).verifyState, 'verified')
  t.equal(verify(rec, bureau, 'unit', now).verifyState, 'verified')
  t.throws(() => verify(rec, grade, 'unit', now), { code: 'VERIFY_NOT_ALLOWED' })
  t.equal(verify(rec, grade, 'class', now).verifyState, 'verified')
  t.equal(verify(rec, { ...classAdmin, leader: true }, 'growth', now).verifyState, 'verified', 'growth: evaluation group = leadership')
  t.throws(() => verify({ ...rec, enteredBy: grade.accountId }, grade, 'student', now), { code: 'VERIFY_NOT_ALLOWED' })
  t.throws(() => verify({ ...rec, verifyState: 'verified' }, grade, 'student', now), { code: 'VERIFY_STATE_INVALID' })
  t.throws(() => returnRecord(rec, grade, 'student', '  ', now), { code: 'RETURN_REASON_REQUIRED' })
  const returned = returnRecord(rec, grade, 'student', '出生日期与身份证号不符', now)
  t.same([returned.verifyState, returned.returnReason], ['returned', '出生日期与身份证号不符'])
  t.throws(() => resubmit(rec, teacher, 'student', now), { code: 'VERIFY_STATE_INVALID' })
  t.throws(() => resubmit(returned, bureauUser, 'student', now), { code: 'VERIFY_NOT_ALLOWED' })
  const again = resubmit(returned, teacher, 'student', now)
  t.same([again.verifyState, again.returnReason, again.enteredBy], ['entered', null, teacher.accountId])
  t.equal(afterEdit(teacher, now).verifyState, 'entered', 'an edit makes a verified record unverified again')
})

t.test('R-18.1 R-17.2 R-17.4 the leader flag is given only by the bureau administrator or a leader, never by the administrator whose entries it verifies', async t => {
  const none: string[] = []
  const teacherLeader: NewAccount = { role: 'teacher', scope: { kind: 'classes', school: 'S1', classes: ['c1'] }, leader: true, grants: none }
  const adminLeader: NewAccount = { role: 'school_admin', scope: { kind: 'schools', schools: ['S1'] }, leader: true, grants: none }
  t.equal(delegationRefusal(schoolAdmin, teacherLeader), 'LEADER', 'a school administrator without the flag makes no verifier')
  t.equal(delegationRefusal(central, adminLeader), 'LEADER', 'nor a central-school administrator without it')
  t.equal(delegationRefusal(central, { ...adminLeader, leader: false }), null, 'the same account without the flag')
  t.equal(delegationRefusal({ ...schoolAdmin, leader: true }, teacherLeader), null, 'the leadership names its evaluation group')
  t.equal(delegationRefusal(bureau, adminLeader), null, 'the bureau appoints the school\'s leadership')
  t.ok(mayAppointLeader(bureau))
  t.notOk(mayAppointLeader(schoolAdmin))
  t.notOk(mayAppointLeader({ ...bureauUser, leader: true }), 'a bureau user never carries the flag')
})

t.test('R-18.1 R-16.1 school-level verification and reporting need a scope reaching the whole school; a class-bound leader verifies its classes only', async t => {
  const classLeader = { ...classAdmin, leader: true }
  t.notOk(can(classLeader, 'school:verify'), 'school info: the leadership of the whole school')
  t.notOk(can({ ...teacher, leader: true }, 'school:verify'))
  t.ok(can({ ...schoolAdmin, leader: true }, 'school:verify'))
  t.ok(can(classLeader, 'status_change:verify'), 'status changes of its classes')
  t.ok(can(classLeader, 'growth:verify'), 'growth records of its classes (the evaluation group)')
  t.ok(inScope(classLeader, { school: 'S1' }), 'the school record stays readable to its staff')
  t.notOk(inScope(classLeader, { school: 'S1', wholeSchool: true }), 'but not an action over every class of the school')
  t.notOk(inScope(student, { school: 'S1', studentId: 'st1', wholeSchool: true }))
  t.ok(inScope(schoolAdmin, { school: 'S1', wholeSchool: true }))
  t.ok(inScope(bureau, { school: 'S1', homeNode: '330106', wholeSchool: true }))
})
