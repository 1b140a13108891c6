/**
 * Growth records and the comprehensive evaluation under /api/v1, and the plugin
 * that exposes the service as `app.growth`. Verification (R-18.1: verify, return with a reason,
 * resubmit) is the generic queue's: `POST /api/v1/verification/growth_*\/:id/…` (`growth:verify`).
 *
 * - `GET /api/v1/students/:studentId/growth`: the file (records, in-school exams, evaluation and
 *   the records each generated figure came from); `student:read`.
 * - `POST|PATCH|DELETE /api/v1/students/:studentId/growth/{courses|practices|qualities}[/:id]`:
 *   class and grade administrators (`growth:write`, R-17.5).
 * - `PUT /api/v1/students/:studentId/growth/evaluation` {overallComment, version?}: the comment
 *   generated figures are refused (GROWTH_GENERATED_READONLY).
 * - `GET /api/v1/students/:studentId/growth/report`, `GET /api/v1/classes/:classId/growth/report`:
 *   the printable report of a student and of a class (HTML with a print stylesheet).
 * - `POST /api/v1/schools/:schoolId/growth/report` {schoolYear, grade}: the school reports a grade's
 *   verified records (R-23.1; `growth:verify`); `POST /api/v1/growth/report`: the bureau reports
 *   them to the province (R-24.1; `growth:report`); `GET /api/v1/growth/progress?schoolYear=`.
 *   Reported records are locked (GROWTH_REPORTED_LOCKED, R-24.2).
 * - `GET /api/v1/growth/rules`: the rules edition in force (scales, credit rules, levels, deadlines).
 */
import fp from 'fastify-plugin'
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type, type TSchema } from '@fastify/type-provider-typebox'
import { actorFor, docInputSchema, inputSchema } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { resource } from '../services/records/resources.ts'
import type { RecordInput } from '../records/validate.ts'
import { reportDocument } from './report.ts'
import { TEST_CLOCK_ENV, growthClock } from './clock.ts'
import { GENERATED_KEYS } from './rules.ts'
import { GROWTH_KINDS, createGrowthService, type GrowthKind, type GrowthService } from './service.ts'
import { auditedWrite } from '../auth/audit.ts'
import { mayReveal } from '../auth/sensitive.ts'
import { actorOf } from '../plugins/auth.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Growth records and the comprehensive evaluation: node/growth/service.ts. */
    growth: GrowthService
  }
}

const Id = Type.String({ minLength: 1, maxLength: 64 })
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }
const tags = ['成长记录与综合素质评价']
const Version = Type.Integer({ minimum: 1, description: '读取时的版本号（乐观并发）' })

/** A record as answered: every column of its table. */
function rowSchema(table: string): TSchema {
  const props: Record<string, TSchema> = {}
  for (const c of resource(table).columns) {
    const base = c.type === 'number' ? Type.Number() : c.type === 'boolean' ? Type.Boolean() : Type.String()
    props[c.key] = c.notNull ? base : Type.Union([base, Type.Null()])
  }
  return Type.Object(props)
}

const routes: FastifyPluginAsync = async app => {
  // The real clock, or a test process's clock some days ahead (clock.ts; never in a production build).
  const clock = growthClock()
  if (clock.ignored) app.log.warn(clock.ignored)
  else if (clock.offsetDays > 0) app.log.warn({ offsetDays: clock.offsetDays }, `TEST: growth dates run ${clock.offsetDays} days ahead (${TEST_CLOCK_ENV}); never on a real node`)
  const svc = createGrowthService({ storage: app.storage, identity: app.identity, codes: app.records.codes, now: clock.now })
  app.decorate('growth', svc)

  const Source = Type.Object({ table: Type.String(), id: Type.String(), version: Type.Integer() })
  const FileSchema = Type.Object({
    student: Type.Object({
      id: Type.String(), name: Type.String(), studentNo: Type.String(), schoolCode: Type.String(),
      grade: Type.Union([Type.Integer(), Type.Null()]), className: Type.Union([Type.String(), Type.Null()]), schoolName: Type.Union([Type.String(), Type.Null()]),
    }),
    courses: Type.Array(rowSchema('growth_courses')),
    exams: Type.Array(rowSchema('student_exams'), { description: '在校考试（R-10.6），在此展示，不重复录入' }),
    practices: Type.Array(rowSchema('growth_practices')),
    qualities: Type.Array(rowSchema('growth_qualities')),
    evaluation: Type.Union([rowSchema('growth_evaluations'), Type.Null()]),
    objections: Type.Array(rowSchema('growth_objections'), { description: '公示期间的异议及学校答复' }),
    sources: Type.Union([Type.Object({
      totalCredits: Type.Array(Source), courseStatus: Type.Array(Source),
      proficiency: Type.Array(Type.Object({ table: Type.String(), id: Type.String(), version: Type.Integer(), moduleCode: Type.String(), score: Type.Number(), level: Type.String() })),
      projects: Type.Object({ aesthetics: Type.Array(Source), sport: Type.Array(Source), inquiry: Type.Array(Source), labour: Type.Array(Source) }),
    }, { description: '每项生成数据所依据的成长记录（表、id、版本）' }), Type.Null()]),
    rules: Type.Object({ edition: Type.String(), title: Type.String() }),
  })
  const StudentParams = Type.Object({ studentId: Id })

  /**
   * the 学籍号 (a G-form one is the ID number) is shown in clear only to an account granted
   * `id_number`, masked to everyone else. Where it is shown in clear, `read` runs first (so a
   * record out of reach is refused as before), then the disclosure is audited before the answer
   * leaves, like the transfer certificate's. A GET is otherwise audited only when refused, so
   * its entry is committed here through `auditedWrite` (nothing else is written).
   */
  function withStudentNo<T>(req: FastifyRequest, target: { targetTable: string; targetId: string }, read: (studentNo: 'masked' | 'clear') => T): T {
    if (!mayReveal(actorOf(req), 'id_number')) return read('masked')
    const result = read('clear')
    Object.assign(req.audit, { action: 'growth_file_disclosure', ...target, fields: ['studentNo'] })
    auditedWrite(app.storage, () => undefined)
    return result
  }

  app.get('/api/v1/students/:studentId/growth', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '学生成长记录与综合素质评价（R-13.1–R-15.3）。学籍号仅对获授权者明文显示，并记入审计日志', params: StudentParams, response: { 200: FileSchema, ...Replies } },
  }, async req => {
    const { studentId } = req.params as { studentId: string }
    return withStudentNo(req, { targetTable: 'students', targetId: studentId }, no => svc.file(actorFor(req), studentId, no))
  })

  for (const kind of Object.keys(GROWTH_KINDS) as GrowthKind[]) {
    const spec = resource(GROWTH_KINDS[kind].table)
    const base = `/api/v1/students/:studentId/growth/${kind}`
    const Row = rowSchema(spec.table)
    const Params = Type.Object({ studentId: Id, id: Id })
    const Create = inputSchema(spec, false)
    const Update = inputSchema(spec, false) as ReturnType<typeof Type.Object>
    const UpdateDoc = docInputSchema(spec, false, false, app.records.codes)

    app.post(base, {
      config: { permission: 'growth:write', openapi: { body: docInputSchema(spec, false, true, app.records.codes) } },
      schema: { tags, summary: `录入${spec.label}（${spec.requirement}）`, params: StudentParams, body: Create, response: { 201: Row, ...Replies } },
    }, async (req, reply) => {
      const body = req.body as RecordInput
      req.audit.fields = Object.keys(body)
      return reply.code(201).send(svc.create(actorFor(req), kind, (req.params as { studentId: string }).studentId, body))
    })

    app.patch(`${base}/:id`, {
      config: { permission: 'growth:write', openapi: { body: Type.Object({ ...UpdateDoc.properties, version: Version }, { additionalProperties: false }) } },
      schema: { tags, summary: `修改${spec.label}（${spec.requirement}）`, params: Params, body: Type.Object({ ...Update.properties, version: Version }, { additionalProperties: false }), response: { 200: Row, ...Replies } },
    }, async req => {
      const { studentId, id } = req.params as { studentId: string; id: string }
      const body = req.body as RecordInput & { version: number }
      req.audit.targetTable = spec.table
      req.audit.targetId = id
      req.audit.fields = Object.keys(body).filter(k => k !== 'version')
      return svc.update(actorFor(req), kind, studentId, id, body)
    })

    app.delete(`${base}/:id`, {
      config: { permission: 'growth:write' },
      schema: { tags, summary: `删除${spec.label}`, params: Params, querystring: Type.Object({ version: Version }, { additionalProperties: false }), response: { 204: Type.Null(), ...Replies } },
    }, async (req, reply) => {
      const { studentId, id } = req.params as { studentId: string; id: string }
      req.audit.targetTable = spec.table
      req.audit.targetId = id
      svc.remove(actorFor(req), kind, studentId, id, (req.query as { version: number }).version)
      return reply.code(204).send()
    })
  }

  const EvalBody: Record<string, TSchema> = {
    overallComment: Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], { description: '综合评语（R-15.1）：思想品德、公民素养、学习态度、合作与交流、日常表现' }),
    version: Type.Optional(Version),
  }
  // Declared so that a typed figure reaches the service and is refused with its own code.
  for (const key of GENERATED_KEYS) EvalBody[key] = Type.Optional(Type.Unknown({ description: '由系统根据成长记录生成，不能录入' }))
  app.put('/api/v1/students/:studentId/growth/evaluation', {
    config: { permission: 'growth:write' },
    schema: {
      tags, summary: '填写综合评语（R-15.1）；其余评价数据由系统生成（R-15.2、R-15.3）', params: StudentParams,
      body: Type.Object(EvalBody, { additionalProperties: false }), response: { 200: rowSchema('growth_evaluations'), ...Replies },
    },
  }, async req => {
    const body = req.body as RecordInput & { version?: number }
    req.audit.fields = Object.keys(body).filter(k => k !== 'version')
    return svc.comment(actorFor(req), (req.params as { studentId: string }).studentId, body)
  })

  const html = { 200: Type.String({ description: 'text/html，可直接打印（A4）' }), ...Replies }
  app.get('/api/v1/students/:studentId/growth/report', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '打印学生成长记录与综合素质评价表。学籍号仅对获授权者明文显示，并记入审计日志', params: StudentParams, response: html },
  }, async (req, reply) => {
    const { studentId } = req.params as { studentId: string }
    const file = withStudentNo(req, { targetTable: 'students', targetId: studentId }, no => svc.file(actorFor(req), studentId, no))
    return reply.type('text/html; charset=utf-8').send(reportDocument(`成长记录与综合素质评价 ${file.student.studentNo}`, [file]))
  })

  app.get('/api/v1/classes/:classId/growth/report', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '导出全班成长记录与综合素质评价表（打印用）。学籍号仅对获授权者明文显示，并记入审计日志', params: Type.Object({ classId: Id }), response: html },
  }, async (req, reply) => {
    const { classId } = req.params as { classId: string }
    const files = withStudentNo(req, { targetTable: 'school_classes', targetId: classId }, no => svc.classFiles(actorFor(req), classId, no))
    return reply.type('text/html; charset=utf-8').send(reportDocument('班级成长记录与综合素质评价', files))
  })

  const Round = Type.Object({
    schoolYear: Type.Integer({ minimum: 2000, maximum: 2100, description: '学年（2026 表示 2026–2027 学年）' }),
    grade: Type.Integer({ minimum: 10, maximum: 12, description: '上报的年级 10–12' }),
  }, { additionalProperties: false })
  const Reported = Type.Object({ reported: Type.Integer({ description: '本次上报的学生评价数' }), deadline: Type.String({ description: '上报期限 YYYY-MM-DD' }), late: Type.Boolean({ description: '超过期限上报' }) })

  app.post('/api/v1/schools/:schoolId/growth/report', {
    config: { permission: 'growth:verify' },
    schema: {
      tags, summary: '学校上报某年级已核对的成长记录（R-23.1：高一、高二 7 月 31 日前，高三 5 月 30 日前）；上报后锁定', params: Type.Object({ schoolId: Id }),
      body: Round, response: { 200: Reported, ...Replies },
    },
  }, async req => {
    const { schoolId } = req.params as { schoolId: string }
    req.audit.targetTable = 'schools'
    req.audit.targetId = schoolId
    return svc.schoolReport(actorFor(req), schoolId, req.body as { schoolYear: number; grade: number })
  })

  app.post('/api/v1/schools/:schoolId/growth/publicity', {
    config: { permission: 'growth:verify' },
    schema: {
      tags, summary: '公示某年级已核对的综合素质评价（上报前；公示期间学生及监护人可查看并提出异议）', params: Type.Object({ schoolId: Id }),
      body: Type.Object({
        grade: Type.Integer({ minimum: 10, maximum: 12 }),
        from: Type.String({ maxLength: 10, description: '公示开始日期 YYYY-MM-DD' }),
        to: Type.String({ maxLength: 10, description: '公示结束日期 YYYY-MM-DD（含）' }),
      }, { additionalProperties: false }),
      response: { 200: Type.Object({ evaluations: Type.Integer() }), ...Replies },
    },
  }, async req => svc.publicity(actorFor(req), (req.params as { schoolId: string }).schoolId, req.body as { grade: number; from: string; to: string }))

  const Objection = rowSchema('growth_objections')
  app.post('/api/v1/students/:studentId/growth/objections', {
    config: { permission: 'growth:object' },
    schema: {
      tags, summary: '学生（监护人）在公示期间对本人综合素质评价提出异议', params: StudentParams,
      body: Type.Object({ reason: Type.String({ maxLength: 500, description: '异议内容' }) }, { additionalProperties: false }), response: { 201: Objection, ...Replies },
    },
  }, async (req, reply) => reply.code(201).send(svc.object(actorFor(req), (req.params as { studentId: string }).studentId, (req.body as { reason: string }).reason)))

  app.post('/api/v1/students/:studentId/growth/objections/:id/answer', {
    config: { permission: 'growth:verify' },
    schema: {
      tags, summary: '学校（评价领导小组）答复公示异议', params: Type.Object({ studentId: Id, id: Id }),
      body: Type.Object({ answer: Type.String({ maxLength: 500, description: '学校答复' }) }, { additionalProperties: false }), response: { 200: Objection, ...Replies },
    },
  }, async req => {
    const { studentId, id } = req.params as { studentId: string; id: string }
    return svc.answer(actorFor(req), studentId, id, (req.body as { answer: string }).answer)
  })

  app.post('/api/v1/growth/report', {
    config: { permission: 'growth:report' },
    schema: { tags, summary: '教育局向省级上报学校已上报的成长记录（R-24.1：高一、高二 9 月 30 日前，高三 6 月 10 日前）', body: Round, response: { 200: Reported, ...Replies } },
  }, async req => svc.bureauReport(actorFor(req), req.body as { schoolYear: number; grade: number }))

  app.get('/api/v1/growth/progress', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '各校成长记录核对与上报进度及期限（R-23.1、R-24.1）',
      querystring: Type.Object({ schoolYear: Type.Integer({ minimum: 2000, maximum: 2100 }) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Object({
          schoolCode: Type.String(), grade: Type.Integer(), evaluations: Type.Integer(), verified: Type.Integer(), reported: Type.Integer(), bureauReported: Type.Integer(),
          schoolDeadline: Type.String(), bureauDeadline: Type.String(),
        })) }),
        ...Replies,
      },
    },
  }, async req => ({ items: svc.progress(actorFor(req), (req.query as { schoolYear: number }).schoolYear) }))

  app.get('/api/v1/growth/rules', {
    config: { permission: 'student:read' },
    schema: { tags, summary: '成长记录规则（分值量表、学分规则、水平等级）；课程模块见 GET /api/v1/codes/growth_module', response: { 200: Type.Unknown(), ...Replies } },
  }, async () => svc.rules)
}

export default fp(routes, { name: 'growth', dependencies: ['records'] })
