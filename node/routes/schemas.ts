import { Type, type Static } from '@fastify/type-provider-typebox'
import type { ErrorSpec } from '../../config/errors.ts'
import { codeErrors } from '../../schema/codes/errors.ts'
import { syncErrors } from '../../sync/errors.ts'
import { PERMISSIONS, ROLES } from '../auth/access.ts'
import { authErrors } from '../auth/errors.ts'
import { calendarErrors } from '../calendar/errors.ts'
import { nodeErrors } from '../errors.ts'
import { recordErrors } from '../records/errors.ts'
import { statusChangeErrors } from '../status-changes/errors.ts'
import { transferErrors } from '../transfers/errors.ts'
import { backupErrors } from '../backup/errors.ts'
import { certificateErrors } from '../certificates/errors.ts'
import { growthErrors } from '../growth/errors.ts'
import { statisticsErrors } from '../statistics/errors.ts'
import { exportErrors } from '../exports/errors.ts'
import { changeRequestErrors } from '../change-requests/errors.ts'
import { importErrors } from '../imports/errors.ts'

/** Schemas shared by the access-control routes. */

/**
 * Every error code the API can answer, by area, each with its HTTP status and a line of cause and
 * fix: the `code` enum of ErrorReply, `GET /api/v1/errors` and the table in the /docs description.
 * The sync catalogue is included: the federation routes and sync status answer with it.
 */
export const ERROR_CATALOGUES: Record<string, Record<string, ErrorSpec>> = {
  node: nodeErrors,
  auth: authErrors,
  records: recordErrors,
  statusChanges: statusChangeErrors,
  certificates: certificateErrors,
  backup: backupErrors,
  calendar: calendarErrors,
  growth: growthErrors,
  statistics: statisticsErrors,
  exports: exportErrors,
  imports: importErrors,
  codes: codeErrors,
  sync: syncErrors,
  changeRequests: changeRequestErrors,
  transfers: transferErrors,
}

/** Each code once (NOT_FOUND is in two catalogues, with the same meaning). */
export const ERROR_CODES = [...new Set(Object.values(ERROR_CATALOGUES).flatMap(c => Object.keys(c)))]

/** The error answer, registered once (app.ts addSchema) so /docs shows it as one named schema. */
export const ErrorReplySchema = Type.Object(
  {
    code: Type.Enum(ERROR_CODES, { description: 'Stable error code; every code with its cause and fix: GET /api/v1/errors.' }),
    message: Type.String({ description: 'For people: Chinese where a registrar reads it.' }),
    details: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Machine-readable detail: field (path), rule, issues … never personal values.' })),
  },
  { $id: 'ErrorReply', description: '{ code, message, details }: code is stable (GET /api/v1/errors lists them), message is for people.' },
)

/** A reference to ErrorReplySchema, for route response schemas. */
export const ErrorReply = Type.Unsafe<Static<typeof ErrorReplySchema>>({ $ref: 'ErrorReply#' })

/** The 4xx answers every protected route can give. */
export const authErrorReplies = { 401: ErrorReply, 403: ErrorReply, 404: ErrorReply }

export const RoleSchema = Type.Enum(ROLES)
export const PermissionSchema = Type.Enum(PERMISSIONS)

const Code = Type.String({ minLength: 1, maxLength: 64 })
export const ScopeSchema = Type.Union([
  Type.Object({ kind: Type.Literal('bureau'), node: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('schools'), schools: Type.Array(Code, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('classes'), school: Code, classes: Type.Array(Code, { minItems: 1, maxItems: 200 }) }, { additionalProperties: false }),
  Type.Object({ kind: Type.Literal('student'), school: Code, studentId: Code }, { additionalProperties: false }),
])

export const AccountSchema = Type.Object({
  id: Type.String(),
  username: Type.String(),
  role: RoleSchema,
  scope: ScopeSchema,
  leader: Type.Boolean(),
  grants: Type.Array(Type.String()),
  totpEnrolled: Type.Boolean(),
  disabled: Type.Boolean(),
  locked: Type.Boolean({ description: 'Refused at login now: too many failed attempts in the window (security.lockoutMaxPerAccount); POST /accounts/{id}/unlock lifts it.' }),
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
})

export const Password = Type.String({ minLength: 1, maxLength: 1024 })
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
