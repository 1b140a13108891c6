/**
 * Accounts, sessions and the audit log against misuse of a session or an administrator's rights:
 * the password check of a signed-in account is throttled like the login, a password is reset only
 * for an account within the administrator's own grants, a look-up by ID number is audited.
 */
import t from 'tap'
import { buildTestApp, createTestAccount, loginAs, TEST_PASSWORD } from '../../helper.ts'
import { seedWorld } from './fixtures.ts'

const BUREAU = { kind: 'bureau', node: '330106' } as const

t.test('R-25.2 a wrong current password at POST /auth/password counts as a failed login: a borrowed session cannot guess the password', async t => {
  const app = await buildTestApp(t)
  const a = await loginAs(app, 'bureau_user', BUREAU)
  const change = (currentPassword: string) =>
    app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: a.headers, payload: { currentPassword, newPassword: 'a much better passphrase' }, remoteAddress: '10.0.4.1' })
  for (let i = 0; i < 10; i++) t.equal((await change(`wrong guess ${i}`)).json().code, 'AUTH_FAILED', `guess ${i + 1} checked`)
  const locked = await change(TEST_PASSWORD)
  t.equal(locked.statusCode, 429, 'the 11th guess is refused unchecked, even the right one')
  t.equal(locked.json().code, 'AUTH_LOCKED')
  t.equal(app.auth.getAccount(a.account.id)!.password_changed_at, app.auth.getAccount(a.account.id)!.created_at, 'the password did not change')
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: a.account.username, password: TEST_PASSWORD }, remoteAddress: '10.0.4.2' })
  t.equal(login.json().code, 'AUTH_LOCKED', 'the same lockout as the login: per account')
  // The window passes; the right current password changes it.
  app.storage.sqlite.prepare('update login_attempts set at = at - 600001').run()
  t.equal((await change(TEST_PASSWORD)).statusCode, 204)
})

t.test('R-17.4 R-27.1 an administrator cannot reset the password of an account holding sensitive-field grants it lacks itself', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] }, { grants: ['phone'] })
  // A teacher granted ID numbers (by a central-school administrator, or before the administrator's own grant was withdrawn).
  const granted = await createTestAccount(app, 'teacher', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, { grants: ['id_number', 'phone'] })
  const plain = await createTestAccount(app, 'teacher', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, { grants: ['phone'] })
  const reset = (id: string) => app.inject({ method: 'POST', url: `/api/v1/accounts/${id}/password`, headers: admin.headers, payload: { password: 'taken over passphrase' } })
  const refused = await reset(granted.account.id)
  t.equal(refused.statusCode, 403, refused.body)
  t.match(refused.json(), { code: 'ACCOUNT_DELEGATION_DENIED', details: { rule: 'GRANTS' } })
  const login = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: granted.account.username, password: 'taken over passphrase' } })
  t.equal(login.statusCode, 401, 'the administrator cannot sign in as the teacher and reveal ID numbers')
  t.equal((await reset(plain.account.id)).statusCode, 204, 'an account within the administrator\'s own grants is reset as before')
  // Still managed otherwise: it may be disabled (which widens nothing).
  t.equal((await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${granted.account.id}`, headers: admin.headers, payload: { disabled: true } })).statusCode, 200)
})

t.test('R-27.1 R-25.2 a look-up of a person by ID number (GET /student-history) is audited when answered, not only when refused', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  const entries = () => app.storage.sqlite.prepare("select * from audit_log where action = 'student.history' order by seq").all() as Array<Record<string, unknown>>
  const found = await app.inject({ url: `/api/v1/student-history?idNumber=${w.secrets.idNumber}`, headers: admin.headers })
  t.equal(found.statusCode, 200, found.body)
  t.match(entries(), [{ actor_id: admin.account.id, outcome: 'ok', status: 200, target_table: 'students' }], 'who looked up a person, when and from where')
  const other = await app.inject({ url: `/api/v1/student-history?idNumber=${w.secrets.idNumber}`, headers: (await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.B.code] })).headers })
  t.equal(other.statusCode, 404)
  t.match(entries().map(e => e.outcome), ['ok', 'denied'])
  t.notOk(JSON.stringify(entries()).includes(w.secrets.idNumber), 'the entries do not hold the ID number looked up')
  // Ordinary reads stay unaudited.
  const before = (app.storage.sqlite.prepare('select count(*) n from audit_log').get() as { n: number }).n
  await app.inject({ url: '/api/v1/auth/me', headers: admin.headers })
  t.equal((app.storage.sqlite.prepare('select count(*) n from audit_log').get() as { n: number }).n, before)
})
