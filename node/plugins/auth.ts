import fp from 'fastify-plugin'
import { timingSafeEqual } from 'node:crypto'
import cookie from '@fastify/cookie'
import helmet, { type HelmetOptions } from 'helmet'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { XuejiError } from '../../config/errors.ts'
import { isLoopbackHost } from '../../config/load.ts'
import { can, inScope, type Actor, type Permission, type Target } from '../auth/access.ts'
import { appendAudit, ensureAuditKey, runInRequest, type AuditEntry, type AuditNote, type RequestAudit } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { actorOfAccount, createAuthService, type AccountRow, type AuthService, type SessionRow } from '../auth/service.ts'

/**
 * Authentication and authorization for every `/api/v1` route, in one place:
 *
 * 1. Every `/api/v1` route declares `config: { permission }` — a Permission of access.ts,
 *    `'signed_in'` (any account with a complete login) or `'public'` (login itself). A route
 *    without one fails at registration, so nothing new can be added unguarded.
 * 2. An onRequest hook reads the session cookie, sets `req.actor`, refuses a state-changing
 *    request without the session's CSRF token (403 CSRF_FAILED), then checks the function:
 *    401 AUTH_REQUIRED without a session, 403 FORBIDDEN for a role lacking the permission.
 * 3. Handlers check the object with `assertInScope(req, target)`: a record outside the scope
 *    answers 404 NOT_FOUND, exactly like a missing one, so its existence does not leak.
 * 4. Audit: a successful write commits its entry in its own transaction
 *    (`auditedWrite` of node/auth/audit.ts, called by the services and routes that write; the
 *    handler runs with the request as its context). An onSend hook writes the entry of every
 *    other audited request: denials, failed logins and writes, reveals, and reads whose handler
 *    names their action in `req.audit.action` (disclosures: a look-up by ID number, a certificate).
 */

/** Route-level access declaration. */
export type RouteAccess = Permission | 'signed_in' | 'public'

/** One `/api/v1` route as registered, for the authorization-matrix test and docs. */
export interface ApiRoute {
  method: string
  url: string
  permission: RouteAccess
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Required on every /api/v1 route; see node/plugins/auth.ts. */
    permission?: RouteAccess
    /** The login route: it ends the session the client holds, so it needs no CSRF token for it. */
    replacesSession?: boolean
  }
  interface FastifyRequest {
    /** The signed-in account, or null (no session, expired, or login not complete). */
    actor: Actor | null
    /** The session behind the cookie, also when the login still awaits its TOTP step. */
    authSession: { token: string; session: SessionRow; account: AccountRow } | null
    audit: AuditNote
    /** The audit state of an /api/v1 request (null for other routes). */
    auditContext: RequestAudit | null
  }
  interface FastifyInstance {
    auth: AuthService
    /** Every /api/v1 route with its declared permission, in registration order. */
    apiRoutes: ApiRoute[]
  }
}

export const SESSION_COOKIE = 'xueji_session'
export const CSRF_HEADER = 'x-csrf-token'

/** Whether the CSRF header is the session's token, compared in constant time. */
function sameToken(header: string | string[] | undefined, token: string): boolean {
  if (typeof header !== 'string') return false
  const [a, b] = [Buffer.from(header), Buffer.from(token)]
  return a.length === b.length && timingSafeEqual(a, b)
}
const API_PREFIX = '/api/v1'
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
/** A wrong password or code is a failed login, not a refused request. */
const LOGIN_FAILURES = new Set(['AUTH_FAILED', 'AUTH_TOTP_INVALID'])

/** The signed-in actor of a route that declared a permission (never null there). */
export function actorOf(req: FastifyRequest): Actor {
  if (!req.actor) throw authError('AUTH_REQUIRED', '请先登录')
  return req.actor
}

/**
 * Object check for one record: throws 404 NOT_FOUND (and marks the request as denied in the
 * audit log) when the record is outside the actor's scope. Call it after loading the record and
 * before answering anything about it; pass every field of Target the record has.
 */
export function assertInScope(req: FastifyRequest, target: Target): void {
  if (!inScope(actorOf(req), target)) {
    req.audit.outcome = 'denied'
    throw authError('NOT_FOUND', '未找到该记录')
  }
}

/** A 404 for a record that does not exist; the same answer as one outside the scope. */
export function notFound(): XuejiError {
  return authError('NOT_FOUND', '未找到该记录')
}

export function setSessionCookie(reply: FastifyReply, token: string, secure: boolean): void {
  reply.setCookie(SESSION_COOKIE, token, { httpOnly: true, sameSite: 'strict', secure, path: '/' })
}

export function clearSessionCookie(reply: FastifyReply, secure: boolean): void {
  reply.clearCookie(SESSION_COOKIE, { httpOnly: true, sameSite: 'strict', secure, path: '/' })
}

export interface AuthPluginOptions {
  /** The node's secret key (keys/secrets.key): encrypts TOTP secrets at rest. */
  secretKey: Buffer
}

export default fp<AuthPluginOptions>(
  async (app, opts) => {
    const auth = createAuthService({ storage: app.storage, config: app.config, secretKey: opts.secretKey })
    // TOTP secrets stored in clear by a node of an earlier version are encrypted once, here.
    const sealed = auth.encryptClearSecrets()
    if (sealed > 0) app.log.info({ accounts: sealed }, 'TOTP secrets encrypted at rest')
    // A node from before the keyed audit chain gets its key now, and its chain re-keyed.
    const keyed = ensureAuditKey(app.storage)
    if (keyed) app.log[keyed.brokenAt === null ? 'info' : 'error']({ ...keyed }, 'audit chain keyed (keys/audit.key)')
    app.decorate('auth', auth)
    app.decorate('apiRoutes', [] as ApiRoute[])
    app.decorateRequest('actor', null)
    app.decorateRequest('authSession', null)
    app.decorateRequest('audit', null as unknown as AuditNote)
    app.decorateRequest('auditContext', null)

    await app.register(cookie)
    // Security headers. helmet's default CSP suits the JSON API and the /docs UI, but its
    // upgrade-insecure-requests would send a browser on a plain-HTTP node to an https:// that does
    // not answer: only a node served over HTTPS (security.cookieSecure) keeps it.
    const https = app.config.security.cookieSecure
    // A node initialised before `xueji init` wrote the key (or set false by hand) on an address others reach.
    if (!https && !isLoopbackHost(app.config.server.host)) {
      app.log.warn({ host: app.config.server.host }, 'security.cookieSecure is false on a node listening beyond loopback: the session cookie is sent without Secure. Serve the node over HTTPS and set "security": {"cookieSecure": true} in xueji.json')
    }
    // X-Forwarded-For trusted on an address clients reach directly: any client names its own address.
    if (app.config.server.trustProxy && !isLoopbackHost(app.config.server.host)) {
      app.log.warn({ host: app.config.server.host }, 'server.trustProxy is true on a node listening beyond loopback: a client that reaches it directly can forge X-Forwarded-For and so its address (login throttling, audit log). Listen on 127.0.0.1 behind the reverse proxy')
    }
    const headers = securityHeaders({ hsts: https, contentSecurityPolicy: { directives: { upgradeInsecureRequests: https ? [] : null } } })
    app.addHook('onRequest', (_req, reply, done) => {
      for (const [name, value] of headers) reply.raw.setHeader(name, value)
      done()
    })

    app.addHook('onRoute', route => {
      const url = route.url ?? route.path
      if (!url.startsWith(API_PREFIX)) return
      const permission = route.config?.permission
      if (!permission) throw new Error(`route ${String(route.method)} ${url} must declare config.permission (node/plugins/auth.ts)`)
      for (const method of [route.method].flat()) if (method !== 'HEAD') app.apiRoutes.push({ method, url, permission })
    })

    app.addHook('onRequest', async (req, reply) => {
      req.audit = {}
      const token = req.cookies[SESSION_COOKIE]
      if (token) {
        const found = auth.session(token)
        if (found) {
          req.authSession = { token, ...found }
          if (found.session.stage === 'ok') req.actor = actorOfAccount(found.account)
        }
      }
      const permission = req.routeOptions.config.permission
      if (!permission) return // not an API route (health, docs, 404)
      req.auditContext = {
        note: req.audit,
        okEntry: () => entryOf(req, { outcome: 'ok', status: successStatus(req), code: null }),
        committed: false,
        writeNote: null,
        closed: false,
      }
      // Responses of the API carry personal data: never cached by a browser or a proxy.
      reply.header('cache-control', 'no-store')

      // CSRF: a state-changing request that rides on a session must echo the session's token.
      // Without a session there is nothing to forge (and only `public` routes will pass).
      // Login is exempt: it replaces whatever session the client holds (routes/auth.ts), and a
      // client that lost its token must still be able to sign in again.
      if (!SAFE_METHODS.has(req.method) && req.authSession && !req.routeOptions.config.replacesSession && !sameToken(req.headers[CSRF_HEADER], req.authSession.session.csrf_token)) {
        throw authError('CSRF_FAILED', '请求缺少有效的防伪令牌，请刷新页面后重试')
      }
      if (permission === 'public') return
      if (!req.actor) {
        if (req.authSession) throw authError('AUTH_TOTP_REQUIRED', '请先完成动态口令验证', { stage: req.authSession.session.stage })
        throw authError('AUTH_REQUIRED', '请先登录')
      }
      if (permission !== 'signed_in' && !can(req.actor, permission)) throw authError('FORBIDDEN', '您的角色无权进行此操作', { permission })
    })

    // The handler (and the services it calls) run with the request as context, so `auditedWrite`
    // finds the entry to commit. Set here, not in onRequest: the context set there may not reach
    // the handler once the body has been read from the socket.
    app.addHook('preHandler', (req, _reply, done) => {
      if (req.auditContext) runInRequest(req.auditContext, done)
      else done()
    })

    app.addHook('onSend', async (req, reply, payload) => {
      const ctx = req.auditContext
      if (!ctx) return payload
      ctx.closed = true
      if (ctx.committed) return payload // the write's entry committed with it
      const status = reply.statusCode
      const denied = req.audit.outcome === 'denied' || status === 401 || status === 403 || status === 429
      // Reads are audited only when refused, or when the handler named the read's action (a
      // disclosure such as a look-up by ID number or a certificate, R-27.1); every write, login
      // and reveal always.
      if (SAFE_METHODS.has(req.method) && !denied && req.audit.action === undefined) return payload
      const code = status >= 400 ? errorCodeOf(payload) : null
      const outcome = req.audit.outcome ?? (code && LOGIN_FAILURES.has(code) ? 'failed' : denied ? 'denied' : status >= 400 ? 'failed' : 'ok')
      appendAudit(app.storage, entryOf(req, { outcome, status, code }))
      return payload
    })
  },
  { name: 'auth', dependencies: ['errors'] },
)

/**
 * The headers helmet sets for `options`. They are the same for every answer (no CSP nonces), so
 * helmet runs once here instead of on every request as @fastify/helmet ran it, its middleware built
 * again for each (the CSP's directives parsed, a dozen functions made: 3-6 µs a request in a loop,
 * against 0.1 for setting the headers worked out once) in two async hooks.
 */
function securityHeaders(options: HelmetOptions): Array<[string, string]> {
  const headers = new Map<string, string>()
  const res = {
    setHeader: (name: string, value: string) => void headers.set(name.toLowerCase(), value),
    removeHeader: (name: string) => void headers.delete(name.toLowerCase()),
  }
  helmet(options)({} as IncomingMessage, res as unknown as ServerResponse, err => {
    if (err) throw err
  })
  return [...headers]
}

/** The audit entry of a request: who (actor), from where, what (route, note), and the result. */
function entryOf(req: FastifyRequest, result: Pick<AuditEntry, 'outcome' | 'status' | 'code'>): Omit<AuditEntry, 'at'> {
  const params = req.params as Record<string, unknown> | undefined
  return {
    actorId: req.actor?.accountId ?? req.audit.actorId ?? req.authSession?.account.id ?? null,
    actorRole: req.actor?.role ?? req.audit.actorRole ?? req.authSession?.account.role ?? null,
    ip: req.ip,
    action: req.audit.action ?? `${req.method} ${req.routeOptions.url}`,
    targetTable: req.audit.targetTable ?? null,
    // Only a param named id: other params may carry a 学籍号, which embeds an ID number.
    targetId: req.audit.targetId ?? (typeof params?.id === 'string' ? params.id : null),
    fields: req.audit.fields ?? null,
    ...result,
  }
}

/** The 2xx status a route answers (from its response schema): an entry committed with the write precedes the answer. */
function successStatus(req: FastifyRequest): number {
  const response = (req.routeOptions.schema?.response ?? {}) as Record<string, unknown>
  const ok = Object.keys(response).map(Number).filter(s => s >= 200 && s < 300)
  return ok.length > 0 ? Math.min(...ok) : 200
}

function errorCodeOf(payload: unknown): string | null {
  if (typeof payload !== 'string') return null
  const m = /^\{"code":"([A-Z_]+)"/.exec(payload)
  return m ? m[1] : null
}
