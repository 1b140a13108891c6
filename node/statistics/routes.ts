/**
 * Statistics under /api/v1, permission `stats:read`, within the account's scope:
 * - `GET /api/v1/statistics/dimensions`: the subjects and their dimensions.
 * - `GET /api/v1/statistics/{subject}?by=…&unit=…&state=…&drill=…&asOf=…`: one table.
 * - `GET /api/v1/statistics/annual?from=…&to=…&unit=…&drill=…`: the annual tables a bureau files.
 * Also exposes the service as `app.statistics` (the exports use it for statistics tables).
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { datesFor } from '../../config/calendar.ts'
import { actorOf } from '../plugins/auth.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { SUBJECTS, type Subject } from './rules.ts'
import { createStatisticsService, type StatisticsService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Statistics: node/statistics/service.ts. */
    statistics: StatisticsService
  }
}

const tags = ['统计']
const Replies = { 400: ErrorReply, ...authErrorReplies }
const Date_ = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD' })
const Unit = Type.String({ minLength: 1, maxLength: 64, description: '统计单位：行政区划代码（6 位）、学校（幼儿园）代码或班级 id；不给时为账号的全部范围' })

export const StatsTableSchema = Type.Object({
  subject: Type.String(),
  by: Type.String(),
  label: Type.String(),
  state: Type.Union([Type.String(), Type.Null()], { description: '统计的状态；默认只统计在校（在园）' }),
  scope: Type.Object({ level: Type.String({ description: 'division | schools | classes' }), unit: Type.String(), name: Type.String() }),
  asOf: Type.String({ description: '年龄的计算日期' }),
  total: Type.Integer(),
  rows: Type.Array(Type.Object({ key: Type.String(), label: Type.String(), count: Type.Integer() })),
  units: Type.Array(Type.Object({ unit: Type.String(), name: Type.String(), total: Type.Integer(), counts: Type.Record(Type.String(), Type.Integer()) }), { description: '下一级单位的分项（drill=true 时）' }),
})

export const StatsQuerySchema = Type.Object({
  by: Type.String({ minLength: 1, maxLength: 32, description: '统计维度（GET /api/v1/statistics/dimensions）' }),
  unit: Type.Optional(Unit),
  state: Type.Optional(Type.String({ minLength: 1, maxLength: 32, description: '状态；all 为全部；默认在校（在园）' })),
  drill: Type.Optional(Type.Boolean({ description: '同时按下一级单位分项' })),
  asOf: Type.Optional(Date_),
}, { additionalProperties: false })

const routes: FastifyPluginAsync = async app => {
  const svc = createStatisticsService({ storage: app.storage, identity: app.identity, codes: app.codes, dates: datesFor(app.identity.code, app.config.calendar.dates, app.config.calendar.local) })
  app.decorate('statistics', svc)

  app.get('/api/v1/statistics/dimensions', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '可统计的对象和维度',
      response: { 200: Type.Record(Type.String(), Type.Array(Type.Object({ key: Type.String(), label: Type.String() }))), ...authErrorReplies },
    },
  }, async () => svc.dimensions())

  app.get('/api/v1/statistics/annual', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '年度基础报表：在校生、招生、毕业生（按年级），学籍异动（按类别）',
      querystring: Type.Object({ from: Date_, to: Date_, unit: Type.Optional(Unit), drill: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          from: Type.String(), to: Type.String(), scope: StatsTableSchema.properties.scope,
          inSchoolByGrade: StatsTableSchema, entrantsByGrade: StatsTableSchema, graduatesByGrade: StatsTableSchema, statusChangesByType: StatsTableSchema,
        }),
        ...Replies,
      },
    },
  }, async req => svc.annual(actorOf(req), req.query as { from: string; to: string; unit?: string; drill?: boolean }))

  app.get('/api/v1/statistics/:subject', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '统计表：学生、幼儿、教师按维度计数，可下钻到下一级单位（R-17.2–R-17.6）',
      params: Type.Object({ subject: Type.Union(SUBJECTS.map(s => Type.Literal(s))) }),
      querystring: StatsQuerySchema,
      response: { 200: StatsTableSchema, ...Replies },
    },
  }, async req => {
    const { subject } = req.params as { subject: Subject }
    return svc.table(actorOf(req), { subject, ...(req.query as { by: string; unit?: string; state?: string; drill?: boolean; asOf?: string }) })
  })
}

export default fp(routes, { name: 'statistics', dependencies: ['records'] })
