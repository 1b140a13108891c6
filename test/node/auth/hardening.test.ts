/**
 * Accounts, sessions and the audit log against misuse of a session or an administrator's rights:
 * the password check of a signed-in account is throttled like the login, a password is reset only
 * for an account within the administrator's own grants, a look-up by ID number is audited, the
 * second factor starts a new session (no fixation), a full sign-in clears the account's failed
 * attempts, and an administrator unlocks a locked account.
 */
import t from 'tap'
import { buildTestApp, createTestAccount, loginAs, loginWith, sessionHeaders, TEST_PASSWORD, totpStepAfter } from '../../helper.ts'
import { totpCode } from '../../../node/auth/totp.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import { seedWorld } from './fixtures.ts'

const BUREAU = { kind: 'bureau', node: '330106' } as const
type App = Awaited<ReturnType<typeof buildTestApp>>
const login = (app: App, username: string, password: string, ip: string, cookie?: string) =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress: ip, headers: cookie ? { cookie } : {} })
/** `n` wrong passwords for `username`, each from its own address; answers their error codes. */
async function fail(app: App, username: string, n: number, ip: (i: number) => string) {
  const codes: string[] = []
  for (let i = 0; i < n; i++) codes.push((await login(app, username, `wrong guess ${i}`, ip(i))).json().code)
  return codes
}

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

t.test('R-25.2 the TOTP step starts a new session: the token of the password step (a fixed, half-signed-in session) stops working at once', async t => {
  const app = await buildTestApp(t)
  const { account, password } = await createTestAccount(app, 'bureau_admin', BUREAU)
  const me = (headers: Record<string, string>) => app.inject({ url: '/api/v1/auth/me', headers })
  // A session the browser already holds (left behind, or planted by an attacker) is not reused by the password step.
  const held = await loginAs(app, 'bureau_user', BUREAU)
  const first = await login(app, account.username, password, '10.0.7.1', held.headers.cookie)
  t.equal(first.json().stage, 'totp_enrol')
  const half = sessionHeaders(first)
  t.not(half.cookie, held.headers.cookie, 'the password step issues a token of its own')
  t.equal((await me(held.headers)).statusCode, 401, 'and the session held before ends')

  const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: half })).json() as { secret: string }
  const verify = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: half, payload: { code: totpCode(secret, await totpStepAfter(null)) } })
  t.equal(verify.statusCode, 200, verify.body)
  const full = sessionHeaders(verify)
  t.not(full.cookie, half.cookie, 'a new session token')
  t.not(full['x-csrf-token'], half['x-csrf-token'], 'with a new CSRF token')
  const stale = await me(half)
  t.equal(stale.statusCode, 401)
  t.equal(stale.json().code, 'AUTH_REQUIRED', 'whoever holds the token of the password step holds nothing, not even a half-signed-in session')
  t.equal((await me(full)).statusCode, 200, 'the new cookie is signed in')
  const oldCsrf = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: full.cookie, 'x-csrf-token': half['x-csrf-token'] } })
  t.equal(oldCsrf.json().code, 'CSRF_FAILED', 'the CSRF token of the password step does not go with the new session')
  t.equal(app.storage.sqlite.prepare('select count(*) n from sessions where account_id = ?').pluck().get(account.id), 1, 'one session of the account remains')
})

t.test('R-25.2 a successful sign-in clears the failed attempts of the account, not those of the address', async t => {
  const app = await buildTestApp(t, { config: { security: { lockoutMaxPerAddress: 20 } } })
  const { account } = await createTestAccount(app, 'bureau_user', BUREAU)
  t.same(await fail(app, account.username, 9, () => '10.0.8.1'), Array(9).fill('AUTH_FAILED'))
  t.equal((await login(app, account.username, TEST_PASSWORD, '10.0.8.2')).statusCode, 200, 'the user signs in')
  // Before, the failures stayed counted until the window passed: nine more and the user was locked out.
  t.same(await fail(app, account.username, 9, () => '10.0.8.1'), Array(9).fill('AUTH_FAILED'), 'nine guesses again, each checked')
  t.equal((await login(app, account.username, TEST_PASSWORD, '10.0.8.2')).statusCode, 200, 'and the user still signs in')
  // The address that guessed keeps its 18 failures: two more (any user names) and it is refused.
  await fail(app, 'someone-else', 2, () => '10.0.8.1')
  t.equal((await login(app, account.username, TEST_PASSWORD, '10.0.8.1')).json().code, 'AUTH_LOCKED', 'throttling by address is unchanged')
})

t.test('R-25.2 an administrator\'s failed attempts are cleared by the complete sign-in, not by the password step alone', async t => {
  const app = await buildTestApp(t)
  const admin = await loginAs(app, 'bureau_admin', BUREAU)
  const username = admin.account.username
  const ip = (i: number) => `10.0.9.${i}`
  await fail(app, username, 9, ip)
  const half = await login(app, username, TEST_PASSWORD, '10.0.9.100')
  t.equal(half.json().stage, 'totp', 'the password is right')
  const wrongCode = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: sessionHeaders(half), payload: { code: '000000' } })
  t.equal(wrongCode.json().code, 'AUTH_TOTP_INVALID')
  t.equal((await login(app, username, TEST_PASSWORD, '10.0.9.101')).json().code, 'AUTH_LOCKED', 'the password alone cleared nothing: 10 failures')

  app.storage.sqlite.prepare('update login_attempts set at = at - 600001').run()
  await fail(app, username, 9, ip)
  await loginWith(app, username, TEST_PASSWORD, admin.totpSecret)
  t.same(await fail(app, username, 9, ip), Array(9).fill('AUTH_FAILED'), 'after the second factor, nine guesses are checked again')
  t.ok((await loginWith(app, username, TEST_PASSWORD, admin.totpSecret)).headers.cookie, 'and the administrator signs in')
})

t.test('R-25.2 R-17.4 an administrator unlocks a locked account within its scope and own grants; the unlock is audited', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] }, { grants: ['phone'] })
  const teacherOf = (school: string, klass: string, grants: string[]) => createTestAccount(app, 'teacher', { kind: 'classes', school, classes: [klass] }, { grants })
  const locked = await teacherOf(w.A.code, w.A.classes.A1, ['phone'])
  const granted = await teacherOf(w.A.code, w.A.classes.A1, ['id_number'])
  const elsewhere = await teacherOf(w.B.code, w.B.classes.B1, [])
  let n = 0
  for (const a of [locked, granted, elsewhere]) await fail(app, a.account.username, 10, () => `10.0.10.${n++}`)
  t.equal((await login(app, locked.account.username, TEST_PASSWORD, '10.0.11.1')).json().code, 'AUTH_LOCKED')

  const listed = (await app.inject({ url: '/api/v1/accounts', headers: admin.headers })).json().accounts as Array<{ id: string; locked: boolean }>
  t.same(listed.filter(a => a.locked).map(a => a.id).sort(), [locked.account.id, granted.account.id].sort(), 'the list shows which accounts are locked')
  const unlock = (id: string, headers = admin.headers) => app.inject({ method: 'POST', url: `/api/v1/accounts/${id}/unlock`, headers })

  const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] })
  t.equal((await unlock(locked.account.id, teacher.headers)).json().code, 'FORBIDDEN', 'a teacher manages no account')
  t.equal((await unlock(elsewhere.account.id)).json().code, 'NOT_FOUND', 'an account outside the scope answers as a missing one')
  const wider = await unlock(granted.account.id)
  t.equal(wider.statusCode, 403)
  t.match(wider.json(), { code: 'ACCOUNT_DELEGATION_DENIED', details: { rule: 'GRANTS' } }, 'nor one holding grants the administrator lacks (as for a password reset)')
  t.equal((await login(app, granted.account.username, TEST_PASSWORD, '10.0.11.2')).json().code, 'AUTH_LOCKED', 'which stays locked')

  const done = await unlock(locked.account.id)
  t.equal(done.statusCode, 200, done.body)
  t.match(done.json(), { id: locked.account.id, locked: false })
  t.equal((await login(app, locked.account.username, TEST_PASSWORD, '10.0.11.3')).statusCode, 200, 'the unlocked account signs in')
  t.equal((await unlock(locked.account.id)).json().code, 'ACCOUNT_NOT_LOCKED', 'an account that is not locked is said to be so')
  const entries = readAudit(app.storage).filter(e => e.action === 'POST /api/v1/accounts/:id/unlock')
  t.same(
    entries.map(e => [e.actorId, e.targetTable, e.targetId, e.outcome]),
    [
      [teacher.account.id, null, locked.account.id, 'denied'],
      [admin.account.id, 'accounts', elsewhere.account.id, 'failed'],
      [admin.account.id, 'accounts', granted.account.id, 'denied'],
      [admin.account.id, 'accounts', locked.account.id, 'ok'],
      [admin.account.id, 'accounts', locked.account.id, 'failed'],
    ],
    'every unlock and refusal is in the audit log, with who and which account',
  )
})
