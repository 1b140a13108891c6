/**
 * Excel imports under /api/v1/imports and the plugin that exposes the service as `app.imports`:
 * - `GET /api/v1/imports/templates/{students|children|classes|teachers}`: the template.
 * - `POST /api/v1/imports/{kind}/preview?schoolId=`: body the .xlsx bytes; what each row would do.
 * - `POST /api/v1/imports/:importId/commit`: writes the valid rows of a preview.
 * - `GET /api/v1/imports/:importId/errors.xlsx`: the rows in error, with 错误原因, to fix and upload again.
 * - `DELETE /api/v1/imports/:importId`: cancels an import, deleting what it kept of the file.
 * One route per kind for the template and the preview, so each declares the permission that
 * writes its records; commit, the errors file and cancel are for the account that previewed (or
 * an administrator of its school) and check that permission themselves. Imports past their expiry
 * are deleted at start and every `imports.purgeIntervalMs`.
 */
import fp from 'fastify-plugin'
import { housekeeping } from '../housekeeping.ts'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { actorOf, assertInScope } from '../plugins/auth.ts'
import { targetOfRow } from '../auth/targets.ts'
import { authError } from '../auth/errors.ts'
import { actorFor, flagUnchecked } from '../routes/api/records.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { importError } from './errors.ts'
import { IMPORT_KINDS, KINDS, MAX_ROWS, type ImportKind } from './rules.ts'
import { createImportService, type ImportService } from './service.ts'
import { XLSX_TYPE } from './workbook.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Excel imports: node/imports/service.ts. */
    imports: ImportService
  }
}

/** Largest upload: 5,000 rows of the widest template with room to spare. */
export const IMPORT_BODY_LIMIT = 32 * 1024 * 1024

const tags = ['Excel 导入']
const ImportId = Type.Object({ importId: Type.String({ minLength: 1, maxLength: 64 }) })
const Action = Type.Union(['create', 'update', 'unchanged', 'error'].map(a => Type.Literal(a)), { description: 'create 新建 | update 修改 | unchanged 无变化 | error 有错误' })
const RowErrorSchema = Type.Object({
  field: Type.Union([Type.String(), Type.Null()], { description: '字段（路径，如 idNumber、guardians[0].phone）' }),
  column: Type.Union([Type.String(), Type.Null()], { description: '模板中的列名' }),
  code: Type.String({ description: '稳定的错误代码（GET /api/v1/errors）' }),
  message: Type.String({ description: '中文说明' }),
})
const Xlsx = Type.String({ description: 'Excel 文件（.xlsx）', contentMediaType: XLSX_TYPE })
const attachment = (name: string) => `attachment; filename="import.xlsx"; filename*=UTF-8''${encodeURIComponent(name)}`

const routes: FastifyPluginAsync = async app => {
  const svc = createImportService({
    storage: app.storage, records: app.records, codes: app.codes, identity: app.identity,
    askParent: q => app.sync.askParent(q),
    flagUnchecked: (table, id) => flagUnchecked(app, table, id),
  })
  app.decorate('imports', svc)
  // The parsed rows hold ID numbers in clear: expired ones go on a timer, not at the next
  // preview, which may never come.
  housekeeping(app, app.config.imports.purgeIntervalMs, () => svc.purgeExpired(), { key: 'imports', did: 'expired imports deleted', failed: 'expired imports not deleted; retried later' })
  app.addContentTypeParser(XLSX_TYPE, { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body))

  for (const kind of IMPORT_KINDS) {
    const spec = KINDS[kind]
    app.get(`/api/v1/imports/templates/${kind}`, {
      config: { permission: spec.permission },
      schema: { tags, summary: `下载${spec.label}导入模板（身份证号、电话列为文本，代码列为名称下拉）`, response: { 200: Xlsx, ...authErrorReplies } },
    }, async (_req, reply) => {
      reply.type(XLSX_TYPE).header('content-disposition', attachment(`${spec.label}导入模板.xlsx`))
      return reply.send(await svc.template(kind))
    })

    app.post(`/api/v1/imports/${kind}/preview`, {
      config: { permission: spec.permission, openapi: { body: Type.String({ description: `填写好的${spec.label}导入模板（.xlsx 文件内容，Content-Type: ${XLSX_TYPE}），最多 ${MAX_ROWS} 行`, contentMediaType: XLSX_TYPE }) } },
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        tags,
        summary: `预览${spec.label}导入：逐行校验并与本${spec.ownerTable === 'schools' ? '校' : '园'}已有记录比对，尚不写入`,
        querystring: Type.Object({ schoolId: Type.String({ minLength: 1, maxLength: 64, description: spec.ownerTable === 'schools' ? '学校记录编号' : '幼儿园记录编号' }) }),
        response: {
          200: Type.Object({
            importId: Type.String(),
            counts: Type.Object({ create: Type.Integer(), update: Type.Integer(), unchanged: Type.Integer(), error: Type.Integer() }),
            rows: Type.Array(Type.Object({ row: Type.Integer({ description: 'Excel 中的行号（数据从第 3 行起）' }), action: Action, errors: Type.Array(RowErrorSchema) })),
          }),
          400: ErrorReply, 409: ErrorReply, 413: ErrorReply, 415: ErrorReply,
          ...authErrorReplies,
        },
      },
    }, async req => {
      const { schoolId } = req.query as { schoolId: string }
      const owner = svc.owner(kind as ImportKind, schoolId)
      if (!owner) throw authError('NOT_FOUND', '未找到该学校')
      assertInScope(req, targetOfRow(app.storage, spec.ownerTable, owner))
      if (!Buffer.isBuffer(req.body)) throw importError('IMPORT_FILE_INVALID', `请上传 Excel（.xlsx）文件，Content-Type 为 ${XLSX_TYPE}`)
      return svc.preview(actorOf(req), actorFor(req), kind, schoolId, req.body)
    })
  }

  app.post('/api/v1/imports/:importId/commit', {
    config: { permission: 'signed_in' },
    schema: {
      tags, summary: '确认导入：预览中无错误的行写入学籍（一个事务）；重复确认不会重复写入', params: ImportId,
      response: {
        200: Type.Object({ created: Type.Integer(), updated: Type.Integer(), unchanged: Type.Integer(), errorRows: Type.Integer({ description: '有错误、未写入的行数' }) }),
        410: ErrorReply, ...authErrorReplies,
      },
    },
  }, async req => svc.commit(actorOf(req), actorFor(req), (req.params as { importId: string }).importId))

  app.get('/api/v1/imports/:importId/errors.xlsx', {
    config: { permission: 'signed_in' },
    schema: { tags, summary: '下载有错误的行（模板格式，末列为错误原因），改正后重新上传', params: ImportId, response: { 200: Xlsx, ...authErrorReplies } },
  }, async (req, reply) => {
    const { kind, file } = await svc.errorsFile(actorOf(req), (req.params as { importId: string }).importId)
    reply.type(XLSX_TYPE).header('content-disposition', attachment(`${KINDS[kind].label}导入错误行.xlsx`))
    return reply.send(file)
  })

  app.delete('/api/v1/imports/:importId', {
    config: { permission: 'signed_in' },
    schema: { tags, summary: '取消导入：删除预览保存的文件内容（已确认的导入：删除为错误行保存的内容）；之后不能再确认或下载错误行', params: ImportId, response: { 204: Type.Null(), ...authErrorReplies } },
  }, async (req, reply) => {
    svc.cancel(actorOf(req), (req.params as { importId: string }).importId)
    return reply.code(204).send()
  })
}

export default fp(routes, { name: 'imports', dependencies: ['records'] })
