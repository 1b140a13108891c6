/**
 * Change requests for locked records under /api/v1, and the plugin that exposes
 * the service as `app.changeRequests` (the sync plugin's handler of the province's decision calls it).
 *
 * - `POST /api/v1/change-requests` {table, id, version, patch, reason}: the school applies
 *   (`change_request:write`).
 * - `POST /api/v1/change-requests/:id/decide` {version, decision approve|reject, reason}: the
 *   school's bureau at the home node, the province at its node (`change_request:approve`).
 * - `POST /api/v1/change-requests/:id/withdraw` {version}: the applicant school, until decided.
 * - `GET /api/v1/change-requests?status=…`: the queue within the reader's scope, with age and
 *   deadline; `GET /api/v1/change-requests/:id`: one request with its chain of decisions.
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Type, type TSchema } from '@fastify/type-provider-typebox'
import { createWorkingCalendar } from '../../config/calendar.ts'
import { inScope } from '../auth/access.ts'
import { maskRecord } from '../auth/sensitive.ts'
import { actorOf } from '../plugins/auth.ts'
import { actorFor } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { checkAcrossFederation } from '../services/records/federation-check.ts'
import { CHANGE_REQUESTS } from '../services/records/resources.ts'
import type { Rec } from '../services/records/store.ts'
import { OPEN, STATUSES, SUBJECT_TABLES } from './rules.ts'
import { createChangeRequestService, type ApplyInput, type ChangeRequestService, type DecideInput } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Change requests for locked records: node/change-requests/service.ts. */
    changeRequests: ChangeRequestService
  }
}

const Id = Type.String({ minLength: 1, maxLength: 64 })
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }
const tags = ['变更申请']
const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()])
const Version = Type.Integer({ minimum: 1, description: '读取时的版本号（乐观并发）' })

/** A request as answered: every column, the patch as an object, the chain of decisions, age and deadline. */
function requestSchema(): TSchema {
  const props: Record<string, TSchema> = {}
  for (const c of CHANGE_REQUESTS.columns) {
    const base = c.type === 'number' ? Type.Number() : c.type === 'boolean' ? Type.Boolean() : Type.String()
    props[c.key] = c.notNull ? base : Nullable(base)
  }
  props.patch = Type.Record(Type.String(), Type.Unknown(), { description: '变更内容：记录字段及其新值（敏感字段脱敏显示）' })
  props.decisions = Type.Array(Type.Object({
    step: Type.Union(['apply', 'bureau', 'province', 'carry_out', 'withdraw', 'fail'].map(s => Type.Literal(s))),
    node: Type.String(), by: Nullable(Type.String()), at: Type.String(),
    decision: Type.Optional(Type.Union([Type.Literal('approve'), Type.Literal('reject')])),
    reason: Type.Optional(Nullable(Type.String())), code: Type.Optional(Nullable(Type.String())),
  }), { description: '审批链：申请、教育局、省级、办理（或撤回、未能办理），谁、何时、意见、理由' })
  props.ageDays = Nullable(Type.Integer({ description: '自申请起的自然日数（未办结时）' }))
  props.ageWorkingDays = Nullable(Type.Integer({ description: '自申请起的工作日数（未办结时）' }))
  props.deadline = Nullable(Type.String({ description: '教育局审批期限（待教育局审批时；R-20.1 的审核期限），其余为 null' }))
  props.deadlineProvisional = Type.Boolean({ description: '期限所在年份尚无官方日历，按周一至周五计算（暂定）' })
  props.overdue = Type.Boolean()
  props.decisionSent = Nullable(Type.Object({ seq: Type.Integer(), decision: Type.String(), at: Type.String() }, { description: '省级审批意见已下达、待学校所属节点办理（仅省级节点）' }))
  return Type.Object(props)
}

const STATUS_NAMES: Record<string, readonly string[]> = { open: OPEN, all: STATUSES, ...Object.fromEntries(STATUSES.map(s => [s, [s]])) }

const routes: FastifyPluginAsync = async app => {
  const svc = createChangeRequestService({
    storage: app.storage,
    identity: app.identity,
    records: app.records,
    growth: app.growth,
    calendar: createWorkingCalendar(app.config.calendar.years),
    reviewDays: app.config.calendar.statusChangeReviewDays,
    issue: (destination, type, payload) => app.sync.downward.issue(destination, type, payload),
  })
  app.decorate('changeRequests', svc)

  const Request = requestSchema()
  /** The patch shows the subject table's sensitive fields masked, like every read. */
  const masked = (rec: Rec) => ({ ...rec, patch: maskRecord(String(rec.subjectTable), rec.patch as Rec) })
  const ById = Type.Object({ id: Id })

  app.post('/api/v1/change-requests', {
    config: { permission: 'change_request:write' },
    schema: {
      tags, summary: '申请变更已锁定的记录（R-22.5；成长记录报送省级后 R-24.2）',
      body: Type.Object({
        table: Type.Union([...SUBJECT_TABLES].map(t => Type.Literal(t)), { description: '要变更的记录所在的表' }),
        id: Id,
        version: Version,
        patch: Type.Record(Type.String(), Type.Unknown(), { description: '要修改的字段及其新值，与该记录的修改（PATCH）接口相同，不含 version' }),
        reason: Type.String({ maxLength: 500, description: '申请理由（必填）' }),
      }, { additionalProperties: false }),
      response: { 201: Request, ...Replies },
    },
  }, async (req, reply) => {
    const body = req.body as ApplyInput
    req.audit.fields = Object.keys(body.patch ?? {})
    // A new ID number or 学籍号 is a new identity: asked across the federation as the record route asks.
    if (body.patch && typeof body.patch === 'object' && (body.patch.idNumber !== undefined || body.patch.studentNo !== undefined)) {
      await checkAcrossFederation(app.sync.askParent, body.table, body.patch as Record<string, unknown>)
    }
    return reply.code(201).send(masked(svc.apply(actorFor(req), body)))
  })

  app.post('/api/v1/change-requests/:id/decide', {
    config: { permission: 'change_request:approve' },
    schema: {
      tags, summary: '审批变更申请：学校所属教育局批准或驳回；报送省级的成长记录再经省级批准（R-22.5、R-24.2）', params: ById,
      body: Type.Object({
        version: Version,
        decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
        reason: Type.Optional(Nullable(Type.String({ maxLength: 500, description: '驳回理由（驳回时必填）或审批意见' }))),
      }, { additionalProperties: false }),
      response: { 200: Request, ...Replies },
    },
  }, async req => {
    const { id } = req.params as { id: string }
    req.audit.targetTable = 'change_requests'
    req.audit.targetId = id
    return masked(await svc.decide(actorFor(req), id, req.body as DecideInput))
  })

  app.post('/api/v1/change-requests/:id/withdraw', {
    config: { permission: 'change_request:write' },
    schema: { tags, summary: '撤回尚未办结的变更申请', params: ById, body: Type.Object({ version: Version }, { additionalProperties: false }), response: { 200: Request, ...Replies } },
  }, async req => masked(svc.withdraw(actorFor(req), (req.params as { id: string }).id, req.body as { version: number })))

  app.get('/api/v1/change-requests', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '变更申请队列：每项的申请天数和期限（R-22.5、R-24.2）',
      querystring: Type.Object({
        status: Type.Optional(Type.Union(Object.keys(STATUS_NAMES).map(s => Type.Literal(s)), { default: 'open', description: 'open（未办结，默认）| pending_bureau | pending_province | carried_out | rejected | withdrawn | failed | all' })),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Request), total: Type.Integer() }), ...Replies },
    },
  }, async req => {
    const actor = actorOf(req)
    const page = svc.queue(t => inScope(actor, t), STATUS_NAMES[(req.query as { status?: string }).status ?? 'open'])
    return { ...page, items: page.items.map(masked) }
  })

  app.get('/api/v1/change-requests/:id', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '读取一项变更申请及其审批链', params: ById, response: { 200: Request, ...Replies } },
  }, async req => masked(svc.get(actorFor(req), (req.params as { id: string }).id)))
}

export default fp(routes, { name: 'change-requests', dependencies: ['records', 'growth', 'xueji-sync'] })
