import t from 'tap'
import { buildTestApp, loginAs, loginWith, TEST_PASSWORD } from '../../helper.ts'
import { seedWorld } from './fixtures.ts'

const BUREAU = { kind: 'bureau', node: '330106' } as const

t.test('R-17.2 the bureau administrator creates ordinary bureau users and central-school administrators, nothing above', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'bureau_admin', BUREAU, { grants: ['phone'] })
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload })
  const user = await post({ username: 'kezhang', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU })
  t.equal(user.statusCode, 201, user.body)
  t.notOk('passwordHash' in user.json() || 'password_hash' in user.json(), 'no hash in the answer')
  const central = await post({ username: 'zhongxinxiao', password: TEST_PASSWORD, role: 'central_school_admin', scope: { kind: 'schools', schools: [w.A.code, w.B.code] }, grants: ['phone'] })
  t.equal(central.statusCode, 201, central.body)
  t.equal((await post({ username: 'boss2', password: TEST_PASSWORD, role: 'bureau_admin', scope: BUREAU })).json().details.rule, 'ROLE')
  t.equal((await post({ username: 'city1', password: TEST_PASSWORD, role: 'bureau_user', scope: { kind: 'bureau', node: '330100' } })).json().details.rule, 'SCOPE')
  t.equal((await post({ username: 'x1', password: TEST_PASSWORD, role: 'central_school_admin', scope: { kind: 'schools', schools: [w.C.code] } })).json().code, 'ACCOUNT_SCOPE_UNKNOWN', 'a school of another county')
  t.equal((await post({ username: 'x2', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU, grants: ['health'] })).json().details.rule, 'GRANTS')
  t.equal((await post({ username: 'kezhang', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU })).json().code, 'ACCOUNT_EXISTS')
  t.equal((await post({ username: 'x3', password: 'password', role: 'bureau_user', scope: BUREAU })).json().code, 'PASSWORD_COMMON')
  const list = await app.inject({ url: '/api/v1/accounts', headers: admin.headers })
  // The administrator's own account is listed too (issue 9), read-only.
  t.same(list.json().accounts.map((a: { username: string }) => a.username).sort(), [admin.account.username, 'kezhang', 'zhongxinxiao'].sort())
})

t.test('R-17.4 the school administrator creates teachers, students, grade and class administrators bound to its own classes', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const post = (payload: object) => app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload })
  for (const [role, classes] of [['grade_admin', [w.A.classes.A1, w.A.classes.A2]], ['class_admin', [w.A.classes.A1]], ['teacher', [w.A.classes.A2]]] as const) {
    const r = await post({ username: `${role}-a`, password: TEST_PASSWORD, role, scope: { kind: 'classes', school: w.A.code, classes } })
    t.equal(r.statusCode, 201, `${role}: ${r.body}`)
  }
  t.equal((await post({ username: 'student-a1', password: TEST_PASSWORD, role: 'student', scope: { kind: 'student', school: w.A.code, studentId: w.students.A1 } })).statusCode, 201)
  // Limits
  t.equal((await post({ username: 'e1', password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: w.B.code, classes: [w.B.classes.B1] } })).json().details.rule, 'SCOPE', 'a sibling school')
  t.equal((await post({ username: 'e2', password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: w.A.code, classes: [w.B.classes.B1] } })).json().code, 'ACCOUNT_SCOPE_UNKNOWN', 'a class of another school')
  t.equal((await post({ username: 'e3', password: TEST_PASSWORD, role: 'student', scope: { kind: 'student', school: w.A.code, studentId: w.students.B1 } })).json().code, 'ACCOUNT_SCOPE_UNKNOWN')
  t.equal((await post({ username: 'e4', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [w.A.code] } })).json().details.rule, 'ROLE')
  t.equal((await post({ username: 'e5', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU })).json().details.rule, 'ROLE')
  // Accounts of another school are invisible (404, not 403).
  const other = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.B.code] })
  const b = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: other.headers, payload: { username: 'teacher-b', password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: w.B.code, classes: [w.B.classes.B1] } } })
  t.equal((await app.inject({ url: `/api/v1/accounts/${b.json().id}`, headers: admin.headers })).statusCode, 404)
  t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${b.json().id}`, headers: admin.headers, payload: { disabled: true } })).statusCode, 404)
  // Teachers manage no accounts.
  const teacher = await loginWith(app, 'teacher-a', TEST_PASSWORD)
  t.equal((await app.inject({ url: '/api/v1/accounts', headers: teacher.headers })).json().code, 'FORBIDDEN')
})

t.test('R-17.4 R-17.2 widening a managed account beyond the manager\'s scope is refused; a narrower scope ends its sessions', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const created = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload: { username: 'gl', password: TEST_PASSWORD, role: 'grade_admin', scope: { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1, w.A.classes.A2] } } })
  const id = created.json().id
  const grade = await loginWith(app, 'gl', TEST_PASSWORD)
  const widen = await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${id}`, headers: admin.headers, payload: { scope: { kind: 'classes', school: w.B.code, classes: [w.B.classes.B1] } } })
  t.equal(widen.json().details.rule, 'SCOPE')
  const narrow = await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${id}`, headers: admin.headers, payload: { scope: { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] } } })
  t.equal(narrow.statusCode, 200)
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: grade.headers })).statusCode, 401, 'signs in again with the narrower scope')
})

t.test('R-18.2 a student logs in with the user name and password from the school and reaches only their own record', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const r = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload: { username: 'wangxiaoming2010', password: 'xihu primary 2026', role: 'student', scope: { kind: 'student', school: w.A.code, studentId: w.students.A1 } } })
  t.equal(r.statusCode, 201)
  const s = await loginWith(app, 'wangxiaoming2010', 'xihu primary 2026')
  const me = await app.inject({ url: '/api/v1/auth/me', headers: s.headers })
  t.same(me.json().permissions, ['student:read', 'growth:object', 'sensitive:reveal'], 'reads their own record, objects to their own evaluation during 公示 (R-23.1)')
  const own = await app.inject({ method: 'POST', url: `/api/v1/reveal/students/${w.students.A1}`, headers: s.headers, payload: { fields: ['idNumber'] } })
  t.equal(own.statusCode, 200, 'checks their own ID number')
  t.equal(own.json().values.idNumber, w.secrets.idNumber)
  const classmate = await app.inject({ method: 'POST', url: `/api/v1/reveal/students/${w.students.A2}`, headers: s.headers, payload: { fields: ['phone'] } })
  t.equal(classmate.statusCode, 404, 'a classmate does not exist for them')
  t.equal((await app.inject({ url: '/api/v1/verification/queue', headers: s.headers })).json().items.length, 0)
})

t.test('R-17.2 xueji init creates the first bureau administrator and prints its password once (or takes it from the environment)', async t => {
  const { main } = await import('../../../scripts/cli.ts')
  const { openStorage } = await import('../../../schema/db.ts')
  const { verifyPassword } = await import('../../../node/auth/passwords.ts')
  const { join } = await import('node:path')
  let out = ''
  const data = join(t.testdir(), 'n1')
  const code = await main(['init', '--tier', 'county', '--code', '330106', '--name', '西湖区教育局', '--parent', 'http://127.0.0.1:1', '--data', data], {}, { out: s => (out += s), err: s => (out += s) })
  t.equal(code, 0, out)
  const password = /password: (\S+)/.exec(out)![1]
  t.ok(password.length >= 16, 'a generated password is printed')
  const storage = openStorage(join(data, 'xueji.db'))
  t.teardown(() => storage.close())
  const row = storage.sqlite.prepare('select * from accounts').get() as { username: string; role: string; scope_json: string; password_hash: string; grants_json: string }
  t.same([row.username, row.role, JSON.parse(row.scope_json)], ['admin', 'bureau_admin', { kind: 'bureau', node: '330106' }])
  t.ok(await verifyPassword(row.password_hash, password))
  t.equal(JSON.parse(row.grants_json).length, 9, 'holds every sensitive grant, to delegate')

  let out2 = ''
  const data2 = join(t.testdir(), 'n2')
  t.equal(await main(['init', '--tier', 'county', '--code', '330106', '--name', 'x', '--parent', 'http://127.0.0.1:1', '--data', data2, '--admin-user', 'lizhen'], { XUEJI_INIT_ADMIN_PASSWORD: 'qwerty123' }, { out: s => (out2 += s), err: s => (out2 += s) }), 1, 'a common password is refused before anything is written')
  t.match(out2, /PASSWORD_COMMON/)
  out2 = ''
  t.equal(await main(['init', '--tier', 'county', '--code', '330106', '--name', 'x', '--parent', 'http://127.0.0.1:1', '--data', data2, '--admin-user', 'lizhen'], { XUEJI_INIT_ADMIN_PASSWORD: 'xihu bureau admin 2026' }, { out: s => (out2 += s), err: s => (out2 += s) }), 0, out2)
  t.notMatch(out2, /xihu bureau admin 2026/, 'a given password is not echoed')
})

t.test('R-18.1 R-17.4 a school administrator without the leader flag cannot make, or take over, an account that verifies its own entries', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const call = (login: { headers: object }, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => app.inject({ method, url, headers: login.headers as never, ...(payload ? { payload } : {}) })
  const teacherOf = (username: string, leader?: boolean) => ({ username, password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, ...(leader === undefined ? {} : { leader }) })

  const made = await call(admin, 'POST', '/api/v1/accounts', teacherOf('sock', true))
  t.equal(made.statusCode, 403)
  t.match(made.json(), { code: 'ACCOUNT_DELEGATION_DENIED', details: { rule: 'LEADER' } }, 'POST with leader: true refused')
  t.notOk(app.auth.getByUsername('sock'), 'no account made')
  const plain = await call(admin, 'POST', '/api/v1/accounts', teacherOf('plain'))
  t.equal(plain.statusCode, 201, plain.body)
  const patched = await call(admin, 'PATCH', `/api/v1/accounts/${plain.json().id}`, { leader: true })
  t.match(patched.json(), { code: 'ACCOUNT_DELEGATION_DENIED', details: { rule: 'LEADER' } }, 'PATCH leader: true refused')
  t.notOk(app.auth.getByUsername('plain')!.leader, 'still no leader')

  // A leader appointed above is out of the non-leader administrator's hands: no password reset, no change.
  const bureau = await loginAs(app, 'bureau_admin', BUREAU)
  const pingjia = await call(bureau, 'POST', '/api/v1/accounts', { username: 'pingjia', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [w.A.code] }, leader: true })
  t.equal(pingjia.statusCode, 201, 'the bureau appoints the school\'s leadership')
  const leader = await loginWith(app, 'pingjia', TEST_PASSWORD)
  const member = await call(leader, 'POST', '/api/v1/accounts', teacherOf('pingjia-zuyuan', true))
  t.equal(member.statusCode, 201, 'a leader names a member of the evaluation group')
  t.equal((await call(admin, 'POST', `/api/v1/accounts/${member.json().id}/password`, { password: 'another long passphrase 2026' })).statusCode, 404, 'no password reset of a leader')
  t.equal((await call(admin, 'PATCH', `/api/v1/accounts/${member.json().id}`, { disabled: true })).statusCode, 404)
  t.notOk((await call(admin, 'GET', '/api/v1/accounts')).json().accounts.some((a: { leader: boolean }) => a.leader), 'leaders are not in its list')
  t.equal((await call(leader, 'PATCH', `/api/v1/accounts/${member.json().id}`, { leader: false })).json().leader, false, 'the leader may take the flag back')
})
