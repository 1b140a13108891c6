/**
 * What the records service needs to know about each table: who owns a row (its parent record),
 * how its rows map to a scope (school code, class, student), which list filters apply, and which
 * permissions guard it. The routes are generated from the same list (node/routes/api/records.ts).
 */
import { getTableColumns } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import * as r from '../../../schema/records/index.ts'
import type { Permission } from '../../auth/access.ts'

export interface Column {
  /** drizzle property name (camelCase), as the API speaks. */
  key: string
  /** SQL column name, as the outbox and the sync layer speak. */
  name: string
  type: 'string' | 'number' | 'boolean'
  notNull: boolean
}

export interface ResourceSpec {
  /** SQL table name; also the validation table of node/records/fields.ts. */
  table: string
  drizzle: SQLiteTable
  columns: Column[]
  /** Path segment under /api/v1 (sub-records: under their owner's path). */
  path: string
  /** Chinese name, for docs and messages. */
  label: string
  /** The requirement the record implements, for the OpenAPI tag. */
  requirement: string
  /**
   * The record this one belongs to: its home node and epoch are the owner's, and its scope is the
   * owner's. `viaPath`: the owner's id comes from the URL (sub-records of a student or child);
   * otherwise it is a field of the body (a class names its school).
   */
  owner?: { table: string; key: string; column: string; viaPath: boolean }
  /** Property name when sent or read together with the owner (`guardians`, `enrolment` …). */
  group?: string
  /** At most one per owner (enrolment, completion, attendance): read back as an object. */
  single?: boolean
  /** Has entry-and-verification columns. */
  verified: boolean
  permissions: { read: Permission; write: Permission; delete: Permission }
  /**
   * SQL (alias t) for the scope of a row: its school or kindergarten code, class, student.
   * `otherSchool`: a row that concerns a second school too (a 查重 problem across two schools),
   * reached by that school's staff as well as by the first's.
   */
  scope: { school: string; class?: string; student?: string; schoolLevel?: boolean; otherSchool?: string }
  /** List filters: query parameter → SQL condition with one `?`. */
  filters: Record<string, { sql: string; type: 'string' | 'integer'; description: string }>
  /** Person tables: search by name, pinyin, ID number (and 学籍号). */
  personSearch?: boolean
}

export function columnsOf(table: SQLiteTable): Column[] {
  return Object.entries(getTableColumns(table)).map(([key, col]) => ({
    key,
    name: col.name,
    type: col.dataType === 'boolean' ? 'boolean' : col.dataType === 'number' ? 'number' : 'string',
    notNull: col.notNull,
  }))
}

const STUDENT_PERMS = { read: 'student:read', write: 'student:write', delete: 'student:write' } as const
const GROWTH_PERMS = { read: 'student:read', write: 'growth:write', delete: 'growth:write' } as const
const schoolOf = (idColumn: string) => `(select s.school_code from schools s where s.id = t.${idColumn})`
const kindergartenOf = (idColumn: string) => `(select k.kindergarten_code from kindergartens k where k.id = t.${idColumn})`
const verifyFilter = { verifyState: { sql: 't.verify_state = ?', type: 'string' as const, description: '核对状态 entered | verified | returned' } }

function spec(s: Omit<ResourceSpec, 'columns' | 'verified'>): ResourceSpec {
  const columns = columnsOf(s.drizzle)
  return { ...s, columns, verified: columns.some(c => c.name === 'verify_state') }
}

function studentSub(table: string, drizzle: SQLiteTable, path: string, group: string, label: string, requirement: string, more: Partial<ResourceSpec> = {}): ResourceSpec {
  return spec({
    table, drizzle, path, group, label, requirement,
    owner: { table: 'students', key: 'studentId', column: 'student_id', viaPath: true },
    permissions: STUDENT_PERMS,
    scope: { school: '(select s.school_code from students s where s.id = t.student_id)' },
    filters: {},
    ...more,
  })
}

function childSub(table: string, drizzle: SQLiteTable, path: string, group: string, label: string, requirement: string, more: Partial<ResourceSpec> = {}): ResourceSpec {
  return spec({
    table, drizzle, path, group, label, requirement,
    owner: { table: 'children', key: 'childId', column: 'child_id', viaPath: true },
    permissions: STUDENT_PERMS,
    scope: { school: '(select c.kindergarten_code from children c where c.id = t.child_id)' },
    filters: {},
    ...more,
  })
}

/** Every record resource, owners before what they own. */
export const RESOURCES: readonly ResourceSpec[] = [
  spec({
    table: 'supervising_units', drizzle: r.supervisingUnits, path: 'units', label: '主管单位', requirement: 'R-7.1',
    permissions: { read: 'unit:read', write: 'unit:write', delete: 'unit:write' },
    // A unit is reached through any school or kindergarten it supervises (access.ts Target.schools).
    scope: { school: '' },
    filters: { divisionCode: { sql: 't.division_code = ?', type: 'string', description: '行政区划代码' }, ...verifyFilter },
  }),
  spec({
    table: 'schools', drizzle: r.schools, path: 'schools', label: '学校', requirement: 'R-8.1',
    permissions: { read: 'school:read', write: 'school:write', delete: 'school:write' },
    scope: { school: 't.school_code', schoolLevel: true },
    filters: {
      divisionCode: { sql: 't.division_code = ?', type: 'string', description: '行政区划代码' },
      unitCode: { sql: 't.unit_code = ?', type: 'string', description: '主管单位代码' },
      category: { sql: 't.category = ?', type: 'string', description: '学校类别' },
      ...verifyFilter,
    },
  }),
  spec({
    table: 'school_teachers', drizzle: r.schoolTeachers, path: 'school-teachers', label: '学校教师', requirement: 'R-8.2',
    owner: { table: 'schools', key: 'schoolId', column: 'school_id', viaPath: false },
    permissions: { read: 'school:read', write: 'school:write', delete: 'school:write' },
    scope: { school: schoolOf('school_id'), schoolLevel: true },
    filters: { schoolId: { sql: 't.school_id = ?', type: 'string', description: '学校 id' } },
  }),
  spec({
    table: 'school_classes', drizzle: r.schoolClasses, path: 'classes', label: '班级', requirement: 'R-9.1',
    owner: { table: 'schools', key: 'schoolId', column: 'school_id', viaPath: false },
    permissions: { read: 'class:read', write: 'class:write', delete: 'class:write' },
    scope: { school: 't.school_code', class: 't.id' },
    filters: {
      schoolId: { sql: 't.school_id = ?', type: 'string', description: '学校 id' },
      grade: { sql: 't.grade = ?', type: 'integer', description: '年级 1–12' },
      ...verifyFilter,
    },
  }),
  spec({
    table: 'students', drizzle: r.students, path: 'students', label: '学生', requirement: 'R-10.1',
    owner: { table: 'schools', key: 'schoolId', column: 'school_id', viaPath: false },
    permissions: { read: 'student:read', write: 'student:write', delete: 'student:delete' },
    scope: { school: 't.school_code', class: 't.class_id', student: 't.id' },
    filters: {
      schoolId: { sql: 't.school_id = ?', type: 'string', description: '学校 id' },
      classId: { sql: 't.class_id = ?', type: 'string', description: '班级 id' },
      grade: { sql: 't.class_id in (select c.id from school_classes c where c.grade = ?)', type: 'integer', description: '年级 1–12' },
      state: { sql: 't.state = ?', type: 'string', description: '学籍状态 in_school | suspended | stopped | transferred_out | graduated | withdrawn | expelled | deceased | all；不给时只列在校学生' },
      ...verifyFilter,
    },
    personSearch: true,
  }),
  studentSub('student_resumes', r.studentResumes, 'resumes', 'resumes', '学生简历', 'R-10.2'),
  studentSub('student_guardians', r.studentGuardians, 'guardians', 'guardians', '监护人', 'R-10.3'),
  studentSub('student_family_members', r.studentFamilyMembers, 'family-members', 'familyMembers', '家庭成员', 'R-10.4'),
  studentSub('student_registrations', r.studentRegistrations, 'registrations', 'registrations', '注册', 'R-10.5'),
  studentSub('student_exams', r.studentExams, 'exams', 'exams', '在校考试', 'R-10.6'),
  studentSub('student_awards', r.studentAwards, 'awards', 'awards', '奖励', 'R-10.7'),
  studentSub('student_punishments', r.studentPunishments, 'punishments', 'punishments', '处分', 'R-10.7'),
  studentSub('student_enrolments', r.studentEnrolments, 'enrolments', 'enrolment', '入学信息', 'R-10.8', { single: true }),
  studentSub('student_completions', r.studentCompletions, 'completions', 'completion', '结业信息', 'R-10.9', { single: true }),
  studentSub('student_status_changes', r.studentStatusChanges, 'status-changes', 'statusChanges', '学籍异动', 'R-10.10', {
    permissions: { read: 'student:read', write: 'status_change:write', delete: 'status_change:write' },
  }),
  spec({
    table: 'kindergartens', drizzle: r.kindergartens, path: 'kindergartens', label: '幼儿园', requirement: 'R-8.3',
    permissions: { read: 'school:read', write: 'school:write', delete: 'school:write' },
    scope: { school: 't.kindergarten_code', schoolLevel: true },
    filters: {
      divisionCode: { sql: 't.division_code = ?', type: 'string', description: '行政区划代码' },
      unitCode: { sql: 't.unit_code = ?', type: 'string', description: '主管单位代码' },
      ...verifyFilter,
    },
  }),
  spec({
    table: 'kindergarten_teachers', drizzle: r.kindergartenTeachers, path: 'kindergarten-teachers', label: '幼儿园教师', requirement: 'R-8.4',
    owner: { table: 'kindergartens', key: 'kindergartenId', column: 'kindergarten_id', viaPath: false },
    permissions: { read: 'school:read', write: 'school:write', delete: 'school:write' },
    scope: { school: kindergartenOf('kindergarten_id'), schoolLevel: true },
    filters: { kindergartenId: { sql: 't.kindergarten_id = ?', type: 'string', description: '幼儿园 id' } },
  }),
  spec({
    table: 'kindergarten_classes', drizzle: r.kindergartenClasses, path: 'kindergarten-classes', label: '幼儿园班级', requirement: 'R-11.1',
    owner: { table: 'kindergartens', key: 'kindergartenId', column: 'kindergarten_id', viaPath: false },
    permissions: { read: 'class:read', write: 'class:write', delete: 'class:write' },
    scope: { school: 't.kindergarten_code', class: 't.id' },
    filters: {
      kindergartenId: { sql: 't.kindergarten_id = ?', type: 'string', description: '幼儿园 id' },
      grade: { sql: 't.grade = ?', type: 'integer', description: '0 托班，1 小班，2 中班，3 大班' },
      ...verifyFilter,
    },
  }),
  spec({
    table: 'children', drizzle: r.children, path: 'children', label: '幼儿', requirement: 'R-12.1',
    owner: { table: 'kindergartens', key: 'kindergartenId', column: 'kindergarten_id', viaPath: false },
    permissions: { read: 'student:read', write: 'student:write', delete: 'student:delete' },
    scope: { school: 't.kindergarten_code', class: 't.class_id', student: 't.id' },
    filters: {
      kindergartenId: { sql: 't.kindergarten_id = ?', type: 'string', description: '幼儿园 id' },
      classId: { sql: 't.class_id = ?', type: 'string', description: '班级 id' },
      grade: { sql: 't.class_id in (select c.id from kindergarten_classes c where c.grade = ?)', type: 'integer', description: '0 托班，1 小班，2 中班，3 大班' },
      state: { sql: 't.state = ?', type: 'string', description: '状态 in_kindergarten | suspended | left | deceased | all；不给时只列在园幼儿' },
      ...verifyFilter,
    },
    personSearch: true,
  }),
  childSub('child_guardians', r.childGuardians, 'guardians', 'guardians', '幼儿监护人', 'R-12.2'),
  childSub('child_family_members', r.childFamilyMembers, 'family-members', 'familyMembers', '幼儿家庭成员', 'R-12.2'),
  childSub('child_registrations', r.childRegistrations, 'registrations', 'registrations', '幼儿注册', 'R-12.3'),
  childSub('child_attendances', r.childAttendances, 'attendances', 'attendance', '入园与离园', 'R-12.4', { single: true }),
  childSub('child_status_changes', r.childStatusChanges, 'status-changes', 'statusChanges', '幼儿异动', 'R-12.5', {
    permissions: { read: 'student:read', write: 'status_change:write', delete: 'status_change:write' },
  }),
]

/**
 * The school (kindergarten) code of a problem's other record (alias t), as this node holds it; null
 * when that record is not here (deleted since).
 */
export const PROBLEM_OTHER_SCHOOL = `(case t.subject_table when 'children' then (select o.kindergarten_code from children o where o.id = t.other_id) else (select o.school_code from students o where o.id = t.other_id) end)`

/**
 * 查重 problems: the school of the record that raised it (`school_code`) and, when the record it
 * duplicates is another school's, that school too: each registrar sees and
 * resolves the problem that names its own student, and reads nothing of the other's beyond it.
 */
export const PROBLEMS: ResourceSpec = spec({
  table: 'problem_records', drizzle: r.problemRecords, path: 'problems', label: '问题记录（查重）', requirement: 'R-10.1',
  permissions: { read: 'student:read', write: 'problem:resolve', delete: 'problem:resolve' },
  scope: { school: 't.school_code', student: 't.subject_id', otherSchool: PROBLEM_OTHER_SCHOOL },
  filters: {
    schoolCode: { sql: `? in (t.school_code, ${PROBLEM_OTHER_SCHOOL})`, type: 'string', description: '学校（幼儿园）代码：该校记录引起的或涉及该校记录的问题' },
    status: { sql: 't.status = ?', type: 'string', description: 'open | resolved' },
    kind: { sql: 't.kind = ?', type: 'string', description: 'duplicate_id_number | duplicate_name_gender_birth' },
  },
})

/** Alerts for the next tier up (node/status-changes); read through the workflow's routes only. */
export const ALERTS: ResourceSpec = spec({
  table: 'alerts', drizzle: r.alerts, path: 'status-changes/alerts', label: '预警', requirement: 'R-20.1',
  permissions: { read: 'student:read', write: 'status_change:approve', delete: 'status_change:approve' },
  scope: { school: 't.school_code', schoolLevel: true },
  filters: {},
})

/**
 * Growth records of senior high students (node/growth): written through the growth routes only,
 * which check them against the growth rules and regenerate the evaluation in the same transaction.
 */
export const GROWTH: readonly ResourceSpec[] = [
  studentSub('growth_courses', r.growthCourses, 'growth/courses', 'courses', '课程修习', 'R-14.1', { permissions: GROWTH_PERMS }),
  studentSub('growth_practices', r.growthPractices, 'growth/practices', 'practices', '综合实践活动', 'R-14.2', { permissions: GROWTH_PERMS }),
  studentSub('growth_qualities', r.growthQualities, 'growth/qualities', 'qualities', '素质发展', 'R-14.3', { permissions: GROWTH_PERMS }),
  studentSub('growth_evaluations', r.growthEvaluations, 'growth/evaluation', 'evaluation', '综合素质评价', 'R-15.1', { permissions: GROWTH_PERMS, single: true }),
  studentSub('growth_objections', r.growthObjections, 'growth/objections', 'objections', '公示异议', 'R-23.1', { permissions: { read: 'student:read', write: 'growth:object', delete: 'growth:verify' } }),
]

/** Change requests for locked records (node/change-requests); written through their own routes only. */
export const CHANGE_REQUESTS: ResourceSpec = spec({
  table: 'change_requests', drizzle: r.changeRequests, path: 'change-requests', label: '变更申请', requirement: 'R-22.5',
  permissions: { read: 'student:read', write: 'change_request:write', delete: 'change_request:write' },
  scope: { school: 't.school_code', student: 't.person_id' },
  filters: {},
})

const BY_TABLE = new Map([...RESOURCES, PROBLEMS, ALERTS, ...GROWTH, CHANGE_REQUESTS].map(s => [s.table, s]))

export function resource(table: string): ResourceSpec {
  const s = BY_TABLE.get(table)
  if (!s) throw new Error(`no resource for table ${table}`)
  return s
}

/** The sub-record resources owned by `table` (a student's groups, a school's teachers …). */
export function ownedBy(table: string): ResourceSpec[] {
  return RESOURCES.filter(s => s.owner?.table === table)
}

/** Sub-records that are deleted with their owner (FK cascade): students' and children's groups, growth records, teachers. */
export function cascadedBy(table: string): ResourceSpec[] {
  // Growth records have their own routes but die with their student like any sub-record, each with its tombstone.
  return [...ownedBy(table), ...GROWTH.filter(s => s.owner!.table === table)].filter(s => s.owner!.viaPath || s.table.endsWith('_teachers'))
}
