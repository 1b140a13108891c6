import type { LoggerOptions } from 'pino'
import type { FastifyRequest } from 'fastify'

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

/**
 * A request is logged without its query string values: searches carry ID numbers and names.
 */
export function serializeRequest(req: FastifyRequest) {
  const q = req.url.indexOf('?')
  const url = q < 0 ? req.url : `${req.url.slice(0, q)}?${[...new URLSearchParams(req.url.slice(q + 1)).keys()].map(k => `${k}=[Redacted]`).join('&')}`
  return { method: req.method, url, remoteAddress: req.ip, reqId: req.id }
}

export function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[Redacted]' },
    serializers: { req: serializeRequest as never },
  }
}
