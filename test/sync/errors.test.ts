import t from 'tap'
import { XuejiError } from '../../config/errors.ts'
import { syncError, syncErrors } from '../../sync/errors.ts'

t.test('every catalogue entry has an HTTP error status and a one-line doc', async (t) => {
  for (const [code, spec] of Object.entries(syncErrors)) {
    t.ok(spec.status >= 400 && spec.status < 600, `${code} status`)
    t.ok(spec.doc.length > 20 && !spec.doc.includes('\n'), `${code} doc`)
  }
})

t.test('the protocol codes exist with the statuses the peers rely on', async (t) => {
  const expected: Record<string, number> = {
    SYNC_SEQ_GAP: 409,
    SYNC_FORK: 409,
    SYNC_NOT_CHILD: 403,
    SYNC_ORIGIN_OUTSIDE_SUBTREE: 403,
    SYNC_ROW_OUTSIDE_OWNERSHIP: 403,
    SYNC_KEY_NOT_VOUCHED: 403,
    SYNC_TOKEN_INVALID: 401,
    SYNC_TOKEN_EXPIRED: 401,
  }
  for (const [code, status] of Object.entries(expected)) t.equal(syncErrors[code as keyof typeof syncErrors].status, status, code)
  for (const code of [
    'SYNC_SIGNATURE_INVALID', 'SYNC_ALG_NOT_ALLOWED', 'SYNC_KEY_UNKNOWN', 'SYNC_EMBEDDED_KEY_REFUSED',
    'SYNC_HASH_MISMATCH', 'SYNC_MALFORMED', 'SYNC_FORMAT_UNSUPPORTED', 'SYNC_SEQ_REPLAY', 'SYNC_PREV_MISMATCH',
    'SYNC_COMMAND_NOT_FOR_ME', 'SYNC_COMMAND_REPLAY', 'SYNC_RECEIPT_INVALID', 'SYNC_ENROLL_TOKEN_INVALID',
  ]) t.ok(code in syncErrors, code)
})

t.test('syncError builds a XuejiError with the catalogue status and details', async (t) => {
  const err = syncError('SYNC_SEQ_GAP', 'expected 7', { expectedSeq: 7 })
  t.ok(err instanceof XuejiError)
  t.equal(err.code, 'SYNC_SEQ_GAP')
  t.equal(err.statusCode, 409)
  t.same(err.details, { expectedSeq: 7 })
})
