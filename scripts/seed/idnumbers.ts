import { idCheckChar } from '../../schema/ids.ts'
import { dayOf } from './calendar.ts'
import type { Rng } from './random.ts'

/**
 * Allocates unique citizen ID numbers and 学籍号 (schema/ids.ts has the rules). Uniqueness is
 * tracked as numbers (division, birth day, sequence packed into one integer) rather than strings:
 * a million students cost ~20 MB instead of ~80.
 */
export class NumberAllocator {
  private readonly divisions = new Map<string, number>()
  private readonly ids = new Set<number>()
  private readonly temporary = new Set<number>()

  private divisionIndex(division: string): number {
    let i = this.divisions.get(division)
    if (i === undefined) this.divisions.set(division, (i = this.divisions.size))
    return i
  }

  /** Days since 1900 fit in 5 digits until 2173; sequences in 4. */
  private key(division: string, birthDate: string, seq: number): number {
    return (this.divisionIndex(division) * 100_000 + (dayOf(birthDate) + 25_567)) * 10_000 + seq
  }

  /**
   * An 18-character ID number (GB 11643): division + birth date + 3-digit sequence whose last
   * digit is odd for a male, even for a female + check character. Also used for J 学籍号, which
   * follow the same rules with the school's division code; one pool keeps both unique.
   */
  idNumber(rng: Rng, division: string, birthDate: string, gender: '1' | '2'): string {
    for (let attempt = 0; attempt < 200; attempt++) {
      const seq = rng.int(0, 499) * 2 + (gender === '1' ? 1 : 0)
      const key = this.key(division, birthDate, seq)
      if (this.ids.has(key)) continue
      this.ids.add(key)
      const first17 = division + birthDate.replaceAll('-', '') + String(seq).padStart(3, '0')
      return first17 + idCheckChar(first17)
    }
    throw new Error(`seed: no free ID sequence left for ${division} ${birthDate}`)
  }

  /** A temporary 学籍号 (L): L + the school's division code + birth date + 4 random digits. */
  temporaryStudentNo(rng: Rng, division: string, birthDate: string): string {
    for (let attempt = 0; attempt < 200; attempt++) {
      const seq = rng.int(0, 9999)
      const key = this.key(division, birthDate, seq)
      if (this.temporary.has(key)) continue
      this.temporary.add(key)
      return 'L' + division + birthDate.replaceAll('-', '') + String(seq).padStart(4, '0')
    }
    throw new Error(`seed: no free temporary number left for ${division} ${birthDate}`)
  }
}
