/**
 * The calendar service: the entry and completion deadline state of every school the caller may
 * see. Reads only; upper tiers see their subtree's schools from their replica.
 */
import type { CalendarDates } from '../../config/calendar.ts'
import type { Storage } from '../../schema/db.ts'
import type { Target } from '../auth/access.ts'
import { chinaToday } from '../records/validate.ts'
import { currentSchoolYear, deadlinesOf, judge, type Deadline } from './deadlines.ts'

export interface CalendarServiceDeps {
  storage: Storage
  /** This node's dates (config/calendar.ts `datesFor`). */
  dates: CalendarDates
  /** Clock, for tests. */
  now?: () => Date
}

export interface SchoolDeadlines {
  schoolId: string
  schoolCode: string
  name: string
  /** The school year, by its first year (2026 = 2026–27). */
  schoolYear: number
  newStudents: Deadline
  completions: Deadline
}

export function createCalendarService(deps: CalendarServiceDeps) {
  const { storage, dates } = deps
  const now = deps.now ?? (() => new Date())
  const db = storage.sqlite
  // A month counts in the school year its first day falls in.
  const entrants = db.prepare(`select count(*) n, count(first_verified_at) v from students where school_id = ? and enrolment_ym || '-01' >= ? and enrolment_ym || '-01' < ?`)
  const completions = db.prepare(`select count(*) n, count(c.first_verified_at) v from student_completions c join students s on s.id = c.student_id where s.school_id = ? and c.completion_ym || '-01' >= ? and c.completion_ym || '-01' < ?`)

  return {
    /** Every school `reaches` lets the caller see, with its deadlines of the current school year. */
    deadlines(reaches: (target: Target) => boolean): SchoolDeadlines[] {
      const today = chinaToday(now())
      const year = currentSchoolYear(today, dates)
      const due = deadlinesOf(year.year, dates)
      const schools = db.prepare('select id, school_code, name, home_node from schools order by school_code').all() as Array<{ id: string; school_code: string; name: string; home_node: string }>
      return schools
        .filter(s => reaches({ homeNode: s.home_node, school: s.school_code }))
        .map(s => {
          const e = entrants.get(s.id, year.from, year.until) as { n: number; v: number }
          const c = completions.get(s.id, year.from, year.until) as { n: number; v: number }
          return {
            schoolId: s.id, schoolCode: s.school_code, name: s.name, schoolYear: year.year,
            newStudents: judge('R-19.2', due.newStudents, today, e.n, e.v),
            completions: judge('R-19.6', due.completions, today, c.n, c.v),
          }
        })
    },
  }
}

export type CalendarService = ReturnType<typeof createCalendarService>
