import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of exports (R-D.7). A refused export writes nothing. Tests assert the code. */
export const exportErrors = {
  EXPORT_QUERY_INVALID: { status: 400, doc: 'The export\'s filter has a key the list or statistics table does not take (details.field), or a statistics query the statistics routes would refuse; fix the filter.' },
  EXPORT_NOT_READY: { status: 409, doc: 'The export is still queued or running (details.state), or it failed; poll GET /api/v1/exports/{id} until state is done.' },
  EXPORT_EXPIRED: { status: 410, doc: 'The export\'s file was deleted after exports.keepDays (details.keepDays) days; ask for the export again.' },
} as const

export const exportError = errorFactory(exportErrors)
