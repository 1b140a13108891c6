import type { County } from './area.ts'
import { namePinyin, personName } from './names.ts'
import { cityWeb, ethnicity, landline, location, postcode, verification, type SeedContext } from './people.ts'
import type { Rng } from './random.ts'
import { Weighted } from './random.ts'
import type { Row } from './writer.ts'

/**
 * School categories (办学类型, JY/T 1001) with the grades they teach and a typical size. Grades
 * run 1–12: 小学 1–6, 初中 7–9, 高中 10–12.
 */
export const CATEGORIES = {
  '211': { first: 1, last: 6, classes: 4, size: 42, word: '小学' },
  '218': { first: 1, last: 3, classes: 1, size: 16, word: '教学点' },
  '311': { first: 7, last: 9, classes: 6, size: 45, word: '初级中学' },
  '312': { first: 1, last: 9, classes: 3, size: 42, word: '学校' },
  '341': { first: 7, last: 12, classes: 6, size: 45, word: '中学' },
  '342': { first: 10, last: 12, classes: 10, size: 45, word: '高级中学' },
  '345': { first: 1, last: 12, classes: 3, size: 40, word: '外国语学校' },
} as const
export type CategoryCode = keyof typeof CATEGORIES
const ALL_CATEGORIES = Object.keys(CATEGORIES) as CategoryCode[]
/** Beyond one school of each category, the mix of a Zhejiang county (mostly primary schools). */
const MIX = new Weighted<CategoryCode>([['211', 44], ['218', 4], ['311', 18], ['312', 12], ['341', 5], ['342', 12], ['345', 3]])
/** Students a school of each category holds on average, to size the number of schools. */
const AVERAGE_SCHOOL = 1100

export type Stage = 'primary' | 'junior' | 'senior'
export const stageOf = (grade: number): Stage => (grade <= 6 ? 'primary' : grade <= 9 ? 'junior' : 'senior')
const STAGE_FIRST: Record<Stage, number> = { primary: 1, junior: 7, senior: 10 }
const STAGE_DIGIT: Record<Stage, string> = { primary: '1', junior: '2', senior: '3' }

export interface SchoolPlan {
  id: string
  code: string
  name: string
  category: CategoryCode
  county: County
  /** 公办 or 民办: private schools have fewer teachers on the establishment. */
  private: boolean
  cohorts: Cohort[]
  /** Names of the school's teachers, for head teachers, witnesses and comments. */
  teachers: string[]
}

/** Pupils of one entry year in one school: the classes of a grade, or last summer's graduates. */
export interface Cohort {
  /** Grade this school year; for the graduated cohort, the grade they finished. */
  grade: number
  graduated: boolean
  /** September of this year they entered this school. */
  entryYear: number
  /** Grade at which they entered this school (1, 7 or 10). */
  entryGrade: number
  classes: ClassPlan[]
}

export interface ClassPlan {
  /** null for the graduated cohort: its classes were dissolved at graduation. */
  id: string | null
  code: string
  number: number
  students: number
}

/** Splits `total` into parts proportional to `weights` (largest remainder, exact sum). */
export function apportion(total: number, weights: number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0)
  const exact = weights.map(w => (sum > 0 ? (total * w) / sum : 0))
  const parts = exact.map(Math.floor)
  let left = total - parts.reduce((a, b) => a + b, 0)
  const order = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1])
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) parts[order[k][1]]++
  return parts
}

const PLACES = ['文新', '求是', '星洲', '翠苑', '育才', '实验', '城南', '城北', '东方', '春晖', '青蓝', '保俶', '学军', '崇文', '行知', '紫金港', '三墩', '西溪', '留下', '转塘', '龙坞', '双浦', '之江', '北山', '振华', '新华', '明珠', '桂花', '天杭', '文华', '云栖', '嘉绿', '竞舟', '古荡', '益乐', '蒋村', '灵峰', '九莲', '山水', '锦绣']
const CN_NUMBERS = ['', '第一', '第二', '第三', '第四', '第五', '第六', '第七', '第八', '第九', '第十']

/** Serial ranges of school and kindergarten codes by the tier that runs them, so a city-run
 * school and a county-run school in the same district never share a code. */
const SERIAL_BASE = { county: 1, city: 6001, province: 8001 } as const

/** Names in use per county, so a county does not get two 西湖区育才小学. */
function uniqueName(used: Set<string>, rng: Rng, county: County, word: string): string {
  const short = county.name.length > 2 ? county.name : county.fullName
  for (let attempt = 0; attempt < 20; attempt++) {
    const name = `${county.cityName}${short}${rng.pick(PLACES)}${word}`
    if (!used.has(name)) return used.add(name), name
  }
  for (let n = 1; ; n++) {
    const name = `${county.cityName}${short}${rng.pick(PLACES)}${n < CN_NUMBERS.length ? CN_NUMBERS[n] : n}${word}`
    if (!used.has(name)) return used.add(name), name
  }
}

export interface Codes {
  next(county: County): string
}

/** 10-digit codes: the county's division code and a 4-digit serial in the tier's range. */
export function codeSequence(tier: keyof typeof SERIAL_BASE): Codes {
  const serials = new Map<string, number>()
  return {
    next: county => {
      const n = serials.get(county.code) ?? SERIAL_BASE[tier]
      serials.set(county.code, n + 1)
      return county.code + String(n).padStart(4, '0')
    },
  }
}

/** The node's education bureau, the supervising unit of everything it seeds. */
export function writeUnit(ctx: SeedContext): string {
  const county = ctx.area.tier === 'county' ? ctx.area.counties[0] : { ...ctx.area.counties[0], urban: true }
  const name = ctx.area.tier === 'province' ? '浙江省教育厅' : ctx.area.tier === 'city' ? `${ctx.area.name}教育局` : `${county.fullName}教育局`
  const unitCode = `JY${ctx.area.code}`
  const rng = ctx.rng
  ctx.writer.insert('supervising_units', {
    unit_code: unitCode,
    name,
    ...location(ctx, county),
    division_code: ctx.area.code,
    contact_person: personName(rng, rng.chance(0.5) ? '1' : '2'),
    postcode: postcode(rng, county),
    phone: landline(rng, county),
    fax: landline(rng, county),
    email: `jyj${ctx.area.code}@zj.gov.cn`,
    homepage: `https://jyj${ctx.area.code}.zj.gov.cn`,
    ...verification(ctx),
  })
  return unitCode
}

const MAJORS: Record<Stage | 'kindergarten', string[]> = {
  primary: ['小学教育', '汉语言文学', '数学与应用数学', '英语', '体育教育', '音乐学', '美术学', '科学教育'],
  junior: ['汉语言文学', '数学与应用数学', '英语', '物理学', '化学', '生物科学', '历史学', '地理科学', '思想政治教育', '体育教育'],
  senior: ['汉语言文学', '数学与应用数学', '英语', '物理学', '化学', '生物科学', '历史学', '地理科学', '思想政治教育', '计算机科学与技术'],
  kindergarten: ['学前教育', '学前教育', '学前教育', '音乐学', '美术学', '小学教育'],
}
const QUALIFICATION: Record<Stage | 'kindergarten', string> = { primary: '小学教师资格', junior: '初级中学教师资格', senior: '高级中学教师资格', kindergarten: '幼儿园教师资格' }

/** The teacher columns of one teacher. */
export function teacher(ctx: SeedContext, county: County, o: { post: string; head: boolean; stage: Stage | 'kindergarten'; publicSector: boolean }): Row {
  const rng = ctx.rng
  const female = o.stage === 'kindergarten' ? 0.97 : o.stage === 'primary' ? 0.75 : 0.55
  const gender = rng.chance(female) ? '2' : '1'
  const thisYear = +ctx.cal.asOf.slice(0, 4)
  const age = o.head ? rng.int(40, 57) : rng.int(23, 58)
  const birthYear = thisYear - age
  const startYear = birthYear + rng.int(21, 24)
  const title = age < 26 ? rng.pick(['99', '05', '04']) : age < 35 ? rng.pick(['04', '03', '03']) : age < 45 ? rng.pick(['03', '03', '02']) : rng.pick(['02', '02', '03', '01'])
  return {
    name: personName(rng, gender),
    birth_ym: `${birthYear}-${String(rng.int(1, 12)).padStart(2, '0')}`,
    gender,
    post: o.post,
    title,
    ethnicity: ethnicity(rng, county),
    political: age < 28 && rng.chance(0.5) ? '03' : rng.chance(o.head ? 0.9 : 0.35) ? '01' : '13',
    work_start_ym: `${Math.min(startYear, thisYear)}-08`,
    education: age > 50 && rng.chance(0.3) ? '31' : rng.chance(0.12) ? '14' : '21',
    major: rng.pick(MAJORS[o.stage]),
    qualification: QUALIFICATION[o.stage],
    establishment: o.publicSector && rng.chance(0.9) ? '1' : '2',
    is_head: o.head,
  }
}

export interface SchoolsOptions {
  students: number
  unitCode: string
}

/**
 * Plans and writes the schools, their teachers and classes, and splits
 * `students` between them exactly. Returns the plans; students are written later, in batches.
 */
export function writeSchools(ctx: SeedContext, o: SchoolsOptions): SchoolPlan[] {
  const rng = ctx.rng
  const { area, cal } = ctx
  const count = Math.max(ALL_CATEGORIES.length, Math.round(o.students / AVERAGE_SCHOOL))
  const codes = codeSequence(area.tier)
  const usedNames = new Set<string>()
  // Every category at least once, then the usual mix.
  const categories = Array.from({ length: count }, (_, i) => (i < ALL_CATEGORIES.length ? ALL_CATEGORIES[i] : MIX.draw(rng)))
  const counties = categories.map((_, i) => (i < area.counties.length && area.tier !== 'county' ? area.counties[i] : rng.pick(area.counties)))
  const capacity = categories.map((c, i) => {
    const k = CATEGORIES[c]
    return (k.last - k.first + 1) * k.classes * k.size * rng.around(1, 0.9, 0.4, 1.8) * (counties[i].urban ? 1.3 : 1)
  })
  const perSchool = apportion(o.students, capacity)
  const plans: SchoolPlan[] = []

  for (const [i, category] of categories.entries()) {
    const k = CATEGORIES[category]
    const county = counties[i]
    const isPrivate = category !== '218' && rng.chance(category === '345' ? 0.6 : 0.1)
    const grades = Array.from({ length: k.last - k.first + 1 }, (_, g) => k.first + g)
    // Last summer's leavers of the school's final grade stay on its books as graduates; a
    // teaching point (218) sends its pupils on to the central school instead.
    const cohortDefs = [...grades.map(grade => ({ grade, graduated: false })), ...(category === '218' ? [] : [{ grade: k.last, graduated: true }])]
    const sizes = apportion(perSchool[i], cohortDefs.map(() => rng.around(1, 0.4, 0.7, 1.3)))
    const plan: SchoolPlan = { id: ctx.newId(), code: codes.next(county), name: uniqueName(usedNames, rng, county, k.word), category, county, private: isPrivate, cohorts: [], teachers: [] }

    for (const [c, def] of cohortDefs.entries()) {
      if (sizes[c] === 0) continue
      const stage = stageOf(def.grade)
      // A 九年一贯制 or 十二年一贯制 school keeps its pupils from grade 1; others take them at the stage's first grade.
      const entryGrade = category === '312' || category === '345' ? k.first : Math.max(k.first, STAGE_FIRST[stage])
      const entryYear = cal.year - (def.graduated ? 1 : 0) - (def.grade - entryGrade)
      const classCount = Math.max(1, Math.round(sizes[c] / k.size))
      const classSizes = apportion(sizes[c], Array(classCount).fill(1))
      plan.cohorts.push({
        grade: def.grade,
        graduated: def.graduated,
        entryYear,
        entryGrade,
        classes: classSizes.map((students, n) => ({ id: def.graduated ? null : ctx.newId(), code: `${entryYear}${STAGE_DIGIT[stage]}${String(n + 1).padStart(2, '0')}`, number: n + 1, students })),
      })
    }
    plans.push(plan)
    writeSchool(ctx, plan, o.unitCode, perSchool[i])
  }
  return plans
}

function writeSchool(ctx: SeedContext, plan: SchoolPlan, unitCode: string, students: number): void {
  const rng = ctx.rng
  const { county, category } = plan
  const k = CATEGORIES[category]
  const stage = stageOf(k.last)

  // Teachers first: the principal's name goes on the school, the others head the classes.
  const teacherCount = Math.max(3, Math.ceil(students / 13))
  const teacherRows: Row[] = []
  for (let t = 0; t < teacherCount; t++) {
    const post = t === 0 ? '01' : t === 1 ? '02' : t === 2 ? '03' : t < 6 ? rng.pick(['05', '06', '07', '08']) : '10'
    teacherRows.push({ school_id: plan.id, ...teacher(ctx, county, { post, head: t === 0, stage, publicSector: !plan.private }) })
  }
  plan.teachers = teacherRows.map(t => t.name as string)

  const py = namePinyin(plan.name.replace(/[（）()]/g, '')).initials
  // Older than its oldest cohort, so no class predates the school.
  const founded = rng.int(1905, ctx.cal.year - 14)
  const runTypeOld = rng.chance(0.05)
  ctx.writer.insert('schools', {
    id: plan.id,
    school_code: plan.code,
    unit_code: unitCode,
    name: plan.name,
    attendance_zone: stage === 'senior' || plan.private ? null : `${county.name}${rng.pick(['城关', '文新', '翠苑', '古荡', '西溪', '留下', '蒋村'])}街道${rng.pick(['全部', '部分'])}社区`,
    ...location(ctx, county),
    principal: plan.teachers[0],
    founded_ym: `${founded}-${String(rng.int(1, 12)).padStart(2, '0')}`,
    run_type: runTypeOld ? (plan.private ? '2' : '1') : plan.private ? '22' : '21',
    run_type_edition: runTypeOld ? 'moe2007' : 'jyt1001-2012',
    category,
    main_language: '01',
    second_language: rng.chance(0.6) ? '04' : null,
    site_area: Math.round(rng.around(20 + students / 20, 10, 2, 400)) * 1000,
    building_area: Math.round(rng.around(12 + students / 30, 6, 1, 250)) * 1000,
    books: Math.round(students * rng.around(40, 20, 15, 80)) + 2000,
    computers: Math.round(students / rng.around(8, 4, 4, 12)) + 10,
    lab_compliant: rng.chance(0.93),
    postcode: postcode(rng, county),
    phone: landline(rng, county),
    fax: rng.chance(0.5) ? landline(rng, county) : null,
    email: `${py}${plan.code.slice(-4)}@${cityWeb(county)}.edu.cn`,
    homepage: rng.chance(0.6) ? `https://${py}.${cityWeb(county)}.edu.cn` : null,
    ...verification(ctx),
  })
  for (const row of teacherRows) ctx.writer.insert('school_teachers', row)

  let head = 1
  for (const cohort of plan.cohorts) {
    if (cohort.graduated) continue
    const stageOfCohort = stageOf(cohort.grade)
    for (const cls of cohort.classes) {
      const classType =
        category === '218' ? rng.pick(['13', '12']) : county.code === '331127' && rng.chance(0.1) ? { primary: '11', junior: '21', senior: '41' }[stageOfCohort] : rng.chance(0.03) ? { primary: '14', junior: '24', senior: '42' }[stageOfCohort] : { primary: '10', junior: '20', senior: '40' }[stageOfCohort]
      ctx.writer.insert('school_classes', {
          id: cls.id,
        school_id: plan.id,
        school_code: plan.code,
        class_code: cls.code,
        name: `${cohort.entryYear}级(${cls.number})班`,
        founded_ym: `${cohort.entryYear}-09`,
        schooling_length: category === '312' ? '9' : category === '345' ? '12' : stageOfCohort === 'primary' ? '6' : '3',
        class_type: classType,
        head_teacher: plan.teachers[head++ % plan.teachers.length] ?? null,
        grade: cohort.grade,
        ...verification(ctx),
      })
    }
  }
}
