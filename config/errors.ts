/**
 * The one base error of Xueji. Every area keeps its own catalogue of stable codes
 * (`node/errors.ts`, `sync/errors.ts`, …); tests assert `code`, never message text.
 * `message` is written for the person who will read it: Chinese where a registrar sees it.
 */
export class XuejiError extends Error {
  readonly code: string
  readonly statusCode: number
  /** Extra machine-readable detail (field name, rule, expected seq …); never personal data. */
  readonly details?: Record<string, unknown>

  constructor(code: string, message: string, statusCode = 400, details?: Record<string, unknown>) {
    super(message)
    this.name = 'XuejiError'
    this.code = code
    this.statusCode = statusCode
    this.details = details
  }
}

/** A catalogue entry: the HTTP status and a line on cause and fix, for docs and ops. */
export interface ErrorSpec {
  status: number
  /** What happened and what to do, in one line. */
  doc: string
}

/** Builds `err(code, message)` for a catalogue so codes are checked at compile time. */
export function errorFactory<C extends Record<string, ErrorSpec>>(catalogue: C) {
  return (code: keyof C & string, message: string, details?: Record<string, unknown>) =>
    new XuejiError(code, message, catalogue[code].status, details)
}
