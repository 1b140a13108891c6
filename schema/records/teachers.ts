import { text, integer } from 'drizzle-orm/sqlite-core'

/**
 * Teacher fields (R-8.2, R-8.4: 姓名、年龄、性别、职务、职称、民族、党派、参加工作时间、学历、专业、
 * 任职资格、编制). Age is derived from the birth year-month, never typed.
 */
export const teacherColumns = () => ({
  name: text('name').notNull(),
  /** YYYY-MM; age is computed from it. */
  birthYm: text('birth_ym'),
  /** gender (GB/T 2261.1) */
  gender: text('gender').notNull(),
  /** 职务 (teacher_post) */
  post: text('post'),
  /** 职称 (teacher_title) */
  title: text('title'),
  /** ethnicity (GB 3304) */
  ethnicity: text('ethnicity'),
  /** 党派 (political, GB/T 4762) */
  political: text('political'),
  /** 参加工作时间 YYYY-MM */
  workStartYm: text('work_start_ym'),
  /** 学历 (education_level) */
  education: text('education'),
  /** 专业 */
  major: text('major'),
  /** 任职资格 (e.g. 小学教师资格) */
  qualification: text('qualification'),
  /** 编制 (establishment) */
  establishment: text('establishment'),
  /** 1 = director (园长) or principal, listed first. */
  isHead: integer('is_head', { mode: 'boolean' }).notNull().default(false),
})
