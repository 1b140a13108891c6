import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of the student history and the 学籍证明. */
export const certificateErrors = {
  CERT_LOOKUP_INVALID: { status: 400, doc: 'A history lookup needs exactly one of idNumber or studentNo.' },
  CERT_RECORD_UNVERIFIED: { status: 409, doc: 'The student\'s record is not verified (本级核对, R-18.1: entered or changed since, or returned): a 学籍证明 certifies verified records only; have it verified (its grade administrator), then issue the certificate.' },
  CERT_INVALID: { status: 400, doc: 'The certificate is not a well-formed signed 学籍证明, its issuer key is not on a chain to the province key, or a byte was altered; details.reason says which.' },
} as const

export const certificateError = errorFactory(certificateErrors)
