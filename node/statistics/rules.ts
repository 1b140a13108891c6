/**
 * Statistics, pure: what can be counted, by which dimension, and how a scope is
 * drilled down to the next tier's units. No Fastify or database import; the service turns these
 * into SQL over the node's own replica.
 */
import { subtreePrefix } from '../auth/access.ts'
import { isCalendarDate } from '../../schema/ids.ts'

/** What is counted. */
export const SUBJECTS = ['students', 'children', 'school-teachers', 'kindergarten-teachers', 'schools', 'kindergartens'] as const
export type Subject = (typeof SUBJECTS)[number]

/**
 * A dimension: `expr` is the SQL key over the subject's row (alias t), or the key of a joined
 * row (`via`), where the service first groups by the join column and then looks the unit up
 * (a class's grade, a school's category) so the large table is read from its index alone.
 */
export interface Dimension {
  key: string
  label: string
  /** SQL over alias t (or over the joined row j when `via` is set). `?ref` is the reference date. */
  expr: string
  /** Code table naming the keys (labels come from it). */
  codeTable?: string
  via?: { column: string; table: string; on: string }
  /** Fixed labels for computed keys. */
  labels?: Record<string, string>
}

const AGE = (birth: string) =>
  `(cast(substr(?ref, 1, 4) as integer) - cast(substr(${birth}, 1, 4) as integer) - (substr(${birth}, 6, 5) > substr(?ref, 6, 5)))`

/** Only 户口所在地 (a division code) is on the record: counted as this province, another, or not given. */
const HOUSEHOLD = (provincePrefix: string) =>
  `case when t.household_registration is null or t.household_registration = '' then 'none' when substr(t.household_registration, 1, 2) = '${provincePrefix}' then 'in_province' else 'out_of_province' end`
const HOUSEHOLD_LABELS = { none: '未填写', in_province: '本省户口', out_of_province: '外省户口' }

export interface SubjectSpec {
  table: string
  label: string
  /** Person subjects have states; the active one is counted unless asked otherwise. */
  states?: readonly string[]
  active?: string
  /** The column holding the unit (school or kindergarten) code, or the id joined to it. */
  unitCode: string
  unitTable: string
  unitCodeColumn: string
  /** The unit's id column on the subject (the indexed path for a school scope). */
  unitIdColumn: string
  classTable?: string
  dimensions: Record<string, Dimension>
}

export const STUDENT_STATE_LABELS: Record<string, string> = {
  in_school: '在校', suspended: '休学', stopped: '停学', transferred_out: '转出', graduated: '毕业', withdrawn: '退学', expelled: '开除学籍', deceased: '死亡',
}
export const CHILD_STATE_LABELS: Record<string, string> = { in_kindergarten: '在园', suspended: '休园', left: '离园', deceased: '死亡' }

function personDimensions(kind: 'student' | 'child', provincePrefix: string): Record<string, Dimension> {
  const student = kind === 'student'
  const units = student ? { table: 'schools', code: 'school_code', classes: 'school_classes' } : { table: 'kindergartens', code: 'kindergarten_code', classes: 'kindergarten_classes' }
  const dims: Dimension[] = [
    { key: 'grade', label: student ? '年级' : '年级（班级所在年级）', expr: 'j.grade', via: { column: 't.class_id', table: units.classes, on: 'j.id' } },
    { key: 'gender', label: '性别', expr: 't.gender', codeTable: 'gender' },
    { key: 'age', label: '年龄（周岁）', expr: AGE('t.birth_date') },
    { key: 'ethnicity', label: '民族', expr: 't.ethnicity', codeTable: 'ethnicity' },
    { key: 'household', label: '户口所在地', expr: HOUSEHOLD(provincePrefix), labels: HOUSEHOLD_LABELS },
    { key: 'floating', label: '流动人口状况（随迁子女）', expr: 't.floating_status', codeTable: 'floating_status' },
    { key: 'householdType', label: '户口性质', expr: 't.household_type', codeTable: 'household_type' },
    { key: 'leftBehind', label: '留守儿童', expr: 't.left_behind', codeTable: 'left_behind' },
    { key: 'state', label: student ? '学籍状态' : '在园状态', expr: 't.state', labels: student ? STUDENT_STATE_LABELS : CHILD_STATE_LABELS },
    { key: 'category', label: student ? '学生类别（随班就读、残疾）' : '幼儿类别（残疾）', expr: student ? 't.student_category' : 't.child_category', codeTable: student ? 'student_category' : 'child_category' },
    ...(student
      ? [
          { key: 'schoolCategory', label: '学校类别', expr: 'j.category', codeTable: 'school_category', via: { column: 't.school_code', table: 'schools', on: 'j.school_code' } },
          { key: 'runType', label: '学校办别', expr: 'j.run_type', codeTable: 'school_run_type', via: { column: 't.school_code', table: 'schools', on: 'j.school_code' } },
        ]
      : [
          { key: 'nature', label: '办园性质', expr: 'j.nature', codeTable: 'kindergarten_nature', via: { column: 't.kindergarten_code', table: 'kindergartens', on: 'j.kindergarten_code' } },
          { key: 'rating', label: '幼儿园等级', expr: 'j.rating', codeTable: 'kindergarten_grade', via: { column: 't.kindergarten_code', table: 'kindergartens', on: 'j.kindergarten_code' } },
        ]),
  ]
  return Object.fromEntries(dims.map(d => [d.key, d]))
}

function teacherDimensions(): Record<string, Dimension> {
  const dims: Dimension[] = [
    { key: 'gender', label: '性别', expr: 't.gender', codeTable: 'gender' },
    { key: 'age', label: '年龄（周岁）', expr: `(cast(substr(?ref, 1, 4) as integer) - cast(substr(t.birth_ym, 1, 4) as integer) - (substr(t.birth_ym, 6, 2) > substr(?ref, 6, 2)))` },
    { key: 'ethnicity', label: '民族', expr: 't.ethnicity', codeTable: 'ethnicity' },
    { key: 'title', label: '职称', expr: 't.title', codeTable: 'teacher_title' },
    { key: 'post', label: '岗位', expr: 't.post', codeTable: 'teacher_post' },
    { key: 'education', label: '学历', expr: 't.education', codeTable: 'education_level' },
    { key: 'establishment', label: '编制', expr: 't.establishment', codeTable: 'establishment' },
  ]
  return Object.fromEntries(dims.map(d => [d.key, d]))
}

/** Schools and kindergartens themselves, by their own attributes. */
function unitDimensions(kind: 'school' | 'kindergarten'): Record<string, Dimension> {
  const dims: Dimension[] =
    kind === 'school'
      ? [
          { key: 'schoolCategory', label: '学校类别', expr: 't.category', codeTable: 'school_category' },
          { key: 'runType', label: '学校办别', expr: 't.run_type', codeTable: 'school_run_type' },
        ]
      : [
          { key: 'nature', label: '办园性质', expr: 't.nature', codeTable: 'kindergarten_nature' },
          { key: 'rating', label: '幼儿园等级', expr: 't.rating', codeTable: 'kindergarten_grade' },
        ]
  return Object.fromEntries(dims.map(d => [d.key, d]))
}

/** The subjects of a node in the province whose codes start with `provincePrefix` (two digits). */
export function subjectSpecs(provincePrefix: string): Record<Subject, SubjectSpec> {
  return {
    students: {
      table: 'students', label: '学生', states: Object.keys(STUDENT_STATE_LABELS), active: 'in_school',
      unitCode: 't.school_code', unitTable: 'schools', unitCodeColumn: 'school_code', unitIdColumn: 't.school_id', classTable: 'school_classes',
      dimensions: personDimensions('student', provincePrefix),
    },
    children: {
      table: 'children', label: '幼儿', states: Object.keys(CHILD_STATE_LABELS), active: 'in_kindergarten',
      unitCode: 't.kindergarten_code', unitTable: 'kindergartens', unitCodeColumn: 'kindergarten_code', unitIdColumn: 't.kindergarten_id', classTable: 'kindergarten_classes',
      dimensions: personDimensions('child', provincePrefix),
    },
    'school-teachers': {
      table: 'school_teachers', label: '中小学教师',
      unitCode: '(select s.school_code from schools s where s.id = t.school_id)', unitTable: 'schools', unitCodeColumn: 'school_code', unitIdColumn: 't.school_id',
      dimensions: teacherDimensions(),
    },
    'kindergarten-teachers': {
      table: 'kindergarten_teachers', label: '幼儿园教师',
      unitCode: '(select k.kindergarten_code from kindergartens k where k.id = t.kindergarten_id)', unitTable: 'kindergartens', unitCodeColumn: 'kindergarten_code', unitIdColumn: 't.kindergarten_id',
      dimensions: teacherDimensions(),
    },
    schools: {
      table: 'schools', label: '学校',
      unitCode: 't.school_code', unitTable: 'schools', unitCodeColumn: 'school_code', unitIdColumn: 't.id',
      dimensions: unitDimensions('school'),
    },
    kindergartens: {
      table: 'kindergartens', label: '幼儿园',
      unitCode: 't.kindergarten_code', unitTable: 'kindergartens', unitCodeColumn: 'kindergarten_code', unitIdColumn: 't.id',
      dimensions: unitDimensions('kindergarten'),
    },
  }
}

/**
 * Where a statistics query looks, after the account's scope and the asked unit are combined:
 * a subtree of the federation (a division), some schools, or some classes of one school.
 */
export type StatsScope =
  | { level: 'division'; code: string }
  | { level: 'schools'; schools: string[] }
  | { level: 'classes'; school: string; classes: string[] }

/** The tier of a division code (GB/T 2260). */
export function divisionTier(code: string): 'province' | 'city' | 'county' {
  if (code.endsWith('0000')) return 'province'
  if (code.endsWith('00')) return 'city'
  return 'county'
}

/** The range of home-node codes of a division's subtree: `lower <= home_node < upper` (uses the index, unlike LIKE). */
export function homeNodeRange(code: string): [string, string] {
  const prefix = subtreePrefix(code)
  // ':' is the character after '9', so the range holds every code starting with the prefix.
  return [prefix, `${prefix}:`]
}

/**
 * The next tier's unit of a row, as SQL, for drilling down: province → cities, city → counties
 * (a city's own schools appear under the city's code), county or several schools → schools,
 * one school or several classes → classes; one class has nothing below it.
 */
export function drillUnit(scope: StatsScope, spec: SubjectSpec): { kind: 'division' | 'school' | 'class'; expr: string } | null {
  if (scope.level === 'division') {
    const tier = divisionTier(scope.code)
    if (tier === 'province') return { kind: 'division', expr: `substr(t.home_node, 1, 4) || '00'` }
    if (tier === 'city') return { kind: 'division', expr: 't.home_node' }
    return { kind: 'school', expr: spec.unitCode }
  }
  if (scope.level === 'schools' && scope.schools.length > 1) return { kind: 'school', expr: spec.unitCode }
  if (!spec.classTable) return null
  if (scope.level === 'classes' && scope.classes.length === 1) return null
  return { kind: 'class', expr: 't.class_id' }
}

/** A statistics period: two dates YYYY-MM-DD of the calendar, from ≤ to. Returns a reason when it is not one. */
export function periodProblem(from: string, to: string): string | null {
  const day = (s: string) => /^\d{4}-\d{2}-\d{2}$/.test(s) && isCalendarDate(Number(s.slice(0, 4)), Number(s.slice(5, 7)), Number(s.slice(8, 10)))
  if (!day(from) || !day(to)) return '日期应为实际存在的日期，格式 YYYY-MM-DD'
  if (from > to) return '开始日期晚于结束日期'
  return null
}
