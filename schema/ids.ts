/**
 * Identity numbers: the citizen ID number (GB 11643-1999) and the national student number
 * (学籍号, CNSSMS). Pure functions: validators return a result instead of throwing, because a
 * wrong number is ordinary input (an import row, a form field), not a fault.
 */
import { XuejiError } from '../config/errors.ts'

// ---------------------------------------------------------------- citizen ID number

/** ISO 7064 MOD 11-2 weights of the first 17 digits. */
const ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
/** Check character for weighted sum mod 11 = 0..10. */
const ID_CHECK_CHARS = '10X98765432'
const ID_RE = /^[1-9]\d{16}[\dX]$/

export type IdRule = 'ID_FORMAT' | 'ID_CHECKSUM' | 'ID_BIRTHDATE'

export type IdCheck =
  | {
      ok: true
      /** The number as it should be stored: upper-case X. */
      idNumber: string
      birthDate: string
      /** GB/T 2261.1: odd sequence 1 男, even 2 女. */
      gender: '1' | '2'
      /** The 6-digit GB/T 2260 address code where the number was issued. */
      division: string
    }
  | { ok: false; rule: IdRule }

export interface DateOptions {
  /** "Now", for the not-in-the-future rule; defaults to the current time. */
  now?: Date
}

/** Check character of the first 17 digits; lets generators and fixtures build valid numbers. */
export function idCheckChar(first17: string): string {
  if (!/^\d{17}$/.test(first17)) {
    throw new XuejiError('ID_INPUT_INVALID', '计算校验码需要 17 位数字', 400, { length: first17.length })
  }
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * ID_WEIGHTS[i]
  return ID_CHECK_CHARS[sum % 11]
}

/** Validates an 18-character ID number. Lower-case x is accepted and normalised to X. */
export function checkIdNumber(id: string, options: DateOptions = {}): IdCheck {
  const idNumber = id.toUpperCase()
  if (!ID_RE.test(idNumber)) return { ok: false, rule: 'ID_FORMAT' }
  // Checksum before the date: a typo anywhere is far more common than a wrong but consistent date.
  if (idCheckChar(idNumber.slice(0, 17)) !== idNumber[17]) return { ok: false, rule: 'ID_CHECKSUM' }
  const birthDate = birthDateOf(idNumber.slice(6, 14), options.now)
  if (!birthDate) return { ok: false, rule: 'ID_BIRTHDATE' }
  return {
    ok: true,
    idNumber,
    birthDate,
    gender: Number(idNumber[16]) % 2 === 1 ? '1' : '2',
    division: idNumber.slice(0, 6),
  }
}

export type IdMismatch = 'ID_BIRTHDATE_MISMATCH' | 'ID_GENDER_MISMATCH'

/**
 * Cross-check at entry: the birth date and gender typed into the record must agree with the ID
 * number. `birthDate` may be `YYYY-MM-DD` or `YYYY-MM` (R-10.1 records a birth year-month);
 * `gender` is compared only when it is 1 or 2 (0 未知 and 9 未说明 say nothing).
 * Returns every problem found; an empty list means the record agrees.
 */
export function crossCheckIdNumber(
  id: string,
  person: { birthDate?: string; gender?: string },
  options: DateOptions = {},
): Array<IdRule | IdMismatch> {
  const check = checkIdNumber(id, options)
  if (!check.ok) return [check.rule]
  const problems: IdMismatch[] = []
  if (person.birthDate !== undefined) {
    const typed = person.birthDate
    const agrees = /^\d{4}-\d{2}$/.test(typed) ? check.birthDate.startsWith(typed + '-') : check.birthDate === typed
    if (!agrees) problems.push('ID_BIRTHDATE_MISMATCH')
  }
  if ((person.gender === '1' || person.gender === '2') && person.gender !== check.gender) {
    problems.push('ID_GENDER_MISMATCH')
  }
  return problems
}

/** `YYYYMMDD` → `YYYY-MM-DD` if it is a real date from 1900 up to today (China time), else undefined. */
function birthDateOf(yyyymmdd: string, now = new Date()): string | undefined {
  const y = Number(yyyymmdd.slice(0, 4))
  const m = Number(yyyymmdd.slice(4, 6))
  const d = Number(yyyymmdd.slice(6, 8))
  if (y < 1900 || !isCalendarDate(y, m, d)) return undefined
  const iso = `${yyyymmdd.slice(0, 4)}-${yyyymmdd.slice(4, 6)}-${yyyymmdd.slice(6, 8)}`
  return iso <= chinaToday(now) ? iso : undefined
}

/** Whether year `y`, month `m` (1–12) and day `d` name a day of the Gregorian calendar. */
export function isCalendarDate(y: number, m: number, d: number): boolean {
  if (!Number.isInteger(y) || !Number.isInteger(m) || !Number.isInteger(d) || m < 1 || m > 12 || d < 1) return false
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0)
  return d <= (m === 2 ? (leap ? 29 : 28) : m === 4 || m === 6 || m === 9 || m === 11 ? 30 : 31)
}

/** The instant `chinaToday` was last asked about and its answer: one record's checks ask several times. */
let askedAt = Number.NaN
let answer = ''

/** Today's date in China. A fixed +08:00 is exact: China has kept no daylight saving since 1991. */
export function chinaToday(now = new Date()): string {
  const t = now.getTime()
  if (t !== askedAt) {
    answer = new Date(t + 8 * 3600_000).toISOString().slice(0, 10)
    askedAt = t
  }
  return answer
}

// ---------------------------------------------------------------- national student number (学籍号)

/** G: the student's own ID number, after the national duplicate check (formal). */
export const STUDENT_NUMBER_FORMAL = 'G'
/** J: 18 characters built by the ID rules from the school's region code (no usable ID number). */
export const STUDENT_NUMBER_NO_ID = 'J'
/** L: region code + birth date + 4 random digits (temporary; later replaced by a G number). */
export const STUDENT_NUMBER_TEMPORARY = 'L'
export const STUDENT_NUMBER_FORMS = [STUDENT_NUMBER_FORMAL, STUDENT_NUMBER_NO_ID, STUDENT_NUMBER_TEMPORARY] as const
export type StudentNumberForm = (typeof STUDENT_NUMBER_FORMS)[number]
export const STUDENT_NUMBER_LENGTH = 19

export type StudentNumberRule = 'XJH_FORMAT' | 'XJH_FORM' | 'XJH_CHECKSUM' | 'XJH_BIRTHDATE'

export type StudentNumberCheck =
  | {
      ok: true
      form: StudentNumberForm
      /** The number as it should be stored: upper case. */
      studentNumber: string
      /** Region code: of the student's ID (G) or of the school (J, L). */
      division: string
      birthDate: string
      /** G only: the embedded ID number and the gender it encodes. */
      idNumber?: string
      gender?: '1' | '2'
    }
  | { ok: false; rule: StudentNumberRule }

const ID_RULE_TO_XJH: Record<IdRule, StudentNumberRule> = {
  ID_FORMAT: 'XJH_FORMAT',
  ID_CHECKSUM: 'XJH_CHECKSUM',
  ID_BIRTHDATE: 'XJH_BIRTHDATE',
}

/** Validates a 19-character 学籍号 of form G, J or L. Lower-case letters are normalised. */
export function checkStudentNumber(xjh: string, options: DateOptions = {}): StudentNumberCheck {
  const studentNumber = xjh.toUpperCase()
  if (studentNumber.length !== STUDENT_NUMBER_LENGTH) return { ok: false, rule: 'XJH_FORMAT' }
  const form = studentNumber[0]
  const body = studentNumber.slice(1)

  if (form === STUDENT_NUMBER_FORMAL || form === STUDENT_NUMBER_NO_ID) {
    const id = checkIdNumber(body, options)
    if (!id.ok) return { ok: false, rule: ID_RULE_TO_XJH[id.rule] }
    // A J number only borrows the ID layout: its sequence digit says nothing reliable about gender.
    return form === STUDENT_NUMBER_FORMAL
      ? { ok: true, form, studentNumber, division: id.division, birthDate: id.birthDate, idNumber: id.idNumber, gender: id.gender }
      : { ok: true, form, studentNumber, division: id.division, birthDate: id.birthDate }
  }
  if (form === STUDENT_NUMBER_TEMPORARY) {
    if (!/^[1-9]\d{17}$/.test(body)) return { ok: false, rule: 'XJH_FORMAT' }
    const birthDate = birthDateOf(body.slice(6, 14), options.now)
    if (!birthDate) return { ok: false, rule: 'XJH_BIRTHDATE' }
    return { ok: true, form, studentNumber, division: body.slice(0, 6), birthDate }
  }
  return { ok: false, rule: 'XJH_FORM' }
}

// ---------------------------------------------------------------- masking of sensitive fields

/**
 * Replaces the middle of `text` with `maskChar`, keeping `keepStart` and `keepEnd` characters.
 * Counts Unicode code points, so Chinese names mask per character. When the text is too short to
 * keep both ends, only the start is kept and at least one character is always hidden: a masked
 * value must never equal the clear one.
 */
export function maskText(text: string, keepStart: number, keepEnd = 0, maskChar = '*'): string {
  // By code points: a character outside the BMP (𠮷) is one character, not two halves. Without
  // such a character (nearly always) the string's own indexes are code points already.
  const chars: ArrayLike<string> & { slice(a: number, b?: number): string | string[] } = SURROGATE.test(text) ? Array.from(text) : text
  const part = (a: number, b?: number) => {
    const p = chars.slice(a, b)
    return typeof p === 'string' ? p : p.join('')
  }
  if (chars.length === 0) return ''
  if (chars.length <= keepStart + keepEnd) {
    const keep = Math.min(keepStart, chars.length - 1)
    return part(0, keep) + maskChar.repeat(chars.length - keep)
  }
  return part(0, keepStart) + maskChar.repeat(chars.length - keepStart - keepEnd) + part(chars.length - keepEnd)
}
const SURROGATE = /[\uD800-\uDFFF]/

/** `330106200001011234` → `330106********1234`: region code and last four stay readable. */
export function maskIdNumber(id: string): string {
  return maskText(id, 6, 4)
}
