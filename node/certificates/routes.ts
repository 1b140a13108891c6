/**
 * Routes of the student history and the 学籍证明:
 * - `GET /api/v1/student-history?idNumber=…|studentNo=…` (student:read, scope): every matching
 *   student the account reaches, with schools, status changes and completion, masked.
 * - `GET /api/v1/students/:id/certificate` (certificate:issue, scope): the printable page with
 *   the QR code of the signed certificate, for a verified student homed here or below; audited.
 * - `GET /verify`, `POST /verify` (its form) and `GET /verify/keys`: public, no login. The page checks
 *   a pasted certificate with the key records this node holds, and is never cached; the keys are
 *   what an offline verifier needs.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { inScope, type Target } from '../auth/access.ts'
import { loadRow, targetOfRow } from '../auth/targets.ts'
import { actorOf, assertInScope, notFound } from '../plugins/auth.ts'
import { ErrorReply, IdParams, authErrorReplies } from '../routes/schemas.ts'
import { inArea } from '../../sync/area.ts'
import { normaliseIdentifier } from '../records/validate.ts'
import { certificateError } from './errors.ts'
import { verifyPage } from './rules.ts'
import { createCertificatesService } from './service.ts'
import { students } from '../../schema/records/index.ts'
import { eq } from 'drizzle-orm'

const tags = ['学籍证明']
const Loose = Type.Record(Type.String(), Type.Unknown())
/** The longest certificate /verify takes (a JWS is about 1 KB). */
const MAX_TOKEN = 8192

const certificateRoutes: FastifyPluginAsync = async app => {
  const svc = createCertificatesService({ storage: app.storage, identity: app.identity })
  const targetOf = (s: { homeNode: string; schoolCode: string; classId: string | null; id: string }): Target => ({ homeNode: s.homeNode, school: s.schoolCode, classId: s.classId ?? undefined, studentId: s.id })

  app.get('/api/v1/student-history', {
    config: { permission: 'student:read' },
    schema: {
      tags, summary: '按身份证件号或学籍号查询学生的学籍历史（学校、异动、结业）',
      querystring: Type.Object({ idNumber: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })), studentNo: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })) }, { additionalProperties: false }),
      response: {
        200: Type.Object({ items: Type.Array(Type.Object({ student: Loose, school: Type.Union([Type.Object({ schoolCode: Type.String(), name: Type.String() }), Type.Null()]), enrolment: Type.Union([Loose, Type.Null()]), resumes: Type.Array(Loose), statusChanges: Type.Array(Loose), completion: Type.Union([Loose, Type.Null()]) })) }),
        400: ErrorReply, ...authErrorReplies,
      },
    },
  }, async req => {
    const asked = req.query as { idNumber?: string; studentNo?: string }
    if ((asked.idNumber === undefined) === (asked.studentNo === undefined)) throw certificateError('CERT_LOOKUP_INVALID', '请提供身份证件号或学籍号（二者之一）')
    // As the records store them: typed in full-width characters, with spaces or in lower case, still the number.
    const q = asked.idNumber !== undefined ? { idNumber: normaliseIdentifier(asked.idNumber) } : { studentNo: normaliseIdentifier(asked.studentNo!) }
    if ((q.idNumber ?? q.studentNo) === '') throw certificateError('CERT_LOOKUP_INVALID', '身份证件号或学籍号为空：请输入完整的号码', { field: asked.idNumber !== undefined ? 'idNumber' : 'studentNo', rule: 'required' })
    const actor = actorOf(req)
    req.audit.action = 'student.history'
    req.audit.targetTable = 'students'
    const found = svc.find(q)
    const reachable = found.filter(s => inScope(actor, targetOf(s)))
    if (reachable.length === 0) {
      // Found but out of reach is answered like not found, and audited as denied.
      if (found.length > 0) req.audit.outcome = 'denied'
      throw notFound()
    }
    return { items: reachable.map(s => svc.history(s)) }
  })

  app.get('/api/v1/students/:id/certificate', {
    config: { permission: 'certificate:issue' },
    schema: { tags, summary: '出具学籍证明（可打印页面，二维码内含签名；学籍信息须已核对）', params: IdParams, response: { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies } },
  }, async (req, reply) => {
    const { id } = req.params as { id: string }
    req.audit.action = 'certificate.issue'
    req.audit.targetTable = 'students'
    req.audit.targetId = id
    const row = loadRow(app.storage, 'students', id)
    if (!row) throw notFound()
    assertInScope(req, targetOfRow(app.storage, 'students', row))
    const student = app.storage.db.select().from(students).where(eq(students.id, id)).get()!
    // Only a node whose area holds the record's home certifies it (its home, or a bureau above
    // it): a read-only copy of a student transferred away is behind what its new home holds, and
    // the school it names is no longer this node's to certify (verification checks the same).
    if (!inArea(app.identity, student.homeNode)) throw certificateError('CERT_RECORD_NOT_HOME', '该学生的学籍已不在本节点管辖范围内（已转出至其他地区），学籍证明须由其学籍所在节点出具', { homeNode: student.homeNode })
    // A certificate attests the record: only a verified one, not what one person entered alone.
    if (student.verifyState !== 'verified') throw certificateError('CERT_RECORD_UNVERIFIED', '该学生的学籍信息尚未核对（或修改后尚未重新核对），核对后才能出具学籍证明', { verifyState: student.verifyState })
    const { html } = await svc.issue(student)
    return reply.type('text/html; charset=utf-8').send(html)
  })

  // The page names the certified child (name, birth date, school): never stored by a browser or a
  // proxy. Its form posts the pasted certificate, so the token, whose payload is that
  // personal data in base64, stays out of the address bar, the history and proxies' access logs;
  // GET ?t= still answers for scripts and links made before.
  const verifyToken = { t: Type.Optional(Type.String({ maxLength: MAX_TOKEN })) }
  const answerVerify = async (t: string | undefined, reply: FastifyReply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(verifyPage(t ? await svc.verify(t) : null))
  app.get('/verify', {
    schema: { tags, summary: '核验学籍证明（公开，无需登录）', querystring: Type.Object(verifyToken) },
  }, async (req, reply) => answerVerify((req.query as { t?: string }).t, reply))

  // The page's form (application/x-www-form-urlencoded), parsed in this plugin only.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 2 * MAX_TOKEN }, (_req, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))))
  })
  app.post('/verify', {
    schema: { tags, summary: '核验学籍证明（公开，无需登录；核验页表单提交，证明不出现在网址中）', body: Type.Object(verifyToken) },
  }, async (req, reply) => answerVerify((req.body as { t?: string } | undefined)?.t, reply))

  app.get('/verify/keys', {
    schema: {
      tags, summary: '离线核验所需的省级公钥与密钥记录（公开）',
      response: { 200: Type.Object({ root: Type.Union([Type.Object({ node: Type.String(), kid: Type.String(), publicJwk: Loose }), Type.Null()]), records: Type.Array(Type.String()) }) },
    },
  }, async () => svc.publishedKeys())
}

export default certificateRoutes
