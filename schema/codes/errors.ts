import { errorFactory, type ErrorSpec } from '../../config/errors.ts'

/** Error catalogue of the code registry. Both are configuration or programming faults, hence 500. */
export const codeErrors = {
  CODE_TABLE_INVALID: {
    status: 500,
    doc: 'A code-table file (shipped data or a local file from configuration) is malformed, or a local code collides with an existing code of its table; fix the file named in details.source.',
  },
  CODE_TABLE_UNKNOWN: {
    status: 500,
    doc: 'A lookup named a table or edition the registry does not have; check the table name or add the local table file.',
  },
} as const satisfies Record<string, ErrorSpec>

export const codeError = errorFactory(codeErrors)
