/**
 * The calendar service: the entry and completion deadline state and the
 * end-of-term check of every school the caller may see (upper tiers see their subtree's
 * schools from their replica), and the reminders before those deadlines: raised
 * once per school, deadline and school year for the node's own schools, listed in scope.
 */
import { randomUUID } from 'node:crypto'
import { dayOf, type CalendarDates } from '../../config/calendar.ts'
import type { Statement } from 'better-sqlite3'
import type { Storage } from '../../schema/db.ts'
import type { Target } from '../auth/access.ts'
import { targetOfRow } from '../auth/targets.ts'
import { chinaToday } from '../records/validate.ts'
import { currentSchoolYear, deadlinesOf, judge, termOf, type Deadline } from './deadlines.ts'
import { reminderDue } from './reminders.ts'

export interface CalendarServiceDeps {
  storage: Storage
  /** This node's dates (config/calendar.ts `datesFor`). */
  dates: CalendarDates
  /** Clock, for tests. */
  now?: () => Date
  /** This node's division code: the bureau its schools' reminders go to, with the schools. */
  bureauCode?: string
  /** Days before a deadline a school that has not finished is reminded (`calendar.reminderDaysBefore`). */
  reminderDays?: number
}

/** A reminder before a deadline, to a school and its bureau. */
export interface Reminder {
  id: string
  schoolId: string
  schoolCode: string
  bureauCode: string
  requirement: string
  schoolYear: number
  deadline: string
  /**
   * The state when it was raised: none (nothing entered), open (some unverified); for a reader
   * bound to classes, that of its own classes then, which may also be done (all verified).
   */
  state: string
  entered: number
  verified: number
  raisedAt: string
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

/** One finding of the end-of-term check: how many students the reader reaches, and the ids of the first `FINDING_IDS`. */
export interface Finding {
  count: number
  studentIds: string[]
}

export const FINDING_IDS = 200

export interface TermCheck {
  schoolId: string
  schoolCode: string
  name: string
  /** The term checked, e.g. 2026-1. */
  term: string
  /** Students in school whose record is not verified (entered or returned). */
  unverified: Finding
  /** Students in school without a registration for the term. */
  unregistered: Finding
  /** Students in school without a class. */
  unplaced: Finding
  /** Open 查重 problems of the school about students the reader reaches (a teacher: its classes'). */
  openProblems: number
}

export function createCalendarService(deps: CalendarServiceDeps) {
  const { storage, dates } = deps
  const now = deps.now ?? (() => new Date())
  const db = storage.sqlite
  // A month counts in the school year its first day falls in.
  const entrantsWhere = `from students s where s.school_id = ? and s.enrolment_ym || '-01' >= ? and s.enrolment_ym || '-01' < ?`
  const completionsWhere = `from student_completions c join students s on s.id = c.student_id where s.school_id = ? and c.completion_ym || '-01' >= ? and c.completion_ym || '-01' < ?`
  const entrants = db.prepare(`select count(*) n, count(s.first_verified_at) v ${entrantsWhere}`)
  const completions = db.prepare(`select count(*) n, count(c.first_verified_at) v ${completionsWhere}`)
  // The same, one row a student with the columns of its access target, for a reader bound to
  // classes, and when the record was entered and first verified (a reminder's counts are of then).
  const entrantRows = db.prepare(`select s.id, s.home_node, s.school_code, s.class_id, s.created_at entered, s.first_verified_at verified ${entrantsWhere}`)
  const completionRows = db.prepare(`select s.id, s.home_node, s.school_code, s.class_id, c.created_at entered, c.first_verified_at verified ${completionsWhere}`)

  const inSchool = `from students s where s.school_id = ? and s.state = 'in_school'`
  // Each student with the columns of its access target (targetOfRow of 'students').
  const cols = 's.id, s.home_node, s.school_code, s.class_id'
  const findings = {
    unverified: db.prepare(`select ${cols} ${inSchool} and s.verify_state <> 'verified' order by s.rowid`),
    unregistered: db.prepare(`select ${cols} ${inSchool} and not exists (select 1 from student_registrations r where r.student_id = s.id and r.term = ?) order by s.rowid`),
    unplaced: db.prepare(`select ${cols} ${inSchool} and s.class_id is null order by s.rowid`),
  }
  // The students the school's open 查重 problems are about, one row a problem.
  const problems = db.prepare(`select ${cols} from problem_records p join students s on s.id = p.subject_id where p.school_code = ? and p.status = 'open' order by p.rowid`)
  /**
   * The students found that the reader reaches (R-16.1): a teacher sees its school's check, but
   * counts and ids of its own classes' students only (a student without a class reaches no class scope).
   */
  const finding = (rows: unknown[], reaches: (target: Target) => boolean): Finding => {
    const ids = (rows as Record<string, unknown>[]).filter(r => reaches(targetOfRow(storage, 'students', r))).map(r => String(r.id))
    return { count: ids.length, studentIds: ids.slice(0, FINDING_IDS) }
  }
  /**
   * Entered and verified of one school, as the reader may count them (R-16.1): a reader of the
   * whole school counts it all; a teacher or class administrator its own classes' students only.
   */
  const counted = (whole: boolean, total: Statement, rows: Statement, params: unknown[], reaches: (target: Target) => boolean): { n: number; v: number } => {
    if (whole) return total.get(...params) as { n: number; v: number }
    const mine = (rows.all(...params) as Array<Record<string, unknown>>).filter(r => reaches(targetOfRow(storage, 'students', r)))
    return { n: mine.length, v: mine.filter(r => r.verified !== null).length }
  }
  const schoolsSeen = (reaches: (target: Target) => boolean): Array<{ id: string; school_code: string; name: string; home_node: string }> =>
    (db.prepare('select id, school_code, name, home_node from schools order by school_code').all() as Array<{ id: string; school_code: string; name: string; home_node: string }>)
      .filter(s => reaches({ homeNode: s.home_node, school: s.school_code }))

  const insertReminder = db.prepare(`insert into calendar_reminders (id, school_id, school_code, bureau_code, requirement, school_year, deadline, state, entered, verified, raised_at)
    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (school_id, requirement, school_year) do nothing`)

  const service = {
    /** The end-of-term check of the term that holds today, per school `reaches` lets the caller see. */
    termCheck(reaches: (target: Target) => boolean): TermCheck[] {
      const term = termOf(chinaToday(now()), dates)
      return schoolsSeen(reaches).map(s => ({
        schoolId: s.id, schoolCode: s.school_code, name: s.name, term,
        unverified: finding(findings.unverified.all(s.id), reaches),
        unregistered: finding(findings.unregistered.all(s.id, term), reaches),
        unplaced: finding(findings.unplaced.all(s.id), reaches),
        openProblems: finding(problems.all(s.school_code), reaches).count,
      }))
    },

    /** Every school `reaches` lets the caller see, with its deadlines of the current school year. */
    deadlines(reaches: (target: Target) => boolean): SchoolDeadlines[] {
      const today = chinaToday(now())
      const year = currentSchoolYear(today, dates)
      const due = deadlinesOf(year.year, dates)
      return schoolsSeen(reaches).map(s => {
        const whole = reaches({ homeNode: s.home_node, school: s.school_code, wholeSchool: true })
        const e = counted(whole, entrants, entrantRows, [s.id, year.from, year.until], reaches)
        const c = counted(whole, completions, completionRows, [s.id, year.from, year.until], reaches)
        return {
          schoolId: s.id, schoolCode: s.school_code, name: s.name, schoolYear: year.year,
          newStudents: judge('R-19.2', due.newStudents, today, e.n, e.v),
          completions: judge('R-19.6', due.completions, today, c.n, c.v),
        }
      })
    },

    /**
     * Raises the reminders due today for this node's own schools: a deadline `reminderDays` or
     * fewer days ahead that the school has not finished. Once per school, deadline and school
     * year (a second call, or a restart, raises nothing more). Returns how many were raised.
     */
    raiseReminders(): number {
      const bureau = deps.bureauCode
      if (bureau === undefined) return 0
      const at = now().toISOString()
      const today = chinaToday(now())
      const due = deadlinesOf(currentSchoolYear(today, dates).year, dates)
      const days = deps.reminderDays ?? 14
      // Outside both reminder windows nothing can be due, whatever the schools' figures: they are
      // not read (on a county of 100,000 students reading them holds the node for a second).
      const inWindow = (deadline: string) => reminderDue({ state: 'none', daysLeft: judge('R-19.2', deadline, today, 0, 0).daysLeft }, days)
      if (!inWindow(due.newStudents) && !inWindow(due.completions)) return 0
      return storage.write(() => {
        let raised = 0
        for (const s of service.deadlines(t => t.homeNode === bureau)) {
          for (const d of [s.newStudents, s.completions]) {
            if (!reminderDue(d, days)) continue
            raised += insertReminder.run(randomUUID(), s.schoolId, s.schoolCode, bureau, d.requirement, s.schoolYear, d.deadline, d.state, d.entered, d.verified, at).changes
          }
        }
        return raised
      })
    },

    /**
     * The reminders of the schools `reaches` lets the caller see, newest first. A reminder holds
     * the school's counts when it was raised; a reader bound to classes (R-16.1, R-17.5) gets the
     * counts of its own classes' students instead, as they stood then (entered and first verified
     * by the time it was raised), and the state they make (none, open, or done).
     */
    reminders(reaches: (target: Target) => boolean): Reminder[] {
      const rows = db.prepare(`select r.id, r.school_id schoolId, r.school_code schoolCode, r.bureau_code bureauCode, r.requirement, r.school_year schoolYear, r.deadline, r.state, r.entered, r.verified, r.raised_at raisedAt, s.home_node homeNode
        from calendar_reminders r join schools s on s.id = r.school_id order by r.raised_at desc, r.school_code, r.requirement`).all() as Array<Reminder & { homeNode: string }>
      return rows.filter(r => reaches({ homeNode: r.homeNode, school: r.schoolCode })).map(({ homeNode, ...r }) => {
        if (reaches({ homeNode, school: r.schoolCode, wholeSchool: true })) return r
        const requirement = r.requirement === 'R-19.6' ? 'R-19.6' : 'R-19.2'
        const people = requirement === 'R-19.6' ? completionRows : entrantRows
        const then = (at: unknown) => at !== null && String(at) <= r.raisedAt
        const mine = (people.all(r.schoolId, dayOf(r.schoolYear, dates.rollover), dayOf(r.schoolYear + 1, dates.rollover)) as Array<Record<string, unknown>>)
          .filter(p => then(p.entered) && reaches(targetOfRow(storage, 'students', p)))
        const entered = mine.length
        const verified = mine.filter(p => then(p.verified)).length
        return { ...r, entered, verified, state: judge(requirement, r.deadline, chinaToday(new Date(r.raisedAt)), entered, verified).state }
      })
    },
  }
  return service
}

export type CalendarService = ReturnType<typeof createCalendarService>
