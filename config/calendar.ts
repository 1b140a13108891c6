/**
 * The working-day calendar of mainland China (DESIGN.md §9): official days off and make-up working
 * days, one entry per year, from the State Council's notices (../shared/STANDARDS.md). A year
 * without an entry is not guessed silently: dates in it are counted on weekdays and every answer
 * that touched it says `provisional`, so a deadline in a year whose notice is not out yet is
 * shown as such. Local overrides come from configuration
 * (`calendar.years`, config/schema.ts) and replace a whole year.
 *
 * Dates are plain YYYY-MM-DD days in Asia/Shanghai; nothing here looks at a clock.
 */

/** One year: days off (`MM-DD` or a range `MM-DD..MM-DD`) and make-up working days (`MM-DD`). */
export interface CalendarYear {
  off: string[]
  work: string[]
}

/** Official calendars by year. */
export const OFFICIAL_CALENDAR: Readonly<Record<string, CalendarYear>> = {
  // 国办发明电〔2024〕12号
  '2025': {
    off: ['01-01', '01-28..02-04', '04-04..04-06', '05-01..05-05', '05-31..06-02', '10-01..10-08'],
    work: ['01-26', '02-08', '04-27', '09-28', '10-11'],
  },
  // State Council notice of 2025-11-04
  '2026': {
    off: ['01-01..01-03', '02-15..02-23', '04-04..04-06', '05-01..05-05', '06-19..06-21', '09-25..09-27', '10-01..10-07'],
    work: ['01-04', '02-14', '02-28', '05-09', '09-20', '10-10'],
  },
}

export interface WorkingCalendar {
  /** Is `date` a working day; `provisional` when its year has no calendar (weekdays assumed). */
  isWorkingDay(date: string): { working: boolean; provisional: boolean }
  /** The `n`-th working day after `date` (the day itself not counted). */
  addWorkingDays(date: string, n: number): { date: string; provisional: boolean }
  /** Working days after `from` up to and including `to` (0 when `to` is not after `from`). */
  workingDaysBetween(from: string, to: string): { days: number; provisional: boolean }
}

/** A calendar over the official years, with whole years replaced or added by `overrides`. */
export function createWorkingCalendar(overrides: Record<string, CalendarYear> = {}): WorkingCalendar {
  const years = new Map<string, { off: Set<string>; work: Set<string> }>()
  for (const [year, cal] of Object.entries({ ...OFFICIAL_CALENDAR, ...overrides })) {
    const off = new Set<string>()
    for (const entry of cal.off) {
      const [from, to = from] = entry.split('..')
      for (let d = `${year}-${from}`; d <= `${year}-${to}`; d = nextDay(d)) off.add(d)
    }
    years.set(year, { off, work: new Set(cal.work.map(d => `${year}-${d}`)) })
  }

  function isWorkingDay(date: string) {
    const cal = years.get(date.slice(0, 4))
    const weekday = ![0, 6].includes(new Date(`${date}T00:00:00Z`).getUTCDay())
    if (!cal) return { working: weekday, provisional: true }
    return { working: cal.work.has(date) || (weekday && !cal.off.has(date)), provisional: false }
  }

  return {
    isWorkingDay,
    addWorkingDays(date, n) {
      let d = date
      let provisional = false
      for (let left = n; left > 0; ) {
        d = nextDay(d)
        const day = isWorkingDay(d)
        provisional ||= day.provisional
        if (day.working) left--
      }
      return { date: d, provisional }
    },
    workingDaysBetween(from, to) {
      let days = 0
      let provisional = false
      for (let d = nextDay(from); d <= to; d = nextDay(d)) {
        const day = isWorkingDay(d)
        provisional ||= day.provisional
        if (day.working) days++
      }
      return { days, provisional }
    },
  }
}

/** The calendar day after a YYYY-MM-DD day. */
export function nextDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
}

/**
 * The dates of the registration calendar (Articles 19, 21, 22; DESIGN.md §9), each `MM-DD` in
 * Asia/Shanghai. A day past its month's end is read as that month's last day: the regulation's
 * "9月31日" is the end of 30 September (REQUIREMENTS.md, Readings), and is kept as written.
 */
export interface CalendarDates {
  /** new students are entered and verified by, and their information locks at the end of, this day of their first year. */
  newStudentsBy: string
  /** registration of a first term locks at the end of this day. */
  registrationAutumnBy: string
  /** registration of a second term locks at the end of this day. */
  registrationSpringBy: string
  /** R-19.6, R-22.4: graduating students' completion info is entered and verified by, and locks at the end of, this day. */
  completionBy: string
  /** the rollover day; the past school year's records lock when it begins. */
  rollover: string
  /** the second term begins on this day (the first begins on the rollover day). */
  termTwoStarts: string
}

/** The province's defaults, as the regulation writes them. */
export const PROVINCE_DATES: Readonly<CalendarDates> = {
  newStudentsBy: '09-31',
  registrationAutumnBy: '09-31',
  registrationSpringBy: '03-31',
  completionBy: '07-30',
  rollover: '08-01',
  termTwoStarts: '02-01',
}

/**
 * The dates that hold for the node `code`: the defaults, then the overrides of the
 * province, of the city and of the county that contain `code`, the nearest last.
 */
export function datesFor(code: string, defaults: CalendarDates, local: Record<string, Partial<CalendarDates>> = {}): CalendarDates {
  const chain = [`${code.slice(0, 2)}0000`, `${code.slice(0, 4)}00`, code].filter((c, i, all) => all.indexOf(c) === i)
  return Object.assign({}, defaults, ...chain.map(c => local[c] ?? {}))
}

/** The day `mmdd` of `year` as YYYY-MM-DD, a day past the month's end read as its last day. */
export function dayOf(year: number, mmdd: string): string {
  const [m, d] = mmdd.split('-').map(Number)
  const last = new Date(Date.UTC(year, m, 0)).getUTCDate()
  return `${year}-${String(m).padStart(2, '0')}-${String(Math.min(d, last)).padStart(2, '0')}`
}

/** The first day `mmdd` on or after `date` (YYYY-MM-DD). */
export function nextDayOf(date: string, mmdd: string): string {
  const year = Number(date.slice(0, 4))
  const same = dayOf(year, mmdd)
  return same >= date ? same : dayOf(year + 1, mmdd)
}

/** The calendar day before a YYYY-MM-DD day. */
export function previousDay(date: string): string {
  return new Date(Date.parse(`${date}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10)
}
