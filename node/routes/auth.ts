import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { permissionsOf } from '../auth/access.ts'
import { authError } from '../auth/errors.ts'
import { actorOf, clearSessionCookie, setSessionCookie } from '../plugins/auth.ts'
import { ErrorReply, PermissionSchema, Password, RoleSchema, ScopeSchema } from './schemas.ts'

const Stage = Type.Union([Type.Literal('ok'), Type.Literal('totp'), Type.Literal('totp_enrol')], {
  description: 'ok: signed in; totp: send the code to /totp/verify; totp_enrol: call /totp/enrol, then /totp/verify.',
})
const LoginReply = Type.Object({ stage: Stage, csrfToken: Type.String({ description: 'Send it in x-csrf-token with every POST/PUT/PATCH/DELETE.' }) })
const MeReply = Type.Object({
  accountId: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  scope: ScopeSchema,
  leader: Type.Boolean(),
  grants: Type.Array(Type.String()),
  permissions: Type.Array(PermissionSchema),
  csrfToken: Type.String(),
})

/** Login (password, then TOTP for administrators), logout, the current account, password change. */
const authRoutes: FastifyPluginAsyncTypebox = async app => {
  const secure = app.config.security.cookieSecure

  app.post(
    '/api/v1/auth/login',
    {
      config: { permission: 'public', replacesSession: true },
      schema: {
        tags: ['auth'],
        description: 'Signs in, replacing any session the client holds (the old one ends when the new one starts).',
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 100 }), password: Password }, { additionalProperties: false }),
        response: { 200: LoginReply, 401: ErrorReply, 403: ErrorReply, 429: ErrorReply },
      },
    },
    async (req, reply) => {
      req.audit.action = 'login'
      try {
        // A successful login's entry (naming the account) commits with its session.
        const r = await app.auth.login(req.body.username, req.body.password, req.ip)
        if (req.authSession) app.auth.endSession(req.authSession.token)
        setSessionCookie(reply, r.token, secure)
        return { stage: r.stage, csrfToken: r.csrfToken }
      } catch (err) {
        // Audit names the account when it exists (its id, never the typed user name).
        const id = (err as { details?: { accountId?: string } }).details?.accountId
        if (id) req.audit.actorId = id
        if (id) delete (err as { details?: unknown }).details
        throw err
      }
    },
  )

  app.post(
    '/api/v1/auth/totp/enrol',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        response: { 200: Type.Object({ secret: Type.String(), uri: Type.String({ description: 'otpauth:// URI for a QR code' }) }), 401: ErrorReply, 403: ErrorReply, 409: ErrorReply },
      },
    },
    async req => {
      req.audit.action = 'totp_enrol'
      const s = req.authSession
      if (!s) throw authError('AUTH_REQUIRED', '请先登录')
      if (s.session.stage !== 'totp_enrol') throw authError('AUTH_STAGE_INVALID', '该账号已绑定动态口令')
      return app.auth.beginTotpEnrolment(s.account, `学籍系统 ${app.identity.name}`)
    },
  )

  app.post(
    '/api/v1/auth/totp/verify',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        description: 'Completes the login with a TOTP code: the session of the password step ends and a new one starts (a new cookie and CSRF token; session fixation).',
        body: Type.Object({ code: Type.String({ minLength: 6, maxLength: 10 }) }, { additionalProperties: false }),
        response: { 200: LoginReply, 401: ErrorReply, 403: ErrorReply, 409: ErrorReply, 429: ErrorReply },
      },
    },
    async (req, reply) => {
      req.audit.action = 'login_totp'
      const s = req.authSession
      if (!s) throw authError('AUTH_REQUIRED', '请先登录')
      if (s.session.stage === 'ok') throw authError('AUTH_STAGE_INVALID', '已完成登录')
      const signedIn = app.auth.checkTotp(s.token, s.session, s.account, req.body.code, req.ip)
      setSessionCookie(reply, signedIn.token, secure)
      return { stage: 'ok' as const, csrfToken: signedIn.csrfToken }
    },
  )

  app.post(
    '/api/v1/auth/logout',
    { config: { permission: 'public' }, schema: { tags: ['auth'], response: { 204: Type.Null(), 403: ErrorReply } } },
    async (req, reply) => {
      req.audit.action = 'logout'
      if (req.authSession) app.auth.endSession(req.authSession.token)
      clearSessionCookie(reply, secure)
      return reply.code(204).send(null)
    },
  )

  app.get('/api/v1/auth/me', { config: { permission: 'signed_in' }, schema: { tags: ['auth'], response: { 200: MeReply, 401: ErrorReply } } }, async req => {
    const actor = actorOf(req)
    return { ...actor, permissions: permissionsOf(actor), csrfToken: req.authSession!.session.csrf_token }
  })

  app.post(
    '/api/v1/auth/password',
    {
      config: { permission: 'signed_in' },
      schema: {
        tags: ['auth'],
        body: Type.Object({ currentPassword: Password, newPassword: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 429: ErrorReply },
      },
    },
    async (req, reply) => {
      req.audit.action = 'password_change'
      const account = req.authSession!.account
      await app.auth.checkPassword(account, req.body.currentPassword, req.ip)
      await app.auth.setPassword(account.id, req.body.newPassword)
      // Every session ended, this one included: sign in again with the new password.
      clearSessionCookie(reply, secure)
      return reply.code(204).send(null)
    },
  )
}

export default authRoutes
