import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { delegationRefusal, type Actor, type Scope } from '../auth/access.ts'
import { authError } from '../auth/errors.ts'
import { auditedWrite } from '../auth/audit.ts'
import { actorOfAccount, type AccountRow } from '../auth/service.ts'
import { actorOf } from '../plugins/auth.ts'
import { AccountSchema, ErrorReply, IdParams, Password, RoleSchema, ScopeSchema, authErrorReplies } from './schemas.ts'
import { SENSITIVE_CLASSES } from '../auth/sensitive.ts'

const Grants = Type.Array(Type.Enum(SENSITIVE_CLASSES), { uniqueItems: true })

/**
 * Account management within the administrator's scope. An account the actor may
 * not manage answers 404 like a missing one.
 */
const accountRoutes: FastifyPluginAsyncTypebox = async app => {
  const db = app.storage.sqlite

  /**
   * May `actor` manage the existing account `a` (same limits as creating it)? So an account with
   * the leader flag is managed (its password reset, its flag kept or dropped) only by those who
   * may appoint a leader (`mayAppointLeader`, R-18.1), like the flag given by POST or PATCH.
   */
  const manages = (actor: Actor, a: AccountRow) => a.id !== actor.accountId && delegationRefusal(actor, { ...actorOfAccount(a), grants: [] }) === null

  /** An account the actor manages, or (for reading only) the actor's own. */
  function load(actor: Actor, id: string, { read = false } = {}): AccountRow {
    const a = app.auth.getAccount(id)
    if (!a || !(manages(actor, a) || (read && a.id === actor.accountId))) throw authError('NOT_FOUND', '未找到该账号')
    return a
  }

  /**
   * An account the actor may act on as the account itself could (set its password, lift its
   * lockout): one it manages and within the actor's own rights, its grants included, which
   * managing it otherwise need not cover (a password reset could sign in as a teacher granted ID
   * numbers; an unlock would let that teacher's password be guessed again).
   */
  function loadWithinOwnRights(actor: Actor, id: string): AccountRow {
    const a = load(actor, id)
    const why = delegationRefusal(actor, actorOfAccount(a))
    if (why) throw refuse(why)
    return a
  }

  /** The schools, classes and student a scope names must exist on this node. */
  function assertScopeExists(scope: Scope): void {
    const exists = (sql: string, ...args: unknown[]) => db.prepare(sql).get(...args) !== undefined
    const school = (code: string) =>
      exists('select 1 from schools where school_code = ? and home_node = ?', code, app.identity.code) ||
      exists('select 1 from kindergartens where kindergarten_code = ? and home_node = ?', code, app.identity.code)
    const bad = (what: string) => authError('ACCOUNT_SCOPE_UNKNOWN', `授权范围中的${what}不存在于本节点`, { kind: scope.kind })
    switch (scope.kind) {
      case 'bureau':
        if (scope.node !== app.identity.code) throw bad('教育行政部门')
        return
      case 'schools':
        if (!scope.schools.every(school)) throw bad('学校')
        return
      case 'classes':
        if (!school(scope.school)) throw bad('学校')
        for (const c of scope.classes) {
          if (!exists('select 1 from school_classes where id = ? and school_code = ?', c, scope.school) && !exists('select 1 from kindergarten_classes where id = ? and kindergarten_code = ?', c, scope.school)) throw bad('班级')
        }
        return
      case 'student':
        if (!exists('select 1 from students where id = ? and school_code = ?', scope.studentId, scope.school) && !exists('select 1 from children where id = ? and kindergarten_code = ?', scope.studentId, scope.school)) throw bad('学生')
    }
  }

  function refuse(rule: string) {
    if (rule === 'LEADER') return authError('ACCOUNT_DELEGATION_DENIED', '校领导只能由教育局管理员或校领导指定，且只能是学校教职工账号', { rule })
    return authError('ACCOUNT_DELEGATION_DENIED', '不能开设或管理超出本人权限或管理范围的账号', { rule })
  }

  app.get(
    '/api/v1/accounts',
    { config: { permission: 'account:manage' }, schema: { tags: ['accounts'], response: { 200: Type.Object({ accounts: Type.Array(AccountSchema) }), ...authErrorReplies } } },
    async req => {
      const actor = actorOf(req)
      // The actor's own account is listed too (read-only here: its password changes at /auth/password).
      return { accounts: app.auth.viewsOf(app.auth.listAccounts().filter(a => a.id === actor.accountId || manages(actor, a))) }
    },
  )

  app.post(
    '/api/v1/accounts',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags: ['accounts'],
        body: Type.Object(
          {
            username: Type.String({ minLength: 2, maxLength: 64, pattern: '^\\S+$' }),
            password: Password,
            role: RoleSchema,
            scope: ScopeSchema,
            leader: Type.Optional(Type.Boolean()),
            grants: Type.Optional(Grants),
          },
          { additionalProperties: false },
        ),
        response: { 201: AccountSchema, 400: ErrorReply, 409: ErrorReply, ...authErrorReplies },
      },
    },
    async (req, reply) => {
      const actor = actorOf(req)
      req.audit.targetTable = 'accounts'
      const wanted = { role: req.body.role, scope: req.body.scope, leader: req.body.leader ?? false, grants: req.body.grants ?? [] }
      const why = delegationRefusal(actor, wanted)
      if (why) throw refuse(why)
      assertScopeExists(wanted.scope)
      req.audit.fields = ['role', 'scope', 'leader', 'grants']
      // The service's write notes the new account's id in the audit entry it commits.
      const account = await app.auth.createAccount({ ...wanted, username: req.body.username, password: req.body.password }, actor.accountId)
      return reply.code(201).send(account)
    },
  )

  app.get(
    '/api/v1/accounts/:id',
    { config: { permission: 'account:manage' }, schema: { tags: ['accounts'], params: IdParams, response: { 200: AccountSchema, ...authErrorReplies } } },
    async req => app.auth.viewsOf([load(actorOf(req), req.params.id, { read: true })])[0],
  )

  app.patch(
    '/api/v1/accounts/:id',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags: ['accounts'],
        params: IdParams,
        body: Type.Object(
          {
            scope: Type.Optional(ScopeSchema),
            leader: Type.Optional(Type.Boolean()),
            grants: Type.Optional(Grants),
            disabled: Type.Optional(Type.Boolean({ description: 'true ends every session of the account at once' })),
            resetTotp: Type.Optional(Type.Literal(true, { description: 'forget the TOTP secret; the account enrols again' })),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: AccountSchema, 400: ErrorReply, ...authErrorReplies },
      },
    },
    async req => {
      const actor = actorOf(req)
      req.audit.targetTable = 'accounts'
      const a = load(actor, req.params.id)
      const current = actorOfAccount(a)
      const next = { role: a.role, scope: req.body.scope ?? current.scope, leader: req.body.leader ?? current.leader, grants: req.body.grants ?? current.grants }
      // Changed grants must be within the actor's own; unchanged ones need not be.
      const why = delegationRefusal(actor, { ...next, grants: req.body.grants ?? [] })
      if (why) throw refuse(why)
      if (req.body.scope) assertScopeExists(req.body.scope)
      req.audit.fields = Object.keys(req.body)
      // One transaction for every change asked, with the request's one audit entry.
      auditedWrite(app.storage, () => {
        if (req.body.scope || req.body.leader !== undefined || req.body.grants) app.auth.updateAccount(a.id, { scope: req.body.scope, leader: req.body.leader, grants: req.body.grants })
        if (req.body.resetTotp) app.auth.resetTotp(a.id)
        if (req.body.disabled !== undefined) app.auth.setDisabled(a.id, req.body.disabled)
      })
      return app.auth.viewsOf([app.auth.getAccount(a.id)!])[0]
    },
  )

  app.post(
    '/api/v1/accounts/:id/password',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags: ['accounts'],
        params: IdParams,
        body: Type.Object({ password: Password }, { additionalProperties: false }),
        response: { 204: Type.Null(), 400: ErrorReply, ...authErrorReplies },
      },
    },
    async (req, reply) => {
      req.audit.targetTable = 'accounts'
      req.audit.fields = ['password']
      const a = loadWithinOwnRights(actorOf(req), req.params.id)
      await app.auth.setPassword(a.id, req.body.password)
      return reply.code(204).send(null)
    },
  )

  app.post(
    '/api/v1/accounts/:id/unlock',
    {
      config: { permission: 'account:manage' },
      schema: {
        tags: ['accounts'],
        description: 'Lifts the lockout of an account (R-25.2): its failed login attempts are forgotten and it signs in at once. Failures counted against a client address stay.',
        params: IdParams,
        response: { 200: AccountSchema, 409: ErrorReply, ...authErrorReplies },
      },
    },
    async req => {
      req.audit.targetTable = 'accounts'
      const a = loadWithinOwnRights(actorOf(req), req.params.id)
      app.auth.unlock(a)
      return app.auth.viewsOf([a])[0]
    },
  )
}

export default accountRoutes
