import { sqliteTable, text, uniqueIndex, index } from 'drizzle-orm/sqlite-core'
import { recordColumns, verifyColumns } from './columns.ts'
import { personColumns, guardianColumns, familyMemberColumns, registrationColumns, statusChangeColumns } from './person.ts'
import { kindergartens, kindergartenClasses } from './kindergartens.ts'

/** Where a child stands now; changed only through status changes. */
export const CHILD_STATES = ['in_kindergarten', 'suspended', 'left', 'deceased'] as const

/** 幼儿个人信息: the personal fields of without political status or 学号. */
export const children = sqliteTable(
  'children',
  {
    ...recordColumns(),
    kindergartenId: text('kindergarten_id').notNull().references(() => kindergartens.id, { onDelete: 'restrict' }),
    kindergartenCode: text('kindergarten_code').notNull(),
    classId: text('class_id').references(() => kindergartenClasses.id, { onDelete: 'restrict' }),
    ...personColumns(),
    /** 入园年月 YYYY-MM */
    entryYm: text('entry_ym').notNull(),
    /** 幼儿类别 (child_category) */
    childCategory: text('child_category').notNull(),
    state: text('state', { enum: CHILD_STATES }).notNull().default('in_kindergarten'),
    ...verifyColumns(),
  },
  t => [
    index('children_id_number').on(t.idNumber),
    index('children_kg_class').on(t.kindergartenId, t.classId),
    // A kindergarten's own list (scope: its code) and a class teacher's, as for students.
    index('children_kindergarten_code').on(t.kindergartenCode, t.state, t.homeNode),
    index('children_class').on(t.classId, t.state, t.homeNode),
    // Search, as students_name, students_pinyin_compact (here children_pinyin_compact, also
    // written by hand in 0012_search_indexes.sql) and students_initials.
    index('children_name').on(t.name, t.state, t.homeNode),
    index('children_initials').on(t.pinyinInitials, t.state, t.homeNode),
    index('children_dup').on(t.name, t.gender, t.birthDate),
    // Statistics (node/statistics): counted from this index alone, like students_stats.
    index('children_stats').on(t.state, t.homeNode, t.classId, t.kindergartenCode, t.gender, t.ethnicity, t.birthDate, t.childCategory, t.floatingStatus, t.householdRegistration, t.entryYm, t.householdType, t.leftBehind),
  ],
)

const childRef = () => text('child_id').notNull().references(() => children.id, { onDelete: 'cascade' })

/** 监护人. */
export const childGuardians = sqliteTable('child_guardians', { ...recordColumns(), childId: childRef(), ...guardianColumns() }, t => [index('child_guardians_child').on(t.childId)])

/** 家庭成员. */
export const childFamilyMembers = sqliteTable('child_family_members', { ...recordColumns(), childId: childRef(), ...familyMemberColumns() }, t => [index('child_family_child').on(t.childId)])

/** 注册. */
export const childRegistrations = sqliteTable('child_registrations', { ...recordColumns(), childId: childRef(), ...registrationColumns() }, t => [uniqueIndex('child_registrations_term').on(t.childId, t.term)])

/** 入园与离园, one per child. */
export const childAttendances = sqliteTable(
  'child_attendances',
  {
    ...recordColumns(),
    childId: childRef(),
    /** 幼儿园代码 */
    kindergartenCode: text('kindergarten_code').notNull(),
    /** 入园年月 YYYY-MM */
    entryYm: text('entry_ym').notNull(),
    /** 来源地区: division code */
    sourceArea: text('source_area'),
    /** 就读方式 (study_way) */
    attendanceWay: text('attendance_way').notNull(),
    /** 离园年月 YYYY-MM, after entryYm */
    leaveYm: text('leave_ym'),
    /** 离园原因说明 */
    leaveReason: text('leave_reason'),
  },
  t => [uniqueIndex('child_attendances_child').on(t.childId)],
)

/** 幼儿异动, with death details. */
export const childStatusChanges = sqliteTable(
  'child_status_changes',
  { ...recordColumns(), childId: childRef(), ...statusChangeColumns(), ...verifyColumns() },
  t => [index('child_status_changes_child').on(t.childId)],
)
