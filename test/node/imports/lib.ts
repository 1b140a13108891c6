/**
 * Helpers of the Excel import tests: download a template, fill it as a registrar would (by
 * header), upload it for a preview, commit, and read an answered workbook.
 */
import ExcelJS from 'exceljs'
import type { FastifyInstance } from 'fastify'
import type { TestLogin } from '../../helper.ts'
import { codeNames, FIRST_DATA_ROW, type ImportKind } from '../../../node/imports/rules.ts'
import { XLSX_TYPE } from '../../../node/imports/workbook.ts'
import type { Json } from '../../records/setup.ts'

export type Cell = string | number | boolean | Date | null

/** The drop-down label of a code (what a registrar picks). */
export function label(app: FastifyInstance, table: string, code: string): string {
  return codeNames(app.codes, table).choices.find(c => c.code === code)!.label
}

export async function readBook(buf: Buffer): Promise<ExcelJS.Workbook> {
  const book = new ExcelJS.Workbook()
  await book.xlsx.load(buf as unknown as ArrayBuffer)
  return book
}

export async function download(app: FastifyInstance, login: TestLogin, url: string): Promise<{ status: number; type: string; body: Buffer }> {
  const res = await app.inject({ method: 'GET', url, headers: login.headers })
  return { status: res.statusCode, type: String(res.headers['content-type']), body: res.rawPayload }
}

/** The headers of a sheet's first row, in column order. */
export function headersOf(sheet: ExcelJS.Worksheet): string[] {
  const out: string[] = []
  sheet.getRow(1).eachCell((c, col) => (out[col - 1] = String(c.value)))
  return out
}

/**
 * Writes `rows` (header → value) into `book`'s first sheet from the first data row on. The
 * drop-downs are left out of the file written (the node does not read them back; exceljs takes
 * a second to write 5,000 rows of them).
 */
export async function fill(book: ExcelJS.Workbook, rows: Array<Record<string, Cell>>, from = FIRST_DATA_ROW): Promise<Buffer> {
  const sheet = book.worksheets[0]
  ;(sheet as unknown as { dataValidations: { model: object } }).dataValidations.model = {}
  const cols = new Map(headersOf(sheet).map((h, i) => [h, i + 1]))
  rows.forEach((r, i) => {
    for (const [h, v] of Object.entries(r)) {
      const col = cols.get(h)
      if (col === undefined) throw new Error(`no column ${h}`)
      sheet.getRow(from + i).getCell(col).value = v
    }
  })
  return Buffer.from(await book.xlsx.writeBuffer())
}

export async function preview(app: FastifyInstance, login: TestLogin, kind: ImportKind, schoolId: string, file: Buffer): Promise<{ status: number; body: Json }> {
  const res = await app.inject({ method: 'POST', url: `/api/v1/imports/${kind}/preview?schoolId=${schoolId}`, headers: { ...login.headers, 'content-type': XLSX_TYPE }, payload: file })
  return { status: res.statusCode, body: res.json() as Json }
}

export async function commit(app: FastifyInstance, login: TestLogin, importId: string): Promise<{ status: number; body: Json }> {
  const res = await app.inject({ method: 'POST', url: `/api/v1/imports/${importId}/commit`, headers: login.headers })
  return { status: res.statusCode, body: res.json() as Json }
}
