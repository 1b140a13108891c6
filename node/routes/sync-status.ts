import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { listFeedback, type FeedbackKind } from '../../sync/feedback.ts'
import { scopeFilter } from '../auth/access.ts'
import { actorOf } from '../plugins/auth.ts'
import { DEFAULT_LIMIT, MAX_LIMIT } from '../services/records/service.ts'
import { ErrorReply, authErrorReplies } from './schemas.ts'

const Status = { type: 'object', additionalProperties: true } as const
const Err = { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } as const

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()])
const FeedbackItem = Type.Object({
  id: Type.Integer(),
  kind: Type.String({ description: 'refused（上级拒收）| duplicate（他处已有学籍）| unchecked（录入时无法向上级查重）' }),
  reportedBy: Type.String({ description: '报告的节点' }),
  seq: Type.Integer({ description: '被拒收的变更集序号（其他类别为 0）' }),
  table: Type.String(),
  recordId: Type.String(),
  schoolCode: Nullable(Type.String()),
  code: Type.String({ description: '稳定错误码，如 RECORD_ID_CHECKSUM、SYNC_ROW_OUTSIDE_OWNERSHIP、RECORD_DUPLICATE_ELSEWHERE' }),
  reason: Type.String({ description: '字段与规则（不含字段值）' }),
  otherNode: Type.String({ description: '重复记录所在节点（duplicate）' }),
  otherSchoolCode: Nullable(Type.String({ description: '重复记录所在学校代码（duplicate）' })),
  createdAt: Type.String(),
})

/**
 * `GET /api/v1/sync/status` (R-D.8): per link the last seq sent, acknowledged and applied, lag
 * in change sets and seconds, queue depths, quarantined rows, conflicts, drift, the last error
 * and the feedback counts. The same report as `xueji sync status`.
 *
 * `GET /api/v1/sync/feedback`: what upper tiers reported about this node's own records (refused
 * rows with their codes, duplicates at other nodes, entries made while the parent could not be
 * asked), for the school that wrote them and its bureau. Narrower scopes (a class, a student)
 * see none: the registrar of the school acts on these.
 */
const syncStatus: FastifyPluginAsync = async app => {
  app.get(
    '/api/v1/sync/status',
    {
      config: { permission: 'sync:operate' },
      schema: { tags: ['sync'], summary: 'sync status of this node and its links', response: { 200: Status, 401: Err, 403: Err } },
    },
    async () => app.sync.status(),
  )

  app.get(
    '/api/v1/sync/feedback',
    {
      config: { permission: 'student:read' },
      schema: {
        tags: ['sync'],
        summary: '上级节点对本节点记录的反馈：拒收原因、跨节点重复学籍、未能查重的录入',
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT })),
          // SQLite binds OFFSET as an integer: a larger number (1e21) would reach it as a real and
          // fail as a datatype mismatch (500); the schema answers 400 VALIDATION_FAILED instead.
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER, default: 0 })),
          kind: Type.Optional(Type.Union([Type.Literal('refused'), Type.Literal('duplicate'), Type.Literal('unchecked')])),
        }, { additionalProperties: false }),
        response: { 200: Type.Object({ items: Type.Array(FeedbackItem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), 400: ErrorReply, ...authErrorReplies },
      },
    },
    async req => {
      const { limit = DEFAULT_LIMIT, offset = 0, kind } = req.query as { limit?: number; offset?: number; kind?: FeedbackKind }
      const filter = scopeFilter(actorOf(req))
      const schools = filter.all ? undefined : filter.classes || filter.studentId ? [] : (filter.schools ?? [])
      return { ...listFeedback(app.storage, { schools, kind, limit, offset }), limit, offset }
    },
  )
}

export default syncStatus
