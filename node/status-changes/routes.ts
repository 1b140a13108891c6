/**
 * The status-change workflow under /api/v1 (R-10.10, R-12.5, R-19.4, R-20.1), and the plugin that
 * exposes the service as `app.statusChanges` and looks for overdue reviews on a timer.
 *
 * - `POST /api/v1/students/:studentId/status-changes`, `POST /api/v1/children/:childId/status-changes`:
 *   apply (school administrator, `status_change:write`).
 * - `POST /api/v1/status-changes/:id/review` {decision approve|reject, reason, approvalDocNo}:
 *   the school's bureau (`status_change:approve`); approvalDocNo a student's only.
 * - `POST /api/v1/status-changes/:id/carry-out`: the bureau administrator (`status_change:approve`).
 * - `POST /api/v1/status-changes/:id/withdraw`: the applicant school (`status_change:write`).
 * - `GET /api/v1/status-changes?status=…&kind=…`: the queue with ages and deadlines.
 * - `GET /api/v1/status-changes/alerts`: overdue reviews escalated here or from here.
 * - `GET /api/v1/death-reports?status=unacknowledged|all`: death reports (R-20.2) this node sent,
 *   with the acknowledgements that came back, and those it received from below.
 * - `POST /api/v1/death-reports/:id/acknowledge`: the bureau acknowledges a received report
 *   (`status_change:approve`); the acknowledgement goes down to the reporting node, signed.
 * Reading and correcting one application stays with the record routes (…/status-changes/:id).
 */
import fp from 'fastify-plugin'
import { housekeeping } from '../housekeeping.ts'
import type { FastifyPluginAsync } from 'fastify'
import { Type, type TSchema } from '@fastify/type-provider-typebox'
import { createWorkingCalendar } from '../../config/calendar.ts'
import { inScope, type Target } from '../auth/access.ts'
import { loadRow, targetOfRow } from '../auth/targets.ts'
import { maskRecord, maskValue, mayReveal } from '../auth/sensitive.ts'
import { fieldsOf } from '../records/fields.ts'
import { actorOf } from '../plugins/auth.ts'
import { actorFor } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { ALERTS, resource } from '../services/records/resources.ts'
import type { Rec } from '../services/records/store.ts'
import { KINDS, OPEN_STATUSES, PROCESSING, WORKFLOW_FIELDS, type PersonKind } from './rules.ts'
import type { RecordInput } from '../records/validate.ts'
import { createStatusChangeService, type StatusChangeService } from './service.ts'
import { statusChangeError } from './errors.ts'
import { certificateHtml } from './certificate.ts'
import { authError } from '../auth/errors.ts'
import { auditedWrite } from '../auth/audit.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The status-change workflow: node/status-changes/service.ts. */
    statusChanges: StatusChangeService
  }
}

const Id = Type.String({ minLength: 1, maxLength: 64 })
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }
const tags = ['学籍异动']
const Nullable = <T extends TSchema>(s: T) => Type.Union([s, Type.Null()])

/** Body of an application: the table's fields, typed and optional (the validator says what is required). */
function applicationSchema(table: string): TSchema {
  const props: Record<string, TSchema> = {}
  for (const f of fieldsOf(table)) {
    if ((WORKFLOW_FIELDS as readonly string[]).includes(f.key)) continue
    props[f.key] = Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], description: `${f.label}${f.required ? '（必填）' : ''}${f.table ? `，代码表 ${f.table}` : ''}` }))
  }
  // Declared so that a school setting them reaches the service and gets its stable code.
  for (const key of WORKFLOW_FIELDS) props[key] = Type.Optional(Type.Unknown({ description: '由审核、办理流程填写，申请时不能填写' }))
  return Type.Object(props, { additionalProperties: false })
}

/** A status change as answered: every column of its table plus its kind, deadlines and age. */
function changeSchema(): TSchema {
  const props: Record<string, TSchema> = {}
  for (const table of [KINDS.student.table, KINDS.child.table]) {
    for (const c of resource(table).columns) {
      const base = c.type === 'number' ? Type.Number() : c.type === 'boolean' ? Type.Boolean() : Type.String()
      props[c.key] = Type.Optional(c.notNull ? base : Nullable(base))
    }
  }
  props.kind = Type.Union([Type.Literal('student'), Type.Literal('child')])
  props.deadlines = Type.Object({
    applyBy: Type.String({ description: 'R-19.4 最迟申请日期' }), applyByProvisional: Type.Boolean({ description: '所在年份尚无官方日历，按周一至周五计算（暂定）' }),
    reviewBy: Type.String({ description: 'R-20.1 最迟审核日期' }), reviewByProvisional: Type.Boolean(),
  })
  props.ageWorkingDays = Nullable(Type.Integer({ description: '自申请起的工作日数（未办结时）' }))
  props.ageDays = Nullable(Type.Integer({ description: '自申请起的自然日数（未办结时）' }))
  props.overdue = Type.Boolean({ description: '审核已超期' })
  return Type.Object(props)
}

const STATUS_NAMES: Record<string, string[]> = {
  open: [...OPEN_STATUSES],
  applied: [PROCESSING.applied],
  approved: [PROCESSING.approved],
  rejected: [PROCESSING.rejected],
  carried_out: [PROCESSING.carriedOut],
  withdrawn: [PROCESSING.withdrawn],
}

const routes: FastifyPluginAsync = async app => {
  const calendar = createWorkingCalendar(app.config.calendar.years)
  const svc = createStatusChangeService({
    storage: app.storage,
    identity: app.identity,
    codes: app.records.codes,
    calendar,
    days: { apply: app.config.calendar.statusChangeApplyDays, review: app.config.calendar.statusChangeReviewDays },
    onDeathReported: () => app.sync.deathReported(),
  })
  app.decorate('statusChanges', svc)

  housekeeping(app, app.config.calendar.escalationCheckMs, () => svc.escalateOverdue(), { key: 'raised', did: 'overdue status-change reviews escalated to the next tier up', failed: 'escalating overdue status-change reviews failed', level: 'warn' })

  const Change = changeSchema()
  const masked = (rec: Rec) => maskRecord(KINDS[rec.kind as PersonKind].table, rec)

  for (const kind of Object.keys(KINDS) as PersonKind[]) {
    const k = KINDS[kind]
    const spec = resource(k.table)
    const param = spec.owner!.key
    app.post(`/api/v1/${resource(k.person).path}/:${param}/status-changes`, {
      config: { permission: 'status_change:write' },
      schema: {
        tags, summary: `申请${spec.label}（${spec.requirement}，R-19.4）`,
        params: Type.Object({ [param]: Id }), body: applicationSchema(k.table), response: { 201: Change, ...Replies },
      },
    }, async (req, reply) => {
      const body = req.body as RecordInput
      req.audit.fields = Object.keys(body)
      const rec = svc.apply(actorFor(req), kind, (req.params as Record<string, string>)[param], body)
      return reply.code(201).send(masked(rec))
    })
  }

  const ById = Type.Object({ id: Id })
  const Version = Type.Integer({ minimum: 1, description: '读取时的版本号（乐观并发）' })

  app.post('/api/v1/status-changes/:id/review', {
    config: { permission: 'status_change:approve' },
    schema: {
      tags, summary: '审核学籍异动：批准或驳回（R-20.1）', params: ById,
      body: Type.Object({
        version: Version,
        decision: Type.Union([Type.Literal('approve'), Type.Literal('reject')]),
        reason: Type.Optional(Nullable(Type.String({ maxLength: 500, description: '驳回理由（驳回时必填）或批准意见' }))),
        approvalDocNo: Type.Optional(Nullable(Type.String({ maxLength: 100, description: '审批文号（仅学生异动；幼儿异动不登记，填写则拒绝：RECORD_FIELD_NOT_ALLOWED）' }))),
      }, { additionalProperties: false }),
      response: { 200: Change, ...Replies },
    },
  }, async req => masked(svc.review(actorFor(req), (req.params as { id: string }).id, req.body as Parameters<StatusChangeService['review']>[2])))

  app.post('/api/v1/status-changes/:id/carry-out', {
    config: { permission: 'status_change:approve' },
    schema: {
      tags, summary: '办理已批准的学籍异动：变更学生状态和班级（R-20.1）', params: ById,
      body: Type.Object({ version: Version, result: Type.Optional(Nullable(Type.String({ maxLength: 500, description: '处理结果' }))) }, { additionalProperties: false }),
      response: { 200: Change, ...Replies },
    },
  }, async req => masked(svc.carryOut(actorFor(req), (req.params as { id: string }).id, req.body as { version: number; result?: string | null })))

  app.post('/api/v1/status-changes/:id/certificate', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '出具转学证明（可打印的 HTML；已批准或已办理的转出，R-19.5）。学籍号仅对获授权者明文显示，并记入审计日志', params: ById,
      response: { 200: Type.String({ description: 'text/html' }), ...Replies },
    },
  }, async (req, reply) => {
    const { id } = req.params as { id: string }
    const actor = actorOf(req)
    req.audit.action = 'transfer_certificate'
    req.audit.targetId = id
    const c = svc.certificate(actorFor(req), id)
    req.audit.targetTable = KINDS[c.kind].table
    // The person's identifier: a student's 学籍号, a child's ID number (children have no 学籍号).
    const field = c.kind === 'student' ? 'studentNo' : 'idNumber'
    const clear = mayReveal(actor, 'id_number')
    req.audit.fields = clear ? [field] : []
    const html = certificateHtml({
      kind: c.kind, change: c.change, student: c.person, school: c.org && { name: c.org.name, schoolCode: c.org.code }, bureau: app.identity.name,
      gender: app.records.codes.name('gender', String(c.person.gender)),
      identifier: String((clear ? c.person[field] : maskValue('id_number', c.person[field])) ?? ''),
      destination: c.destination,
    })
    return reply.type('text/html; charset=utf-8').send(html)
  })

  app.post('/api/v1/status-changes/:id/withdraw', {
    config: { permission: 'status_change:write' },
    schema: { tags, summary: '撤回尚未审核的异动申请', params: ById, body: Type.Object({ version: Version }, { additionalProperties: false }), response: { 200: Change, ...Replies } },
  }, async req => masked(svc.withdraw(actorFor(req), (req.params as { id: string }).id, req.body as { version: number })))

  app.get('/api/v1/status-changes', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '异动队列：每项的申请天数和期限（R-19.4、R-20.1）',
      querystring: Type.Object({
        status: Type.Optional(Type.Union(Object.keys(STATUS_NAMES).map(s => Type.Literal(s)), { default: 'open', description: 'open（未办结，默认）| applied | approved | rejected | carried_out | withdrawn' })),
        kind: Type.Optional(Type.Union([Type.Literal('student'), Type.Literal('child')])),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Change), total: Type.Integer() }), ...Replies },
    },
  }, async req => {
    const q = req.query as { status?: string; kind?: PersonKind }
    const actor = actorOf(req)
    const page = svc.queue(t => inScope(actor, t), { statuses: STATUS_NAMES[q.status ?? 'open'], kind: q.kind })
    return { ...page, items: page.items.map(masked) }
  })

  const AlertSchema = Type.Object(Object.fromEntries(ALERTS.columns.map(c => [c.key, c.type === 'number' ? Type.Number() : Type.String()])))
  app.get('/api/v1/status-changes/alerts', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '超期未审核的异动预警（上报上一级，R-20.1）', response: { 200: Type.Object({ items: Type.Array(AlertSchema) }), ...Replies } },
  }, async req => {
    const actor = actorOf(req)
    return { items: svc.alerts(t => inScope(actor, t)) }
  })

  const Ack = Type.Object({ node: Type.String({ description: '确认的节点（行政区划代码）' }), at: Type.String() })
  const DeathReportSchema = Type.Object({
    id: Type.String(), origin: Type.String({ description: '上报节点' }),
    event: Type.Union([Type.Literal('death'), Type.Literal('reversal')], { description: 'death 死亡上报 | reversal 撤销死亡登记' }),
    kind: Type.Union([Type.Literal('student'), Type.Literal('child')]), subjectId: Type.String(), name: Type.String(), unitCode: Type.String({ description: '学校（幼儿园）标识码' }),
    changeId: Type.String(), eventDate: Type.String(), reverses: Nullable(Type.String()), priorState: Nullable(Type.String()), createdAt: Type.String(),
    direction: Type.Union([Type.Literal('sent'), Type.Literal('received')], { description: 'sent 本节点上报 | received 下级上报' }),
    receivedFrom: Nullable(Type.String()), receivedAt: Type.String(), deliveredAt: Nullable(Type.String()),
    refusedCode: Nullable(Type.String({ description: '上一级拒收的错误代码（按重发间隔重试）' })), sentCount: Type.Integer(),
    notifyCount: Type.Integer({ description: '提醒本级的次数（未确认时随重发增加）' }), lastNotifiedAt: Nullable(Type.String()),
    ackedAt: Nullable(Type.String()), ackedBy: Nullable(Type.String()), acks: Type.Array(Ack, { description: '各级确认' }),
    unacknowledged: Type.Boolean({ description: '上报的：上一级尚未确认；收到的：本级尚未确认' }),
  })
  /**
   * A death report is about one student (child): reached as that person's row here (R-16.1,
   * R-17.5, R-17.6), so a teacher sees its own classes' reports only; a person not held here
   * names no class, and class scopes fail closed on it. The home node is the report's origin.
   */
  const reachable = (actor: ReturnType<typeof actorOf>, r: { kind: PersonKind; subjectId: string; unitCode: string; origin: string }) => {
    const table = KINDS[r.kind].person
    const person = loadRow(app.storage, table, r.subjectId)
    const subject: Target = person ? targetOfRow(app.storage, table, person) : { school: r.unitCode, studentId: r.subjectId }
    return inScope(actor, { ...subject, homeNode: r.origin })
  }

  app.get('/api/v1/death-reports', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '死亡上报及各级确认（R-20.2、R-D.4）',
      querystring: Type.Object({ status: Type.Optional(Type.Union([Type.Literal('unacknowledged'), Type.Literal('all')], { default: 'all' })) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(DeathReportSchema) }), ...Replies },
    },
  }, async req => {
    const actor = actorOf(req)
    const only = (req.query as { status?: string }).status === 'unacknowledged'
    return { items: app.sync.death.list().filter(r => reachable(actor, r) && (!only || r.unacknowledged)) }
  })

  app.post('/api/v1/death-reports/:id/acknowledge', {
    config: { permission: 'status_change:approve' },
    schema: { tags, summary: '确认下级的死亡上报（确认逐级下达至上报节点，R-D.4）', params: ById, response: { 200: DeathReportSchema, ...Replies } },
  }, async req => {
    const actor = actorOf(req)
    const { id } = req.params as { id: string }
    const r = app.sync.death.get(id)
    if (!r || !reachable(actor, r)) throw authError('NOT_FOUND', '未找到该死亡上报')
    if (r.direction === 'sent') throw statusChangeError('DEATH_REPORT_OWN', '本节点上报的死亡信息由上一级教育行政部门确认', { origin: r.origin })
    if (r.ackedAt !== null) throw statusChangeError('DEATH_REPORT_ACKED', '该死亡上报已确认', { ackedAt: r.ackedAt })
    return app.sync.death.acknowledge(app.sync.downward, id, actor.accountId, fn =>
      auditedWrite(app.storage, fn, () => ({ targetTable: 'sync_death_reports', targetId: id, action: 'death_report_acknowledge' })))
  })
}

export default fp(routes, { name: 'status-changes', dependencies: ['records', 'xueji-sync'] })
