import { text, integer } from 'drizzle-orm/sqlite-core'

/**
 * Personal fields shared by students and kindergarten children.
 * Codes name their table in the comment; `idNumber` is checked by GB 11643 and must agree with
 * `birthDate` and `gender` (schema/ids.ts).
 */
export const personColumns = () => ({
  /** 姓名 */
  name: text('name').notNull(),
  /** 姓名拼音, generated from the name (editable for polyphonic names). */
  namePinyin: text('name_pinyin').notNull(),
  /** Initials of the pinyin, for search (e.g. "zs" for 张三). */
  pinyinInitials: text('pinyin_initials').notNull(),
  /** 曾用名 */
  formerName: text('former_name'),
  /** 身份证件类型 (id_doc_type) */
  idDocType: text('id_doc_type').notNull().default('1'),
  /** 身份证号 / document number; null when the child has none yet. */
  idNumber: text('id_number'),
  /** gender (GB/T 2261.1: 1 男, 2 女) */
  gender: text('gender').notNull(),
  /** blood_type */
  bloodType: text('blood_type'),
  /** 出生年月 as a full date YYYY-MM-DD (the ID number has the day). */
  birthDate: text('birth_date').notNull(),
  /** 出生地: division code */
  birthplace: text('birthplace'),
  /** 独生子女 */
  onlyChild: integer('only_child', { mode: 'boolean' }),
  /** 籍贯: division code or text */
  nativePlace: text('native_place'),
  /** 民族 (ethnicity, GB 3304) */
  ethnicity: text('ethnicity').notNull(),
  /** 港澳台侨 (hmt) in edition `hmtEdition`. */
  hmt: text('hmt'),
  /** moe2007 | jyt1001-2012 */
  hmtEdition: text('hmt_edition'),
  /** 健康状况 (health, GB/T 2261.3) */
  health: text('health'),
  /** 现住址 */
  currentAddress: text('current_address'),
  /** 户口所在地: division code */
  householdRegistration: text('household_registration'),
  /** 流动人口状况 (floating_status) */
  floatingStatus: text('floating_status'),
  /** 户口性质 (household_type): agricultural, non-agricultural, resident */
  householdType: text('household_type'),
  /** 留守儿童 (left_behind): not left behind, one parent or both parents away for work */
  leftBehind: text('left_behind'),
  /** 国别 (country, GB/T 2659 alpha-3) */
  country: text('country').notNull().default('CHN'),
  /** 联系电话 */
  phone: text('phone'),
  /** 通信地址 */
  postalAddress: text('postal_address'),
  postcode: text('postcode'),
  /** Photo: base64 JPEG, light-blue background, ≤ 60 KB. */
  photo: text('photo'),
})

/** 监护人. */
export const guardianColumns = () => ({
  name: text('name').notNull(),
  /** 关系 (relationship, GB/T 4761) */
  relationship: text('relationship').notNull(),
  /** 联系地址 */
  address: text('address'),
  phone: text('phone'),
  postcode: text('postcode'),
  email: text('email'),
})

/** 家庭成员. */
export const familyMemberColumns = () => ({
  relationship: text('relationship').notNull(),
  name: text('name').notNull(),
  /** 单位名称 */
  employer: text('employer'),
  phone: text('phone'),
  ethnicity: text('ethnicity'),
  /** 婚姻状况 (marital, GB/T 2261.2) */
  maritalStatus: text('marital_status'),
  /** 侨居地 (country alpha-3 or place) */
  residenceAbroad: text('residence_abroad'),
})

/** 注册. */
export const registrationColumns = () => ({
  /** School year and term, e.g. 2026-1 (first term of 2026–27), 2026-2. */
  term: text('term').notNull(),
  /** 注册班级代码 */
  classCode: text('class_code').notNull(),
  /** 注册状况 (registration_status) */
  status: text('status').notNull(),
  /** 要求最晚注册时间 YYYY-MM-DD */
  dueDate: text('due_date'),
  /** 实际注册时间 YYYY-MM-DD */
  actualDate: text('actual_date'),
  /** 未按时注册原因 */
  lateReason: text('late_reason'),
})

/** 异动: the shared part, including the death details. */
export const statusChangeColumns = () => ({
  /** 变动类别 (status_change_type) */
  changeType: text('change_type').notNull(),
  /** 变动日期 YYYY-MM-DD */
  changeDate: text('change_date').notNull(),
  /** 变动原因 */
  reason: text('reason'),
  /** 处理状态 (processing_status) */
  processingStatus: text('processing_status').notNull(),
  /** 处理结果 */
  result: text('result'),
  /** 死亡日期 (only for change type 51 死亡) */
  deathDate: text('death_date'),
  /** 死亡原因 */
  deathCause: text('death_cause'),
  /** 学校（幼儿园）责任 (responsibility) */
  responsibility: text('responsibility'),
  /** 审核意见 */
  reviewOpinion: text('review_opinion'),
  // The workflow (node/status-changes): only the engine writes the columns below and processingStatus.
  /** 证明材料文号 (the documents' numbers the school gives with the application) */
  documentNos: text('document_nos'),
  /** Class the person is placed in when carried out (复学, 转入, 留级 …); id of a class of the same school. */
  targetClassId: text('target_class_id'),
  /** 申请日期 YYYY-MM-DD (China) */
  appliedOn: text('applied_on'),
  /** Applied later than the working days after the change that allows: accepted, flagged. */
  late: integer('late', { mode: 'boolean' }).notNull().default(false),
  /** Account ids (at the home node) and UTC times of the review and of carrying out (办理). */
  reviewedBy: text('reviewed_by'),
  reviewedAt: text('reviewed_at'),
  carriedOutBy: text('carried_out_by'),
  carriedOutAt: text('carried_out_at'),
  /** When the overdue review was escalated to the next tier up; set once. */
  escalatedAt: text('escalated_at'),
  /**
   * Code of the school (kindergarten) the person was at when the change was applied for: the
   * unit the change is counted at, kept when the person moves on (a transfer's
   * 转出 stays the sending school's). Written once, at the application.
   */
  unitCode: text('unit_code'),
})
