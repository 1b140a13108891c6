/**
 * Problem records of duplicate detection (查重): listed for the school of each of the two records
 * (the one that raised it and, across schools, the one it duplicates) and their bureau, a node-wide
 * scan, and resolution by evidence or correction (deletion resolves itself when the duplicate
 * record is deleted through its own route).
 */
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { MAX_LIMIT, DEFAULT_LIMIT } from '../../services/records/service.ts'
import { PROBLEMS } from '../../services/records/resources.ts'
import { ErrorReply, IdParams, authErrorReplies } from '../schemas.ts'
import { actorFor } from './records.ts'

const Nullable = <T extends ReturnType<typeof Type.String>>(s: T) => Type.Union([s, Type.Null()])
const Problem = Type.Object({
  id: Type.String(), homeNode: Type.String(), version: Type.Integer(), epoch: Type.Integer(), createdAt: Type.String(), updatedAt: Type.String(),
  kind: Type.String({ description: 'duplicate_id_number | duplicate_name_gender_birth' }),
  subjectTable: Type.String({ description: 'students | children' }),
  subjectId: Type.String({ description: '被查出重复的记录' }),
  otherId: Type.String({ description: '与之重复的记录' }),
  schoolCode: Type.String({ description: '引起问题的记录（subjectId）所在学校（幼儿园）代码' }),
  otherSchoolCode: Nullable(Type.String({ description: '与之重复的记录（otherId）所在学校（幼儿园）代码；该记录已不在本节点时为 null。两校的管理员都能看到并处理该问题，但只能读取本校的学生记录' })),
  status: Type.String({ description: 'open | resolved' }),
  resolution: Nullable(Type.String({ description: 'evidence | corrected | deleted' })),
  resolutionNote: Nullable(Type.String()),
  resolvedBy: Nullable(Type.String()),
  resolvedAt: Nullable(Type.String()),
})
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }
const tags = ['问题记录（查重）']

const problemRoutes: FastifyPluginAsync = async app => {
  const svc = app.records

  app.get('/api/v1/problems', {
    config: { permission: PROBLEMS.permissions.read },
    schema: {
      tags, summary: '列出查重问题记录（本校或本局辖区）',
      querystring: Type.Object({
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT })),
        offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
        schoolCode: Type.Optional(Type.String({ maxLength: 20 })),
        status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('resolved')])),
        kind: Type.Optional(Type.Union([Type.Literal('duplicate_id_number'), Type.Literal('duplicate_name_gender_birth')])),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ items: Type.Array(Problem), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), ...Replies },
    },
  }, async req => svc.listProblems(actorFor(req), req.query as Record<string, unknown>))

  app.get('/api/v1/problems/:id', {
    config: { permission: PROBLEMS.permissions.read },
    schema: { tags, summary: '读取查重问题记录', params: IdParams, response: { 200: Problem, ...Replies } },
  }, async req => svc.getProblem(actorFor(req), (req.params as { id: string }).id))

  app.post('/api/v1/problems/scan', {
    // The scan covers every school of the node, so it is the bureau's; schools resolve what it finds.
    config: { permission: 'problem:scan' },
    schema: {
      tags, summary: '对本节点全部学生和幼儿运行查重',
      response: { 200: Type.Object({ created: Type.Integer({ description: '新发现的问题数' }), open: Type.Integer({ description: '未处理的问题总数' }) }), ...Replies },
    },
  }, async req => {
    req.audit.action = 'duplicate_scan'
    return svc.scanDuplicates(actorFor(req))
  })

  app.post('/api/v1/problems/:id/resolve', {
    config: { permission: 'problem:resolve' },
    schema: {
      tags, summary: '处理查重问题：佐证（evidence）或已更正（corrected）', params: IdParams,
      body: Type.Object({
        version: Type.Integer({ minimum: 1 }),
        resolution: Type.Union([Type.Literal('evidence'), Type.Literal('corrected')]),
        note: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()], { description: '佐证说明（以佐证处理时必填）' })),
      }, { additionalProperties: false }),
      response: { 200: Problem, ...Replies },
    },
  }, async req => {
    const { id } = req.params as { id: string }
    req.audit.targetTable = 'problem_records'
    req.audit.targetId = id
    return svc.resolveProblem(actorFor(req), id, req.body as { version: number; resolution: 'evidence' | 'corrected'; note?: string | null })
  })
}

export default problemRoutes
