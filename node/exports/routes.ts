/**
 * Exports under /api/v1 (R-D.7), permission `stats:read` (every staff role that may query):
 * - `POST /api/v1/exports` {kind: students|children|school_teachers|school_classes|kindergarten_teachers|kindergarten_classes|schools|kindergartens|supervising_units|statistics|annual, format: csv|xlsx, query}: queues
 *   the export (202) — `query` is a list filter (q, schoolId, classId, grade, state, verifyState)
 *   or a statistics query (subject, by, unit, state, drill, asOf).
 * - `GET /api/v1/exports`, `GET /api/v1/exports/{id}`: the account's exports, with progress.
 * - `GET /api/v1/exports/{id}/file`: the finished file (audited); deleted after exports.keepDays.
 * The plugin runs the export worker (BullMQ queue `exports`, one job at a time, ids only).
 */
import { createReadStream } from 'node:fs'
import { dirname, join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyPluginAsync } from 'fastify'
import { Type } from '@fastify/type-provider-typebox'
import { Queue, Worker } from 'bullmq'
import { within } from '../../config/within.ts'
import { actorOf } from '../plugins/auth.ts'
import { ErrorReply, authErrorReplies } from '../routes/schemas.ts'
import { createExportService, EXPORT_KINDS, type ExportKind, type ExportService } from './service.ts'
import type { ExportFormat } from './writer.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** Exports: node/exports/service.ts. */
    exports: ExportService
  }
}

/** The BullMQ queue of export jobs (data: the export's id). */
export const EXPORT_QUEUE = 'exports'
const CLOSE_WAIT_MS = 5000
/** How often rows still queued are put on the queue again. */
const RECONCILE_MS = 10_000
/** How often finished files older than exports.keepDays are deleted. */
const EXPIRE_MS = 3600_000
const tags = ['导出']
const Id = Type.String({ minLength: 1, maxLength: 64 })

const ExportSchema = Type.Object({
  id: Type.String(),
  kind: Type.String({ description: 'students | children | school_teachers | school_classes | kindergarten_teachers | kindergarten_classes | schools | kindergartens | supervising_units | statistics | annual' }),
  format: Type.String({ description: 'csv | xlsx' }),
  query: Type.Record(Type.String(), Type.Unknown(), { description: '导出条件' }),
  state: Type.String({ description: 'queued | running | done | failed | expired（文件已过保存期限被删除）' }),
  rowsDone: Type.Integer({ description: '已写出的行数（进度）' }),
  rowsTotal: Type.Union([Type.Integer(), Type.Null()], { description: '符合条件的行数（开始导出后）' }),
  errorCode: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
})

const CONTENT_TYPE: Record<ExportFormat, string> = {
  csv: 'text/csv; charset=utf-8',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

const routes: FastifyPluginAsync = async app => {
  const prefix = app.config.redis.prefix
  const connection = app.redis.duplicate()
  // The queue and the worker are made once the connection is ready, never before: BullMQ keeps the
  // first connect's failure for good (a Queue made while the connection was still opening, whose
  // first attempt timed out on a busy machine, answered "Connection is closed." to every add
  // after ioredis had reconnected). Until then exports stay queued in their rows.
  let queue: Queue | null = null
  const svc = createExportService({
    storage: app.storage, records: app.records, statistics: app.statistics, codes: app.codes,
    dir: join(dirname(app.storage.sqlite.name), 'exports'),
    keepDays: app.config.exports.keepDays,
    enqueue: async id => {
      await queue?.add(EXPORT_QUEUE, { id }, { jobId: id })
    },
  })
  app.decorate('exports', svc)

  let worker: Worker | null = null
  let reconciler: NodeJS.Timeout | null = null
  let expirer: NodeJS.Timeout | null = null
  const expire = () => {
    try {
      const n = svc.expire()
      if (n > 0) app.log.info({ exports: n }, 'expired export files deleted')
    } catch (err) {
      app.log.warn({ err: (err as Error).message }, 'expired export files not deleted; retried later')
    }
  }
  // The rows are the truth: a job lost (Redis away, an add that failed) is queued again from them;
  // the job id dedupes one still waiting or running.
  const requeue = async (opts: { running?: boolean } = {}) => {
    if (!queue) return
    for (const id of svc.unfinished(opts)) await queue.add(EXPORT_QUEUE, { id }, { jobId: id }).catch(err => app.log.warn({ err: (err as Error).message, job: id }, 'export not queued; retried later'))
  }
  app.addHook('onReady', async () => {
    const started = new Promise<void>(resolve => {
      const start = () => {
        queue = new Queue(EXPORT_QUEUE, { connection, prefix, defaultJobOptions: { attempts: 1, removeOnComplete: true, removeOnFail: true } })
        queue.on('error', () => undefined) // Redis away: the rows stay queued and are queued again
        worker = new Worker(EXPORT_QUEUE, async job => svc.run(String(job.data.id)), { connection, prefix, concurrency: 1 })
        worker.on('error', () => undefined)
        // At start nothing runs yet: exports a stop left running are queued again too.
        void requeue({ running: true }).then(resolve)
      }
      if (connection.status === 'ready') start()
      else {
        connection.once('ready', start)
        // ioredis retries a failed connect by itself (retryStrategy) and says 'ready' when it is.
        if (connection.status === 'wait') connection.connect().catch(() => undefined)
      }
    })
    // Usually connected before the node serves; with Redis away the node serves and queues later.
    await within(started, CLOSE_WAIT_MS)
    reconciler = setInterval(() => void requeue(), RECONCILE_MS)
    reconciler.unref()
    expire()
    expirer = setInterval(expire, EXPIRE_MS)
    expirer.unref()
  })
  app.addHook('onClose', async () => {
    if (reconciler) clearInterval(reconciler)
    if (expirer) clearInterval(expirer)
    svc.stop()
    // The running export stops at its next page; with Redis away BullMQ may never confirm, and SQLite
    // holds the state. As in sync/queues.ts: force the worker when Redis is down, and disconnect the
    // worker's own blocking connection, which would otherwise reconnect for ever and keep the process.
    const force = connection.status !== 'ready'
    await within(Promise.all([worker?.close(force).catch(() => undefined), queue?.close().catch(() => undefined)]), force ? 0 : CLOSE_WAIT_MS)
    void worker?.disconnect().catch(() => undefined)
    void queue?.disconnect().catch(() => undefined)
    connection.disconnect()
  })

  app.post('/api/v1/exports', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '导出查询结果、统计表或年度报表（CSV、Excel），后台生成（R-D.7）',
      body: Type.Object({
        kind: Type.Union(EXPORT_KINDS.map(k => Type.Literal(k))),
        format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx')]),
        query: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: '学生、幼儿：q（姓名、拼音、身份证号、学籍号）、schoolId、classId、grade、state、verifyState；教师、班级、学校、幼儿园、主管单位：q（名称）及该列表的筛选条件；统计：subject、by、unit、state、drill、asOf；年度报表（annual）：from、to、unit、drill' })),
      }, { additionalProperties: false }),
      response: { 202: ExportSchema, 400: ErrorReply, ...authErrorReplies },
    },
  }, async (req, reply) => {
    const body = req.body as { kind: ExportKind; format: ExportFormat; query?: Record<string, unknown> }
    reply.code(202)
    return svc.request(actorOf(req), body)
  })

  app.get('/api/v1/exports', {
    config: { permission: 'stats:read' },
    schema: { tags, summary: '本账号的导出（最近 100 个）', response: { 200: Type.Object({ items: Type.Array(ExportSchema) }), ...authErrorReplies } },
  }, async req => ({ items: svc.list(actorOf(req)) }))

  app.get('/api/v1/exports/:id', {
    config: { permission: 'stats:read' },
    schema: { tags, summary: '一个导出的进度', params: Type.Object({ id: Id }), response: { 200: ExportSchema, ...authErrorReplies } },
  }, async req => svc.get(actorOf(req), (req.params as { id: string }).id))

  app.get('/api/v1/exports/:id/file', {
    config: { permission: 'stats:read' },
    schema: {
      tags, summary: '下载导出的文件', params: Type.Object({ id: Id }),
      response: { 200: Type.String({ description: 'CSV（UTF-8）或 Excel 文件', contentMediaType: 'application/octet-stream' }), 409: ErrorReply, 410: ErrorReply, ...authErrorReplies },
    },
  }, async (req, reply) => {
    const { file, record } = svc.download(actorOf(req), (req.params as { id: string }).id, req.ip)
    reply.type(CONTENT_TYPE[record.format]).header('content-disposition', `attachment; filename="export-${record.id}.${record.format}"`)
    return reply.send(createReadStream(file))
  })
}

export default fp(routes, { name: 'exports', dependencies: ['records', 'statistics'] })
