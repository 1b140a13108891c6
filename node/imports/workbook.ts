/**
 * The Excel side of imports, through exceljs: the template of a record type (headers in the
 * paper form's order, a row of notes, text format on every column that is not a number, code
 * columns as drop-downs of names from a hidden code sheet), the same layout with the rows in error
 * and a last column 错误原因, and reading an uploaded workbook back into cells.
 */
import { inflateRawSync } from 'node:zlib'
import type ExcelJS from 'exceljs'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import { importError } from './errors.ts'
import { codeNames, FIRST_DATA_ROW, MAX_ROWS, REASON_HEADER, type CodeNames, type KindSpec, type Raw } from './rules.ts'

/** exceljs, loaded on first use: a large module most processes never need. */
const excel = async () => (await import('exceljs')).default

export const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'
export const CODE_SHEET = '代码表'

/** The code tables of a kind's columns, each with its choices and lookup. */
export function namesOf(spec: KindSpec, codes: CodeRegistry): Map<string, CodeNames> {
  const out = new Map<string, CodeNames>()
  for (const c of spec.columns) if (c.field.kind === 'code' && !out.has(c.field.table!)) out.set(c.field.table!, codeNames(codes, c.field.table!))
  return out
}

const colLetter = (n: number) => {
  let s = ''
  for (let x = n; x > 0; x = Math.floor((x - 1) / 26)) s = String.fromCharCode(65 + ((x - 1) % 26)) + s
  return s
}

interface DataValidations {
  add(address: string, validation: ExcelJS.DataValidation): void
}

/**
 * The template of `spec`; with `rows`, the errors file: those rows' cells as typed, each with its
 * reasons in the last column 错误原因.
 */
export async function templateBook(spec: KindSpec, codes: CodeRegistry, rows?: Array<{ cells: Array<string | null>; reason: string }>): Promise<Buffer> {
  const book = new (await excel()).Workbook()
  book.creator = 'Xueji'
  const sheet = book.addWorksheet(`${spec.label}信息`, { views: [{ state: 'frozen', ySplit: FIRST_DATA_ROW - 1 }] })
  const codeSheet = book.addWorksheet(CODE_SHEET)
  codeSheet.state = 'hidden'
  const names = namesOf(spec, codes)
  const listOf = new Map<string, string>()
  let codeCol = 0
  for (const [table, n] of names) {
    codeCol++
    const letter = colLetter(codeCol)
    codeSheet.getCell(`${letter}1`).value = codes.get(table).title
    n.choices.forEach((c, i) => (codeSheet.getCell(`${letter}${i + 2}`).value = c.label))
    listOf.set(table, `'${CODE_SHEET}'!$${letter}$2:$${letter}$${Math.max(n.choices.length + 1, 2)}`)
  }

  const headers = [...spec.columns.map(c => c.header), ...(rows ? [REASON_HEADER] : [])]
  sheet.getRow(1).values = headers
  sheet.getRow(2).values = [...spec.columns.map(c => c.note), ...(rows ? ['按原因改正后删除本列，再上传本文件'] : [])]
  sheet.getRow(1).font = { bold: true }
  sheet.getRow(2).font = { italic: true, color: { argb: 'FF808080' } }
  sheet.getRow(2).alignment = { wrapText: true, vertical: 'top' }
  const validations = (sheet as unknown as { dataValidations: DataValidations }).dataValidations
  const last = FIRST_DATA_ROW + MAX_ROWS - 1
  spec.columns.forEach((c, i) => {
    const col = sheet.getColumn(i + 1)
    col.width = Math.max(10, Math.min(30, [...c.header].length * 2 + 4))
    if (c.field.required && c.guardian === undefined && c.path !== 'studentNo') sheet.getCell(1, i + 1).font = { bold: true, color: { argb: 'FFC00000' } }
    const letter = colLetter(i + 1)
    const range = `${letter}${FIRST_DATA_ROW}:${letter}${last}`
    if (c.field.kind !== 'int' && c.field.kind !== 'number') col.numFmt = '@'
    if (c.field.kind === 'code') {
      validations.add(range, { type: 'list', allowBlank: true, formulae: [listOf.get(c.field.table!)!], showErrorMessage: true, errorStyle: 'warning', errorTitle: c.header, error: '请从下拉列表中选择' })
    } else if (c.field.kind === 'bool') {
      validations.add(range, { type: 'list', allowBlank: true, formulae: ['"是,否"'], showErrorMessage: true, errorStyle: 'warning', errorTitle: c.header, error: '请选择“是”或“否”' })
    }
  })
  if (rows) {
    sheet.getColumn(headers.length).width = 60
    rows.forEach((r, i) => {
      const row = sheet.getRow(FIRST_DATA_ROW + i)
      r.cells.forEach((v, j) => {
        if (v !== null) row.getCell(j + 1).value = v
      })
      row.getCell(headers.length).value = r.reason
      row.getCell(headers.length).font = { color: { argb: 'FFC00000' } }
    })
  }
  return Buffer.from(await book.xlsx.writeBuffer())
}

/** A cell's value with rich text, formulas, links and errors unwrapped. */
function rawOf(v: ExcelJS.CellValue): Raw {
  if (v === null || v === undefined) return null
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || v instanceof Date) return v
  if (typeof v === 'object') {
    if ('richText' in v) return v.richText.map(r => r.text).join('')
    if ('formula' in v || 'sharedFormula' in v) return rawOf((v as ExcelJS.CellFormulaValue).result as ExcelJS.CellValue)
    if ('hyperlink' in v) return rawOf((v as ExcelJS.CellHyperlinkValue).text as ExcelJS.CellValue)
    if ('error' in v) return String((v as ExcelJS.CellErrorValue).error)
  }
  return String(v)
}

/** One data row of an uploaded file: its sheet row number and its cells in the template's column order. */
export interface SheetRow {
  row: number
  raws: Raw[]
  /** Per template column, whether the file holds it (one array shared by every row): a column left out changes nothing. */
  present: readonly boolean[]
}

/**
 * What an uploaded workbook may unzip to: 5,000 rows (MAX_ROWS) of 80 columns of distinct
 * 20-character texts come to 36 MiB. exceljs unzips the whole file into memory before any row is
 * counted, so a small file that unzips to gigabytes is refused first.
 */
export const MAX_UNZIPPED_BYTES = 128 * 2 ** 20

/**
 * The bytes the zip archive `file` unzips to, inflating each entry with its output capped (the
 * sizes an archive declares may lie): 'too large' past `max`; null when it is not a zip archive
 * this can read (Excel writes plain deflated zips; a ZIP64 or other archive is refused too, as
 * its size could not be bounded here).
 */
function unzippedBytes(file: Buffer, max: number): number | 'too large' | null {
  // The end of central directory record: within the last 22 + 65,535 bytes (its comment).
  const from = Math.max(0, file.length - 22 - 0xffff)
  let end = -1
  for (let i = file.length - 22; i >= from; i--) if (file.readUInt32LE(i) === 0x06054b50) { end = i; break }
  if (end < 0) return null
  const entries = file.readUInt16LE(end + 10)
  let at = file.readUInt32LE(end + 16)
  let total = 0
  for (let n = 0; n < entries; n++) {
    if (at + 46 > file.length || file.readUInt32LE(at) !== 0x02014b50) return null
    const method = file.readUInt16LE(at + 10)
    const packed = file.readUInt32LE(at + 20)
    const local = file.readUInt32LE(at + 42)
    if (local + 30 > file.length || file.readUInt32LE(local) !== 0x04034b50) return null
    const start = local + 30 + file.readUInt16LE(local + 26) + file.readUInt16LE(local + 28)
    const data = file.subarray(start, start + packed)
    if (method === 0) total += data.length
    else if (method === 8) {
      try {
        total += inflateRawSync(data, { maxOutputLength: max - total + 1 }).length
      } catch (err) {
        if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) return 'too large'
        return null
      }
    } else return null
    if (total > max) return 'too large'
    at += 46 + file.readUInt16LE(at + 28) + file.readUInt16LE(at + 30) + file.readUInt16LE(at + 32)
  }
  return total
}

const headerKey = (s: string) => s.normalize('NFKC').replace(/[\s*＊]/g, '')

/**
 * The data rows of the first visible sheet of `file`, by the template's headers (row 1; columns
 * in any order, unknown ones such as 错误原因 ignored). Row 2 is skipped when it holds the notes.
 * Empty rows are skipped. Throws IMPORT_FILE_INVALID, IMPORT_EMPTY or IMPORT_TOO_MANY_ROWS.
 */
export async function readSheet(spec: KindSpec, file: Buffer, maxUnzipped = MAX_UNZIPPED_BYTES): Promise<SheetRow[]> {
  const unzipped = unzippedBytes(file, maxUnzipped)
  if (unzipped === null) throw importError('IMPORT_FILE_INVALID', '文件不是有效的 Excel（.xlsx）文件，请下载导入模板填写后上传')
  if (unzipped === 'too large') throw importError('IMPORT_FILE_INVALID', `文件解压后超过 ${Math.round(maxUnzipped / 2 ** 20)} MB，不是导入模板填写的文件：请下载导入模板填写后上传`, { rule: 'unzipped_size', max: maxUnzipped })
  const book = new (await excel()).Workbook()
  try {
    await book.xlsx.load(file as unknown as ArrayBuffer)
  } catch {
    throw importError('IMPORT_FILE_INVALID', '文件不是有效的 Excel（.xlsx）文件，请下载导入模板填写后上传')
  }
  const sheet = book.worksheets.find(s => s.state === 'visible') ?? book.worksheets[0]
  if (!sheet) throw importError('IMPORT_FILE_INVALID', '文件中没有工作表，请下载导入模板填写后上传')
  const at = new Map<string, number>()
  sheet.getRow(1).eachCell((cell, col) => {
    const text = rawOf(cell.value)
    if (typeof text === 'string') at.set(headerKey(text), col)
  })
  const positions = spec.columns.map(c => at.get(headerKey(c.header)))
  const missing = spec.columns.filter((c, i) => positions[i] === undefined && c.field.required && c.guardian === undefined && c.path !== 'studentNo').map(c => c.header)
  if (missing.length > 0 || positions.every(p => p === undefined)) {
    throw importError('IMPORT_FILE_INVALID', `文件第一行缺少模板的列：${missing.join('、') || '全部'}。请下载${spec.label}导入模板填写后上传`, { missing })
  }
  const present = positions.map(p => p !== undefined)
  const rows: SheetRow[] = []
  const last = sheet.actualRowCount === 0 ? 0 : sheet.rowCount
  for (let r = 2; r <= last; r++) {
    const row = sheet.getRow(r)
    const raws = positions.map(p => (p === undefined ? null : rawOf(row.getCell(p).value)))
    const texts = raws.map(v => (typeof v === 'string' ? v.trim() : v))
    if (texts.every(v => v === null || v === '')) continue
    if (r === 2 && spec.columns.some((c, i) => texts[i] === c.note && c.note !== '') && spec.columns.every((c, i) => texts[i] === null || texts[i] === '' || texts[i] === c.note)) continue
    rows.push({ row: r, raws, present })
    if (rows.length > MAX_ROWS) throw importError('IMPORT_TOO_MANY_ROWS', `一个文件最多导入 ${MAX_ROWS} 行，请拆分为多个文件`, { max: MAX_ROWS })
  }
  if (rows.length === 0) throw importError('IMPORT_EMPTY', `文件中没有数据：请从第 ${FIRST_DATA_ROW} 行起填写`)
  return rows
}
