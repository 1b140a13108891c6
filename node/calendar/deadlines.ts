/**
 * Entry and completion deadlines per school (R-19.2, R-19.6): how far a school's new students and
 * its graduates' completion info have been entered and verified against the day they are due;
 * the term the end-of-term check looks at (R-19.3). Pure; the service (service.ts) counts.
 */
import { dayOf, nextDayOf, type CalendarDates } from '../../config/calendar.ts'
import { schoolYear } from './locks.ts'

/**
 * `none`: nothing entered yet; `open`: some unverified, the deadline ahead; `done`: everything
 * entered is verified; `overdue`: unverified records after the deadline.
 */
export type DeadlineState = 'none' | 'open' | 'done' | 'overdue'

export interface Deadline {
  requirement: 'R-19.2' | 'R-19.6'
  /** The last day (Asia/Shanghai). */
  deadline: string
  entered: number
  verified: number
  state: DeadlineState
  /** Calendar days from today to the deadline (negative once past). */
  daysLeft: number
}

/** The school year that holds `today`, and its first and next school year's first day. */
export function currentSchoolYear(today: string, dates: CalendarDates): { year: number; from: string; until: string } {
  const year = schoolYear(today, dates)!
  return { year, from: dayOf(year, dates.rollover), until: dayOf(year + 1, dates.rollover) }
}

/** The deadlines of school year `year`: new students and completion info. */
export function deadlinesOf(year: number, dates: CalendarDates): { newStudents: string; completions: string } {
  const start = dayOf(year, dates.rollover)
  return { newStudents: nextDayOf(start, dates.newStudentsBy), completions: nextDayOf(start, dates.completionBy) }
}

export function judge(requirement: Deadline['requirement'], deadline: string, today: string, entered: number, verified: number): Deadline {
  const state: DeadlineState = entered === 0 ? 'none' : verified === entered ? 'done' : today <= deadline ? 'open' : 'overdue'
  const daysLeft = Math.round((Date.parse(`${deadline}T00:00:00Z`) - Date.parse(`${today}T00:00:00Z`)) / 86_400_000)
  return { requirement, deadline, entered, verified, state, daysLeft }
}

/** The term that holds `today`: `2026-1` (from the rollover day) or `2026-2` (from `termTwoStarts`), as registrations name it. */
export function termOf(today: string, dates: CalendarDates): string {
  const year = schoolYear(today, dates)!
  return `${year}-${today >= dayOf(year + 1, dates.termTwoStarts) ? 2 : 1}`
}
