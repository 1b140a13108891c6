/**
 * The 1 August rollover (学年升级, R-21.1) as pure rules: which school year a day rolls into, which
 * grades a class of each 学制 spans, where every class goes (up one grade, or its pupils complete),
 * a class's new name, and the blockers that the facts of one school show. No database: the
 * service (rollover-service.ts) reads the facts, asks for the plan and applies it.
 *
 * Grades of school classes run 1–12 (小学 1–6, 初中 7–9, 高中 10–12; schema/records/schools.ts);
 * kindergarten classes 0 托班, 1 小班, 2 中班, 3 大班 (schema/records/kindergartens.ts).
 */
import { dayOf, previousDay, type CalendarDates } from '../../config/calendar.ts'
import { schoolYear } from './locks.ts'

/**
 * The grades a class of each 学制 (schooling_length code) may be in, as spans `[first, last]`: its
 * pupils complete after `last`. 六年制 and 五年制 primary (6-3, 5-4), 四年制 junior of 5-4 (grades
 * 6–9), 三年制 junior or senior, 九年一贯制 and 十二年一贯制. 二年制 has no place among the grades
 * of the regulation, so its classes are reported as not fitting.
 */
export const SCHOOLING_SPANS: Readonly<Record<string, ReadonlyArray<readonly [number, number]>>> = {
  '6': [[1, 6]],
  '5': [[1, 5]],
  '4': [[6, 9]],
  '3': [[7, 9], [10, 12]],
  '9': [[1, 9]],
  '12': [[1, 12]],
}

/** Kindergarten classes: 托班 0 to 大班 3; children of 大班 leave for primary school. */
export const KINDERGARTEN_SPAN = [0, 3] as const

export type UnitKind = 'school' | 'kindergarten'

export interface ClassFacts {
  id: string
  classCode: string
  name: string
  grade: number
  /** 学制; kindergarten classes have none. */
  schoolingLength?: string | null
}

export interface PersonFacts {
  id: string
  classId: string | null
  state: string
}

/** What one school or kindergarten holds, as the planner needs it. */
export interface UnitFacts {
  id: string
  code: string
  name: string
  kind: UnitKind
  classes: ClassFacts[]
  persons: PersonFacts[]
}

/** Where one class goes. */
export interface ClassMove {
  classId: string
  classCode: string
  grade: number
  name: string
  /** up: one grade higher; complete: its pupils complete (graduate, or leave the kindergarten) and the class stays where it is. */
  action: 'up' | 'complete'
  toGrade: number
  toName: string
  /** Pupils in school (in kindergarten) in the class: promoted, or completing. */
  pupils: string[]
}

export type BlockerCode = 'pending_status_change' | 'pending_change_request' | 'not_in_school' | 'schooling_mismatch' | 'attendance_missing' | 'enrolled_after_completion' | 'rollover_refused'

/** Something that stops a school's rollover, with what to do about it. */
export interface Blocker {
  code: BlockerCode
  message: string
  classId?: string
  personIds?: string[]
  recordIds?: string[]
}

export interface UnitPlan {
  classes: ClassMove[]
  /** Classes whose grade does not fit their 学制. */
  misfits: ClassFacts[]
}

/** The in-school state of each kind of unit. */
export const ACTIVE: Record<UnitKind, string> = { school: 'in_school', kindergarten: 'in_kindergarten' }

/** States of a person still on the unit's books but not in school: they do not move with their class. */
export const AWAY: Record<UnitKind, readonly string[]> = { school: ['suspended', 'stopped'], kindergarten: ['suspended'] }

/** The school year the rollover of `today` moves into (it begins on the rollover day), and that day. */
export function rolloverOf(today: string, dates: CalendarDates): { schoolYear: number; day: string; term: string } {
  const year = schoolYear(today, dates)!
  return { schoolYear: year, day: dayOf(year, dates.rollover), term: `${year}-1` }
}

/** The month (YYYY-MM) schooling ends before the rollover into `year`: the month of the day before it. */
export function completionMonth(year: number, dates: CalendarDates): string {
  return previousDay(dayOf(year, dates.rollover)).slice(0, 7)
}

/** The span of a school class, or undefined when its grade does not fit its 学制. */
export function spanOf(cls: ClassFacts, kind: UnitKind): readonly [number, number] | undefined {
  if (kind === 'kindergarten') return cls.grade >= KINDERGARTEN_SPAN[0] && cls.grade <= KINDERGARTEN_SPAN[1] ? KINDERGARTEN_SPAN : undefined
  return SCHOOLING_SPANS[String(cls.schoolingLength ?? '')]?.find(([first, last]) => cls.grade >= first && cls.grade <= last)
}

const NUMERALS = ['', '一', '二', '三', '四', '五', '六', '七', '八', '九', '十', '十一', '十二']
const KG_WORDS = ['托', '小', '中', '大']

/**
 * A class's name after it moves from grade `from` to `to`: a grade written in the name (三年级,
 * 初一, 高二, 小班 or 小(1)班) is rewritten; a name without one (2024级(1)班) is kept.
 */
export function promotedName(name: string, from: number, to: number, kind: UnitKind): string {
  if (kind === 'kindergarten') {
    const m = /^(托|小|中|大)(?=班|\(|（|[一二三四五六七八九十\d])/.exec(name)
    return m && KG_WORDS[from] === m[1] && KG_WORDS[to] ? KG_WORDS[to] + name.slice(1) : name
  }
  // 三年级 or 3年级, not inside 十三年级.
  for (const [a, b] of [[NUMERALS[from], NUMERALS[to]], [String(from), String(to)]]) {
    const year = new RegExp(`(?<![一二三四五六七八九十\\d])${a}年级`)
    if (year.test(name)) return name.replace(year, `${b}年级`)
  }
  const stage = (g: number) => (g <= 6 ? { word: '', n: g } : g <= 9 ? { word: '初', n: g - 6 } : { word: '高', n: g - 9 })
  const x = stage(from)
  const y = stage(to)
  const short = `${x.word}${NUMERALS[x.n]}`
  if (x.word && y.word && name.startsWith(short)) return `${y.word}${NUMERALS[y.n]}${name.slice(short.length)}`
  return name
}

/** Where every class of `unit` goes, and the classes that do not fit their 学制. */
export function planUnit(unit: UnitFacts): UnitPlan {
  const pupils = new Map<string, string[]>()
  for (const p of unit.persons) {
    if (p.classId === null || p.state !== ACTIVE[unit.kind]) continue
    pupils.set(p.classId, [...(pupils.get(p.classId) ?? []), p.id])
  }
  const classes: ClassMove[] = []
  const misfits: ClassFacts[] = []
  for (const cls of unit.classes) {
    const span = spanOf(cls, unit.kind)
    if (!span) {
      misfits.push(cls)
      continue
    }
    const up = cls.grade < span[1]
    const toGrade = up ? cls.grade + 1 : cls.grade
    classes.push({
      classId: cls.id, classCode: cls.classCode, grade: cls.grade, name: cls.name,
      action: up ? 'up' : 'complete', toGrade, toName: up ? promotedName(cls.name, cls.grade, toGrade, unit.kind) : cls.name,
      pupils: pupils.get(cls.id) ?? [],
    })
  }
  return { classes, misfits }
}

/** Blockers that the unit's own classes and people show (the pending-business sources are the service's). */
export function classBlockers(unit: UnitFacts, plan: UnitPlan): Blocker[] {
  const out: Blocker[] = []
  for (const cls of plan.misfits) {
    out.push({
      code: 'schooling_mismatch', classId: cls.id,
      message: unit.kind === 'school'
        ? `班级“${cls.name}”（${cls.classCode}）的学制（${cls.schoolingLength ?? '未填'}）与年级 ${cls.grade} 不符，请更正班级信息`
        : `班级“${cls.name}”（${cls.classCode}）的年级 ${cls.grade} 不是托班、小班、中班或大班，请更正班级信息`,
    })
  }
  const moving = new Set(unit.classes.filter(c => !plan.misfits.includes(c)).map(c => c.id))
  const away = new Map<string, string[]>()
  for (const p of unit.persons) {
    if (p.classId === null || !moving.has(p.classId) || !AWAY[unit.kind].includes(p.state)) continue
    away.set(p.classId, [...(away.get(p.classId) ?? []), p.id])
  }
  for (const [classId, personIds] of away) {
    const cls = unit.classes.find(c => c.id === classId)!
    out.push({
      code: 'not_in_school', classId, personIds,
      message: `班级“${cls.name}”（${cls.classCode}）有 ${personIds.length} 名休学或停学的${unit.kind === 'school' ? '学生' : '幼儿'}仍在班内：请先办理复学或将其调出该班级，再进行学年升级`,
    })
  }
  return out
}
