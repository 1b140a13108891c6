import { sqliteTable, text, real, uniqueIndex, index } from 'drizzle-orm/sqlite-core'
import { recordColumns, verifyColumns } from './columns.ts'
import { personColumns, guardianColumns, familyMemberColumns, registrationColumns, statusChangeColumns } from './person.ts'
import { schools, schoolClasses } from './schools.ts'

/** Where a student stands now; changed only through status changes (学籍异动) and rollover. */
export const STUDENT_STATES = ['in_school', 'suspended', 'stopped', 'transferred_out', 'graduated', 'withdrawn', 'expelled', 'deceased'] as const

/** 学生个人信息. */
export const students = sqliteTable(
  'students',
  {
    ...recordColumns(),
    schoolId: text('school_id').notNull().references(() => schools.id, { onDelete: 'restrict' }),
    /** 学校代码, copied for natural-key lookups and ownership checks across tiers. */
    schoolCode: text('school_code').notNull(),
    /** 班级 (the class record); its class code is the 班级代码 of. */
    classId: text('class_id').references(() => schoolClasses.id, { onDelete: 'restrict' }),
    /** 学籍号: G + ID number, J + 18, or temporary L + 18 (schema/ids.ts). Changes are key changes. */
    studentNo: text('student_no').notNull(),
    /** 学号 (the school's own number) */
    schoolStudentNo: text('school_student_no'),
    ...personColumns(),
    /** 入学年月 YYYY-MM */
    enrolmentYm: text('enrolment_ym').notNull(),
    /** 学生类别 (student_category) */
    studentCategory: text('student_category').notNull(),
    /** 政治面貌 (political, GB/T 4762) */
    political: text('political'),
    email: text('email'),
    homepage: text('homepage'),
    /** in_school | suspended | … (STUDENT_STATES) */
    state: text('state', { enum: STUDENT_STATES }).notNull().default('in_school'),
    ...verifyColumns(),
  },
  t => [
    // Unique per home node only: a replica must hold another node's duplicate (查重 across nodes
    // is a business rule that raises a problem, DESIGN.md §5), while the home refuses it at entry.
    uniqueIndex('students_student_no').on(t.studentNo, t.homeNode),
    index('students_id_number').on(t.idNumber),
    index('students_school_class').on(t.schoolId, t.classId),
    // A registrar's list (scope: the school's code) and a class teacher's (the class), with the
    // state and the home node beside them so the count is read from the index alone.
    index('students_school_code').on(t.schoolCode, t.state, t.homeNode),
    index('students_class').on(t.classId, t.state, t.homeNode),
    // Search (node/services/records `searchSql`): a prefix of the name, of the pinyin written without
    // spaces, or of the initials is a range on one of these; with the state beside it a list's
    // count and its page of rowids are read from the index alone, also within a bureau's range of
    // home nodes. The pinyin one is an index on an expression, students_pinyin_compact
    // (replace(name_pinyin, ' ', ''), state, home_node), written by
    // hand in migration 0012_search_indexes.sql: drizzle-kit splits an expression at its commas.
    index('students_name').on(t.name, t.state, t.homeNode),
    index('students_initials').on(t.pinyinInitials, t.state, t.homeNode),
    index('students_dup').on(t.name, t.gender, t.birthDate),
    // Statistics (node/statistics): every dimension is counted from this index alone, over the
    // range of one state and one subtree of home nodes, so a province replica is never read row by row.
    index('students_stats').on(t.state, t.homeNode, t.classId, t.schoolCode, t.gender, t.ethnicity, t.birthDate, t.studentCategory, t.floatingStatus, t.householdRegistration, t.enrolmentYm, t.householdType, t.leftBehind),
  ],
)

const studentRef = () => text('student_id').notNull().references(() => students.id, { onDelete: 'cascade' })

/** 学生简历. */
export const studentResumes = sqliteTable(
  'student_resumes',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** 起始时间 / 结束时间 YYYY-MM */
    fromYm: text('from_ym').notNull(),
    toYm: text('to_ym'),
    /** 所在学校名称 */
    schoolName: text('school_name').notNull(),
    /** 担任职务 */
    post: text('post'),
    /** 证明人 */
    witness: text('witness'),
    remarks: text('remarks'),
  },
  t => [index('student_resumes_student').on(t.studentId)],
)

/** 监护人. */
export const studentGuardians = sqliteTable('student_guardians', { ...recordColumns(), studentId: studentRef(), ...guardianColumns() }, t => [index('student_guardians_student').on(t.studentId)])

/** 家庭成员. */
export const studentFamilyMembers = sqliteTable('student_family_members', { ...recordColumns(), studentId: studentRef(), ...familyMemberColumns() }, t => [index('student_family_student').on(t.studentId)])

/** 注册, one per term. */
export const studentRegistrations = sqliteTable(
  'student_registrations',
  { ...recordColumns(), studentId: studentRef(), ...registrationColumns() },
  t => [uniqueIndex('student_registrations_term').on(t.studentId, t.term)],
)

/** 在校考试. A score is numeric (分数类) or a grade letter (等级类), at least one. */
export const studentExams = sqliteTable(
  'student_exams',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** School year and term of the exam, e.g. 2026-1; the 1 August lock uses it. */
    term: text('term').notNull(),
    /** 考试时间 YYYY-MM-DD */
    examDate: text('exam_date').notNull(),
    /** 课程名称 */
    course: text('course').notNull(),
    /** 考试方式 (exam_form) */
    examForm: text('exam_form'),
    /** 考试类别 (exam_category) */
    examCategory: text('exam_category').notNull(),
    /** 分数类考试成绩 */
    score: real('score'),
    /** 等级类考试成绩 (A/B/C/D, 优/良/合格 …) */
    gradeLetter: text('grade_letter'),
    /** 学期评语 */
    termComment: text('term_comment'),
  },
  t => [index('student_exams_student').on(t.studentId, t.term)],
)

/** 奖励. */
export const studentAwards = sqliteTable(
  'student_awards',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** 奖励名称 */
    name: text('name').notNull(),
    /** 奖励级别 (award_level) */
    level: text('level').notNull(),
    /** 奖励类别 (award_category) */
    category: text('category'),
    reason: text('reason'),
    /** 奖励金额 (yuan) */
    amount: real('amount'),
    /** 奖励文件文号 */
    documentNo: text('document_no'),
    /** 奖励年月 YYYY-MM */
    awardYm: text('award_ym').notNull(),
    /** 奖励单位 */
    awardingUnit: text('awarding_unit'),
  },
  t => [index('student_awards_student').on(t.studentId)],
)

/** 处分. */
export const studentPunishments = sqliteTable(
  'student_punishments',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** 处分名称 (punishment) */
    name: text('name').notNull(),
    reason: text('reason').notNull(),
    /** 处分日期 YYYY-MM-DD */
    punishedOn: text('punished_on').notNull(),
    /** 处分撤销日期; after punishedOn. */
    revokedOn: text('revoked_on'),
  },
  t => [index('student_punishments_student').on(t.studentId)],
)

/** 入学信息, one per student. */
export const studentEnrolments = sqliteTable(
  'student_enrolments',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** 原学校代码 */
    previousSchoolCode: text('previous_school_code'),
    /** 入学年月 YYYY-MM */
    enrolmentYm: text('enrolment_ym').notNull(),
    /** 入学方式 (enrolment_way) */
    enrolmentWay: text('enrolment_way').notNull(),
    /** 来源地区: division code */
    sourceArea: text('source_area'),
    /** 学生来源 (student_source) */
    studentSource: text('student_source').notNull(),
    /** 就读方式 (study_way) */
    studyWay: text('study_way').notNull(),
    /** 经济困难受资助情况 (financial_aid) */
    financialAid: text('financial_aid'),
  },
  t => [uniqueIndex('student_enrolments_student').on(t.studentId)],
)

/** 结业信息, one per student. */
export const studentCompletions = sqliteTable(
  'student_completions',
  {
    ...recordColumns(),
    studentId: studentRef(),
    /** 毕业学校代码 */
    graduatingSchoolCode: text('graduating_school_code').notNull(),
    /** 结束学业年月 YYYY-MM */
    completionYm: text('completion_ym').notNull(),
    /** 结束学业原因说明 */
    reason: text('reason').notNull(),
    /** 毕业评语 */
    comment: text('comment'),
    ...verifyColumns(),
  },
  t => [uniqueIndex('student_completions_student').on(t.studentId)],
)

/** 学籍异动, with death details for change type 51. Verified by school leadership. */
export const studentStatusChanges = sqliteTable(
  'student_status_changes',
  {
    ...recordColumns(),
    studentId: studentRef(),
    ...statusChangeColumns(),
    /** 审批日期 YYYY-MM-DD */
    approvalDate: text('approval_date'),
    /** 审批文号 */
    approvalDocNo: text('approval_doc_no'),
    /** 原就读学校代码 / 现就读学校代码 */
    previousSchoolCode: text('previous_school_code'),
    currentSchoolCode: text('current_school_code'),
    /** 原学籍号 / 现学籍号 */
    previousStudentNo: text('previous_student_no'),
    currentStudentNo: text('current_student_no'),
    ...verifyColumns(),
  },
  t => [index('student_status_changes_student').on(t.studentId), index('student_status_changes_type').on(t.changeType, t.changeDate)],
)

