import fp from 'fastify-plugin'
import type { FastifyError } from 'fastify'
import { XuejiError } from '../../config/errors.ts'

/**
 * One error handler for the whole node: every error answers `{ code, message }` (plus `details`
 * when present); 5xx details stay in the log under the request id.
 */
export default fp(
  async app => {
    app.setErrorHandler((err: FastifyError | XuejiError, req, reply) => {
      if (err instanceof XuejiError) {
        if (err.statusCode >= 500) req.log.error({ err }, 'request failed')
        return reply.code(err.statusCode).send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) })
      }
      const fe = err as FastifyError
      if (fe.validation) {
        const first = fe.validation[0]
        const field = (first?.instancePath || '').replace(/^\//, '').replaceAll('/', '.') || String((first?.params as { missingProperty?: string })?.missingProperty ?? '')
        return reply.code(400).send({ code: 'VALIDATION_FAILED', message: `请求数据不符合要求：${field ? `字段 ${field} ` : ''}${first?.message ?? ''}`, details: { field, rule: first?.keyword } })
      }
      if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send({ code: 'BODY_TOO_LARGE', message: '提交的数据过大' })
      if (fe.statusCode && fe.statusCode < 500) {
        // One catalogued code for malformed HTTP; Fastify's own code says what in details.
        return reply.code(fe.statusCode).send({ code: 'BAD_REQUEST', message: `请求格式有误：${fe.message}`, details: { reason: fe.code ?? null } })
      }
      req.log.error({ err }, 'unexpected error')
      return reply.code(500).send({ code: 'INTERNAL', message: '服务器内部错误，请联系管理员（请求编号 ' + req.id + '）' })
    })
    app.setNotFoundHandler((_req, reply) => reply.code(404).send({ code: 'NOT_FOUND', message: '未找到该资源' }))
  },
  { name: 'errors' },
)
