/**
 * The growth rules as pure functions over plain records (drizzle property names):
 * which students keep growth records, how a course, practice or quality record is checked against
 * the rules edition (module names, score scales, credit rules), and how the comprehensive
 * evaluation's figures are generated from the records, each with the records it came from.
 * No Fastify or database import; the rules themselves are data (data/rules.<edition>.json).
 */
import { readFileSync } from 'node:fs'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import { growthError } from './errors.ts'
import { CHANGE_REQUEST_ROUTE } from '../change-requests/rules.ts'

type Rec = Record<string, unknown>

export interface Scale {
  min: number
  max: number
  step: number
}

export const DIMENSIONS = ['aesthetics', 'sport', 'inquiry', 'labour'] as const
export type Dimension = (typeof DIMENSIONS)[number]
export const PRACTICE_KINDS = ['research', 'community_service', 'social_practice'] as const

export interface GrowthRules {
  edition: string
  title: string
  seniorHigh: { schoolCategories: string[]; grades: number[] }
  scales: { exam: Scale; proficiency: Scale; dimension: Scale; practice: string[] }
  /** Per course kind (the parent code of a module in growth_module): allowed credits, fixed class hours. */
  credits: Record<string, { values: number[]; classHours?: number }>
  /** An exam score below it earns no credits. */
  passScore: number
  requiredCredits: number
  /** Highest band first: a 会考 score at or above `min` has `level`. */
  proficiencyLevels: Array<{ level: string; min: number }>
  /** The four project scores: the mean of one quality dimension over the terms recorded. */
  projects: Record<Dimension, { label: string; dimension: Dimension }>
  /** Reporting deadlines per grade: MM-DD in the year after the school year's start. */
  deadlines: Record<string, { school: string; bureau: string }>
}

/** The province's default rules shipped with the node. */
export const PROVINCE_RULES: GrowthRules = JSON.parse(readFileSync(new URL('./data/rules.zj-2026.json', import.meta.url), 'utf8')) as GrowthRules

export const MODULE_TABLE = 'growth_module'

/** The figures of the evaluation no route may write. */
export const GENERATED_KEYS = ['courseStatus', 'totalCredits', 'requiredCredits', 'proficiencyLevels', 'aestheticsScore', 'sportScore', 'inquiryScore', 'labourScore', 'rulesEdition'] as const

/** senior high schools (and the general track of comprehensive ones) in grades 10–12. */
export function isSeniorHigh(rules: GrowthRules, schoolCategory: unknown, grade: unknown): boolean {
  return typeof schoolCategory === 'string' && rules.seniorHigh.schoolCategories.includes(schoolCategory) && typeof grade === 'number' && rules.seniorHigh.grades.includes(grade)
}

function onScale(value: unknown, scale: Scale, name: string, field: string, label: string): void {
  if (value === null || value === undefined) return
  const v = value as number
  const steps = (v - scale.min) / scale.step
  if (v < scale.min || v > scale.max || Math.abs(steps - Math.round(steps)) > 1e-9) {
    throw growthError('GROWTH_SCORE_OUT_OF_SCALE', `${label}应在 ${scale.min}–${scale.max} 之间（步长 ${scale.step}）`, { field, scale: name })
  }
}

/** The course kind (N, L, S) of a module code, or throws GROWTH_MODULE_UNKNOWN. */
export function moduleKind(rules: GrowthRules, codes: CodeRegistry, moduleCode: unknown): string {
  const entry = typeof moduleCode === 'string' ? codes.entry(MODULE_TABLE, moduleCode) : undefined
  if (!entry || !entry.parent || !rules.credits[entry.parent] || entry.retired) {
    throw growthError('GROWTH_MODULE_UNKNOWN', '课程模块代码不在课程模块表中；地方和校本课程请先按规定增补代码', { field: 'moduleCode' })
  }
  return entry.parent
}

/**
 * checks a prepared course record and returns it with the national module's own name
 * (a national module is named by the table, local and school-based courses by the school).
 */
export function checkCourse(rules: GrowthRules, codes: CodeRegistry, rec: Rec): Rec {
  const kind = moduleKind(rules, codes, rec.moduleCode)
  const rule = rules.credits[kind]
  onScale(rec.examScore, rules.scales.exam, 'exam', 'examScore', '考试成绩')
  if (kind !== 'N' && rec.proficiencyScore !== null && rec.proficiencyScore !== undefined) {
    throw growthError('GROWTH_FIELD_NOT_ALLOWED', '会考成绩只适用于国家课程模块', { field: 'proficiencyScore' })
  }
  onScale(rec.proficiencyScore, rules.scales.proficiency, 'proficiency', 'proficiencyScore', '会考成绩')
  const credits = rec.credits as number
  if (!rule.values.includes(credits)) {
    throw growthError('GROWTH_CREDIT_OUT_OF_RULE', `该类课程的学分只能是 ${rule.values.join('、')}`, { field: 'credits', rule: 'values', allowed: rule.values })
  }
  if (credits > 0 && (rec.examScore === null || rec.examScore === undefined || (rec.examScore as number) < rules.passScore)) {
    throw growthError('GROWTH_CREDIT_OUT_OF_RULE', `考试成绩未达到 ${rules.passScore} 分（或未录入）的模块不能获得学分`, { field: 'credits', rule: 'pass_required' })
  }
  if (rule.classHours !== undefined && rec.classHours !== rule.classHours) {
    throw growthError('GROWTH_CREDIT_OUT_OF_RULE', `国家课程模块的学时应为 ${rule.classHours}`, { field: 'classHours', rule: 'class_hours' })
  }
  return kind === 'N' ? { ...rec, name: codes.name(MODULE_TABLE, rec.moduleCode as string) } : rec
}

/** research studies name members, outcome and tasks; service and practice name a place. */
export function checkPractice(rules: GrowthRules, rec: Rec): Rec {
  if (!(PRACTICE_KINDS as readonly unknown[]).includes(rec.kind)) {
    throw growthError('GROWTH_FIELD_NOT_ALLOWED', '活动类别应为 research（研究性学习）、community_service（社区服务）或 social_practice（社会实践）', { field: 'kind' })
  }
  if (!rules.scales.practice.includes(rec.evaluation as string)) {
    throw growthError('GROWTH_SCORE_OUT_OF_SCALE', `评价应为 ${rules.scales.practice.join('、')} 之一`, { field: 'evaluation', scale: 'practice' })
  }
  const research = rec.kind === 'research'
  const notFor = research ? ['place'] : ['members', 'outcome', 'tasks']
  for (const field of notFor) {
    if (rec[field] !== null && rec[field] !== undefined) throw growthError('GROWTH_FIELD_NOT_ALLOWED', research ? '研究性学习不填地点' : '社区服务和社会实践不填课题组成员、研究成果和承担任务', { field })
  }
  if (!research && (rec.place === null || rec.place === undefined)) throw growthError('GROWTH_FIELD_NOT_ALLOWED', '社区服务和社会实践须填写地点', { field: 'place', rule: 'required' })
  if (typeof rec.toDate === 'string' && rec.toDate < (rec.fromDate as string)) {
    throw growthError('GROWTH_FIELD_NOT_ALLOWED', '结束时间不能早于开始时间', { field: 'toDate', rule: 'date_order' })
  }
  return rec
}

/** the four dimension scores on the dimension scale. */
export function checkQuality(rules: GrowthRules, rec: Rec): Rec {
  const labels: Record<Dimension, string> = { aesthetics: '审美与艺术', sport: '运动与健康', inquiry: '探究与实践', labour: '劳动与技能' }
  for (const d of DIMENSIONS) onScale(rec[d], rules.scales.dimension, 'dimension', d, labels[d])
  return rec
}

/** Refuses any generated figure in an evaluation write. */
export function assertNoGenerated(input: Rec): void {
  const typed = GENERATED_KEYS.filter(k => input[k] !== undefined)
  if (typed.length > 0) {
    throw growthError('GROWTH_GENERATED_READONLY', '课程修习状态、学分、水平等级和四项评价分数由系统根据成长记录生成，不能录入或修改', { fields: typed })
  }
}

/** One source record of a generated figure. */
export interface Source {
  table: 'growth_courses' | 'growth_qualities'
  id: string
  version: number
}

export interface Evaluation {
  figures: {
    courseStatus: 'complete' | 'incomplete'
    totalCredits: number
    requiredCredits: number
    /** Count of national modules per proficiency level, as stored: JSON. */
    proficiencyLevels: string
    aestheticsScore: number | null
    sportScore: number | null
    inquiryScore: number | null
    labourScore: number | null
    rulesEdition: string
  }
  /** What each figure was generated from. */
  sources: {
    totalCredits: Source[]
    courseStatus: Source[]
    proficiency: Array<Source & { moduleCode: string; score: number; level: string }>
    projects: Record<Dimension, Source[]>
  }
}

/**
 * the school's and the bureau's reporting deadlines (YYYY-MM-DD) for a grade of
 * school year `schoolYear` (2026 = 2026–2027): grades 10–11 by 31 July and 30 September, grade 12
 * by 30 May and 10 June, as the rules edition says.
 */
export function reportDeadlines(rules: GrowthRules, schoolYear: number, grade: number): { school: string; bureau: string } {
  const d = rules.deadlines[String(grade)]
  if (!d) throw growthError('GROWTH_NOT_SENIOR_HIGH', '只有高中 10–12 年级上报成长记录', { field: 'grade' })
  return { school: `${schoolYear + 1}-${d.school}`, bureau: `${schoolYear + 1}-${d.bureau}` }
}

/**
 * A reported evaluation and its student's records are locked. `approvals` names who
 * must agree to a change: the school's bureau once the school reported, the province too once the
 * bureau reported.
 */
export function assertNotReported(evaluation: Rec | undefined): void {
  if (!evaluation || (evaluation.reportedAt === null && evaluation.bureauReportedAt === null)) return
  const toProvince = evaluation.bureauReportedAt !== null
  throw growthError(
    'GROWTH_REPORTED_LOCKED',
    toProvince
      ? '成长记录已由教育局上报省级，修改须由学校申请、教育局同意、省级批准后由省级管理员办理（变更申请）'
      : '成长记录已由学校上报教育局，修改须由学校提出变更申请，经教育局同意',
    { stage: toProvince ? 'province' : 'bureau', approvals: toProvince ? ['bureau', 'province'] : ['bureau'], changeRequest: CHANGE_REQUEST_ROUTE },
  )
}

export function proficiencyLevel(rules: GrowthRules, score: number): string {
  return (rules.proficiencyLevels.find(b => score >= b.min) ?? rules.proficiencyLevels[rules.proficiencyLevels.length - 1]).level
}

const round1 = (n: number) => Math.round(n * 10) / 10
const src = (table: Source['table'], r: Rec): Source => ({ table, id: String(r.id), version: Number(r.version) })

/**
 * the evaluation's figures from a student's course and quality records. A
 * module counts its credits when passed (credits are only accepted for a passed exam); the same
 * module taken twice (a resit) counts once, by its best credits.
 */
export function evaluate(rules: GrowthRules, courses: readonly Rec[], qualities: readonly Rec[]): Evaluation {
  const best = new Map<string, Rec>()
  for (const c of courses) {
    const cur = best.get(String(c.moduleCode))
    if (!cur || (c.credits as number) > (cur.credits as number)) best.set(String(c.moduleCode), c)
  }
  const credited = [...best.values()].filter(c => (c.credits as number) > 0)
  const totalCredits = credited.reduce((n, c) => n + (c.credits as number), 0)
  const proficiency = courses
    .filter(c => typeof c.proficiencyScore === 'number')
    .map(c => ({ ...src('growth_courses', c), moduleCode: String(c.moduleCode), score: c.proficiencyScore as number, level: proficiencyLevel(rules, c.proficiencyScore as number) }))
  const levels: Record<string, number> = {}
  for (const b of rules.proficiencyLevels) levels[b.level] = 0
  for (const p of proficiency) levels[p.level]++
  const projectScore = (d: Dimension) => (qualities.length === 0 ? null : round1(qualities.reduce((n, q) => n + (q[rules.projects[d].dimension] as number), 0) / qualities.length))
  const qualitySources = qualities.map(q => src('growth_qualities', q))
  return {
    figures: {
      courseStatus: totalCredits >= rules.requiredCredits ? 'complete' : 'incomplete',
      totalCredits,
      requiredCredits: rules.requiredCredits,
      proficiencyLevels: JSON.stringify(levels),
      aestheticsScore: projectScore('aesthetics'),
      sportScore: projectScore('sport'),
      inquiryScore: projectScore('inquiry'),
      labourScore: projectScore('labour'),
      rulesEdition: rules.edition,
    },
    sources: {
      totalCredits: credited.map(c => src('growth_courses', c)),
      courseStatus: credited.map(c => src('growth_courses', c)),
      proficiency,
      projects: { aesthetics: qualitySources, sport: qualitySources, inquiry: qualitySources, labour: qualitySources },
    },
  }
}
