/**
 * The calendar under /api/v1 and the plugin that exposes the service as `app.calendar`:
 * - `GET /api/v1/calendar/deadlines`: per school within the reader's scope, new-student entry and
 *   verification against its deadline and completion info against 30 July.
 * - `GET /api/v1/calendar/term-check`: the end-of-term check per school: students in
 *   school unverified, without the term's registration, without a class; open 查重 problems.
 * - `POST /api/v1/schools/:schoolId/initial-entry` `{ students: [...] }`: initial entry,
 *   all or nothing per file, row-by-row issues, idempotent (the school administrator, `school:write`).
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { datesFor } from '../../config/calendar.ts'
import { inScope } from '../auth/access.ts'
import { actorOf } from '../plugins/auth.ts'
import type { RecordInput } from '../records/validate.ts'
import { actorFor, flagUnchecked } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { checkEachAcrossFederation } from '../services/records/federation-check.ts'
import { createCalendarService, FINDING_IDS, type CalendarService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The registration calendar: node/calendar/service.ts. */
    calendar: CalendarService
  }
}

const DeadlineSchema = (description: string) =>
  Type.Object({
    requirement: Type.String(),
    deadline: Type.String({ description: '截止日（YYYY-MM-DD，北京时间）' }),
    entered: Type.Integer({ description: '已录入' }),
    verified: Type.Integer({ description: '已核对' }),
    state: Type.Union(['none', 'open', 'done', 'overdue'].map(s => Type.Literal(s)), { description: 'none 未录入 | open 未完成、未到期 | done 已全部核对 | overdue 逾期未核对' }),
    daysLeft: Type.Integer({ description: '距截止日天数（已过为负）' }),
  }, { description })

const EnteredRow = Type.Object({ row: Type.Integer(), id: Type.String() })

const routes: FastifyPluginAsync = async app => {
  const { dates, local } = app.config.calendar
  app.decorate('calendar', createCalendarService({ storage: app.storage, dates: datesFor(app.identity.code, dates, local) }))

  app.get('/api/v1/calendar/deadlines', {
    config: { permission: 'student:read' },
    schema: {
      tags: ['学籍日历'],
      summary: '各校本学年新生录入核对（R-19.2）和毕业生结业信息（R-19.6）的完成情况与截止日',
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({
            schoolId: Type.String(), schoolCode: Type.String(), name: Type.String(),
            schoolYear: Type.Integer({ description: '学年（起始年份，2026 即 2026—2027 学年）' }),
            newStudents: DeadlineSchema('本学年新生（入学年月在本学年内）'),
            completions: DeadlineSchema('本学年结业信息（结束学业年月在本学年内）'),
          })),
        }),
        ...authErrorReplies,
      },
    },
  }, async req => {
    const actor = actorOf(req)
    return { items: app.calendar.deadlines(t => inScope(actor, t)) }
  })

  const Finding = (description: string) => Type.Object({ count: Type.Integer(), studentIds: Type.Array(Type.String(), { description: `前 ${FINDING_IDS} 名学生的记录编号` }) }, { description })
  app.get('/api/v1/calendar/term-check', {
    config: { permission: 'student:read' },
    schema: {
      tags: ['学籍日历'],
      summary: '期末数据检查（R-19.3）：本学期未核对、未注册、未编班的在校学生和未处理的查重问题',
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({
            schoolId: Type.String(), schoolCode: Type.String(), name: Type.String(),
            term: Type.String({ description: '学期，如 2026-1（2026—2027 学年第一学期）' }),
            unverified: Finding('未核对（已录入或被退回）的在校学生'),
            unregistered: Finding('本学期没有注册记录的在校学生'),
            unplaced: Finding('没有班级的在校学生'),
            openProblems: Type.Integer({ description: '未处理的查重问题' }),
          })),
        }),
        ...authErrorReplies,
      },
    },
  }, async req => {
    const actor = actorOf(req)
    return { items: app.calendar.termCheck(t => inScope(actor, t)) }
  })

  app.post('/api/v1/schools/:schoolId/initial-entry', {
    config: { permission: 'school:write' },
    bodyLimit: app.config.server.bodyLimitBytes * 16,
    schema: {
      tags: ['学籍日历'],
      summary: '学校初次使用系统时批量录入全部在校学生（R-19.1）：逐行校验，整批全部录入或全部不录入，重复提交不会重复录入',
      params: Type.Object({ schoolId: Type.String({ minLength: 1, maxLength: 64 }) }),
      body: Type.Object({
        students: Type.Array(Type.Record(Type.String(), Type.Unknown()), { maxItems: 5000, description: '每行一名学生：学生信息字段及其子记录（guardians、enrolment 等），同新建学生接口；无需 schoolId' }),
      }, { additionalProperties: false }),
      response: {
        200: Type.Object({
          created: Type.Array(EnteredRow, { description: '新建的学生：行号（从 0 起）和记录编号' }),
          existing: Type.Array(EnteredRow, { description: '本校已有、未重复录入的学生' }),
        }),
        400: ErrorReply, 409: ErrorReply,
        ...authErrorReplies,
      },
    },
  }, async req => {
    const { schoolId } = req.params as { schoolId: string }
    const rows = (req.body as { students: RecordInput[] }).students
    // 查重 across nodes before the transaction (it asks the parent); a holder elsewhere refuses its row.
    const { refused, unchecked } = await checkEachAcrossFederation(app.sync.askParent, 'students', rows)
    const result = app.records.enterStudents(actorFor(req), schoolId, rows, refused)
    for (const c of result.created) if (unchecked.has(c.row)) flagUnchecked(app, 'students', c.id)
    return result
  })
}

export default fp(routes, { name: 'calendar', dependencies: ['records'] })
