import { symbols, type Bindings, type ChildLoggerOptions, type LoggerOptions } from 'pino'
import { resolve } from 'node:path'
import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify'

/**
 * Field names that carry personal data anywhere in a logged object. pino's redact paths match
 * exact depths, so each name is listed at the depths our log calls use.
 */
const PERSONAL_FIELDS = [
  'idNumber', 'name', 'formerName', 'namePinyin', 'address', 'currentAddress', 'postalAddress',
  'householdRegistration', 'birthplace', 'phone', 'email', 'photo', 'password', 'studentNo',
  'guardians', 'familyMembers', 'totpSecret',
  // The same fields as SQL column names, as they stand in row images and outbox rows.
  'id_number', 'former_name', 'name_pinyin', 'current_address', 'postal_address', 'household_registration',
  'student_no', 'row', 'row_json', 'rows',
  // Credentials of the auth routes (issue 4), should a body ever be logged.
  'currentPassword', 'newPassword', 'secret', 'csrfToken', 'username',
]

export const REDACT_PATHS = [
  'req.headers.cookie',
  'req.headers.authorization',
  'req.headers["x-csrf-token"]',
  'res.headers["set-cookie"]',
  ...PERSONAL_FIELDS.flatMap(f => [f, `*.${f}`, `*.*.${f}`]),
]

/** A parameter name as the API spells them (`q`, `schoolCode`, `limit`); anything else is the client's data. */
const PARAM_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/**
 * A path segment that may be personal data: a run of 11 digits or more (an ID number, a 学籍号, a
 * mobile phone; school and division codes are shorter) or any character beyond ASCII (a name),
 * as sent or %-encoded. Record ids (UUIDs) stay readable.
 */
function personalSegment(segment: string): boolean {
  return !UUID.test(segment) && (/\d{11}/.test(segment) || /[^\x20-\x7e]|%[89a-f][0-9a-f]/i.test(segment))
}

/**
 * A request is logged without its query string values (searches carry ID numbers and names),
 * without a query key that is not a parameter name (`?<ID number>`), and without a path segment
 * that looks like personal data (an ID number typed where a record id belongs).
 */
export function serializeRequest(req: FastifyRequest) {
  const q = req.url.indexOf('?')
  const path = (q < 0 ? req.url : req.url.slice(0, q)).split('/').map(s => (personalSegment(s) ? '[Redacted]' : s)).join('/')
  const keys = q < 0 ? [] : [...new URLSearchParams(req.url.slice(q + 1)).keys()]
  const url = q < 0 ? path : `${path}?${keys.map(k => (PARAM_NAME.test(k) ? `${k}=[Redacted]` : '[Redacted]')).join('&')}`
  return { method: req.method, url, remoteAddress: req.ip, reqId: req.id }
}

/** Where and how a node logs (config `log`): stdout, or files rotated by pino-roll. */
export interface LogSettings {
  level: string
  /** Log file (absolute, or relative to the data directory); null = stdout (the journal under systemd). */
  file?: string | null
  rotateSize?: string
  rotateFrequency?: 'daily' | 'hourly'
  keep?: number
}

export function loggerOptions(log: LogSettings, dataDir = '.'): LoggerOptions {
  return {
    level: log.level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: { req: serializeRequest as never },
    // pino-roll writes in a worker thread: a slow disk never holds up a request.
    ...(log.file
      ? { transport: { target: 'pino-roll', options: { file: resolve(dataDir, log.file), size: log.rotateSize, frequency: log.rotateFrequency, limit: { count: log.keep }, mkdir: true } } }
      : {}),
  }
}

/**
 * One line per request, written when the answer is sent: Fastify's own logging writes two (on
 * arrival and on completion), which doubled the log for nothing. Its fields: method, url without
 * query values, status, time. Health probes are quiet through their route's logLevel.
 */
export class OneLinePerRequest extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = { req, res: reply, responseTime: Math.round(reply.elapsedTime) }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request')
  }
}

/**
 * A request's child logger (Fastify's `childLoggerFactory`). pino passes a child's bindings through
 * its redaction, which with wildcard paths (`*.name`) runs every path over any value, even a
 * string: about 30 KB of garbage a request for the request id alone, before anything is logged
 * (two fifths of the main thread's allocations in a heap sampling of bench:search; 105 → 74
 * scavenges in a run). Fastify's bindings are its request id, a counter of its own: written in
 * as pino writes a binding; any other bindings go through pino's redaction.
 */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, opts: ChildLoggerOptions): FastifyBaseLogger {
  const keys = Object.keys(bindings)
  if (keys.length !== 1 || keys[0] !== 'reqId' || typeof bindings.reqId !== 'string') return logger.child(bindings, opts)
  const child = logger.child({}, opts) as FastifyBaseLogger & { [symbols.chindingsSym]: string }
  child[symbols.chindingsSym] += `,"reqId":${JSON.stringify(bindings.reqId)}`
  return child
}
