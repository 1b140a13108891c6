/**
 * The Excel import rules, pure: which record types import, their columns in the paper form's
 * order (the field lists of node/records/fields.ts), and how a cell as Excel stores it becomes the
 * value the record validators take (numbers for IDs, date serials, trailing spaces, full-width
 * characters, code names). No Fastify, database or exceljs import.
 */
import type { CodeRegistry } from '../../schema/codes/index.ts'
import type { Permission } from '../auth/access.ts'
import { fieldsOf, type Field } from '../records/fields.ts'

export const IMPORT_KINDS = ['students', 'children', 'classes', 'teachers'] as const
export type ImportKind = (typeof IMPORT_KINDS)[number]

/** Rows one file may hold (a large school's students). */
export const MAX_ROWS = 5000
/** Guardians of a student or child that have their own columns (the first two). */
export const GUARDIAN_COLUMNS = 2
/** The template's first data row: row 1 holds the headers, row 2 the notes. */
export const FIRST_DATA_ROW = 3
/** The last column of the errors file. */
export const REASON_HEADER = '错误原因'

export interface Column {
  /** The header (unique in its template). */
  header: string
  /** Path of the value in the record input: `idNumber`, `classCode`, `guardians[1].phone`. */
  path: string
  field: Field
  /** The guardian the column belongs to (0 or 1). */
  guardian?: number
  /** The template's note under the header. */
  note: string
}

export interface KindSpec {
  kind: ImportKind
  /** The record table written. */
  table: string
  /** 学生 / 幼儿 / 班级 / 教师, for messages. */
  label: string
  /** The owner the `schoolId` of the request names. */
  ownerTable: 'schools' | 'kindergartens'
  ownerKey: 'schoolId' | 'kindergartenId'
  /** Guardian sub-record table, for people. */
  guardianTable?: string
  /** Class table whose code the 班级代码 column names, for people. */
  classTable?: string
  /** The permission that writes these records (node/services/records/resources.ts). */
  permission: Permission
  columns: Column[]
}

/** Fields with no column: the owner (from the request), references, photos, code editions (the default edition). */
const NO_COLUMN = new Set(['ref', 'photo', 'edition'])

const CLASS_CODE: Field = { key: 'classCode', label: '班级代码', kind: 'text', max: 30 }

function noteOf(f: Field, path: string): string {
  const parts: string[] = []
  if (f.required && path !== 'studentNo') parts.push('必填')
  switch (f.kind) {
    case 'code': parts.push('从下拉列表选择'); break
    case 'bool': parts.push('选择“是”或“否”'); break
    case 'date': parts.push('格式 YYYY-MM-DD，如 2016-03-15'); break
    case 'ym': parts.push('格式 YYYY-MM，如 2022-09'); break
    case 'term': parts.push('如 2026-1'); break
    case 'id_number': parts.push('文本：18 位身份证号，末位可为 X'); break
    case 'student_no': parts.push('可不填：有居民身份证号的由系统生成“G+身份证号”'); break
    case 'phone': parts.push('文本'); break
    case 'place':
    case 'division': parts.push('6 位行政区划代码'); break
    case 'int':
    case 'number': parts.push('数字'); break
  }
  if (path === 'namePinyin') parts.push('可不填，系统按姓名生成')
  if (path === 'classCode') parts.push('本校（园）已有班级的班级代码')
  return parts.join('；')
}

function columnsOf(table: string, opts: { classCode?: boolean; guardianTable?: string } = {}): Column[] {
  const cols: Column[] = []
  if (opts.classCode) cols.push({ header: CLASS_CODE.label, path: 'classCode', field: CLASS_CODE, note: noteOf(CLASS_CODE, 'classCode') })
  for (const f of fieldsOf(table)) {
    if (NO_COLUMN.has(f.kind)) continue
    cols.push({ header: f.label, path: f.key, field: f, note: noteOf(f, f.key) })
  }
  if (opts.guardianTable) {
    for (let g = 0; g < GUARDIAN_COLUMNS; g++) {
      for (const f of fieldsOf(opts.guardianTable)) {
        const header = `监护人${g + 1}${f.label.replace(/^监护人/, '')}`
        // A guardian is optional as a whole; its name and relationship are required when it is given.
        const note = noteOf({ ...f, required: false }, f.key)
        cols.push({ header, path: `guardians[${g}].${f.key}`, field: f, guardian: g, note: f.required ? ['填写该监护人时必填', note].filter(Boolean).join('；') : note })
      }
    }
  }
  const headers = new Set(cols.map(c => c.header))
  if (headers.size !== cols.length) throw new Error(`duplicate import headers in ${table}`)
  return cols
}

export const KINDS: Record<ImportKind, KindSpec> = {
  students: {
    kind: 'students', table: 'students', label: '学生', ownerTable: 'schools', ownerKey: 'schoolId', guardianTable: 'student_guardians',
    classTable: 'school_classes', permission: 'student:write', columns: columnsOf('students', { classCode: true, guardianTable: 'student_guardians' }),
  },
  children: {
    kind: 'children', table: 'children', label: '幼儿', ownerTable: 'kindergartens', ownerKey: 'kindergartenId', guardianTable: 'child_guardians',
    classTable: 'kindergarten_classes', permission: 'student:write', columns: columnsOf('children', { classCode: true, guardianTable: 'child_guardians' }),
  },
  classes: { kind: 'classes', table: 'school_classes', label: '班级', ownerTable: 'schools', ownerKey: 'schoolId', permission: 'class:write', columns: columnsOf('school_classes') },
  teachers: { kind: 'teachers', table: 'school_teachers', label: '教师', ownerTable: 'schools', ownerKey: 'schoolId', permission: 'school:write', columns: columnsOf('school_teachers') },
}

// ------------------------------------------------------------------ code names

export interface CodeChoice {
  /** What the drop-down shows: the name, or "name（code）" where two codes share a name. */
  label: string
  code: string
}

export interface CodeNames {
  /** The drop-down: current (not retired) codes of the default edition. */
  choices: CodeChoice[]
  /** Label, unique name or code → code. */
  lookup: Map<string, string>
  /** Code lengths of the table, to restore a leading zero Excel dropped (民族 01 typed as 1). */
  widths: number[]
}

/** The choices of a code table's default edition and how typed text maps back to a code. */
export function codeNames(codes: CodeRegistry, table: string): CodeNames {
  const entries = codes.get(table).codes
  const count = new Map<string, number>()
  for (const e of entries) count.set(e.name, (count.get(e.name) ?? 0) + 1)
  const lookup = new Map<string, string>()
  const choices: CodeChoice[] = []
  for (const e of entries) {
    const label = count.get(e.name)! > 1 ? `${e.name}（${e.code}）` : e.name
    if (!e.retired) choices.push({ label, code: e.code })
    lookup.set(key(label), e.code)
    if (count.get(e.name) === 1) lookup.set(key(e.name), e.code)
  }
  for (const e of entries) if (!lookup.has(key(e.code))) lookup.set(key(e.code), e.code)
  return { choices, lookup, widths: [...new Set(entries.map(e => e.code.length))] }
}

const key = (s: string) => s.normalize('NFKC').replace(/\s+/g, '').toUpperCase()

// ------------------------------------------------------------------ cells

/** A cell's value as read from the sheet: rich text, formulas and links are unwrapped by the reader. */
export type Raw = string | number | boolean | Date | null

/** A problem with one cell, found before validation. */
export interface CellProblem {
  code: 'IMPORT_CELL_PRECISION' | 'IMPORT_CODE_NAME_UNKNOWN'
  message: string
}

export type Converted = { value: unknown } | { problem: CellProblem }

/** Full-width letters, digits and spaces to half-width (NFKC), trimmed. For values that are codes or numbers, not names. */
const plain = (s: string) => s.normalize('NFKC').trim()

/** The text a cell shows, as kept for the errors file. */
export function displayOf(raw: Raw): string | null {
  if (raw === null) return null
  if (raw instanceof Date) return raw.toISOString().slice(0, 10)
  if (typeof raw === 'boolean') return raw ? '是' : '否'
  return String(raw)
}

/** The day of an Excel date serial (1900 date system; 60 is Excel's non-existent 29 February 1900). */
function serialDay(n: number): string | null {
  if (!Number.isFinite(n) || n < 1 || n >= 2958466) return null
  const ms = Date.UTC(1899, 11, 30) + Math.floor(n) * 86400000
  return new Date(ms).toISOString().slice(0, 10)
}

const pad2 = (s: string) => s.padStart(2, '0')

/** 2016-3-15, 2016/03/15, 2016.3.15, 20160315, 2016年3月15日 → 2016-03-15; anything else unchanged. */
function dateText(s: string): string {
  const t = plain(s)
  let m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$/.exec(t)
  if (m) return `${m[1]}-${pad2(m[2])}-${pad2(m[3])}`
  m = /^(\d{4})(\d{2})(\d{2})$/.exec(t)
  if (m) return `${m[1]}-${m[2]}-${m[3]}`
  return t
}

/** 2022-9, 2022/09, 2022.09, 202209, 2022年9月 → 2022-09; a full date keeps its month. */
function ymText(s: string): string {
  const t = plain(s)
  let m = /^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$/.exec(t)
  if (m) return `${m[1]}-${pad2(m[2])}`
  m = /^(\d{4})(\d{2})$/.exec(t)
  if (m) return `${m[1]}-${m[2]}`
  const d = dateText(t)
  return /^\d{4}-\d{2}-\d{2}$/.test(d) ? d.slice(0, 7) : t
}

const TRUE = new Set(['是', 'Y', 'YES', 'TRUE', '1', '√'])
const FALSE = new Set(['否', 'N', 'NO', 'FALSE', '0', '×'])

/**
 * A cell's value for `field`: what Excel did to it undone where that is safe, refused where the
 * value is lost (an 18-digit ID number stored as a number keeps only 15 significant digits).
 * Empty cells are null. Anything else is handed to the validators as text, which refuse it with
 * their own message.
 */
export function convertCell(field: Field, raw: Raw, names?: CodeNames): Converted {
  if (raw === null || (typeof raw === 'string' && raw.trim() === '')) return { value: null }
  const text = () => (raw instanceof Date ? raw.toISOString().slice(0, 10) : String(raw))
  switch (field.kind) {
    case 'id_number':
    case 'student_no':
    case 'phone':
    case 'postcode':
    case 'place':
    case 'division':
      if (typeof raw === 'number') {
        if (!Number.isSafeInteger(raw)) {
          return { problem: { code: 'IMPORT_CELL_PRECISION', message: `${field.label}被 Excel 存成了数字，末几位已经丢失；请把该列设为“文本”格式后重新输入完整的${field.label}` } }
        }
        return { value: String(raw) }
      }
      return { value: field.kind === 'id_number' || field.kind === 'student_no' ? plain(text()).toUpperCase() : plain(text()) }
    case 'date':
      if (raw instanceof Date) return { value: raw.toISOString().slice(0, 10) }
      if (typeof raw === 'number') return { value: serialDay(raw) ?? String(raw) }
      return { value: dateText(text()) }
    case 'ym':
      if (raw instanceof Date) return { value: raw.toISOString().slice(0, 7) }
      if (typeof raw === 'number') {
        if (Number.isInteger(raw) && raw >= 190001 && raw <= 210012) return { value: ymText(String(raw)) }
        return { value: serialDay(raw)?.slice(0, 7) ?? String(raw) }
      }
      return { value: ymText(text()) }
    case 'int':
    case 'number': {
      if (typeof raw === 'number') return { value: raw }
      const t = plain(text())
      return { value: t !== '' && Number.isFinite(Number(t)) ? Number(t) : t }
    }
    case 'bool': {
      if (typeof raw === 'boolean') return { value: raw }
      const t = plain(text()).toUpperCase()
      return { value: TRUE.has(t) ? true : FALSE.has(t) ? false : t }
    }
    case 'code': {
      const t = plain(text())
      const found = names?.lookup.get(key(t)) ?? (/^\d+$/.test(t) ? names?.widths.map(w => names.lookup.get(t.padStart(w, '0'))).find(Boolean) : undefined)
      if (found) return { value: found }
      return { problem: { code: 'IMPORT_CODE_NAME_UNKNOWN', message: `${field.label}“${t}”不是代码表中的名称，请从下拉列表中选择` } }
    }
    case 'email':
    case 'url':
    case 'term':
      return { value: plain(text()) }
    default:
      // Names, addresses and free text keep their characters; only the surrounding spaces go.
      return { value: text().trim() }
  }
}

/**
 * The key that makes two rows of one file the same record: ID number (resident ID card), else
 * 学籍号, else name + gender + birth date (people); class code (classes); name + gender + birth
 * month (teachers). Undefined when the row lacks what its key needs (validation refuses it).
 */
export function rowKey(kind: ImportKind, input: Record<string, unknown>): string | undefined {
  const s = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined)
  switch (kind) {
    case 'students':
    case 'children': {
      const doc = s(input.idDocType) ?? '1'
      if (doc === '1' && s(input.idNumber)) return `id:${String(input.idNumber)}`
      if (s(input.studentNo)) return `no:${String(input.studentNo)}`
      return s(input.name) && s(input.birthDate) && s(input.gender) ? `p:${String(input.name)}|${String(input.gender)}|${String(input.birthDate)}` : undefined
    }
    case 'classes':
      return s(input.classCode) ? `c:${String(input.classCode)}` : undefined
    case 'teachers':
      return s(input.name) && s(input.gender) ? `t:${String(input.name)}|${String(input.gender)}|${String(input.birthYm ?? '')}` : undefined
  }
}
