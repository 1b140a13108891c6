import { randomBytes, randomUUID } from 'node:crypto'
import { sha256Hex } from '../../sync/canonical.ts'
import type { Config } from '../../config/schema.ts'
import type { Storage } from '../../schema/db.ts'
import { statementCache } from '../../schema/statements.ts'
import { ROLES, SCOPE_KIND_OF_ROLE, type Actor, type Role, type Scope } from './access.ts'
import { auditedWrite } from './audit.ts'
import { authError } from './errors.ts'
import { checkPasswordPolicy, hashPassword, verifyPassword, type Argon2Params } from './passwords.ts'
import { decryptSecret, encryptSecret, isEncrypted } from './secrets.ts'
import { newTotpSecret, otpauthUri, verifyTotp } from './totp.ts'

/**
 * Accounts, sessions and login (R-17.x, R-25.2). A factory over the node's storage; the Fastify
 * plugin (node/plugins/auth.ts) exposes it as `app.auth`. No HTTP here, so the CLI uses it too.
 * Writes a user makes go through `auditedWrite`: when called for an API request, the request's
 * audit entry commits with them.
 */

/** Roles that need a TOTP second factor: the administrators of bureaus and schools. */
export const TOTP_ROLES: readonly Role[] = ['bureau_admin', 'central_school_admin', 'school_admin']

export interface AccountRow {
  id: string
  username: string
  password_hash: string
  role: Role
  scope_json: string
  leader: number
  grants_json: string
  /** Encrypted (secrets.ts `v1:…`, bound to the account id). */
  totp_secret: string | null
  totp_pending_secret: string | null
  totp_last_step: number | null
  created_by: string | null
  created_at: string
  password_changed_at: string
  disabled_at: string | null
}

/** What the API shows of an account (no hash, no secret). */
export interface AccountView {
  id: string
  username: string
  role: Role
  scope: Scope
  leader: boolean
  grants: string[]
  totpEnrolled: boolean
  disabled: boolean
  /** Refused at login now: its failed attempts in the window reached security.lockoutMaxPerAccount. */
  locked: boolean
  createdBy: string | null
  createdAt: string
}

export interface SessionRow {
  id: string
  account_id: string
  csrf_token: string
  stage: 'totp' | 'totp_enrol' | 'ok'
  created_at: number
  last_seen_at: number
  ip: string | null
}

export type LoginStage = SessionRow['stage']

export interface NewAccountInput {
  username: string
  password: string
  role: Role
  scope: Scope
  leader?: boolean
  grants?: string[]
}

export function actorOfAccount(a: AccountRow): Actor {
  return { accountId: a.id, username: a.username, role: a.role, scope: JSON.parse(a.scope_json) as Scope, leader: a.leader === 1, grants: JSON.parse(a.grants_json) as string[] }
}

export function viewOfAccount(a: AccountRow, locked: boolean): AccountView {
  const actor = actorOfAccount(a)
  return {
    id: a.id, username: a.username, role: a.role, scope: actor.scope, leader: actor.leader, grants: actor.grants,
    totpEnrolled: a.totp_secret !== null, disabled: a.disabled_at !== null, locked, createdBy: a.created_by, createdAt: a.created_at,
  }
}

/** Login names compare without case and surrounding blanks. */
export const normaliseUsername = (u: string) => u.trim().toLowerCase()

/** The key of a user name in login_attempts: SHA-256 hex of the normalised name (a student's user name may be their name). */
const userKeyOf = (username: string) => sha256Hex(normaliseUsername(username))

export interface AuthServiceDeps {
  storage: Storage
  config: Config
  /** The node's secret key (keys/secrets.key, node/auth/secrets.ts): TOTP secrets are stored encrypted under it. */
  secretKey: Buffer
  /** Injected clock for expiry and lockout tests. */
  now?: () => number
}

export function createAuthService({ storage, config, secretKey, now = Date.now }: AuthServiceDeps) {
  const sec = config.security
  const argon: Argon2Params = { memoryKiB: sec.hashMemoryKib, timeCost: sec.hashIterations, parallelism: sec.hashParallelism }
  // Kept: a session is looked up on every request.
  const prepare = statementCache(storage.sqlite)
  const windowMs = sec.lockoutWindowMinutes * 60_000
  // Verifying against a dummy hash when the user does not exist keeps the answer time the same,
  // so timing does not tell which user names exist.
  let dummyHash: Promise<string> | undefined

  const getAccount = (id: string) => prepare('select * from accounts where id = ?').get(id) as AccountRow | undefined
  const getByUsername = (u: string) => prepare('select * from accounts where username = ?').get(normaliseUsername(u)) as AccountRow | undefined

  /** Failed attempts counted against the user name since `since` (epoch ms). */
  const failuresOf = (userKey: string, since: number) => (prepare('select count(*) n from login_attempts where user_key = ? and at > ? and ok = 0').get(userKey, since) as { n: number }).n
  const isLocked = (a: AccountRow) => failuresOf(userKeyOf(a.username), now() - windowMs) >= sec.lockoutMaxPerAccount

  /**
   * Forgets the failed attempts of an account (a complete sign-in, an administrator's unlock).
   * They still count for the address they came from: only their user key is blanked, so a
   * guesser's address stays throttled while the account is free again.
   */
  function clearFailures(account: AccountRow) {
    storage.write(() => prepare("update login_attempts set user_key = '' where user_key = ? and ok = 0").run(userKeyOf(account.username)))
  }

  /** What the API shows of accounts, with whether each is locked out now: one query for a whole list. */
  function viewsOf(rows: AccountRow[]): AccountView[] {
    const locked = new Set(
      (prepare('select user_key from login_attempts where at > ? and ok = 0 group by user_key having count(*) >= ?').all(now() - windowMs, sec.lockoutMaxPerAccount) as { user_key: string }[]).map(r => r.user_key),
    )
    return rows.map(a => viewOfAccount(a, locked.size > 0 && locked.has(userKeyOf(a.username))))
  }

  function endSessionsOf(accountId: string): number {
    return auditedWrite(storage, () => prepare('delete from sessions where account_id = ?').run(accountId).changes)
  }

  /**
   * Reserves one login attempt, counted as a failure until `settleAttempt` marks it good, or
   * refuses with AUTH_LOCKED when the account or the address has used up its window. Check and
   * reservation are one IMMEDIATE transaction, so parallel guesses cannot all pass the check
   * while the first ones are still being hashed.
   */
  function reserveAttempt(userKey: string, ip: string): number {
    return storage.write(() => {
      const t = now()
      const since = t - windowMs
      const perAccount = failuresOf(userKey, since)
      const perAddress = (prepare('select count(*) n from login_attempts where ip = ? and at > ? and ok = 0').get(ip, since) as { n: number }).n
      if (perAccount >= sec.lockoutMaxPerAccount || perAddress >= sec.lockoutMaxPerAddress) {
        throw authError('AUTH_LOCKED', `登录失败次数过多，请 ${sec.lockoutWindowMinutes} 分钟后再试`, { windowMinutes: sec.lockoutWindowMinutes })
      }
      // Old attempts serve no purpose once outside the window; keep the table small.
      prepare('delete from login_attempts where at < ?').run(t - 2 * windowMs)
      return Number(prepare('insert into login_attempts (user_key, ip, at, ok) values (?, ?, ?, 0)').run(userKey, ip, t).lastInsertRowid)
    })
  }

  /** A reserved attempt that succeeded no longer counts as a failure. */
  function settleAttempt(id: number) {
    storage.write(() => prepare('update login_attempts set ok = 1 where id = ?').run(id))
  }

  function newSession(account: AccountRow, stage: LoginStage, ip: string) {
    const token = randomBytes(32).toString('base64url')
    const csrfToken = randomBytes(32).toString('base64url')
    const t = now()
    storage.write(() => {
      prepare('insert into sessions (id, account_id, csrf_token, stage, created_at, last_seen_at, ip) values (?, ?, ?, ?, ?, ?, ?)').run(sha256Hex(token), account.id, csrfToken, stage, t, t, ip)
    })
    return { token, csrfToken, stage }
  }

  return {
    getAccount,
    getByUsername,
    endSessionsOf,
    viewsOf,

    async createAccount(input: NewAccountInput, createdBy: string | null): Promise<AccountView> {
      if (!ROLES.includes(input.role) || input.scope.kind !== SCOPE_KIND_OF_ROLE[input.role]) throw authError('ACCOUNT_DELEGATION_DENIED', '角色与授权范围不匹配', { rule: 'SCOPE_KIND' })
      checkPasswordPolicy(input.password)
      const username = normaliseUsername(input.username)
      if (getByUsername(username)) throw authError('ACCOUNT_EXISTS', '该用户名已被使用')
      const passwordHash = await hashPassword(input.password, argon)
      const id = randomUUID()
      const at = new Date(now()).toISOString()
      auditedWrite(
        storage,
        () => {
          prepare('insert into accounts (id, username, password_hash, role, scope_json, leader, grants_json, created_by, created_at, password_changed_at) values (?,?,?,?,?,?,?,?,?,?)').run(
            id, username, passwordHash, input.role, JSON.stringify(input.scope), input.leader ? 1 : 0, JSON.stringify(input.grants ?? []), createdBy, at, at,
          )
        },
        () => ({ targetTable: 'accounts', targetId: id }),
      )
      return viewsOf([getAccount(id)!])[0]
    },

    listAccounts(): AccountRow[] {
      return prepare('select * from accounts order by created_at, username').all() as AccountRow[]
    },

    /** Changes scope, leader flag or grants. The caller has checked delegation. */
    updateAccount(id: string, patch: { scope?: Scope; leader?: boolean; grants?: string[] }): void {
      auditedWrite(storage, () => {
        if (patch.scope) prepare('update accounts set scope_json = ? where id = ?').run(JSON.stringify(patch.scope), id)
        if (patch.leader !== undefined) prepare('update accounts set leader = ? where id = ?').run(patch.leader ? 1 : 0, id)
        if (patch.grants) prepare('update accounts set grants_json = ? where id = ?').run(JSON.stringify(patch.grants), id)
        // A narrower scope or fewer rights take effect at once: the account signs in again.
        prepare('delete from sessions where account_id = ?').run(id)
      })
    },

    /** Disabling ends every session of the account at once. */
    setDisabled(id: string, disabled: boolean): void {
      auditedWrite(storage, () => {
        prepare('update accounts set disabled_at = ? where id = ?').run(disabled ? new Date(now()).toISOString() : null, id)
        if (disabled) prepare('delete from sessions where account_id = ?').run(id)
      })
    },

    /**
     * An administrator's unlock (R-25.2): the account's failed attempts are forgotten, so it signs
     * in again at once. What its guessers' addresses used up stays used up.
     */
    unlock(account: AccountRow): void {
      auditedWrite(storage, () => {
        if (!isLocked(account)) throw authError('ACCOUNT_NOT_LOCKED', '该账号未被锁定')
        clearFailures(account)
      })
    },

    async setPassword(id: string, password: string): Promise<void> {
      checkPasswordPolicy(password)
      const passwordHash = await hashPassword(password, argon)
      auditedWrite(storage, () => {
        prepare('update accounts set password_hash = ?, password_changed_at = ? where id = ?').run(passwordHash, new Date(now()).toISOString(), id)
        prepare('delete from sessions where account_id = ?').run(id)
      })
    },

    /** Forgets the TOTP secret: the account enrols again at its next login. */
    resetTotp(id: string): void {
      auditedWrite(storage, () => {
        prepare('update accounts set totp_secret = null, totp_pending_secret = null, totp_last_step = null where id = ?').run(id)
        prepare('delete from sessions where account_id = ?').run(id)
      })
    },

    /**
     * Password step of the login. Throttled per user name and per address; the 11th guess inside
     * the window is refused before the password is even checked. A login complete with it (no
     * second factor) clears the account's failed attempts.
     */
    async login(username: string, password: string, ip: string): Promise<{ account: AccountRow; token: string; csrfToken: string; stage: LoginStage }> {
      const attempt = reserveAttempt(userKeyOf(username), ip)
      const account = getByUsername(username)
      dummyHash ??= hashPassword('not-a-real-password', argon)
      const ok = account ? await verifyPassword(account.password_hash, password) : (await verifyPassword(await dummyHash, password), false)
      if (!account || !ok || account.disabled_at !== null) {
        throw authError('AUTH_FAILED', '用户名或密码错误', account ? { accountId: account.id } : undefined)
      }
      const totp = TOTP_ROLES.includes(account.role) && !config.security.demoLoginWithoutTotp
      const stage: LoginStage = totp ? (account.totp_secret ? 'totp' : 'totp_enrol') : 'ok'
      const session = auditedWrite(
        storage,
        () => {
          settleAttempt(attempt)
          if (stage === 'ok') clearFailures(account)
          return newSession(account, stage, ip)
        },
        () => ({ actorId: account.id, actorRole: account.role }),
      )
      return { account, ...session }
    },

    /**
     * The session of a cookie token, or null when there is none, it expired (idle or absolute;
     * then it is deleted) or its account is disabled.
     */
    session(token: string): { session: SessionRow; account: AccountRow } | null {
      const id = sha256Hex(token)
      const s = prepare('select * from sessions where id = ?').get(id) as SessionRow | undefined
      if (!s) return null
      const t = now()
      const account = getAccount(s.account_id)
      const expired = t - s.last_seen_at > sec.idleTimeoutMinutes * 60_000 || t - s.created_at > sec.absoluteTimeoutHours * 3_600_000
      if (expired || !account || account.disabled_at !== null) {
        storage.write(() => prepare('delete from sessions where id = ?').run(id))
        return null
      }
      // Touch at most every 15 s: a page load's burst of requests then costs one write.
      if (t - s.last_seen_at > 15_000) storage.write(() => prepare('update sessions set last_seen_at = ? where id = ?').run(t, id))
      return { session: s, account }
    },

    /**
     * Checks the password of a signed-in account again (a password change). Throttled and counted
     * like the login's password step, so a session left open or taken over cannot be used to guess
     * the password behind it.
     */
    async checkPassword(account: AccountRow, password: string, ip: string): Promise<void> {
      const attempt = reserveAttempt(userKeyOf(account.username), ip)
      if (!(await verifyPassword(account.password_hash, password))) throw authError('AUTH_FAILED', '当前密码错误')
      settleAttempt(attempt)
    },

    endSession(token: string): void {
      auditedWrite(storage, () => prepare('delete from sessions where id = ?').run(sha256Hex(token)))
    },

    /** Starts TOTP enrolment: a new secret, shown once, confirmed by the first valid code. */
    beginTotpEnrolment(account: AccountRow, issuer: string): { secret: string; uri: string } {
      const secret = newTotpSecret()
      auditedWrite(storage, () => prepare('update accounts set totp_pending_secret = ? where id = ?').run(encryptSecret(secretKey, secret, account.id), account.id))
      return { secret, uri: otpauthUri(secret, account.username, issuer) }
    },

    /**
     * Encrypts TOTP secrets still stored in clear (by a node of an earlier version); returns how
     * many accounts had one. Run at start; a clear value is refused afterwards.
     */
    encryptClearSecrets(): number {
      const rows = prepare('select id, totp_secret, totp_pending_secret from accounts where totp_secret is not null or totp_pending_secret is not null').all() as Pick<AccountRow, 'id' | 'totp_secret' | 'totp_pending_secret'>[]
      const seal = (id: string, v: string | null) => (v === null || isEncrypted(v) ? v : encryptSecret(secretKey, v, id))
      const clear = rows.filter(r => [r.totp_secret, r.totp_pending_secret].some(v => v !== null && !isEncrypted(v)))
      storage.write(() => {
        for (const r of clear) prepare('update accounts set totp_secret = ?, totp_pending_secret = ? where id = ?').run(seal(r.id, r.totp_secret), seal(r.id, r.totp_pending_secret), r.id)
      })
      return clear.length
    },

    /**
     * Second step of the login. Wrong codes count as failed logins of the account, so the same
     * lockout bounds guessing. On success the half-signed-in session ends and a new one starts,
     * with its own token and CSRF token: a token of the password step, planted in the browser or
     * seen by someone else (session fixation), never becomes a signed-in session. The account's
     * failed attempts are cleared.
     */
    checkTotp(token: string, session: SessionRow, account: AccountRow, code: string, ip: string): { token: string; csrfToken: string } {
      const enrolling = session.stage === 'totp_enrol'
      const stored = enrolling ? account.totp_pending_secret : account.totp_secret
      if (!stored) throw authError('AUTH_STAGE_INVALID', enrolling ? '请先开始绑定动态口令' : '该账号尚未绑定动态口令')
      const attempt = reserveAttempt(userKeyOf(account.username), ip)
      const step = verifyTotp(decryptSecret(secretKey, stored, account.id), code.trim(), now(), account.totp_last_step)
      if (step === null) {
        throw authError('AUTH_TOTP_INVALID', '动态口令错误或已使用，请输入验证器当前显示的 6 位数字')
      }
      return auditedWrite(storage, () => {
        // The pending secret becomes the secret as stored (encrypted, bound to the same account).
        if (enrolling) prepare('update accounts set totp_secret = ?, totp_pending_secret = null, totp_last_step = ? where id = ?').run(stored, step, account.id)
        else prepare('update accounts set totp_last_step = ? where id = ?').run(step, account.id)
        // Gone already: a parallel request completed this login with the same token.
        if (prepare('delete from sessions where id = ?').run(sha256Hex(token)).changes === 0) throw authError('AUTH_REQUIRED', '请先登录')
        settleAttempt(attempt)
        clearFailures(account)
        return newSession(account, 'ok', ip)
      })
    },
  }
}

export type AuthService = ReturnType<typeof createAuthService>
