import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of the student history and the 学籍证明. */
export const certificateErrors = {
  CERT_LOOKUP_INVALID: { status: 400, doc: 'A history lookup needs exactly one of idNumber or studentNo, and one that is not blank once written as stored (full-width characters made ASCII, spaces removed, upper case).' },
  CERT_RECORD_UNVERIFIED: { status: 409, doc: 'The student\'s record is not verified (本级核对, R-18.1: entered or changed since, or returned): a 学籍证明 certifies verified records only; have it verified (its grade administrator), then issue the certificate.' },
  CERT_RECORD_NOT_HOME: { status: 409, doc: 'The student is homed outside this node\'s area (a read-only copy of a student transferred away, details.homeNode): only the record\'s home or a bureau above it issues a 学籍证明; ask at details.homeNode.' },
  CERT_INVALID: { status: 400, doc: 'The certificate is not a well-formed signed 学籍证明, its issuer key is not on a chain to the province key, or a byte was altered; details.reason says which.' },
  CERT_SCHOOL_OUTSIDE_ISSUER: { status: 400, doc: 'Verification: the certificate names a school that does not belong to a node in the issuing node\'s area, so that key may not certify its students (forged, or signed with a key used outside its area); not a valid certificate.' },
  CERT_SCHOOL_UNKNOWN: { status: 400, doc: 'Verification: this node holds no school of the code the certificate names, so it cannot check that the school is the issuer\'s (a node knows the schools of its own subtree); verify it at the province\'s /verify.' },
} as const

export const certificateError = errorFactory(certificateErrors)
