import { sqliteTable, text, integer, real, uniqueIndex, index } from 'drizzle-orm/sqlite-core'
import { recordColumns, verifyColumns, contactColumns, locationColumns } from './columns.ts'
import { teacherColumns } from './teachers.ts'

/**
 * 学校基本信息. The class and student counts per grade, graduates and enrolment of the
 * year are derived from the class and student records (node/services/records/derived.ts), never stored.
 */
export const schools = sqliteTable(
  'schools',
  {
    ...recordColumns(),
    /** 学校代码 (10-digit national school identifier) */
    schoolCode: text('school_code').notNull(),
    /** 所属主管单位: unit_code of a supervising unit. */
    unitCode: text('unit_code'),
    /** 学校名称 */
    name: text('name').notNull(),
    /** 施教区范围 */
    attendanceZone: text('attendance_zone'),
    ...locationColumns(),
    /** 校长姓名 */
    principal: text('principal'),
    /** 建校年月 YYYY-MM */
    foundedYm: text('founded_ym'),
    /** 学校办别 (school_run_type) in edition `runTypeEdition`. */
    runType: text('run_type'),
    /** moe2007 | jyt1001-2012 */
    runTypeEdition: text('run_type_edition'),
    /** 学校类别/办学类型 (school_category) */
    category: text('category').notNull(),
    /** 主教学语言 / 辅教学语言 (teaching_language) */
    mainLanguage: text('main_language'),
    secondLanguage: text('second_language'),
    /** 学校占地面积 m² */
    siteArea: real('site_area'),
    /** 校舍建筑面积 m² */
    buildingArea: real('building_area'),
    /** 图书数量 (volumes) */
    books: integer('books'),
    /** 计算机数量 */
    computers: integer('computers'),
    /** 实验器材达标情况: true = meets the standard */
    labCompliant: integer('lab_compliant', { mode: 'boolean' }),
    ...contactColumns(),
    ...verifyColumns(),
  },
  t => [uniqueIndex('schools_code').on(t.schoolCode), index('schools_division').on(t.divisionCode)],
)

/** 学校教师信息. */
export const schoolTeachers = sqliteTable(
  'school_teachers',
  {
    ...recordColumns(),
    schoolId: text('school_id').notNull().references(() => schools.id, { onDelete: 'cascade' }),
    ...teacherColumns(),
  },
  t => [index('school_teachers_school').on(t.schoolId)],
)

/** 中小学班级信息. */
export const schoolClasses = sqliteTable(
  'school_classes',
  {
    ...recordColumns(),
    schoolId: text('school_id').notNull().references(() => schools.id, { onDelete: 'restrict' }),
    /** 学校代码, copied for natural-key lookups across tiers. */
    schoolCode: text('school_code').notNull(),
    /** 班级代码, unique within the school. */
    classCode: text('class_code').notNull(),
    /** 班级名称 */
    name: text('name').notNull(),
    /** 建班年月 YYYY-MM */
    foundedYm: text('founded_ym').notNull(),
    /** 学制 (schooling_length) */
    schoolingLength: text('schooling_length').notNull(),
    /** 班级类型 (class_type) */
    classType: text('class_type').notNull(),
    /** 班主任姓名 */
    headTeacher: text('head_teacher'),
    /** Current grade 1–12 (小学 1–6, 初中 7–9, 高中 10–12); raised on 1 August. */
    grade: integer('grade').notNull(),
    ...verifyColumns(),
  },
  t => [uniqueIndex('school_classes_code').on(t.schoolId, t.classCode), index('school_classes_grade').on(t.schoolId, t.grade)],
)
