/**
 * The calendar under /api/v1 and the plugin that exposes the service as `app.calendar`:
 * - `GET /api/v1/calendar/deadlines`: per school within the reader's scope, new-student entry and
 *   verification against its deadline and completion info against 30 July.
 * - `GET /api/v1/calendar/term-check`: the end-of-term check per school: students in
 *   school unverified, without the term's registration, without a class; open 查重 problems.
 * - `POST /api/v1/schools/:schoolId/initial-entry` `{ students: [...] }`: initial entry,
 *   all or nothing per file, row-by-row issues, idempotent (the school administrator, `school:write`).
 * - `GET /api/v1/calendar/rollover?schoolYear=`: the rollover's dry run per school and
 *   kindergarten of this node within the reader's scope; `POST /api/v1/calendar/rollover`
 *   `{ schoolId? }`: the real run (`calendar:rollover`, bureau administrators).
 * - `GET /api/v1/calendar/reminders`: reminders before the deadlines of the
 *   schools in the reader's scope.
 * The plugin's timer runs the rollover when its day has come and some school has not rolled, and
 * raises the reminders that are due (every `calendar.rolloverCheckMs`, and at start).
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { datesFor } from '../../config/calendar.ts'
import { inScope } from '../auth/access.ts'
import { outsideRequest } from '../auth/audit.ts'
import { actorOf } from '../plugins/auth.ts'
import type { RecordInput } from '../records/validate.ts'
import { actorFor, flagUnchecked } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { checkEachAcrossFederation } from '../services/records/federation-check.ts'
import { createRolloverService, type RolloverService } from './rollover-service.ts'
import { createCalendarService, FINDING_IDS, type CalendarService } from './service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The registration calendar: node/calendar/service.ts. */
    calendar: CalendarService
    /** The 1 August rollover: node/calendar/rollover-service.ts. */
    rollover: RolloverService
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

/**
 * A row of the initial entry: any field of a student, validated row by row by the records service;
 * the fields that find a student the school already holds (学籍号, else ID number, name, birth date
 * and gender) are read before that validation, so they are typed here: text or null.
 */
const Text = (description: string) => Type.Optional(Type.Unsafe<string | null>({ type: ['string', 'null'], description }))
const EntryRow = Type.Object({
  studentNo: Text('学籍号'), idDocType: Text('身份证件类型'), idNumber: Text('身份证件号'),
  name: Text('姓名'), birthDate: Text('出生日期'), gender: Text('性别'),
}, { additionalProperties: true })

const RolloverReport = Type.Object({
  schoolYear: Type.Integer({ description: '升入的学年（起始年份）' }),
  day: Type.String({ description: '学年升级日（YYYY-MM-DD，北京时间）' }),
  term: Type.String({ description: '升级后的学期，如 2026-1' }),
  items: Type.Array(Type.Object({
    unitId: Type.String(), unitCode: Type.String(), name: Type.String(),
    kind: Type.Union([Type.Literal('school'), Type.Literal('kindergarten')]),
    state: Type.Union([Type.Literal('ready'), Type.Literal('blocked'), Type.Literal('done')], { description: 'ready 可以升级 | blocked 有阻碍，不升级 | done 已升级' }),
    rolledOn: Type.Union([Type.String(), Type.Null()], { description: '完成升级的日期' }),
    classes: Type.Array(Type.Object({
      classId: Type.String(), classCode: Type.String(), grade: Type.Integer(), name: Type.String(),
      action: Type.Union([Type.Literal('up'), Type.Literal('complete')], { description: 'up 升入高一年级 | complete 毕业（离园）' }),
      toGrade: Type.Integer(), toName: Type.String(),
      pupils: Type.Integer({ description: '随班升级或毕业（离园）的在校学生（在园幼儿）' }),
    })),
    promoted: Type.Integer({ description: '升入高一年级的学生（幼儿）' }),
    completing: Type.Integer({ description: '毕业的学生、离园升入小学的幼儿' }),
    blockers: Type.Array(Type.Object({
      code: Type.String({ description: 'pending_status_change 未办结的学籍异动 | pending_change_request 未决定的修改申请 | not_in_school 班内有休学、停学者 | schooling_mismatch 学制与年级不符 | attendance_missing 缺少入园与离园信息 | enrolled_after_completion 毕业班学生入学年月晚于毕业年月 | rollover_refused 升级时记录被拒绝（见 message）' }),
      message: Type.String(),
      classId: Type.Optional(Type.String()),
      personIds: Type.Optional(Type.Array(Type.String())),
      recordIds: Type.Optional(Type.Array(Type.String())),
    })),
  })),
})

const routes: FastifyPluginAsync = async app => {
  const { dates, local } = app.config.calendar
  const nodeDates = datesFor(app.identity.code, dates, local)
  app.decorate('calendar', createCalendarService({ storage: app.storage, dates: nodeDates, bureauCode: app.identity.code, reminderDays: app.config.calendar.reminderDaysBefore }))
  app.decorate('rollover', createRolloverService({ storage: app.storage, identity: app.identity, codes: app.records.codes, dates: nodeDates }))

  // The rollover fires on its day (or at the first check after it, after a restart too); each
  // school rolls once (its marker), and a blocked school rolls at the first check after its
  // blockers are resolved.
  const check = () => {
    try {
      if (app.rollover.pending()) {
        const report = app.rollover.run()
        const count = (state: string) => report.items.filter(i => i.state === state).length
        app.log.info({ schoolYear: report.schoolYear, done: count('done'), blocked: count('blocked') }, 'rollover checked')
      }
      const raised = app.calendar.raiseReminders()
      if (raised > 0) app.log.info({ raised }, 'deadline reminders raised')
    } catch (err) {
      app.log.error({ err }, 'the rollover or reminder check failed')
    }
  }
  const timer = setInterval(check, app.config.calendar.rolloverCheckMs)
  timer.unref()
  app.addHook('onReady', async () => check())
  app.addHook('onClose', async () => clearInterval(timer))

  app.get('/api/v1/calendar/rollover', {
    config: { permission: 'school:read' },
    schema: {
      tags: ['学籍日历'],
      summary: '学年升级预览（R-21.1）：各校（园）将升级的班级、毕业（离园）人数和阻碍升级的事项，不做任何修改',
      querystring: Type.Object({ schoolYear: Type.Optional(Type.Integer({ minimum: 2000, maximum: 2100, description: '升入的学年（起始年份）；默认今天所在学年，也可预览下一学年' })) }),
      response: { 200: RolloverReport, 400: ErrorReply, ...authErrorReplies },
    },
  }, async req => {
    const actor = actorOf(req)
    const { schoolYear } = req.query as { schoolYear?: number }
    return app.rollover.dryRun({ schoolYear, reaches: t => inScope(actor, t) })
  })

  app.post('/api/v1/calendar/rollover', {
    config: { permission: 'calendar:rollover' },
    schema: {
      tags: ['学籍日历'],
      summary: '执行学年升级（R-21.1）：本节点各校（园）各自一个事务，已升级的不再升级，有阻碍的不升级；变更随同步上报',
      body: Type.Object({ schoolId: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: '只升级这所学校或幼儿园' })) }, { additionalProperties: false }),
      response: { 200: RolloverReport, 400: ErrorReply, ...authErrorReplies },
    },
  }, async req => {
    const { schoolId } = (req.body ?? {}) as { schoolId?: string }
    return outsideRequest(() => app.rollover.run({ unitId: schoolId }))
  })

  app.get('/api/v1/calendar/reminders', {
    config: { permission: 'student:read' },
    schema: {
      tags: ['学籍日历'],
      summary: '截止日前的提醒（R-19.2 新生录入核对、R-19.6 毕业生结业信息）：发给学校及其教育行政部门',
      response: {
        200: Type.Object({
          items: Type.Array(Type.Object({
            id: Type.String(), schoolId: Type.String(), schoolCode: Type.String(),
            bureauCode: Type.String({ description: '同时提醒的教育行政部门（本节点）' }),
            requirement: Type.String(), schoolYear: Type.Integer(),
            deadline: Type.String({ description: '截止日（YYYY-MM-DD，北京时间）' }),
            state: Type.String({ description: '提醒时的状态：none 未录入 | open 有未核对；按班级授权的账号看到的是其所管班级当时的状态，也可能是 done 已全部核对' }),
            entered: Type.Integer({ description: '提醒时已录入的人数（按班级授权的账号：其所管班级的）' }), verified: Type.Integer({ description: '其中已核对的人数' }),
            raisedAt: Type.String({ description: '提醒时间（UTC）' }),
          })),
        }),
        ...authErrorReplies,
      },
    },
  }, async req => {
    const actor = actorOf(req)
    return { items: app.calendar.reminders(t => inScope(actor, t)) }
  })

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
        students: Type.Array(EntryRow, { maxItems: 5000, description: '每行一名学生：学生信息字段及其子记录（guardians、enrolment 等），同新建学生接口；无需 schoolId' }),
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
