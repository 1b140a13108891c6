/**
 * Validation of the registration record: pure functions over a plain record (drizzle property
 * names), shared by the API, imports, the seed generator and the sync applier. No Fastify or
 * database import: checks that need the database (duplicates, references) live in the service.
 */
import type { CodeRegistry } from '../../schema/codes/index.ts'
import { chinaToday, checkIdNumber, isCalendarDate, checkStudentNumber, crossCheckIdNumber, type IdMismatch, type IdRule } from '../../schema/ids.ts'
import { inSubtree } from '../auth/access.ts'
import { issuesError, type Issue, type RecordErrorCode } from './errors.ts'
import { DERIVED_FIELDS, fieldsOf, type Field } from './fields.ts'
import { namePinyin, pinyinInitials } from './pinyin.ts'

export type RecordInput = Record<string, unknown>

export interface ValidationContext {
  codes: CodeRegistry
  /** "Today" for the not-in-the-future rules; defaults to now. */
  now?: Date
  /** Division code of this node: a unit, school or kindergarten must lie inside its area. */
  nodeCode?: string
  /** The student or child a sub-record belongs to (its birth date, enrolment …). */
  parent?: RecordInput
}

const PERSON_TABLES = new Set(['students', 'children'])
const LOCATED_TABLES = new Set(['supervising_units', 'schools', 'kindergartens'])
const DEATH_FIELDS = ['deathDate', 'deathCause', 'responsibility', 'reviewOpinion']
/** 异动类别 51 死亡 (JY/T 1001). */
export const DEATH_CHANGE_TYPE = '51'
const PHOTO_MAX_BYTES = 60 * 1024

const YM_RE = /^(19|20)\d{2}-(0[1-9]|1[0-2])$/
const DATE_RE = /^(19|20)\d{2}-\d{2}-\d{2}$/
const TERM_RE = /^(19|20)\d{2}-[12]$/

const isMissing = (v: unknown) => v === undefined || v === null || v === ''

/** Trims text and turns '' into null, so "not given" has one spelling. */
const clean = (v: unknown) => (typeof v === 'string' ? (v.trim() === '' ? null : v.trim()) : v)

/**
 * An ID number or 学籍号 as it is stored and compared (查重): full-width characters as an input
 * method types them (１１０…Ｘ) made ASCII (NFKC), spaces (an ideographic one too) and invisible
 * format characters removed, letters upper case. Otherwise one number typed two ways would be two
 * numbers to every duplicate check.
 */
export function normaliseIdentifier(v: string): string {
  return v.normalize('NFKC').replace(/[\s\p{Cf}]/gu, '').toUpperCase()
}

/**
 * Normalises a full record before validation: trims text, writes ID numbers and 学籍号 as stored
 * (`normaliseIdentifier`: ASCII, no spaces, upper case),
 * fills the table defaults (document type 1, country CHN), records the edition a code was chosen
 * from (the default edition when none was named, so the record always says which one it used),
 * and generates the pinyin of a person's name when it was not typed. Keeps only the fields of the
 * table: anything else in `input` is ignored here (derived figures are refused by `checkDerived`).
 */
export function normaliseRecord(table: string, input: RecordInput, codes: CodeRegistry): RecordInput {
  const out: RecordInput = {}
  for (const field of fieldsOf(table)) {
    let v = clean(input[field.key])
    if (typeof v === 'string' && (field.kind === 'id_number' || field.kind === 'student_no')) v = normaliseIdentifier(v) || null
    out[field.key] = v === undefined ? null : v
  }
  if (PERSON_TABLES.has(table)) {
    out.idDocType ??= '1'
    out.country ??= 'CHN'
    if (typeof out.name === 'string' && isMissing(out.namePinyin)) out.namePinyin = namePinyin(out.name)
    if (typeof out.namePinyin === 'string') out.namePinyin = out.namePinyin.toLowerCase()
  }
  if (table === 'school_teachers' || table === 'kindergarten_teachers') out.isHead ??= false
  for (const field of fieldsOf(table)) {
    if (field.kind !== 'code' || !field.editionKey) continue
    if (isMissing(out[field.key])) out[field.editionKey] = null
    else if (isMissing(out[field.editionKey])) {
      const table = field.tables ? field.tables[0] : field.table!
      out[field.editionKey] = field.tables ? `${table}/${codes.defaultEdition(table)}` : codes.defaultEdition(table)
    }
  }
  return out
}

/** The columns the system derives from a normalised record (pinyin initials). */
export function generatedColumns(table: string, record: RecordInput): RecordInput {
  if (!PERSON_TABLES.has(table)) return {}
  return { pinyinInitials: typeof record.namePinyin === 'string' ? pinyinInitials(record.namePinyin) : '' }
}

/** figures derived from the records are never typed. */
export function checkDerived(table: string, input: RecordInput): Issue[] {
  const derived = DERIVED_FIELDS[table] ?? {}
  return Object.keys(derived)
    .filter(key => input[key] !== undefined)
    .map(key => issue('RECORD_FIELD_DERIVED', key, 'derived', `${derived[key]}由系统根据记录统计，不能录入`))
}

/** Every problem of a normalised record; an empty list means it is valid. */
export function validateRecord(table: string, record: RecordInput, ctx: ValidationContext): Issue[] {
  const issues: Issue[] = []
  for (const field of fieldsOf(table)) {
    const found = checkField(field, record, ctx)
    if (found) issues.push(found)
  }
  // Cross-field rules only on fields that passed their own check, so one typo gives one message.
  const bad = issues.length > 0 ? new Set(issues.map(i => i.field)) : undefined
  const ok = (key: string) => !bad?.has(key) && !isMissing(record[key])
  issues.push(...crossChecks(table, record, ctx, ok))
  return issues
}

/**
 * Derived-figure check, normalisation and validation in one: returns the record to store, or
 * throws the first issue (all of them in `details.issues`).
 */
export function prepareRecord(table: string, input: RecordInput, ctx: ValidationContext): RecordInput {
  const derived = checkDerived(table, input)
  if (derived.length > 0) throw issuesError(derived)
  const record = normaliseRecord(table, input, ctx.codes)
  const issues = validateRecord(table, record, ctx)
  if (issues.length > 0) throw issuesError(issues)
  return { ...record, ...generatedColumns(table, record) }
}

function issue(code: RecordErrorCode, field: string, rule: string, message: string): Issue {
  return { code, field, rule, message }
}

/** The issue of one field on its own, if any. */
function checkField(field: Field, record: RecordInput, ctx: ValidationContext): Issue | undefined {
  const v = record[field.key]
  const { key, label } = field
  if (isMissing(v)) return field.required ? issue('RECORD_FIELD_REQUIRED', key, 'required', `${label}为必填项`) : undefined
  switch (field.kind) {
    case 'int':
    case 'number': {
      if (typeof v !== 'number' || !Number.isFinite(v)) return issue('RECORD_FIELD_FORMAT', key, 'number', `${label}应为数字`)
      if (field.kind === 'int' && !Number.isInteger(v)) return issue('RECORD_FIELD_FORMAT', key, 'integer', `${label}应为整数`)
      if (field.min !== undefined && v < field.min) return issue('RECORD_FIELD_FORMAT', key, 'range', `${label}不能小于 ${field.min}`)
      if (field.maxValue !== undefined && v > field.maxValue) return issue('RECORD_FIELD_FORMAT', key, 'range', `${label}不能大于 ${field.maxValue}`)
      return undefined
    }
    case 'bool':
      return typeof v === 'boolean' ? undefined : issue('RECORD_FIELD_FORMAT', key, 'boolean', `${label}应为是或否`)
  }
  if (typeof v !== 'string') return issue('RECORD_FIELD_FORMAT', key, 'text', `${label}应为文本`)
  // Text that is not well-formed UTF-16 (a lone surrogate half, e.g. "\ud800" in JSON) in any
  // field: SQLite would store replacement bytes and the record's canonical JSON would break.
  // A name's own check (below) refuses it with the other invisible characters.
  if (field.kind !== 'name') {
    const lone = loneSurrogate(v)
    if (lone) return issue('RECORD_FIELD_FORMAT', key, 'lone_surrogate', `${label}的第 ${lone.position} 个字符（${lone.codePoint}）${LONE_SURROGATE_MESSAGE}`)
  }
  const max = field.max ?? (field.kind === 'photo' ? Infinity : 200)
  // A string has no more characters than UTF-16 units: only a long one needs counting.
  if (v.length > max && characterCount(v) > max) return issue('RECORD_FIELD_FORMAT', key, 'max_length', `${label}不能超过 ${field.max ?? 200} 个字`)
  switch (field.kind) {
    case 'name': {
      const bad = nameCharacterProblem(v)
      if (!bad) return undefined
      const what = /^U\+D[89A-F]/.test(bad.codePoint) ? LONE_SURROGATE_MESSAGE : '是控制符、换行、制表符或不可见的格式字符，请删除后重新输入'
      return issue('RECORD_NAME_CHARACTER', key, 'name_characters', `${label}的第 ${bad.position} 个字符（${bad.codePoint}）${what}`)
    }
    case 'ym':
      return YM_RE.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'year_month', `${label}应为年月，格式 YYYY-MM`)
    case 'date':
      return isRealDate(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'date', `${label}应为有效日期，格式 YYYY-MM-DD`)
    case 'term':
      return TERM_RE.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'term', `${label}应为“学年-学期”，如 2026-1（第一学期）或 2026-2`)
    case 'postcode':
      return /^\d{6}$/.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'postcode', `${label}应为6位数字`)
    case 'phone':
      return /^[0-9+\-() ]{5,30}$/.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'phone', `${label}只能包含数字、空格和 + - ( )`)
    case 'email':
      return /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'email', `${label}格式不正确`)
    case 'url':
      return /^(https?:\/\/)?[^\s/]+\.[^\s]+$/i.test(v) ? undefined : issue('RECORD_FIELD_FORMAT', key, 'url', `${label}应为网址，如 http://www.example.edu.cn`)
    case 'division':
      return ctx.codes.has('division', v) ? undefined : issue('RECORD_CODE_UNKNOWN', key, 'code_table', `${label}“${v}”不在行政区划代码表（GB/T 2260）中`)
    case 'place':
      if (!/^[1-9]\d{5}$/.test(v)) return issue('RECORD_FIELD_FORMAT', key, 'division_code', `${label}应为6位行政区划代码`)
      // The shipped division table covers Zhejiang only; a place elsewhere is checked for form alone.
      return !v.startsWith('33') || ctx.codes.has('division', v) ? undefined : issue('RECORD_CODE_UNKNOWN', key, 'code_table', `${label}“${v}”不在行政区划代码表（GB/T 2260）中`)
    case 'student_no': {
      const check = checkStudentNumber(v, { now: ctx.now })
      return check.ok ? undefined : issue('RECORD_STUDENT_NO_INVALID', key, check.rule, `${label}无效：${STUDENT_NO_MESSAGES[check.rule]}`)
    }
    case 'photo':
      return isSmallJpeg(v) ? undefined : issue('RECORD_PHOTO_INVALID', key, 'jpeg_60kb', '照片应为 JPEG 格式（Base64），不超过 60 KB')
    case 'code':
      return checkCode(field, v, record, ctx)
    default:
      return undefined
  }
}

// Cc: control (NUL, tab, newline …); Cf: invisible format (U+202E direction override, zero-width
// joiner, BOM …), which make a name print or compare other than it looks; Cs: a lone surrogate
// half (a paired one is part of its character); Zl/Zp: line and paragraph separators. The middle
// dot of minority names (·, U+00B7) is punctuation and passes.
const NAME_REFUSED = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u

/** The first character a person's or place's name may not hold: 1-based position and U+XXXX. */
export function nameCharacterProblem(v: string): { position: number; codePoint: string } | null {
  // The same test over the whole text (by code point, as the u flag reads it) first: most names pass.
  if (!NAME_REFUSED.test(v)) return null
  const chars = [...v]
  const i = chars.findIndex(c => NAME_REFUSED.test(c))
  if (i < 0) return null
  return { position: i + 1, codePoint: `U+${chars[i].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}` }
}

const LONE_SURROGATE = /\p{Cs}/u
const LONE_SURROGATE_MESSAGE = '是不成对的代理码元（无效字符，常见于复制粘贴时残缺的生僻字或表情符号），请删除后重新输入'

/**
 * The first lone surrogate half of `v` (a high one not followed by a low one, or a low one not
 * after a high one): 1-based position in characters (code points) and U+XXXX; null when `v` is
 * well-formed UTF-16. A pair (a character outside the BMP, such as 𠀀 of CJK Extension B) passes.
 */
export function loneSurrogate(v: string): { position: number; codePoint: string } | null {
  // Over the whole text first (the u flag reads pairs as one code point): most text has none.
  if (!LONE_SURROGATE.test(v)) return null
  let position = 0
  for (const c of v) {
    position++
    if (LONE_SURROGATE.test(c)) return { position, codePoint: `U+${c.charCodeAt(0).toString(16).toUpperCase()}` }
  }
  return null
}

const STUDENT_NO_MESSAGES: Record<string, string> = {
  XJH_FORMAT: '应为19位：G/J/L 加18位',
  XJH_FORM: '首字母应为 G、J 或 L',
  XJH_CHECKSUM: '校验位错误',
  XJH_BIRTHDATE: '其中的出生日期无效',
}

function checkCode(field: Field, v: string, record: RecordInput, ctx: ValidationContext): Issue | undefined {
  const { key, label } = field
  let table = field.table!
  let edition: string | undefined
  if (field.editionKey) {
    const named = record[field.editionKey]
    if (typeof named !== 'string') return issue('RECORD_CODE_UNKNOWN', field.editionKey, 'edition', `${label}的代码表版本无效`)
    if (field.tables) [table, edition] = named.split('/')
    else edition = named
    const known = (!field.tables || field.tables.includes(table)) && safeEditions(ctx.codes, table).includes(edition ?? '')
    if (!known) return issue('RECORD_CODE_UNKNOWN', field.editionKey, 'edition', `${label}的代码表版本“${named}”不存在`)
  }
  if (ctx.codes.has(table, v, edition)) return undefined
  const detail = edition ? `${table}（${edition}）` : table
  return issue('RECORD_CODE_UNKNOWN', key, 'code_table', `${label}代码“${v}”不在代码表 ${detail} 中`)
}

function safeEditions(codes: CodeRegistry, table: string): string[] {
  try {
    return codes.editions(table)
  } catch {
    return []
  }
}

const ID_MESSAGES: Record<IdRule | IdMismatch, [RecordErrorCode, string]> = {
  ID_FORMAT: ['RECORD_ID_FORMAT', '身份证号应为18位，前17位为数字，末位为数字或X'],
  ID_CHECKSUM: ['RECORD_ID_CHECKSUM', '身份证号校验位错误'],
  ID_BIRTHDATE: ['RECORD_ID_FORMAT', '身份证号中的出生日期无效'],
  ID_BIRTHDATE_MISMATCH: ['RECORD_ID_BIRTHDATE_MISMATCH', '出生日期与身份证号中的出生日期不一致'],
  ID_GENDER_MISMATCH: ['RECORD_ID_GENDER_MISMATCH', '性别与身份证号不一致（第17位奇数为男、偶数为女）'],
}

function crossChecks(table: string, r: RecordInput, ctx: ValidationContext, ok: (key: string) => boolean): Issue[] {
  const issues: Issue[] = []
  const order = (later: string, earlier: string, rule: string, message: string, strict = false) => {
    if (!ok(later) || !ok(earlier)) return
    const a = String(r[later])
    const b = String(r[earlier])
    if (strict ? a <= b : a < b) issues.push(issue('RECORD_DATE_ORDER', later, rule, message))
  }
  const today = chinaToday(ctx.now)
  const notFuture = (key: string, label: string) => {
    if (ok(key) && String(r[key]) > today) issues.push(issue('RECORD_DATE_ORDER', key, 'not_in_future', `${label}不能晚于今天`))
  }
  const parent = ctx.parent ?? {}
  const parentBirthYm = typeof parent.birthDate === 'string' ? parent.birthDate.slice(0, 7) : undefined
  const afterBirth = (key: string, label: string) => {
    if (parentBirthYm && ok(key) && String(r[key]).slice(0, 7) < parentBirthYm) {
      issues.push(issue('RECORD_DATE_ORDER', key, 'after_birth', `${label}不能早于出生年月`))
    }
  }

  if (LOCATED_TABLES.has(table) && ctx.nodeCode && ok('divisionCode') && !inSubtree(ctx.nodeCode, String(r.divisionCode))) {
    issues.push(issue('RECORD_DIVISION_OUTSIDE_NODE', 'divisionCode', 'node_area', `行政区划代码不在本节点（${ctx.nodeCode}）管辖范围内`))
  }

  if (PERSON_TABLES.has(table)) {
    notFuture('birthDate', '出生日期')
    if (r.idDocType === '1' && ok('idNumber')) {
      const problems = crossCheckIdNumber(String(r.idNumber), { birthDate: ok('birthDate') ? String(r.birthDate) : undefined, gender: ok('gender') ? String(r.gender) : undefined }, { now: ctx.now })
      for (const p of problems) {
        const [code, message] = ID_MESSAGES[p]
        const field = p === 'ID_BIRTHDATE_MISMATCH' ? 'birthDate' : p === 'ID_GENDER_MISMATCH' ? 'gender' : 'idNumber'
        issues.push(issue(code, field, p.toLowerCase(), message))
      }
    }
    const entry = table === 'students' ? 'enrolmentYm' : 'entryYm'
    if (ok(entry) && ok('birthDate') && String(r[entry]) <= String(r.birthDate).slice(0, 7)) {
      issues.push(issue('RECORD_DATE_ORDER', entry, 'after_birth', `${table === 'students' ? '入学年月' : '入园年月'}应晚于出生年月`))
    }
  }

  if (table === 'students' && ok('studentNo')) {
    const xjh = checkStudentNumber(String(r.studentNo), { now: ctx.now })
    if (xjh.ok) {
      if (xjh.form === 'G' && r.idDocType === '1' && ok('idNumber') && xjh.idNumber !== r.idNumber) {
        issues.push(issue('RECORD_STUDENT_NO_INVALID', 'studentNo', 'g_equals_id_number', 'G 字头学籍号应为“G+身份证号”'))
      } else if (ok('birthDate') && xjh.birthDate !== r.birthDate) {
        issues.push(issue('RECORD_STUDENT_NO_INVALID', 'studentNo', 'birth_date_agrees', '学籍号中的出生日期与出生日期不一致'))
      }
    }
  }

  switch (table) {
    case 'school_teachers':
    case 'kindergarten_teachers':
      order('workStartYm', 'birthYm', 'work_after_birth', '参加工作时间应晚于出生年月', true)
      break
    case 'student_resumes':
      order('toYm', 'fromYm', 'to_after_from', '截止年月不能早于起始年月')
      afterBirth('fromYm', '起始年月')
      break
    case 'student_registrations':
    case 'child_registrations':
      if (ok('actualDate') && ok('dueDate') && String(r.actualDate) > String(r.dueDate) && isMissing(r.lateReason)) {
        issues.push(issue('RECORD_FIELD_REQUIRED', 'lateReason', 'late_reason_when_late', '实际注册时间晚于要求时间，须填写未按时注册原因'))
      }
      break
    case 'student_exams': {
      if (isMissing(r.score) && isMissing(r.gradeLetter)) issues.push(issue('RECORD_FIELD_REQUIRED', 'score', 'score_or_grade', '分数和等级至少填写一项'))
      if (ok('term') && ok('examDate')) {
        const [from, to] = termWindow(String(r.term))
        const d = String(r.examDate)
        if (d < from || d >= to) issues.push(issue('RECORD_DATE_ORDER', 'examDate', 'exam_date_in_term', `考试日期应在该学期内（${from} 至 ${previousDay(to)}）`))
      }
      notFuture('examDate', '考试日期')
      break
    }
    case 'student_awards':
      afterBirth('awardYm', '奖励年月')
      break
    case 'student_punishments':
      order('revokedOn', 'punishedOn', 'revoked_after_punished', '处分撤销日期应晚于处分日期', true)
      notFuture('punishedOn', '处分日期')
      afterBirth('punishedOn', '处分日期')
      break
    case 'student_enrolments':
      afterBirth('enrolmentYm', '入学年月')
      break
    case 'student_completions':
      if (typeof parent.enrolmentYm === 'string' && ok('completionYm') && String(r.completionYm) < parent.enrolmentYm) {
        issues.push(issue('RECORD_DATE_ORDER', 'completionYm', 'completion_after_enrolment', '结束学业年月不能早于入学年月'))
      }
      break
    case 'child_attendances':
      order('leaveYm', 'entryYm', 'leave_after_entry', '离园年月不能早于入园年月')
      afterBirth('entryYm', '入园年月')
      break
    case 'student_status_changes':
    case 'child_status_changes':
      afterBirth('changeDate', '异动日期')
      if (r.changeType === DEATH_CHANGE_TYPE) {
        if (isMissing(r.deathDate)) issues.push(issue('RECORD_FIELD_REQUIRED', 'deathDate', 'death_date_for_death', '异动类别为“死亡”时须填写死亡日期'))
        order('changeDate', 'deathDate', 'death_before_change', '异动日期不能早于死亡日期')
        afterBirth('deathDate', '死亡日期')
        notFuture('deathDate', '死亡日期')
      } else {
        for (const key of DEATH_FIELDS) {
          if (!isMissing(r[key])) issues.push(issue('RECORD_FIELD_NOT_ALLOWED', key, 'death_details_only_for_death', '死亡日期、死亡原因、责任认定和审核意见只适用于异动类别“51 死亡”'))
        }
      }
      break
  }
  return issues
}

/**
 * The dates of a term, [from, to): the school year starts on 1 August. Reading chosen:
 * term 1 runs 1 August – 31 January (its exams fall in January), term 2 1 February – 31 July.
 */
export function termWindow(term: string): [string, string] {
  const year = Number(term.slice(0, 4))
  return term.endsWith('-1') ? [`${year}-08-01`, `${year + 1}-02-01`] : [`${year + 1}-02-01`, `${year + 1}-08-01`]
}

function previousDay(date: string): string {
  const d = new Date(`${date}T00:00:00Z`)
  d.setUTCDate(d.getUTCDate() - 1)
  return d.toISOString().slice(0, 10)
}

function isRealDate(v: string): boolean {
  return DATE_RE.test(v) && isCalendarDate(Number(v.slice(0, 4)), Number(v.slice(5, 7)), Number(v.slice(8, 10)))
}

/** The number of characters (code points) of `v`, as `[...v].length` counts them, without the array. */
function characterCount(v: string): number {
  let n = 0
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i)
    // A high surrogate followed by a low one is one character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length) {
      const d = v.charCodeAt(i + 1)
      if (d >= 0xdc00 && d <= 0xdfff) i++
    }
    n++
  }
  return n
}

function isSmallJpeg(v: string): boolean {
  if (!/^[A-Za-z0-9+/]+=*$/.test(v)) return false
  const bytes = Buffer.from(v, 'base64')
  return bytes.length <= PHOTO_MAX_BYTES && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff
}

export { chinaToday }

/**
 * The G 学籍号 a student with a resident ID number has: "G" + the ID number (STANDARDS.md), made by
 * the node rather than typed again by the school. Undefined for another document or a malformed
 * number (the node then gives a temporary L number, and validation refuses the bad ID as usual).
 */
export function derivedStudentNo(input: RecordInput): string | undefined {
  const doc = clean(input.idDocType) ?? '1'
  const id = clean(input.idNumber)
  // Only from a well-formed number: a mistyped one is refused for itself, not for the 学籍号 too.
  const check = doc === '1' && typeof id === 'string' ? checkIdNumber(normaliseIdentifier(id)) : undefined
  return check?.ok ? `G${check.idNumber}` : undefined
}

/**
 * A temporary 学籍号 (L form): L + the school's 6-digit region code + the birth date + 4 random
 * digits, given to a new student until the national system issues the G number (STANDARDS.md).
 */
export function temporaryStudentNo(division: string, birthDate: string, random4: string): string {
  return `L${division}${birthDate.replaceAll('-', '')}${random4.padStart(4, '0').slice(-4)}`
}
