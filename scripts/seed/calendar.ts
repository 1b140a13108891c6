import type { Rng } from './random.ts'

/** Day number (days since 1970-01-01, UTC) ↔ ISO date. */
export const dayOf = (iso: string): number => Date.UTC(+iso.slice(0, 4), +iso.slice(5, 7) - 1, +iso.slice(8, 10)) / 86_400_000
export const isoOf = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10)

/** A uniformly random date in [from, to] (ISO dates, inclusive). */
export function dateBetween(rng: Rng, from: string, to: string): string {
  const a = dayOf(from)
  const b = dayOf(to)
  // Still draw when the range is empty, so one odd date does not shift every later value.
  const d = rng.int(a, Math.max(a, b))
  return isoOf(d)
}

/** `iso` plus `days`. */
export const addDays = (iso: string, days: number): string => isoOf(dayOf(iso) + days)

export interface Term {
  /** 2026-1 (September–January of 2026–27) or 2026-2 (February–July of 2027). */
  code: string
  start: string
  /** 要求最晚注册时间 */
  due: string
  final: string
}

export function term(year: number, half: 1 | 2): Term {
  return half === 1
    ? { code: `${year}-1`, start: `${year}-09-01`, due: `${year}-09-15`, final: `${year + 1}-01-16` }
    : { code: `${year}-2`, start: `${year + 1}-02-20`, due: `${year + 1}-03-06`, final: `${year + 1}-06-26` }
}

/**
 * The school calendar as of a date (China time):
 * - `year`: the school year whose 1 September has passed. (Grades are raised on 1 August,
 *   seeding in August gives the state before that year's rollover, so no record
 *   carries a September date still to come);
 * - `current`: the latest term that has started (registrations);
 * - `previous`: the term before it, finished, with its exams.
 */
export function schoolCalendar(asOf: string) {
  const y = +asOf.slice(0, 4)
  const md = asOf.slice(5)
  const year = md >= '09-01' ? y : y - 1
  const candidates = [term(year - 1, 1), term(year - 1, 2), term(year, 1), term(year, 2)]
  const started = candidates.filter(t => t.start <= asOf)
  const current = started[started.length - 1]
  const previous = started[started.length - 2]
  return { asOf, year, current, previous }
}

export type SchoolCalendar = ReturnType<typeof schoolCalendar>

/**
 * Birth-date range of a pupil in school grade `grade` (1–12) in school year `year`: grade 1 is
 * aged 6 by 31 August of the year it starts, so born 1 September (year-grade-6) … 31 August
 * (year-grade-5). Kindergarten grades use `grade - 9` … see `kindergartenBirthRange`.
 */
export function birthRange(year: number, grade: number): [string, string] {
  const entry = year - grade + 1
  return [`${entry - 7}-09-01`, `${entry - 6}-08-31`]
}

/** 托班 0 aged 2, 小班 1 aged 3, 中班 2 aged 4, 大班 3 aged 5 by 31 August. */
export function kindergartenBirthRange(year: number, grade: number): [string, string] {
  return [`${year - grade - 3}-09-01`, `${year - grade - 2}-08-31`]
}

/** YYYY-MM of an ISO date. */
export const ym = (iso: string): string => iso.slice(0, 7)
