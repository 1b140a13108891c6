import { XuejiError, errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of the registration record (Articles 7–12): validation, duplicates,
 * concurrency. Every error's `details` names the `field` (a path such as `guardians[1].phone` for a
 * sub-record sent with its student) and the `rule` that refused it; `details.issues` lists every
 * problem found, so an import can show them all in its "reason" column. Tests assert the code.
 */
export const recordErrors = {
  RECORD_FIELD_REQUIRED: { status: 400, doc: 'A field the regulation requires is missing (details.field); fill it in.' },
  RECORD_FIELD_FORMAT: { status: 400, doc: 'A value has the wrong form (date YYYY-MM-DD, year-month YYYY-MM, postcode, e-mail, number range, text holding a lone surrogate half — rule lone_surrogate, the message gives the position …); details.rule says which.' },
  RECORD_FIELD_NOT_ALLOWED: { status: 400, doc: 'A field was given where it does not apply (e.g. death details for a change type other than 51 死亡).' },
  RECORD_FIELD_DERIVED: { status: 400, doc: 'A figure the system derives from the records (class and student counts, R-8.1) was typed; leave it out.' },
  RECORD_NAME_CHARACTER: { status: 400, doc: 'A name or address holds a control character (NUL, tab, newline), an invisible format character (U+202E direction override, zero-width joiner …) or a lone surrogate (details.field; the message gives the position); delete it and type the name again. The middle dot · of minority names is allowed.' },
  RECORD_CODE_UNKNOWN: { status: 400, doc: 'The code is not in its code table and edition (details.table, details.edition); choose one from the table, or add a local code by configuration (R-30.1).' },
  RECORD_ID_FORMAT: { status: 400, doc: 'The ID number is not 18 characters (17 digits + digit or X) or its birth date is not a real date.' },
  RECORD_ID_CHECKSUM: { status: 400, doc: 'The ID number check character (GB 11643, ISO 7064 MOD 11-2) is wrong: a digit was mistyped.' },
  RECORD_ID_BIRTHDATE_MISMATCH: { status: 400, doc: 'The birth date entered differs from the one in the ID number.' },
  RECORD_ID_GENDER_MISMATCH: { status: 400, doc: 'The gender entered differs from the one the ID number encodes (odd sequence 男, even 女).' },
  RECORD_STUDENT_NO_INVALID: { status: 400, doc: 'The 学籍号 is not a valid G/J/L number, or a G number is not G + the ID number, or its birth date differs from the record.' },
  RECORD_DATE_ORDER: { status: 400, doc: 'Two dates are in the wrong order (enrolment before birth, revocation before the punishment, to before from …) or a date is in the future.' },
  RECORD_PHOTO_INVALID: { status: 400, doc: 'The photo is not a base64 JPEG of at most 60 KB.' },
  RECORD_DIVISION_OUTSIDE_NODE: { status: 400, doc: 'The division code is outside the area of this node; the school belongs to another node.' },
  RECORD_REFERENCE_INVALID: { status: 400, doc: 'A referenced record (school, class, supervising unit) does not exist on this node or belongs to another school.' },
  RECORD_DUPLICATE_ID: { status: 409, doc: 'Another record on this node has the same ID number (查重); find the existing record (transfer, or correct the number).' },
  RECORD_DUPLICATE_ELSEWHERE: { status: 409, doc: 'The person (ID number or 学籍号) is registered at another node (查重 across the federation, R-10.1; details name the school and node); a move is a transfer (R-19.5) started by the receiving school, not a new registration.' },
  RECORD_DUPLICATE_STUDENT_NO: { status: 409, doc: 'Another student on this node has the same 学籍号.' },
  RECORD_DUPLICATE_KEY: { status: 409, doc: 'A record with the same natural key exists (school code, class code, one registration per term, one enrolment per student …).' },
  RECORD_VERSION_CONFLICT: { status: 409, doc: 'The record changed since it was read (details.currentVersion); reload it and apply the change again.' },
  RECORD_IN_USE: { status: 409, doc: 'The record still has dependants (classes, students …, details.table); move or delete them first.' },
  RECORD_NOT_HOME: { status: 409, doc: 'The record is a read-only replica owned by another node (DESIGN.md §2); change it at its home node.' },
  RECORD_PROBLEM_STATE: { status: 409, doc: 'The problem record is already resolved, or the duplicate it reports still exists so "corrected" does not hold.' },
} as const

export type RecordErrorCode = keyof typeof recordErrors

export const recordError = errorFactory(recordErrors)

/** One problem found by validation. `field` is the property name (or path); messages are Chinese. */
export interface Issue {
  code: RecordErrorCode
  field: string
  rule: string
  message: string
}

/**
 * The error for a list of issues: the first one gives code, message and status; all of them are in
 * `details.issues`. Only field names, rules and messages: never the values, which may be personal.
 */
export function issuesError(issues: readonly Issue[]): XuejiError {
  const first = issues[0]
  return recordError(first.code, first.message, {
    field: first.field,
    rule: first.rule,
    issues: issues.map(i => ({ code: i.code, field: i.field, rule: i.rule, message: i.message })),
  })
}

/** Prefixes the field of every issue, for sub-records sent inside their parent (`guardians[1].`). */
export function withPath(prefix: string, issues: readonly Issue[]): Issue[] {
  return issues.map(i => ({ ...i, field: `${prefix}.${i.field}` }))
}
