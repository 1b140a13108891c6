import t from 'tap'
import { randomBytes } from 'node:crypto'
import { buildTestApp, createTestAccount, loginAs, loginWith, sessionHeaders, TEST_PASSWORD } from '../../helper.ts'
import { totpCode, timeStep } from '../../../node/auth/totp.ts'
import { checkPasswordPolicy } from '../../../node/auth/passwords.ts'
import { SESSION_COOKIE } from '../../../node/plugins/auth.ts'
import { seedWorld } from './fixtures.ts'

const BUREAU = { kind: 'bureau', node: '330106' } as const
const login = (app: Awaited<ReturnType<typeof buildTestApp>>, username: string, password: string, ip = '10.0.0.1') =>
  app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress: ip })

t.test('R-25.2 passwords: argon2id with m>=19456 KiB t=2 p=1, length >= 8, no composition rules, common passwords refused', async t => {
  const app = await buildTestApp(t)
  const { account } = await createTestAccount(app, 'bureau_user', BUREAU)
  const hash = app.auth.getAccount(account.id)!.password_hash
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.throws(() => checkPasswordPolicy('short12'), { code: 'PASSWORD_TOO_SHORT' })
  t.throws(() => checkPasswordPolicy('password1'), { code: 'PASSWORD_COMMON' })
  t.throws(() => checkPasswordPolicy('Woaini1314'), { code: 'PASSWORD_COMMON' }, 'compared without case')
  t.throws(() => checkPasswordPolicy('12345678'), { code: 'PASSWORD_COMMON' })
  t.doesNotThrow(() => checkPasswordPolicy('alllowercaseletters'), 'no composition rules')
  t.doesNotThrow(() => checkPasswordPolicy('西湖边的小学生们'), 'unicode counts characters')
})

t.test('R-25.2 login: wrong password and unknown user answer the same; a session cookie is httpOnly and SameSite=Strict', async t => {
  const app = await buildTestApp(t)
  const { account } = await createTestAccount(app, 'bureau_user', BUREAU)
  const bad = await login(app, account.username, 'wrong password!!')
  const unknown = await login(app, 'nobody-here', 'wrong password!!')
  t.equal(bad.statusCode, 401)
  t.same(bad.json(), unknown.json())
  t.notOk(JSON.stringify(bad.json()).includes(account.id), 'the answer does not name the account')
  const ok = await login(app, account.username.toUpperCase(), TEST_PASSWORD)
  t.equal(ok.statusCode, 200)
  t.equal(ok.json().stage, 'ok')
  const c = ok.cookies.find(c => c.name === SESSION_COOKIE)!
  t.ok(c.httpOnly)
  t.equal(c.sameSite, 'Strict')
  t.equal(c.path, '/')
  const row = app.storage.sqlite.prepare('select id from sessions').get() as { id: string }
  t.not(row.id, c.value, 'only the hash of the token is stored')
})

t.test('R-25.2 lockout: at most 10 failed guesses per account in 10 minutes, then refused unchecked; per address too', async t => {
  const app = await buildTestApp(t)
  const { account } = await createTestAccount(app, 'bureau_user', BUREAU)
  for (let i = 0; i < 10; i++) t.equal((await login(app, account.username, `wrong password ${i}`, `10.0.1.${i}`)).statusCode, 401)
  const locked = await login(app, account.username, TEST_PASSWORD, '10.0.2.1')
  t.equal(locked.statusCode, 429, 'even the right password is refused while locked')
  t.equal(locked.json().code, 'AUTH_LOCKED')
  // Ten minutes later the window has passed.
  app.storage.sqlite.prepare('update login_attempts set at = at - 600001').run()
  t.equal((await login(app, account.username, TEST_PASSWORD)).statusCode, 200)

  // Per address: spraying one password over many accounts from one address.
  for (let i = 0; i < 50; i++) await login(app, `user${i}`, 'wrong password', '10.9.9.9')
  t.equal((await login(app, account.username, TEST_PASSWORD, '10.9.9.9')).json().code, 'AUTH_LOCKED')
  t.equal((await login(app, account.username, TEST_PASSWORD, '10.9.9.8')).statusCode, 200, 'other addresses are not affected')
})

t.test('R-25.2 lockout cannot be raced: 40 parallel wrong passwords for one account have at most 10 checked; per address likewise', async t => {
  const app = await buildTestApp(t)
  const { account } = await createTestAccount(app, 'bureau_user', BUREAU)
  const countCodes = (rs: { json(): { code: string } }[]) => rs.reduce<Record<string, number>>((m, r) => ((m[r.json().code] = (m[r.json().code] ?? 0) + 1), m), {})
  // Each request from its own address, so only the per-account limit applies.
  const perAccount = countCodes(await Promise.all(Array.from({ length: 40 }, (_, i) => login(app, account.username, `wrong password ${i}`, `10.0.3.${i}`))))
  t.comment(`per account, 40 parallel: ${JSON.stringify(perAccount)}`)
  t.equal(perAccount.AUTH_FAILED, 10, 'exactly 10 checked against the hash (AUTH_FAILED)')
  t.equal(perAccount.AUTH_LOCKED, 30, 'the rest refused unchecked')

  // One address spraying 80 user names in parallel: at most 50 (lockoutMaxPerAddress) are checked.
  const perAddress = countCodes(await Promise.all(Array.from({ length: 80 }, (_, i) => login(app, `sprayed${i}`, 'wrong password', '10.9.8.7'))))
  t.comment(`per address, 80 parallel: ${JSON.stringify(perAddress)}`)
  t.equal(perAddress.AUTH_FAILED, 50)
  t.equal(perAddress.AUTH_LOCKED, 30)
  const rows = app.storage.sqlite.prepare("select count(*) n from login_attempts where ip = '10.9.8.7'").get() as { n: number }
  t.equal(rows.n, 50, 'refused attempts reserve nothing')
})

t.test('R-25.2 TOTP is required for bureau and school administrators: enrolment at first login, then a code each time', async t => {
  const app = await buildTestApp(t)
  seedWorld(app)
  const { account } = await createTestAccount(app, 'school_admin', { kind: 'schools', schools: ['3301060001'] })
  const first = await login(app, account.username, TEST_PASSWORD)
  t.equal(first.json().stage, 'totp_enrol')
  const headers = sessionHeaders(first)
  const blocked = await app.inject({ url: '/api/v1/accounts', headers })
  t.equal(blocked.statusCode, 401)
  t.equal(blocked.json().code, 'AUTH_TOTP_REQUIRED', 'the password alone opens nothing')
  const enrol = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers })
  const { secret, uri } = enrol.json()
  t.match(uri, /^otpauth:\/\/totp\//)
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers, payload: { code: '000000' === totpCode(secret, timeStep(Date.now())) ? '111111' : '000000' } })
  t.equal(wrong.json().code, 'AUTH_TOTP_INVALID')
  const step = timeStep(Date.now())
  const ok = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers, payload: { code: totpCode(secret, step) } })
  t.equal(ok.statusCode, 200)
  t.equal((await app.inject({ url: '/api/v1/accounts', headers: sessionHeaders(ok) })).statusCode, 200, 'the session the code started')

  // Next login: a code is required, and the same code is not accepted twice.
  const second = await login(app, account.username, TEST_PASSWORD)
  t.equal(second.json().stage, 'totp')
  const h2 = sessionHeaders(second)
  const replay = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: h2, payload: { code: totpCode(secret, step) } })
  t.equal(replay.json().code, 'AUTH_TOTP_INVALID', 'replayed code refused')
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: h2, payload: { code: totpCode(secret, step + 1) } })).statusCode, 200)

  // Teachers and students need no second factor.
  const teacher = await createTestAccount(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  t.equal((await login(app, teacher.account.username, TEST_PASSWORD)).json().stage, 'ok')
})

t.test('R-25.2 sessions end after 15 idle minutes, after 8 hours in any case, at logout and when the account is disabled', async t => {
  const app = await buildTestApp(t)
  const me = (h: Record<string, string>) => app.inject({ url: '/api/v1/auth/me', headers: h })
  const sql = app.storage.sqlite

  const a = await loginAs(app, 'bureau_user', BUREAU)
  t.equal((await me(a.headers)).statusCode, 200)
  sql.prepare('update sessions set last_seen_at = last_seen_at - ? where account_id = ?').run(15 * 60_000 + 1000, a.account.id)
  t.equal((await me(a.headers)).json().code, 'AUTH_REQUIRED', 'idle timeout')

  const b = await loginAs(app, 'bureau_user', BUREAU)
  // Active all along (last seen now) but logged in 8 hours ago.
  sql.prepare('update sessions set created_at = created_at - ? where account_id = ?').run(8 * 3_600_000 + 1000, b.account.id)
  t.equal((await me(b.headers)).statusCode, 401, 'absolute timeout')

  const c = await loginAs(app, 'bureau_user', BUREAU)
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: c.headers })).statusCode, 204)
  t.equal((await me(c.headers)).statusCode, 401, 'logout ends the session server-side (a copied cookie is dead)')

  const admin = await loginAs(app, 'bureau_admin', BUREAU, { grants: [] })
  const d = await loginAs(app, 'bureau_user', BUREAU)
  t.equal((await me(d.headers)).statusCode, 200)
  const dis = await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${d.account.id}`, headers: admin.headers, payload: { disabled: true } })
  t.equal(dis.statusCode, 200, dis.body)
  t.equal((await me(d.headers)).statusCode, 401, 'disabling ends the session at once')
  t.equal((await login(app, d.account.username, TEST_PASSWORD)).statusCode, 401, 'and the account cannot log in')
})

t.test('R-25.2 CSRF: a state-changing request without the session token is refused', async t => {
  const app = await buildTestApp(t)
  const admin = await loginAs(app, 'bureau_admin', BUREAU)
  const body = { username: 'viewer1', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU }
  const none = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: { cookie: admin.headers.cookie }, payload: body })
  t.equal(none.statusCode, 403)
  t.equal(none.json().code, 'CSRF_FAILED')
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: { cookie: admin.headers.cookie, 'x-csrf-token': 'guess' }, payload: body })
  t.equal(wrong.json().code, 'CSRF_FAILED')
  const other = await loginAs(app, 'bureau_user', BUREAU)
  const foreign = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: { cookie: admin.headers.cookie, 'x-csrf-token': other.headers['x-csrf-token'] }, payload: body })
  t.equal(foreign.json().code, 'CSRF_FAILED', 'another session\'s token does not do')
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload: body })).statusCode, 201)
  const logout = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie: admin.headers.cookie } })
  t.equal(logout.json().code, 'CSRF_FAILED', 'even logout (no forced logout from another site)')
})

t.test('R-25.2 security headers on every answer; API answers are not cached', async t => {
  const app = await buildTestApp(t)
  const a = await loginAs(app, 'bureau_user', BUREAU)
  const res = await app.inject({ url: '/api/v1/auth/me', headers: a.headers })
  t.equal(res.headers['x-content-type-options'], 'nosniff')
  t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
  t.match(String(res.headers['content-security-policy']), /frame-ancestors 'self'/)
  t.equal(res.headers['cache-control'], 'no-store')
  t.equal((await app.inject('/healthz')).headers['x-content-type-options'], 'nosniff')
  // Refusals and unknown addresses too.
  for (const url of ['/api/v1/auth/me', '/api/v1/no-such-route']) {
    const refused = await app.inject({ url })
    t.ok(refused.statusCode >= 400, `${url}: ${refused.statusCode}`)
    t.equal(refused.headers['x-frame-options'], 'SAMEORIGIN', url)
    t.match(String(refused.headers['content-security-policy']), /default-src 'self'/, url)
  }
})

t.test('R-25.2 every /api/v1 route must declare its permission, or the node refuses to start', async t => {
  const app = await buildTestApp(t)
  t.ok(app.apiRoutes.length > 10)
  t.ok(app.apiRoutes.every(r => r.permission))
  const Fastify = (await import('fastify')).default
  const bare = Fastify()
  bare.decorate('storage', app.storage)
  bare.decorate('config', app.config)
  await bare.register((await import('../../../node/plugins/errors.ts')).default)
  await bare.register((await import('../../../node/plugins/auth.ts')).default, { secretKey: randomBytes(32) })
  t.teardown(() => bare.close())
  t.throws(() => bare.get('/api/v1/unguarded', async () => 'open'), /must declare config.permission/)
  t.doesNotThrow(() => bare.get('/api/v1/guarded', { config: { permission: 'stats:read' } }, async () => 'ok'))
})

t.test('R-25.2 password change ends every session; the new password must pass the policy', async t => {
  const app = await buildTestApp(t)
  const a = await loginAs(app, 'bureau_user', BUREAU)
  const weak = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: a.headers, payload: { currentPassword: TEST_PASSWORD, newPassword: 'qwertyuiop' } })
  t.equal(weak.json().code, 'PASSWORD_COMMON')
  const ok = await app.inject({ method: 'POST', url: '/api/v1/auth/password', headers: a.headers, payload: { currentPassword: TEST_PASSWORD, newPassword: 'a much better passphrase' } })
  t.equal(ok.statusCode, 204)
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: a.headers })).statusCode, 401)
  await loginWith(app, a.account.username, 'a much better passphrase')
})
