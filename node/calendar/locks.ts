/**
 * Lock on expiry (到期即锁, R-22.1–) as data: each rule names the tables it locks and, from
 * a row and its person, the last day the row may be written. The home node judges every write of
 * the records service against them (DESIGN.md §9); pure, so the API, imports and the appliers of
 * downward commands share one judgement.
 *
 * Dates are YYYY-MM-DD days in Asia/Shanghai; a row is locked from the day after its last open day.
 *
 * Reading: a lock freezes data that has been verified (R-19.2, R-19.6: "entered and verified by").
 * A person not yet verified once (a late entry, a transfer in, a school starting on the system) is
 * still being entered and stays open until that first verification, after which the lock holds at
 * once; the deadline check reports them late meanwhile. A completion is gated by its own
 * verification, every other row by its person's.
 */
import { dayOf, nextDay, nextDayOf, previousDay, type CalendarDates } from '../../config/calendar.ts'

type Row = Record<string, unknown>

export interface LockRule {
  /** The requirement that locks, e.g.. */
  id: string
  /** What locks, as a registrar says it. */
  name: string
  tables: readonly string[]
  /** Whose first verification makes the lock hold: the row's own (a completion) or its person's. */
  verifiedBy: 'row' | 'person'
  /** The last day `row` may be written (`person` is the student or child it belongs to), or undefined when the rule does not reach it. */
  lastOpenDay(row: Row, person: Row, dates: CalendarDates, context: LockContext): string | undefined
}

/** What the home node knows beyond the row: the rollover of the person's school (rollover-service.ts). */
export interface LockContext {
  /**
   * The marker of the rollover of the person's school or kindergarten into school year `year`:
   * done on `day`, or blocked (a run found blockers and rolled nothing); undefined when none ran.
   */
  rollover?(year: number): { state: 'done' | 'blocked'; day: string } | undefined
}

/** A term `2026-1` (first term of 2026–27) or `2026-2` as its school year and term number. */
function term(value: unknown): { year: number; n: 1 | 2 } | undefined {
  const m = /^(\d{4})-([12])$/.exec(String(value ?? ''))
  return m ? { year: Number(m[1]), n: Number(m[2]) as 1 | 2 } : undefined
}

/** The school year (its starting year) of a YYYY-MM or YYYY-MM-DD date: it begins on the rollover day. */
export function schoolYear(date: unknown, dates: CalendarDates): number | undefined {
  const s = String(date ?? '')
  if (!/^\d{4}-\d{2}/.test(s)) return undefined
  const day = s.length >= 10 ? s.slice(0, 10) : `${s.slice(0, 7)}-01`
  const year = Number(s.slice(0, 4))
  return day >= dayOf(year, dates.rollover) ? year : year - 1
}

/** The last day before the rollover that ends school year `year`. */
const endOfSchoolYear = (year: number, dates: CalendarDates) => previousDay(dayOf(year + 1, dates.rollover))

/** The day a YYYY-MM month begins. */
const monthStart = (ym: unknown) => (/^\d{4}-\d{2}$/.test(String(ym ?? '')) ? `${String(ym)}-01` : undefined)

export const LOCK_RULES: readonly LockRule[] = [
  {
    id: 'R-22.1',
    name: '新生个人、简历、监护人、家庭成员和入学信息到期即锁',
    verifiedBy: 'person',
    tables: ['students', 'student_resumes', 'student_guardians', 'student_family_members', 'student_enrolments', 'children', 'child_guardians', 'child_family_members'],
    // The end of September of the first year: the first such day on or after the month of entry.
    lastOpenDay: (_row, person, dates) => {
      const start = monthStart(person.enrolmentYm ?? person.entryYm)
      return start && nextDayOf(start, dates.newStudentsBy)
    },
  },
  {
    id: 'R-22.2',
    name: '注册信息于9月底和3月31日锁定',
    verifiedBy: 'person',
    tables: ['student_registrations', 'child_registrations'],
    lastOpenDay: (row, _person, dates) => {
      const t = term(row.term)
      return t && (t.n === 1 ? dayOf(t.year, dates.registrationAutumnBy) : dayOf(t.year + 1, dates.registrationSpringBy))
    },
  },
  {
    id: 'R-22.3',
    name: '上一学年的考试、奖惩、异动和注册（班级）信息于8月1日学年升级时锁定',
    verifiedBy: 'person',
    tables: ['student_exams', 'student_awards', 'student_punishments', 'student_status_changes', 'child_status_changes', 'student_registrations', 'child_registrations'],
    // The lock follows the school's rollover into the next year: from the day it was done; open
    // while its run is blocked (the school still has business of that year to finish); from the
    // rollover day where no run has judged the school (a school new on the system, older years).
    lastOpenDay: (row, _person, dates, context) => {
      const year = term(row.term)?.year ?? schoolYear(row.awardYm ?? row.punishedOn ?? row.changeDate, dates)
      if (year === undefined) return undefined
      const rolled = context.rollover?.(year + 1)
      if (rolled?.state === 'done') return previousDay(rolled.day)
      if (rolled?.state === 'blocked') return undefined
      return endOfSchoolYear(year, dates)
    },
  },
  {
    id: 'R-22.4',
    name: '毕业生结业信息于7月30日锁定',
    tables: ['student_completions'],
    verifiedBy: 'row',
    lastOpenDay: (row, _person, dates) => {
      const start = monthStart(row.completionYm)
      return start && nextDayOf(start, dates.completionBy)
    },
  },
]

/** Why a row cannot be written today. */
export interface LockRefusal {
  rule: string
  name: string
  /** The last day the row could be written. */
  lastOpenDay: string
  /** The day the lock took effect. */
  lockedFrom: string
}

/**
 * The lock that holds `row` on `today`, or undefined when it may be written. Of several, the one
 * that took effect first (it is the one the school missed).
 */
export function lockOf(table: string, row: Row, person: Row, today: string, dates: CalendarDates, context: LockContext = {}): LockRefusal | undefined {
  let found: LockRefusal | undefined
  for (const rule of LOCK_RULES) {
    if (!rule.tables.includes(table)) continue
    const verified = rule.verifiedBy === 'row' ? row.firstVerifiedAt : person.firstVerifiedAt
    if (verified === null || verified === undefined) continue
    const last = rule.lastOpenDay(row, person, dates, context)
    if (last === undefined || today <= last) continue
    if (!found || last < found.lastOpenDay) found = { rule: rule.id, name: rule.name, lastOpenDay: last, lockedFrom: nextDay(last) }
  }
  return found
}
