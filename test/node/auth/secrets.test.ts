import t from 'tap'
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { buildTestApp, createTestAccount, loginAs, loginWith, sessionHeaders, totpStepAfter } from '../../helper.ts'
import { createSecretsKey, decryptSecret, encryptSecret, loadSecretsKey } from '../../../node/auth/secrets.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import { totpCode } from '../../../node/auth/totp.ts'
import { startNode } from '../../../node/server.ts'

const BUREAU = { kind: 'bureau', node: '330106' } as const
const STORED = /^v1:[A-Za-z0-9_-]{16}:[A-Za-z0-9_-]{22}:[A-Za-z0-9_-]+$/

type App = Awaited<ReturnType<typeof buildTestApp>>
const totpColumns = (app: App, id: string) =>
  app.storage.sqlite.prepare('select totp_secret, totp_pending_secret from accounts where id = ?').get(id) as { totp_secret: string | null; totp_pending_secret: string | null }

/** The password step of a login; answers the headers of the half-open session. */
async function passwordStep(app: App, username: string, password: string) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } })
  return { stage: (res.json() as { stage: string }).stage, headers: sessionHeaders(res) }
}

const nextCode = async (app: App, username: string, secret: string) => totpCode(secret, await totpStepAfter(app.auth.getByUsername(username)?.totp_last_step ?? null))

t.test('R-25.2 TOTP secrets are stored encrypted (AES-256-GCM, v1:iv:tag:ciphertext); enrolment and login with TOTP still work', async t => {
  const app = await buildTestApp(t)
  const { account, password } = await createTestAccount(app, 'school_admin', { kind: 'schools', schools: ['3301060001'] })
  const first = await passwordStep(app, account.username, password)
  t.equal(first.stage, 'totp_enrol')
  const { secret } = (await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers: first.headers })).json() as { secret: string }
  t.match(secret, /^[A-Z2-7]{32}$/, 'the secret is shown once, in clear, to the user enrolling')
  const pending = totpColumns(app, account.id).totp_pending_secret!
  t.match(pending, STORED, 'the pending secret is stored encrypted')
  t.notOk(pending.includes(secret))

  const verify = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: first.headers, payload: { code: await nextCode(app, account.username, secret) } })
  t.equal(verify.statusCode, 200, verify.body)
  const row = totpColumns(app, account.id)
  t.match(row.totp_secret, STORED, 'the confirmed secret is stored encrypted')
  t.notOk(row.totp_secret!.includes(secret), 'the stored column does not contain the secret')
  t.equal(row.totp_pending_secret, null)
  t.equal(decryptSecret(loadSecretsKey(join(app.dataDir, 'keys')), row.totp_secret!, account.id), secret, 'it decrypts under the node key')

  // A later login: password, then the code of the same authenticator.
  const again = await loginWith(app, account.username, password, secret)
  t.equal((await app.inject({ url: '/api/v1/auth/me', headers: again.headers })).statusCode, 200, 'login with TOTP works')

  // Nowhere in the database files, not even in old pages of the WAL.
  for (const file of ['xueji.db', 'xueji.db-wal']) {
    const path = join(app.dataDir, file)
    if (existsSync(path)) t.notOk(readFileSync(path).includes(secret), `${file} does not contain the secret`)
  }
})

t.test('R-25.2 a tampered TOTP ciphertext is refused with SECRET_TAMPERED, and so is one moved to another account', async t => {
  const app = await buildTestApp(t)
  const a = await loginAs(app, 'bureau_admin', BUREAU)
  const b = await loginAs(app, 'bureau_admin', BUREAU)
  const sql = app.storage.sqlite
  const stored = totpColumns(app, a.account.id).totp_secret!

  const refused = async (what: string, value: string) => {
    sql.prepare('update accounts set totp_secret = ? where id = ?').run(value, a.account.id)
    const step = await passwordStep(app, a.account.username, a.password)
    t.equal(step.stage, 'totp', `${what}: the password step passes`)
    const res = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers: step.headers, payload: { code: await nextCode(app, a.account.username, a.totpSecret!) } })
    t.equal(res.json().code, 'SECRET_TAMPERED', `${what}: refused`)
    t.equal(res.statusCode, 500)
  }
  const [v, iv, tag, ct] = stored.split(':')
  const flip = (part: string) => {
    const buf = Buffer.from(part, 'base64url')
    buf[0] ^= 1
    return buf.toString('base64url')
  }
  await refused('a changed ciphertext', [v, iv, tag, flip(ct)].join(':'))
  await refused('a changed tag', [v, iv, flip(tag), ct].join(':'))
  await refused('a changed IV', [v, flip(iv), tag, ct].join(':'))
  await refused('a truncated value', [v, iv, tag].join(':'))
  await refused('the ciphertext of another account', totpColumns(app, b.account.id).totp_secret!)
  await refused('a clear secret written into the column', a.totpSecret!)
  t.ok(readAudit(app.storage).some(e => e.action === 'login_totp' && e.actorId === a.account.id && e.code === 'SECRET_TAMPERED' && e.outcome === 'failed'), 'the refusal is audited')

  sql.prepare('update accounts set totp_secret = ? where id = ?').run(stored, a.account.id)
  await loginWith(app, a.account.username, a.password, a.totpSecret)
  t.pass('the untouched value still works')

  // The functions themselves.
  const key = randomBytes(32)
  const sealed = encryptSecret(key, 'JBSWY3DPEHPK3PXP', 'account-1')
  t.not(sealed, encryptSecret(key, 'JBSWY3DPEHPK3PXP', 'account-1'), 'a fresh IV every time')
  t.equal(decryptSecret(key, sealed, 'account-1'), 'JBSWY3DPEHPK3PXP')
  t.throws(() => decryptSecret(randomBytes(32), sealed, 'account-1'), { code: 'SECRET_TAMPERED' }, 'another key')
  t.throws(() => decryptSecret(key, sealed, 'account-2'), { code: 'SECRET_TAMPERED' }, 'another context')
  t.throws(() => decryptSecret(key, sealed.replace(/^v1:/, 'v2:'), 'account-1'), { code: 'SECRET_TAMPERED' }, 'an unknown version')
})

t.test('R-25.2 keys/secrets.key: 32 random bytes, mode 0600, made by xueji init; refused when others may read it', async t => {
  const app = await buildTestApp(t)
  const keys = join(app.dataDir, 'keys')
  const file = join(keys, 'secrets.key')
  t.equal(statSync(file).mode & 0o777, 0o600, 'key file mode 0600')
  t.equal(statSync(keys).mode & 0o777, 0o700, 'keys directory 0700')
  t.equal(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64url').length, 32, '32 bytes, base64url')
  t.equal(loadSecretsKey(keys).length, 32)
  t.throws(() => createSecretsKey(keys), /already exists/, 'never silently replaced (every stored secret would be lost)')
  chmodSync(file, 0o644)
  t.throws(() => loadSecretsKey(keys), { code: 'KEY_FILE_PERMISSIONS' }, 'a key others can read is refused')
  chmodSync(file, 0o600)
})

t.test('R-25.2 a node initialised before secrets were encrypted makes its key at start and encrypts the clear TOTP secrets', async t => {
  const app = await buildTestApp(t)
  const admin = await loginAs(app, 'bureau_admin', BUREAU)
  const keyFile = join(app.dataDir, 'keys', 'secrets.key')
  // As such a node left it: the secret in clear, no key file.
  app.storage.sqlite.prepare('update accounts set totp_secret = ? where id = ?').run(admin.totpSecret, admin.account.id)
  await app.close()
  rmSync(keyFile)

  const node = await startNode(app.dataDir, {})
  t.teardown(() => node.stop())
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key file is made at start, mode 0600')
  const stored = (node.server.storage.sqlite.prepare('select totp_secret from accounts where id = ?').get(admin.account.id) as { totp_secret: string }).totp_secret
  t.match(stored, STORED, 'the clear secret was encrypted')
  t.equal(decryptSecret(loadSecretsKey(join(app.dataDir, 'keys')), stored, admin.account.id), admin.totpSecret)
  const login = await loginWith(node.server, admin.account.username, admin.password, admin.totpSecret)
  t.equal((await node.server.inject({ url: '/api/v1/auth/me', headers: login.headers })).statusCode, 200, 'the administrator logs in as before')
})

t.test('R-25.2 a node holding encrypted TOTP secrets does not start without keys/secrets.key (SECRET_KEY_MISSING) rather than make a new key that orphans them', async t => {
  const app = await buildTestApp(t)
  const admin = await loginAs(app, 'bureau_admin', BUREAU)
  const keyFile = join(app.dataDir, 'keys', 'secrets.key')
  const saved = readFileSync(keyFile)
  await app.close()
  rmSync(keyFile)
  await t.rejects(startNode(app.dataDir, {}), { code: 'SECRET_KEY_MISSING', message: /restore keys\// })
  t.notOk(existsSync(keyFile), 'no new key was made')
  writeFileSync(keyFile, saved, { mode: 0o600 })
  const node = await startNode(app.dataDir, {})
  t.teardown(() => node.stop())
  const login = await loginWith(node.server, admin.account.username, admin.password, admin.totpSecret)
  t.equal((await node.server.inject({ url: '/api/v1/auth/me', headers: login.headers })).statusCode, 200, 'with the key restored the administrator logs in as before')
})
