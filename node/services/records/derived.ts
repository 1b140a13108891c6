/**
 * Figures the regulation lists with a school's and a kindergarten's basic info but
 * that the records already hold: computed on every read, never typed, so they cannot disagree with
 * the class and student records.
 *
 * Readings: "this year" is the calendar year of today in China; students and children are counted
 * while in school (state in_school / in_kindergarten); graduates are completions of the
 * school's students dated in that year; enrolment counts the school's students whose enrolment
 * year-month falls in it.
 */
import { chinaToday } from '../../../schema/ids.ts'
import type { Store } from './store.ts'

const counts = <K extends string>(rows: Record<string, unknown>[], key: K) => rows.map(r => ({ [key]: Number(r[key]), count: Number(r.n) }) as { [P in K]: number } & { count: number })

export function schoolFigures(store: Store, schoolId: string, now: Date) {
  const year = chinaToday(now).slice(0, 4)
  const n = (sql: string, ...p: unknown[]) => Number(store.get(sql, ...p)!.n)
  const classesByGrade = counts(store.all('select grade, count(*) as n from school_classes where school_id = ? group by grade order by grade', schoolId), 'grade')
  const studentsByGrade = counts(store.all(
    `select c.grade as grade, count(*) as n from students s join school_classes c on c.id = s.class_id where s.school_id = ? and s.state = 'in_school' group by c.grade order by c.grade`,
    schoolId,
  ), 'grade')
  return {
    year: Number(year),
    classesTotal: classesByGrade.reduce((a, g) => a + g.count, 0),
    classesByGrade,
    studentsTotal: n(`select count(*) as n from students where school_id = ? and state = 'in_school'`, schoolId),
    studentsByGrade,
    graduatesThisYear: n(`select count(*) as n from student_completions sc join students s on s.id = sc.student_id where s.school_id = ? and sc.completion_ym like ? || '-%'`, schoolId, year),
    enrolmentThisYear: n(`select count(*) as n from students where school_id = ? and enrolment_ym like ? || '-%'`, schoolId, year),
  }
}

export function kindergartenFigures(store: Store, kindergartenId: string, now: Date) {
  const today = chinaToday(now)
  const classesByGrade = counts(store.all('select grade, count(*) as n from kindergarten_classes where kindergarten_id = ? group by grade order by grade', kindergartenId), 'grade')
  const births = store.all(`select birth_date from children where kindergarten_id = ? and state = 'in_kindergarten'`, kindergartenId)
  const byAge = new Map<number, number>()
  for (const b of births) {
    const age = fullYears(String(b.birth_date), today)
    byAge.set(age, (byAge.get(age) ?? 0) + 1)
  }
  return {
    classesTotal: classesByGrade.reduce((a, g) => a + g.count, 0),
    classesByGrade,
    childrenTotal: births.length,
    childrenByAge: [...byAge.entries()].sort((a, b) => a[0] - b[0]).map(([age, count]) => ({ age, count })),
  }
}

/** A teacher's age from the birth year-month; null when it is not recorded. */
export function teacherAge(birthYm: unknown, now: Date): number | null {
  if (typeof birthYm !== 'string' || !/^\d{4}-\d{2}$/.test(birthYm)) return null
  return fullYears(`${birthYm}-01`, chinaToday(now))
}

/** Completed years between two YYYY-MM-DD dates. */
function fullYears(birth: string, today: string): number {
  const years = Number(today.slice(0, 4)) - Number(birth.slice(0, 4))
  return today.slice(5) < birth.slice(5) ? years - 1 : years
}
