import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of accounts, sessions, authorization, verification and audit.
 * Tests assert the code; messages are Chinese for the registrar who reads them.
 */
export const authErrors = {
  AUTH_REQUIRED: { status: 401, doc: 'No valid session (none, expired idle or absolute, or revoked); log in again.' },
  AUTH_FAILED: { status: 401, doc: 'Wrong user name or password (the answer never says which), or the account is disabled.' },
  AUTH_LOCKED: { status: 429, doc: 'Too many failed guesses for this account or from this address in the window (security.lockout*); wait and retry.' },
  AUTH_TOTP_REQUIRED: { status: 401, doc: 'The password was accepted but this role needs a TOTP code (or TOTP enrolment) before the session is usable.' },
  AUTH_TOTP_INVALID: { status: 401, doc: 'The TOTP code is wrong, expired or already used; use the current code of the authenticator app.' },
  AUTH_STAGE_INVALID: { status: 409, doc: 'This step of the login does not apply to the session (e.g. enrolment already done).' },
  CSRF_FAILED: { status: 403, doc: 'A state-changing request without the session CSRF token in x-csrf-token; send the token returned by login or /me.' },
  FORBIDDEN: { status: 403, doc: 'The role of the account lacks the function (R-17.x); ask an administrator.' },
  NOT_FOUND: { status: 404, doc: 'No such record within your scope (records outside it answer the same, so their existence does not leak).' },
  PASSWORD_TOO_SHORT: { status: 400, doc: 'Passwords have at least 8 characters (no composition rules).' },
  PASSWORD_TOO_LONG: { status: 400, doc: 'Passwords have at most 128 characters.' },
  PASSWORD_COMMON: { status: 400, doc: 'The password is on the list of common passwords; choose another.' },
  ACCOUNT_EXISTS: { status: 409, doc: 'The user name is taken on this node.' },
  ACCOUNT_DELEGATION_DENIED: { status: 403, doc: 'Nobody creates or manages an account above their rights or outside their scope (R-17.2, R-17.4); details.rule says which limit.' },
  ACCOUNT_NOT_LOCKED: { status: 409, doc: 'The account to unlock is not locked out: fewer failed attempts in the window than security.lockoutMaxPerAccount (or they were cleared). AUTH_LOCKED by client address is not an account lock; it passes with the window.' },
  ACCOUNT_SCOPE_UNKNOWN: { status: 400, doc: 'The scope names a school, class or student that does not exist on this node.' },
  VERIFY_NOT_ALLOWED: { status: 403, doc: 'This account may not verify this kind of record (R-18.1), or it entered the record itself.' },
  VERIFY_STATE_INVALID: { status: 409, doc: 'The record is not in a state that allows this step (verify/return need entered, resubmit needs returned).' },
  VERIFY_TABLE_UNKNOWN: { status: 404, doc: 'The table has no entry-and-verification state.' },
  RETURN_REASON_REQUIRED: { status: 400, doc: 'A returned record must say why (R-18.1).' },
  REVEAL_NOT_GRANTED: { status: 403, doc: 'The account holds no grant for this class of sensitive field (R-27.1).' },
  REVEAL_FIELD_UNKNOWN: { status: 400, doc: 'The field is not a sensitive field of that table; non-sensitive fields are shown in clear anyway.' },
  SECRET_TAMPERED: { status: 500, doc: 'An encrypted secret at rest (a TOTP secret) does not verify: changed in the database, copied from another account, or encrypted under another node key (keys/secrets.key replaced). Reset the TOTP of the account.' },
  SECRET_KEY_MISSING: { status: 500, doc: 'keys/secrets.key is missing while TOTP secrets are stored encrypted under it: the node does not start (a new key would make every second factor unreadable). Restore keys/ from the backup of the data directory.' },
  SECRET_KEY_INVALID: { status: 500, doc: 'keys/secrets.key or keys/audit.key does not hold a 32-byte key (base64url); restore it from the backup of the data directory.' },
  AUDIT_CHAIN_BROKEN: { status: 500, doc: 'The audit log hash chain does not verify: an entry was changed, deleted or reordered, or differs from an anchor the parent holds (a rewritten chain); details.seq is the first bad entry. Compare with the backup and investigate the node.' },
  AUDIT_KEY_MISSING: { status: 500, doc: 'keys/audit.key (the HMAC key of the audit chain) is missing. When the log is already chained under it (every node made or started since the keyed chain) the node refuses to start: restore keys/ from the backup of the data directory (`xueji backup` takes it with the database). Only a node of an earlier version, whose log has no keyed entry, makes the key at its next start.' },
} as const

export const authError = errorFactory(authErrors)
