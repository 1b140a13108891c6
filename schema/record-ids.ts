import { randomFillSync } from 'node:crypto'

/** Random bytes drawn a few thousand ids at a time: one system call instead of one per id. */
const pool = Buffer.alloc(10 * 4096)
let at = pool.length

/**
 * A new record's id: a version-7 UUID (RFC 9562), 48 bits of Unix milliseconds, then 74 random
 * bits. Ids made later sort later, so new records go in at the end of every index keyed by id
 * (the table's own and its sub-records' `student_id` …) instead of on a random page each: on the
 * students table, 100,000 inserts after the first 300,000 ran at 12,500 rows/s with these ids
 * and 6,500 with random (v4) ones, the gap widening as the table grows. The time it carries is
 * the record's creation time, which the record holds anyway (`created_at`).
 */
export function newRecordId(now = Date.now()): string {
  if (at + 10 > pool.length) {
    randomFillSync(pool)
    at = 0
  }
  const id = uuid7(now, pool.readUInt16BE(at) & 0xfff, pool.readUInt32BE(at + 2) & 0x3fffffff, pool.readUInt32BE(at + 6))
  at += 10
  return id
}

/**
 * A version-7 UUID's text from its fields: `ms` (48 bits), `randA` (12 bits), and rand_b as
 * `randB` (its top 30 bits) and `randC` (its low 32). The seed fills them from its seeded
 * generator (scripts/seed/random.ts), `newRecordId` from the system's.
 */
export function uuid7(ms: number, randA: number, randB: number, randC: number): string {
  const hex = (n: number, width: number) => n.toString(16).padStart(width, '0')
  const time = hex(ms, 12)
  const variantAndB = hex(0x80000000 + randB, 8) // the variant bits 10, then randB
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(randA, 3)}-${variantAndB.slice(0, 4)}-${variantAndB.slice(4)}${hex(randC, 8)}`
}
