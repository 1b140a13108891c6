import { Type } from '@fastify/type-provider-typebox'
import { PERMISSIONS, ROLES } from '../auth/access.ts'

/** Schemas shared by the access-control routes. */

export const ErrorReply = Type.Object(
  { code: Type.String(), message: Type.String(), details: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { description: '{ code, message }: code is stable (see the error catalogues), message is for people.' },
)

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
  createdBy: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
})

export const Password = Type.String({ minLength: 1, maxLength: 1024 })
export const IdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) })
