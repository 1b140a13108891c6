import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of Excel imports (node/imports). A refused file writes nothing; the row codes
 * (IMPORT_CELL_PRECISION, IMPORT_CODE_NAME_UNKNOWN, IMPORT_ROW_DUPLICATE) appear in a preview's
 * row errors next to the record validators' RECORD_* codes. Tests assert the code.
 */
export const importErrors = {
  IMPORT_FILE_INVALID: { status: 400, doc: 'The body is not an Excel (.xlsx) workbook (or one that unzips to more than 128 MiB: details.rule unzipped_size), or its first sheet lacks columns of the template (details.missing); download the template (GET /api/v1/imports/templates/{kind}) and fill it in.' },
  IMPORT_TOO_MANY_ROWS: { status: 400, doc: 'The file holds more data rows than one import takes (details.max); split it into several files.' },
  IMPORT_EMPTY: { status: 400, doc: 'The file holds no data row below the headers and notes; fill in the template from its third row.' },
  IMPORT_EXPIRED: { status: 410, doc: 'The preview is older than its expiry (details.expiresAt) and was not committed; upload the file again for a new preview.' },
  IMPORT_CELL_PRECISION: { status: 400, doc: 'Row error: an ID number (or other long number) was stored by Excel as a number and lost its last digits; format the column as text and type the number again.' },
  IMPORT_CODE_NAME_UNKNOWN: { status: 400, doc: 'Row error: the cell of a code column holds neither a name of the drop-down list nor a code of its table; choose from the list.' },
  IMPORT_ROW_DUPLICATE: { status: 400, doc: 'Row error: the same person (ID number, 学籍号, or name + gender + birth date) or class appears on an earlier row of the file (details.firstRow); keep one row.' },
} as const

export type ImportErrorCode = keyof typeof importErrors

export const importError = errorFactory(importErrors)
