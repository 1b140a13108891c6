/**
 * When a deadline of the registration calendar is reminded of: pure; the calendar
 * service (service.ts) raises the reminder rows and lists them.
 */
import type { Deadline } from './deadlines.ts'

/**
 * A school is reminded of a deadline from `daysBefore` days ahead until the day itself, while it
 * has not finished: nothing entered yet, or something unverified.
 */
export function reminderDue(deadline: Pick<Deadline, 'state' | 'daysLeft'>, daysBefore: number): boolean {
  return deadline.daysLeft >= 0 && deadline.daysLeft <= daysBefore && (deadline.state === 'none' || deadline.state === 'open')
}
