import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of the change requests for locked records. A refusal
 * changes nothing, except CHANGE_REQUEST_STALE and CHANGE_REQUEST_NO_LONGER_VALID, which mark the
 * request failed (and change no record). Tests assert the code.
 */
export const changeRequestErrors = {
  CHANGE_REQUEST_TABLE_INVALID: { status: 400, doc: 'The record (details.table) is not one a change request changes: only records a lock on expiry (R-22.1–R-22.4) or growth reporting (R-23.1, R-24.2) holds.' },
  CHANGE_REQUEST_PATCH_INVALID: { status: 400, doc: 'The patch is not an object of the record\'s fields (empty, or holding version or system fields); send the fields to change as the record\'s own PATCH route takes them, the version apart.' },
  CHANGE_REQUEST_NOT_LOCKED: { status: 409, doc: 'The record is not locked: change it through its own route; a change request is for locked records only.' },
  CHANGE_REQUEST_NOT_PENDING: { status: 409, doc: 'The step does not fit the request\'s status (details.status): deciding needs pending_bureau (the school\'s bureau) or pending_province (the province); withdrawing needs one of them.' },
  CHANGE_REQUEST_WRONG_TIER: { status: 409, doc: 'This node does not take this decision (details.status, details.homeNode): the school\'s bureau decides at the record\'s home node, the province at the province\'s node (R-24.2).' },
  CHANGE_REQUEST_DECISION_SENT: { status: 409, doc: 'The province\'s decision was sent to the home node and is on its way (details.seq); the request shows it once the home node has applied it.' },
  CHANGE_REQUEST_REASON_REQUIRED: { status: 400, doc: 'A rejection needs its reason.' },
  CHANGE_REQUEST_STALE: { status: 409, doc: 'The record changed after the school applied (details.currentVersion): the request is marked failed and nothing was changed; the school applies again on the record as it is now.' },
  CHANGE_REQUEST_NO_LONGER_VALID: { status: 409, doc: 'The approved patch no longer passes the record\'s validation (details.cause, details.field): the request is marked failed and nothing was changed; the school applies again with a valid patch.' },
} as const

export const changeRequestError = errorFactory(changeRequestErrors)
