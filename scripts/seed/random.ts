import { uuid7 } from '../../schema/record-ids.ts'

/**
 * A seeded pseudo-random source. The generator must give the same data for the same seed on every
 * machine, so it never touches Math.random or crypto: sfc32 (small, fast, passes PractRand) seeded
 * through splitmix32 so that neighbouring seeds (1, 2, 3 …) give unrelated streams.
 */
export class Rng {
  private a: number
  private b: number
  private c: number
  private d: number

  constructor(seed: number | string) {
    let s = typeof seed === 'number' ? seed >>> 0 : hashString(seed)
    const next = () => {
      // splitmix32
      s = (s + 0x9e3779b9) | 0
      let z = s
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b)
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35)
      return (z ^ (z >>> 16)) >>> 0
    }
    this.a = next()
    this.b = next()
    this.c = next()
    this.d = next()
    for (let i = 0; i < 12; i++) this.u32()
  }

  /** Uniform 32-bit unsigned integer. */
  u32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0
    this.d = (this.d + 1) | 0
    this.a = this.b ^ (this.b >>> 9)
    this.b = (this.c + (this.c << 3)) | 0
    this.c = (this.c << 21) | (this.c >>> 11)
    this.c = (this.c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float(): number {
    return this.u32() / 4294967296
  }

  /** Uniform integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.float() * (max - min + 1))
  }

  chance(p: number): boolean {
    return this.float() < p
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.float() * items.length)]
  }

  /** Roughly normal (sum of three uniforms), clamped to [min, max]. Enough for scores and sizes. */
  around(mean: number, spread: number, min: number, max: number): number {
    const x = mean + (this.float() + this.float() + this.float() - 1.5) * spread
    return Math.min(max, Math.max(min, x))
  }

  /**
   * A version-7 UUID (RFC 9562): 48-bit millisecond time, then a counter, then random bits.
   * Seeded ids increase, so bulk inserts append to the primary-key and foreign-key indexes
   * instead of touching a random page each (measured ~15 % faster seeding than v4 ids).
   */
  uuid7(ms: number, counter: number): string {
    // rand_a: the counter's bits above 30; rand_b: its low 30 bits, then 32 random ones.
    return uuid7(ms, Math.floor(counter / 2 ** 30) & 0xfff, counter % 2 ** 30, this.u32())
  }
}

/** Chooses from weighted items in O(log n): build once, draw many times. */
export class Weighted<T> {
  private readonly items: T[]
  private readonly cumulative: number[]
  private readonly total: number

  constructor(entries: ReadonlyArray<readonly [T, number]>) {
    this.items = entries.map(e => e[0])
    let sum = 0
    this.cumulative = entries.map(e => (sum += e[1]))
    this.total = sum
  }

  draw(rng: Rng): T {
    const x = rng.float() * this.total
    let lo = 0
    let hi = this.cumulative.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.cumulative[mid] > x) hi = mid
      else lo = mid + 1
    }
    return this.items[lo]
  }
}

/** FNV-1a, for string seeds. */
function hashString(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193)
  return h >>> 0
}
