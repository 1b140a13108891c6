import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import tap, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { loadConfigFile } from '../config/load.ts'
import type { Tier } from '../config/schema.ts'
import { openStorage, type Storage } from '../schema/db.ts'
import { initNode, loadIdentity } from '../node/identity.ts'
import { createRedis } from '../node/redis.ts'
import { createServer } from '../node/server.ts'
import { loadSecretsKey } from '../node/auth/secrets.ts'
import { loggerOptions } from '../node/logger.ts'
import type { Actor, Role, Scope } from '../node/auth/access.ts'
import type { AccountView } from '../node/auth/service.ts'
import { STEP_SECONDS, totpCode, timeStep } from '../node/auth/totp.ts'
import { SESSION_COOKIE } from '../node/plugins/auth.ts'
import { deleteRedisPrefix } from '../scripts/lib/processes.ts'

/** The machine's Redis; every test uses its own key prefix so tests never see each other's data. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

const usedPrefixes = new Set<string>()
// When a test file is done, its prefixes' keys go, so the shared Redis does not fill up.
tap.teardown(async () => {
  for (const prefix of usedPrefixes) await deleteRedisPrefix(REDIS_URL, prefix)
})

export function uniquePrefix(): string {
  const prefix = `xueji-test:${randomBytes(6).toString('hex')}`
  usedPrefixes.add(prefix)
  return prefix
}

export interface TestNodeOptions {
  tier?: Tier
  code?: string
  name?: string
  parentUrl?: string | null
  redisUrl?: string
  /** A pino destination stream to capture logs; logs are off otherwise. */
  logStream?: NodeJS.WritableStream
  /** Extra configuration written into xueji.json (e.g. `{ codes: { localDir } }`). */
  config?: Record<string, unknown>
  /** Runs on the node's database before the app is made (a large seed, which would block a started app's queues). */
  prepare?: (storage: Storage) => void
}

/**
 * Builds a real node app (real SQLite file in a fresh temp dir, real Redis with a fresh prefix)
 * for `app.inject` tests, and closes it on teardown.
 */
export async function buildTestApp(t: Test, opts: TestNodeOptions = {}): Promise<FastifyInstance & { dataDir: string }> {
  const dataDir = join(t.testdir(), 'node')
  const tier = opts.tier ?? 'county'
  await initNode({
    dataDir,
    tier,
    code: opts.code ?? (tier === 'province' ? '330000' : tier === 'city' ? '330100' : '330106'),
    name: opts.name ?? '测试教育局',
    parentUrl: opts.parentUrl !== undefined ? opts.parentUrl : tier === 'province' ? null : 'http://127.0.0.1:1',
    config: { ...opts.config, redis: { url: opts.redisUrl ?? REDIS_URL, prefix: uniquePrefix() }, server: { ...(opts.config?.server as object | undefined), port: 0 } },
  })
  const config = loadConfigFile(join(dataDir, 'xueji.json'))
  const storage = openStorage(join(dataDir, 'xueji.db'))
  opts.prepare?.(storage)
  const redis = createRedis(config.redis.url)
  await redis.connect()
  const identity = loadIdentity(storage, config)
  // The node's real logger options (redaction, request serializer), only writing to the stream.
  const logger = opts.logStream ? { ...loggerOptions({ level: 'info' }), stream: opts.logStream } : false
  const secretKey = loadSecretsKey(join(dataDir, 'keys'))
  const app = await createServer({ config, storage, redis, identity, secretKey, logger })
  await app.ready()
  t.teardown(() => app.close())
  return Object.assign(app, { dataDir })
}

// ---------------------------------------------------------------- accounts and login (issue 4)

/** A password that passes the policy (long, random, not common). */
export const TEST_PASSWORD = 'correct horse battery staple 7'

export interface TestLogin {
  /** Send these with every request: the session cookie and the CSRF token. */
  headers: { cookie: string; 'x-csrf-token': string }
  account: AccountView
  actor: Actor
  password: string
  /** The TOTP secret enrolled at the first login (administrators only). */
  totpSecret?: string
}

/** Creates an account directly through the service (no delegation check): test set-up only. */
export async function createTestAccount(
  app: FastifyInstance,
  role: Role,
  scope: Scope,
  opts: { leader?: boolean; grants?: string[]; username?: string; password?: string } = {},
): Promise<{ account: AccountView; password: string }> {
  const password = opts.password ?? TEST_PASSWORD
  const account = await app.auth.createAccount({ username: opts.username ?? `${role}-${randomBytes(4).toString('hex')}`, password, role, scope, leader: opts.leader, grants: opts.grants }, null)
  return { account, password }
}

/**
 * Logs in through the API like a browser: password, then (for administrators) TOTP enrolment
 * and the first code. Returns the headers that carry the session.
 */
export async function loginWith(app: FastifyInstance, username: string, password: string, totpSecret?: string): Promise<Omit<TestLogin, 'account' | 'actor' | 'password'>> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } })
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
  const headers = sessionHeaders(res)
  const { stage } = res.json() as { stage: string }
  if (stage === 'ok') return { headers }
  let secret = totpSecret
  if (stage === 'totp_enrol') {
    const e = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/enrol', headers })
    if (e.statusCode !== 200) throw new Error(`enrol failed: ${e.statusCode} ${e.body}`)
    secret = (e.json() as { secret: string }).secret
  }
  if (!secret) throw new Error('this account needs its TOTP secret to log in')
  const step = await totpStepAfter(app.auth.getByUsername(username)?.totp_last_step ?? null)
  const v = await app.inject({ method: 'POST', url: '/api/v1/auth/totp/verify', headers, payload: { code: totpCode(secret, step) } })
  if (v.statusCode !== 200) throw new Error(`totp failed: ${v.statusCode} ${v.body}`)
  // The second factor starts a new session: its cookie and CSRF token replace those of the password step.
  return { headers: sessionHeaders(v), totpSecret: secret }
}

/** The headers that carry the session a login answer (password step or TOTP step) started. */
export function sessionHeaders(res: { cookies: Array<{ name: string; value: string }>; json(): unknown }): TestLogin['headers'] {
  const cookie = res.cookies.find(c => c.name === SESSION_COOKIE)
  if (!cookie) throw new Error('the answer starts no session')
  return { cookie: `${SESSION_COOKIE}=${cookie.value}`, 'x-csrf-token': (res.json() as { csrfToken: string }).csrfToken }
}

/**
 * A TOTP step the node will accept from an account whose last used step is `last`: a code is
 * accepted once, within one step either side of the node's current one, so up to three logins of
 * one account fit in 30 s (the step before, the current, the next). The step before is used only
 * while more than 5 s of the current step are left, so the node's clock cannot pass into the next
 * step before the code arrives (a CI run lost a login that way); past the third, it waits.
 */
export async function totpStepAfter(last: number | null): Promise<number> {
  for (;;) {
    const now = Date.now()
    const current = timeStep(now)
    const left = (current + 1) * STEP_SECONDS * 1000 - now
    const step = Math.max(left > 5000 ? current - 1 : current, (last ?? -Infinity) + 1)
    if (step <= current + 1) return step
    await new Promise(resolve => setTimeout(resolve, left + 10))
  }
}

/** Creates an account of `role` bound to `scope` and logs it in. */
export async function loginAs(app: FastifyInstance, role: Role, scope: Scope, opts: { leader?: boolean; grants?: string[] } = {}): Promise<TestLogin> {
  const { account, password } = await createTestAccount(app, role, scope, opts)
  const login = await loginWith(app, account.username, password)
  return { ...login, account, actor: { accountId: account.id, username: account.username, role, scope, leader: account.leader, grants: account.grants }, password }
}
