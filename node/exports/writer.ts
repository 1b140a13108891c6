/**
 * Sheet writers that stream to a file: CSV (UTF-8 with a BOM, so Excel opens Chinese text) and
 * Excel through exceljs's streaming WorkbookWriter, which commits each row to the zip stream as it
 * goes, so a million rows are never held in memory.
 */
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import type ExcelJS from 'exceljs'

export type Cell = string | number | boolean | null | undefined

export interface SheetWriter {
  /** Writes one row; awaits when the file stream asks the writer to wait (backpressure). */
  row(values: Cell[]): Promise<void>
  /** Starts the next table: a new sheet in Excel; in CSV a blank line, the table's name, then its header. */
  sheet(name: string, header: string[]): Promise<void>
  close(): Promise<void>
}

export type ExportFormat = 'csv' | 'xlsx'

/** RFC 4180 quoting; a leading =, +, - or @ is prefixed with ' so a spreadsheet never runs it as a formula. */
function csvCell(v: Cell): string {
  if (v === null || v === undefined) return ''
  let s = String(v)
  if (typeof v === 'string' && /^[=+\-@]/.test(s)) s = `'${s}`
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

export async function openSheetWriter(file: string, format: ExportFormat, sheetName: string, header: string[]): Promise<SheetWriter> {
  if (format === 'csv') {
    const out = createWriteStream(file, { flags: 'wx', mode: 0o600 })
    await once(out, 'open')
    const line = async (values: Cell[]) => {
      if (!out.write(`${values.map(csvCell).join(',')}\r\n`)) await once(out, 'drain')
    }
    out.write('\ufeff')
    await line(header)
    return {
      row: line,
      async sheet(name, next) {
        await line([])
        await line([name])
        await line(next)
      },
      close: () => new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve()))),
    }
  }
  const stream = createWriteStream(file, { flags: 'wx', mode: 0o600 })
  await once(stream, 'open')
  // No shared strings and no styles: both would be kept in memory until the end.
  // Loaded on first use: exceljs is a large module most processes never need.
  const { default: excel } = await import('exceljs')
  const book: ExcelJS.stream.xlsx.WorkbookWriter = new excel.stream.xlsx.WorkbookWriter({ stream, useSharedStrings: false, useStyles: false })
  let sheet = book.addWorksheet(sheetName)
  sheet.addRow(header).commit()
  // exceljs commits each row into the zip entry's PassThrough without waiting for it, so rows pile
  // up in memory faster than deflate takes them (100,000 rows: over 1 GB, measured). Waiting for
  // that stream to drain every few hundred rows keeps the writer's memory flat.
  type Entry = { stream: { pipes?: Array<NodeJS.EventEmitter & { _writableState?: { length: number; highWaterMark: number } }> } }
  let pending = 0
  return {
    async row(values) {
      sheet.addRow(values.map(v => (v === undefined ? null : v))).commit()
      if (++pending % 200 !== 0) return
      for (const p of (sheet as unknown as Entry).stream.pipes ?? []) {
        const state = p._writableState
        if (state && state.length > state.highWaterMark) await once(p, 'drain')
      }
    },
    async sheet(name, next) {
      sheet.commit()
      sheet = book.addWorksheet(name)
      sheet.addRow(next).commit()
    },
    async close() {
      sheet.commit()
      await book.commit()
    },
  }
}
