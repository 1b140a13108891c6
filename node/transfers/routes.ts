/**
 * Transfers between schools of different nodes under /api/v1, and the plugin
 * that exposes the service as `app.transfers`, registers its routed-message handlers with the
 * sync service and abandons overdue requests on a timer.
 *
 * - `POST /api/v1/transfers` {kind, idNumber | studentNo, targetClassId, reason}: the receiving school (`status_change:write`).
 * - `POST /api/v1/transfers/:id/send`: the receiving bureau sends it out (`status_change:approve`).
 * - `POST /api/v1/transfers/:id/withdraw`: the receiving side, until the sender approved (`status_change:write`).
 * - `POST /api/v1/transfers/:id/approve` {approvalDocNo} | `…/reject` {reason}: the sending bureau (`status_change:approve`).
 * - `GET /api/v1/transfers?status=&role=`: both schools read each step with its time (`student:read`).
 */
import fp from 'fastify-plugin'
import { housekeeping } from '../housekeeping.ts'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { inScope } from '../auth/access.ts'
import { actorOf } from '../plugins/auth.ts'
import { actorFor } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { createTransferService, type TransferService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Transfers between nodes: node/transfers/service.ts. */
    transfers: TransferService
  }
}

const Id = Type.String({ minLength: 1, maxLength: 64 })
const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()])
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }
const tags = ['转学']

const Transfer = Type.Object({
  id: Type.String(),
  role: Type.Union([Type.Literal('receiver'), Type.Literal('sender')], { description: 'receiver 转入方 | sender 转出方' }),
  kind: Type.Union([Type.Literal('student'), Type.Literal('child')]),
  status: Type.String({ description: 'requested 已申请 | sent 已报送 | received 转出方已受理 | approved 转出方已批准并移交 | completed 已转入 | rejected | withdrawn | expired | not_found | refused' }),
  receiverNode: Type.String(), receiverUnitCode: Type.String(), targetClassId: Type.String(),
  senderNode: Nullable(Type.String()), senderUnitCode: Nullable(Type.String()), subjectId: Nullable(Type.String()), name: Nullable(Type.String()),
  statusChangeId: Nullable(Type.String({ description: '转出方：转出异动；转入方：转入异动' })),
  epoch: Type.Union([Type.Integer(), Type.Null()], { description: '移交后的归属纪元' }),
  code: Nullable(Type.String({ description: '未移交而结束的原因代码' })), reason: Nullable(Type.String()),
  steps: Type.Array(Type.Object({ step: Type.String(), at: Type.String() }), { description: '各步骤及其时间（UTC）' }),
  createdAt: Type.String(), updatedAt: Type.String(),
})

const routes: FastifyPluginAsync = async app => {
  const svc = createTransferService({
    storage: app.storage,
    identity: app.identity,
    statusChanges: app.statusChanges,
    pause: app.config.calendar.transferPause,
    timeoutDays: app.config.calendar.transferTimeoutDays,
    onRouted: () => void app.sync.routedRecorded(),
  })
  app.decorate('transfers', svc)
  for (const [type, handler] of svc.handlers) app.sync.registerRouted(type, handler)

  housekeeping(app, app.config.calendar.escalationCheckMs, () => svc.expire(), { key: 'expired', did: 'transfer requests abandoned after the timeout', failed: 'abandoning overdue transfer requests failed' })

  const ById = Type.Object({ id: Id })

  app.post('/api/v1/transfers', {
    config: { permission: 'status_change:write' },
    schema: {
      tags, summary: '转入学校申请转学：按身份证号或学籍号找到学籍所在节点（R-19.5、R-12.5）',
      body: Type.Object({
        kind: Type.Union([Type.Literal('student'), Type.Literal('child')], { default: 'student' }),
        idNumber: Type.Optional(Nullable(Type.String({ maxLength: 30 }))),
        studentNo: Type.Optional(Nullable(Type.String({ maxLength: 30 }))),
        targetClassId: Id,
        reason: Type.Optional(Nullable(Type.String({ maxLength: 500 }))),
      }, { additionalProperties: false }),
      response: { 201: Transfer, ...Replies },
    },
  }, async (req, reply) => {
    req.audit.fields = Object.keys(req.body as object)
    return reply.code(201).send(svc.request(actorFor(req), req.body as Parameters<TransferService['request']>[1]))
  })

  app.post('/api/v1/transfers/:id/send', {
    config: { permission: 'status_change:approve' },
    schema: { tags, summary: '转入地教育局同意并报送转学申请', params: ById, response: { 200: Transfer, ...Replies } },
  }, async req => svc.send(actorFor(req), (req.params as { id: string }).id))

  app.post('/api/v1/transfers/:id/withdraw', {
    config: { permission: 'status_change:write' },
    schema: { tags, summary: '转入方撤回转学申请（转出方批准前）', params: ById, response: { 200: Transfer, ...Replies } },
  }, async req => svc.withdraw(actorFor(req), (req.params as { id: string }).id))

  app.post('/api/v1/transfers/:id/approve', {
    config: { permission: 'status_change:approve' },
    schema: {
      tags, summary: '转出地教育局批准：办理转出，并将完整学籍档案签名移交转入节点', params: ById,
      body: Type.Object({ approvalDocNo: Type.Optional(Nullable(Type.String({ maxLength: 100 }))) }, { additionalProperties: false }),
      response: { 200: Transfer, ...Replies },
    },
  }, async req => svc.approve(actorFor(req), (req.params as { id: string }).id, req.body as { approvalDocNo?: string | null }))

  app.post('/api/v1/transfers/:id/reject', {
    config: { permission: 'status_change:approve' },
    schema: {
      tags, summary: '转出地教育局驳回转学申请（学生留在原校）', params: ById,
      body: Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false }),
      response: { 200: Transfer, ...Replies },
    },
  }, async req => svc.reject(actorFor(req), (req.params as { id: string }).id, req.body as { reason: string }))

  app.get('/api/v1/transfers', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '转学申请及各步骤时间（转入、转出双方）',
      querystring: Type.Object({ status: Type.Optional(Type.String({ maxLength: 20 })), role: Type.Optional(Type.Union([Type.Literal('receiver'), Type.Literal('sender')])) }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Transfer) }), ...Replies },
    },
  }, async req => {
    const actor = actorOf(req)
    return { items: svc.list(t => inScope(actor, t), req.query as { status?: string; role?: string }) }
  })
}

export default fp(routes, { name: 'transfers', dependencies: ['records', 'xueji-sync', 'status-changes'] })
