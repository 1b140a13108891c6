/**
 * What a resident ID card number (GB 11643) tells as it is typed: the birth date (digits 7–14)
 * and the gender (digit 17: odd male 1, even female 2), and whether its check character agrees.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK = '10X98765432'

export function idCheckChar(first17: string): string {
  let sum = 0
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]
  return CHECK[sum % 11]
}

export interface IdFacts {
  birthDate?: string
  gender?: '1' | '2'
  /** Only for a complete 18-character number. */
  checksumOk?: boolean
}

export function readIdNumber(raw: string): IdFacts {
  const id = raw.trim().toUpperCase()
  const out: IdFacts = {}
  const d = /^\d{6}(\d{4})(\d{2})(\d{2})/.exec(id)
  if (d) {
    const date = new Date(`${d[1]}-${d[2]}-${d[3]}T00:00:00Z`)
    if (!Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === `${d[1]}-${d[2]}-${d[3]}`) out.birthDate = `${d[1]}-${d[2]}-${d[3]}`
  }
  if (/^\d{17}/.test(id)) out.gender = Number(id[16]) % 2 === 1 ? '1' : '2'
  if (/^\d{17}[\dX]$/.test(id)) out.checksumOk = idCheckChar(id.slice(0, 17)) === id[17]
  return out
}
