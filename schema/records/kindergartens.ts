import { sqliteTable, text, integer, real, uniqueIndex, index } from 'drizzle-orm/sqlite-core'
import { recordColumns, verifyColumns, contactColumns, locationColumns } from './columns.ts'
import { teacherColumns } from './teachers.ts'

/**
 * 幼儿园基本信息. Class and child counts and the children's ages are derived from the
 * records; the staff counts are the kindergarten's own declared figures (staff are not all
 * recorded individually: only the director and full-time teachers are, R-8.4).
 */
export const kindergartens = sqliteTable(
  'kindergartens',
  {
    ...recordColumns(),
    /** 幼儿园代码 (national identifier, the natural key) */
    kindergartenCode: text('kindergarten_code').notNull(),
    /** 幼儿园注册编号 */
    registrationNo: text('registration_no'),
    /** 许可证号 */
    licenceNo: text('licence_no'),
    /** 审批单位 */
    approvingAuthority: text('approving_authority'),
    /** 所属主管单位: unit_code */
    unitCode: text('unit_code'),
    /** 幼儿园名称 */
    name: text('name').notNull(),
    ...locationColumns(),
    /** 园长姓名 */
    director: text('director'),
    /** 举办人姓名（或单位） */
    sponsor: text('sponsor'),
    /** 建园时间 YYYY-MM */
    foundedYm: text('founded_ym'),
    /** 办园性质 (kindergarten_nature) */
    nature: text('nature'),
    /** 办园形式 (kindergarten_form) */
    form: text('form'),
    /** 幼儿园等级 (kindergarten_grade) */
    rating: text('rating'),
    mainLanguage: text('main_language'),
    secondLanguage: text('second_language'),
    /** 教职工数量 */
    staffCount: integer('staff_count'),
    /** 专任教师数 */
    fullTimeTeachers: integer('full_time_teachers'),
    /** 行政人员数 */
    administrators: integer('administrators'),
    /** 保育员数 */
    nurseryStaff: integer('nursery_staff'),
    /** 工勤人员数 */
    workers: integer('workers'),
    /** 外聘兼职教师数 */
    partTimeTeachers: integer('part_time_teachers'),
    /** 教职工待遇政策 */
    staffPayPolicy: text('staff_pay_policy'),
    /** 教职工收入状况 */
    staffIncome: text('staff_income'),
    /** 园舍场地 (description, with areas) */
    premises: text('premises'),
    /** 园舍面积 m² */
    premisesArea: real('premises_area'),
    /** 设施设备 */
    facilities: text('facilities'),
    /** 办园经费 */
    funding: text('funding'),
    /** 收费标准 */
    fees: text('fees'),
    /** 所获荣誉 */
    honours: text('honours'),
    ...contactColumns(),
    ...verifyColumns(),
  },
  t => [uniqueIndex('kindergartens_code').on(t.kindergartenCode), index('kindergartens_division').on(t.divisionCode)],
)

/** 幼儿园教师信息: the director and full-time teachers. */
export const kindergartenTeachers = sqliteTable(
  'kindergarten_teachers',
  {
    ...recordColumns(),
    kindergartenId: text('kindergarten_id').notNull().references(() => kindergartens.id, { onDelete: 'cascade' }),
    ...teacherColumns(),
  },
  t => [index('kindergarten_teachers_kg').on(t.kindergartenId)],
)

/** 幼儿园班级信息. */
export const kindergartenClasses = sqliteTable(
  'kindergarten_classes',
  {
    ...recordColumns(),
    kindergartenId: text('kindergarten_id').notNull().references(() => kindergartens.id, { onDelete: 'restrict' }),
    /** 学校代码 of: the kindergarten's code, copied for natural-key lookups. */
    kindergartenCode: text('kindergarten_code').notNull(),
    classCode: text('class_code').notNull(),
    name: text('name').notNull(),
    foundedYm: text('founded_ym').notNull(),
    headTeacher: text('head_teacher'),
    /** 1 小班, 2 中班, 3 大班 (0 托班) */
    grade: integer('grade').notNull(),
    ...verifyColumns(),
  },
  t => [uniqueIndex('kindergarten_classes_code').on(t.kindergartenId, t.classCode)],
)
