/**
 * An uploaded workbook is a zip archive that exceljs unzips whole into memory before any row is
 * counted: what it unzips to is bounded first (node/imports/workbook.ts `readSheet`).
 */
import t from 'tap'
import ExcelJS from 'exceljs'
import { readSheet } from '../../../node/imports/workbook.ts'
import { KINDS } from '../../../node/imports/rules.ts'

/** A workbook of the students template's headers and one data row, with `pad` characters in a cell of a second row. */
async function workbook(pad = 0): Promise<Buffer> {
  const book = new ExcelJS.Workbook()
  const sheet = book.addWorksheet('学生')
  sheet.addRow(KINDS.students.columns.map(c => c.header))
  sheet.addRow(KINDS.students.columns.map(() => 'x'))
  if (pad > 0) sheet.addRow(['a'.repeat(pad)])
  return Buffer.from(await book.xlsx.writeBuffer())
}

t.test('R-19.1 a workbook that unzips to more than the limit is refused before it is read (IMPORT_FILE_INVALID); one within it is read; an archive that cannot be bounded is refused', async t => {
  const file = await workbook()
  t.equal((await readSheet(KINDS.students, file, 2 * 2 ** 20)).length, 1, 'the workbook itself is read')
  // 4 MiB of text in one cell (a few KiB compressed): past a 2 MiB limit.
  const padded = await workbook(4 * 2 ** 20)
  t.ok(padded.length < 64 * 1024, `small on the wire (${padded.length} bytes)`)
  await t.rejects(readSheet(KINDS.students, padded, 2 * 2 ** 20), { code: 'IMPORT_FILE_INVALID', details: { rule: 'unzipped_size' } })
  t.equal((await readSheet(KINDS.students, padded, 16 * 2 ** 20)).length, 2, 'within a larger limit it is read')
  // A central directory that declares its entries smaller than they inflate to changes nothing: the data is inflated, capped.
  const lying = Buffer.from(padded)
  for (let i = lying.length - 46; i >= 0; i--) if (lying.readUInt32LE(i) === 0x02014b50) lying.writeUInt32LE(10, i + 24)
  await t.rejects(readSheet(KINDS.students, lying, 2 * 2 ** 20), { code: 'IMPORT_FILE_INVALID', details: { rule: 'unzipped_size' } }, 'declared sizes that lie')
  await t.rejects(readSheet(KINDS.students, file.subarray(0, file.length - 10)), { code: 'IMPORT_FILE_INVALID' }, 'a cut archive')
})
