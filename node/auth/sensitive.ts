import { maskIdNumber, maskText } from '../../schema/ids.ts'
import type { Actor } from './access.ts'

/**
 * Sensitive fields (R-27.1, Art. 27 "对于学生的某些敏感信息，应根据实际情况，设置好查询权限").
 * The classification is data: a class per field, per record table. Every read and export shows
 * these fields masked; the clear value comes only from the explicit, audited reveal action,
 * and only to an account holding a grant for the field's class.
 */
export const SENSITIVE_CLASSES = ['id_number', 'health', 'photo', 'address', 'phone', 'family', 'punishment', 'death', 'financial_aid'] as const
export type SensitiveClass = (typeof SENSITIVE_CLASSES)[number]

/** What each class means, for the grant screen and docs. */
export const SENSITIVE_CLASS_LABELS: Record<SensitiveClass, string> = {
  id_number: '身份证件号码',
  health: '健康状况',
  photo: '照片',
  address: '家庭住址、现住址、通信地址、户口所在地',
  phone: '联系电话、电子邮箱',
  family: '监护人和家庭成员信息',
  punishment: '处分信息',
  death: '死亡信息（日期、原因、责任、审核意见）',
  financial_aid: '经济困难受资助情况',
}

const person: Record<string, SensitiveClass> = {
  idNumber: 'id_number',
  // A G-form 学籍号 is the ID number behind a letter (J and L forms carry region and birth date).
  studentNo: 'id_number',
  health: 'health',
  photo: 'photo',
  currentAddress: 'address',
  postalAddress: 'address',
  householdRegistration: 'address',
  phone: 'phone',
  email: 'phone',
}
const family: Record<string, SensitiveClass> = { name: 'family', address: 'family', phone: 'family', email: 'family', employer: 'family', postcode: 'family', residenceAbroad: 'family', maritalStatus: 'family' }
const death: Record<string, SensitiveClass> = { deathDate: 'death', deathCause: 'death', responsibility: 'death', reviewOpinion: 'death' }

/**
 * Field (camelCase key of the drizzle table) → class, per SQL table name. A table not listed
 * has no sensitive field.
 */
export const SENSITIVE_FIELDS: Readonly<Record<string, Readonly<Record<string, SensitiveClass>>>> = {
  students: person,
  children: person,
  student_guardians: family,
  child_guardians: family,
  student_family_members: family,
  child_family_members: family,
  student_punishments: { name: 'punishment', reason: 'punishment', punishedOn: 'punishment', revokedOn: 'punishment' },
  student_status_changes: { ...death, previousStudentNo: 'id_number', currentStudentNo: 'id_number' },
  child_status_changes: death,
  student_enrolments: { financialAid: 'financial_aid' },
}

export function sensitiveClassOf(table: string, field: string): SensitiveClass | undefined {
  return SENSITIVE_FIELDS[table]?.[field]
}

/** The masked form of one value: enough to recognise a record, never enough to use the data. */
export function maskValue(cls: SensitiveClass, value: unknown): unknown {
  if (value === null || value === undefined) return value
  if (typeof value !== 'string') return '***'
  switch (cls) {
    case 'id_number':
      // 学籍号 (G/J/L + 18): keep the form letter, mask the rest like an ID number.
      return /^[GJL]/.test(value) && value.length === 19 ? value[0] + maskIdNumber(value.slice(1)) : maskIdNumber(value)
    case 'phone':
      return value.includes('@') ? maskText(value, 1, 0) : maskText(value, 3, 4)
    case 'address':
      // The district stays readable (杭州市西湖区…), the street and number do not.
      return maskText(value, 6, 0)
    case 'photo':
      return null
    default:
      return '***'
  }
}

/** A copy of a row (camelCase keys) with every sensitive field masked. Use it for every read and export. */
export function maskRecord<T extends Record<string, unknown>>(table: string, row: T): T {
  const fields = SENSITIVE_FIELDS[table]
  if (!fields) return row
  const out: Record<string, unknown> = { ...row }
  for (const [field, cls] of Object.entries(fields)) if (field in out) out[field] = maskValue(cls, out[field])
  return out as T
}

/**
 * May the actor see this class in clear (via the reveal action)? Students may see their own
 * record in clear (it is theirs, R-18.2: they check it); the object check keeps it their own.
 */
export function mayReveal(actor: Actor, cls: SensitiveClass): boolean {
  return actor.role === 'student' || actor.grants.includes(cls)
}
