/**
 * The fields a registrar types, per record table (SQL table name → fields, keyed by the drizzle
 * property name). One list drives validation (validate.ts), the request schemas of the API and
 * the import templates, so a field added to a table is added here once. Columns the system fills
 * (id, home_node, version, epoch, timestamps, verification, state, copied school codes, generated
 * pinyin initials) are not fields.
 */

export type FieldKind =
  /**
   * Free text, at most `max` characters (default 200). Like every text value, no lone surrogate
   * half (validate.ts `loneSurrogate`, RECORD_FIELD_FORMAT rule lone_surrogate).
   */
  | 'text'
  /**
   * A name of a person or place (姓名, 学校名称, 地址 …): text that is printed and compared, so
   * no control, invisible format or unpaired surrogate characters (validate.ts `nameCharacterProblem`).
   */
  | 'name'
  /** A code of `table` (edition in `editionKey` when the table has several). */
  | 'code'
  /** The edition a code was chosen from; checked together with its code. */
  | 'edition'
  /** YYYY-MM */
  | 'ym'
  /** YYYY-MM-DD */
  | 'date'
  /** School year and term: YYYY-1 (August–January) or YYYY-2 (February–July) of school year YYYY. */
  | 'term'
  | 'int'
  | 'number'
  | 'bool'
  /** A GB/T 2260 division code of this province (a unit's or school's location). */
  | 'division'
  /** A place in China by its 6-digit division code (birthplace, household registration): Zhejiang codes must exist. */
  | 'place'
  | 'email'
  | 'postcode'
  | 'phone'
  | 'url'
  /** Citizen ID or other identity document number; checked against the document type. */
  | 'id_number'
  /** 学籍号 (G/J/L, schema/ids.ts). */
  | 'student_no'
  /** Base64 JPEG, ≤ 60 KB. */
  | 'photo'
  /** Id (UUID) of another record on this node; its existence is checked by the service. */
  | 'ref'

export interface Field {
  key: string
  /** The regulation's name for it, used in messages. */
  label: string
  kind: FieldKind
  required?: boolean
  /** Code table (kind 'code'). */
  table?: string
  /** Property holding the edition of the code (kind 'code'). */
  editionKey?: string
  /**
   * For a code whose edition property names `table/edition` (area category: the 2007
   * 所在地区类别 or the JY/T 城乡类型, different tables with different meanings).
   */
  tables?: string[]
  /** Text length limit. */
  max?: number
  /** Numeric range. */
  min?: number
  maxValue?: number
}

const f = (key: string, label: string, kind: FieldKind, more: Partial<Field> = {}): Field => ({ key, label, kind, ...more })
const req = (key: string, label: string, kind: FieldKind, more: Partial<Field> = {}): Field => f(key, label, kind, { ...more, required: true })
const code = (key: string, label: string, table: string, more: Partial<Field> = {}): Field => f(key, label, 'code', { table, ...more })

const contact = (): Field[] => [
  f('postcode', '邮政编码', 'postcode'),
  f('phone', '联系电话', 'phone'),
  f('fax', '传真', 'phone'),
  f('email', '电子信箱', 'email'),
  f('homepage', '主页地址', 'url'),
]

const location = (): Field[] => [
  req('divisionCode', '行政区划代码', 'division'),
  f('address', '地址', 'name'),
  code('areaCategory', '所在地区类别', 'area_category', { editionKey: 'areaCategoryEdition', tables: ['area_category', 'urban_rural_type'] }),
  f('areaCategoryEdition', '所在地区类别代码表', 'edition'),
  code('economicAttribute', '所在地经济属性', 'economic_attribute'),
  code('ethnicAttribute', '所在地民族属性', 'ethnic_attribute'),
]

const person = (): Field[] => [
  req('name', '姓名', 'name', { max: 50 }),
  f('namePinyin', '姓名拼音', 'name', { max: 200 }),
  f('formerName', '曾用名', 'name', { max: 50 }),
  req('idDocType', '身份证件类型', 'code', { table: 'id_doc_type' }),
  f('idNumber', '身份证件号', 'id_number', { max: 30 }),
  req('gender', '性别', 'code', { table: 'gender' }),
  code('bloodType', '血型', 'blood_type'),
  req('birthDate', '出生日期', 'date'),
  f('birthplace', '出生地', 'place'),
  f('onlyChild', '是否独生子女', 'bool'),
  f('nativePlace', '籍贯', 'name', { max: 100 }),
  req('ethnicity', '民族', 'code', { table: 'ethnicity' }),
  code('hmt', '港澳台侨外', 'hmt', { editionKey: 'hmtEdition' }),
  f('hmtEdition', '港澳台侨外代码表版本', 'edition'),
  code('health', '健康状况', 'health'),
  f('currentAddress', '现住址', 'name'),
  f('householdRegistration', '户口所在地', 'place'),
  code('floatingStatus', '流动人口状况', 'floating_status'),
  code('householdType', '户口性质', 'household_type'),
  code('leftBehind', '留守儿童', 'left_behind'),
  req('country', '国籍/地区', 'code', { table: 'country' }),
  f('phone', '联系电话', 'phone'),
  f('postalAddress', '通信地址', 'name'),
  f('postcode', '邮政编码', 'postcode'),
  f('photo', '照片', 'photo'),
]

const teacher = (): Field[] => [
  req('name', '姓名', 'name', { max: 50 }),
  f('birthYm', '出生年月', 'ym'),
  req('gender', '性别', 'code', { table: 'gender' }),
  code('post', '职务', 'teacher_post'),
  code('title', '职称', 'teacher_title'),
  code('ethnicity', '民族', 'ethnicity'),
  code('political', '党派', 'political'),
  f('workStartYm', '参加工作时间', 'ym'),
  code('education', '学历', 'education_level'),
  f('major', '专业', 'text', { max: 100 }),
  f('qualification', '任职资格', 'text', { max: 100 }),
  code('establishment', '编制', 'establishment'),
  f('isHead', '是否校长（园长）', 'bool'),
]

const guardian = (): Field[] => [
  req('name', '监护人姓名', 'name', { max: 50 }),
  req('relationship', '关系', 'code', { table: 'relationship' }),
  f('address', '联系地址', 'name'),
  f('phone', '联系电话', 'phone'),
  f('postcode', '邮政编码', 'postcode'),
  f('email', '电子信箱', 'email'),
]

const familyMember = (): Field[] => [
  req('relationship', '关系', 'code', { table: 'relationship' }),
  req('name', '姓名', 'name', { max: 50 }),
  f('employer', '单位名称', 'name'),
  f('phone', '联系电话', 'phone'),
  code('ethnicity', '民族', 'ethnicity'),
  code('maritalStatus', '婚姻状况', 'marital'),
  f('residenceAbroad', '侨居地', 'name', { max: 100 }),
]

const registration = (): Field[] => [
  req('term', '学年学期', 'term'),
  req('classCode', '注册班级代码', 'text', { max: 30 }),
  req('status', '注册状况', 'code', { table: 'registration_status' }),
  f('dueDate', '要求最晚注册时间', 'date'),
  f('actualDate', '实际注册时间', 'date'),
  f('lateReason', '未按时注册原因', 'text', { max: 500 }),
]

const statusChange = (): Field[] => [
  req('changeType', '异动类别', 'code', { table: 'status_change_type' }),
  req('changeDate', '异动日期', 'date'),
  f('reason', '异动原因', 'text', { max: 500 }),
  req('processingStatus', '处理状态', 'code', { table: 'processing_status' }),
  f('result', '处理结果', 'text', { max: 500 }),
  f('deathDate', '死亡日期', 'date'),
  f('deathCause', '死亡原因', 'text', { max: 500 }),
  code('responsibility', '学校责任', 'responsibility'),
  f('reviewOpinion', '审核意见', 'text', { max: 1000 }),
  f('documentNos', '证明材料文号', 'text', { max: 200 }),
  f('targetClassId', '编入班级', 'text', { max: 64 }),
]

/** Figures of the system derives from the records; typing one is refused. */
export const DERIVED_FIELDS: Record<string, Record<string, string>> = {
  schools: {
    classesTotal: '班级总数', classesByGrade: '各年级班级数', studentsTotal: '学生总数', studentsByGrade: '各年级学生数',
    graduatesThisYear: '本年毕业生数', enrolmentThisYear: '本年招生数', derived: '统计数据',
  },
  kindergartens: { classesTotal: '班级数', childrenTotal: '幼儿数', childrenByAge: '幼儿年龄', derived: '统计数据' },
  school_teachers: { age: '年龄' },
  kindergarten_teachers: { age: '年龄' },
}

export const FIELDS: Record<string, Field[]> = {
  //
  supervising_units: [
    req('unitCode', '单位代码', 'text', { max: 30 }),
    req('name', '单位名称', 'name', { max: 100 }),
    ...location(),
    f('contactPerson', '联系人', 'name', { max: 50 }),
    ...contact(),
  ],
  //
  schools: [
    req('schoolCode', '学校代码', 'text', { max: 10 }),
    f('unitCode', '主管单位', 'text', { max: 30 }),
    req('name', '学校名称', 'name', { max: 100 }),
    f('attendanceZone', '施教区范围', 'text', { max: 1000 }),
    ...location(),
    f('principal', '校长姓名', 'name', { max: 50 }),
    f('foundedYm', '建校年月', 'ym'),
    code('runType', '学校办别', 'school_run_type', { editionKey: 'runTypeEdition' }),
    f('runTypeEdition', '学校办别代码表版本', 'edition'),
    req('category', '学校类别', 'code', { table: 'school_category' }),
    code('mainLanguage', '主教学语言', 'teaching_language'),
    code('secondLanguage', '辅教学语言', 'teaching_language'),
    f('siteArea', '学校占地面积', 'number', { min: 0 }),
    f('buildingArea', '校舍建筑面积', 'number', { min: 0 }),
    f('books', '图书数量', 'int', { min: 0 }),
    f('computers', '计算机数量', 'int', { min: 0 }),
    f('labCompliant', '实验器材达标情况', 'bool'),
    ...contact(),
  ],
  //
  school_teachers: [req('schoolId', '学校', 'ref'), ...teacher()],
  //
  school_classes: [
    req('schoolId', '学校', 'ref'),
    req('classCode', '班级代码', 'text', { max: 30 }),
    req('name', '班级名称', 'name', { max: 50 }),
    req('foundedYm', '建班年月', 'ym'),
    req('schoolingLength', '学制', 'code', { table: 'schooling_length' }),
    req('classType', '班级类型', 'code', { table: 'class_type' }),
    f('headTeacher', '班主任', 'name', { max: 50 }),
    req('grade', '年级', 'int', { min: 1, maxValue: 12 }),
  ],
  //
  students: [
    req('schoolId', '学校', 'ref'),
    f('classId', '班级', 'ref'),
    req('studentNo', '学籍号', 'student_no'),
    f('schoolStudentNo', '学号', 'text', { max: 30 }),
    ...person(),
    req('enrolmentYm', '入学年月', 'ym'),
    req('studentCategory', '学生类别', 'code', { table: 'student_category' }),
    code('political', '政治面貌', 'political'),
    f('email', '电子信箱', 'email'),
    f('homepage', '主页地址', 'url'),
  ],
  //
  student_resumes: [
    req('fromYm', '起始年月', 'ym'),
    f('toYm', '截止年月', 'ym'),
    req('schoolName', '所在学校', 'name', { max: 100 }),
    f('post', '担任职务', 'text', { max: 50 }),
    f('witness', '证明人', 'name', { max: 50 }),
    f('remarks', '备注', 'text', { max: 500 }),
  ],
  //
  student_guardians: guardian(),
  student_family_members: familyMember(),
  student_registrations: registration(),
  //
  student_exams: [
    req('term', '学年学期', 'term'),
    req('examDate', '考试日期', 'date'),
    req('course', '课程名称', 'text', { max: 100 }),
    code('examForm', '考试方式', 'exam_form'),
    req('examCategory', '考试类别', 'code', { table: 'exam_category' }),
    f('score', '分数', 'number', { min: 0, maxValue: 1000 }),
    f('gradeLetter', '等级', 'text', { max: 10 }),
    f('termComment', '学期评语', 'text', { max: 1000 }),
  ],
  //
  student_awards: [
    req('name', '奖励名称', 'name', { max: 100 }),
    req('level', '奖励级别', 'code', { table: 'award_level' }),
    code('category', '奖励类别', 'award_category'),
    f('reason', '奖励原因', 'text', { max: 500 }),
    f('amount', '奖励金额', 'number', { min: 0 }),
    f('documentNo', '奖励文号', 'text', { max: 100 }),
    req('awardYm', '奖励年月', 'ym'),
    f('awardingUnit', '奖励单位', 'text', { max: 100 }),
  ],
  student_punishments: [
    req('name', '处分名称', 'code', { table: 'punishment' }),
    req('reason', '处分原因', 'text', { max: 500 }),
    req('punishedOn', '处分日期', 'date'),
    f('revokedOn', '处分撤销日期', 'date'),
  ],
  //
  student_enrolments: [
    f('previousSchoolCode', '原学校代码', 'text', { max: 10 }),
    req('enrolmentYm', '入学年月', 'ym'),
    req('enrolmentWay', '入学方式', 'code', { table: 'enrolment_way' }),
    f('sourceArea', '来源地区', 'place'),
    req('studentSource', '学生来源', 'code', { table: 'student_source' }),
    req('studyWay', '就读方式', 'code', { table: 'study_way' }),
    code('financialAid', '经济困难受资助情况', 'financial_aid'),
  ],
  //
  student_completions: [
    req('graduatingSchoolCode', '毕业学校代码', 'text', { max: 10 }),
    req('completionYm', '结束学业年月', 'ym'),
    req('reason', '结束学业原因', 'text', { max: 500 }),
    f('comment', '毕业评语', 'text', { max: 1000 }),
  ],
  //
  student_status_changes: [
    ...statusChange(),
    f('approvalDate', '审批日期', 'date'),
    f('approvalDocNo', '审批文号', 'text', { max: 100 }),
    f('previousSchoolCode', '原就读学校代码', 'text', { max: 10 }),
    f('currentSchoolCode', '现就读学校代码', 'text', { max: 10 }),
    f('previousStudentNo', '原学籍号', 'student_no'),
    f('currentStudentNo', '现学籍号', 'student_no'),
  ],
  //
  kindergartens: [
    req('kindergartenCode', '幼儿园代码', 'text', { max: 10 }),
    f('registrationNo', '幼儿园注册编号', 'text', { max: 50 }),
    f('licenceNo', '许可证号', 'text', { max: 50 }),
    f('approvingAuthority', '审批单位', 'text', { max: 100 }),
    f('unitCode', '主管单位', 'text', { max: 30 }),
    req('name', '幼儿园名称', 'name', { max: 100 }),
    ...location(),
    f('director', '园长姓名', 'name', { max: 50 }),
    f('sponsor', '举办人（单位）', 'text', { max: 100 }),
    f('foundedYm', '建园时间', 'ym'),
    code('nature', '办园性质', 'kindergarten_nature'),
    code('form', '办园形式', 'kindergarten_form'),
    code('rating', '幼儿园等级', 'kindergarten_grade'),
    code('mainLanguage', '主教学语言', 'teaching_language'),
    code('secondLanguage', '辅教学语言', 'teaching_language'),
    f('staffCount', '教职工数', 'int', { min: 0 }),
    f('fullTimeTeachers', '专任教师数', 'int', { min: 0 }),
    f('administrators', '行政人员数', 'int', { min: 0 }),
    f('nurseryStaff', '保育员数', 'int', { min: 0 }),
    f('workers', '工勤人员数', 'int', { min: 0 }),
    f('partTimeTeachers', '外聘兼职教师数', 'int', { min: 0 }),
    f('staffPayPolicy', '教职工待遇政策', 'text', { max: 1000 }),
    f('staffIncome', '教职工收入状况', 'text', { max: 1000 }),
    f('premises', '园舍场地', 'text', { max: 1000 }),
    f('premisesArea', '园舍面积', 'number', { min: 0 }),
    f('facilities', '设施设备', 'text', { max: 1000 }),
    f('funding', '办园经费', 'text', { max: 1000 }),
    f('fees', '收费标准', 'text', { max: 1000 }),
    f('honours', '所获荣誉', 'text', { max: 1000 }),
    ...contact(),
  ],
  //
  kindergarten_teachers: [req('kindergartenId', '幼儿园', 'ref'), ...teacher()],
  //
  kindergarten_classes: [
    req('kindergartenId', '幼儿园', 'ref'),
    req('classCode', '班级代码', 'text', { max: 30 }),
    req('name', '班级名称', 'name', { max: 50 }),
    req('foundedYm', '建班年月', 'ym'),
    f('headTeacher', '班主任', 'name', { max: 50 }),
    req('grade', '年级（0 托班，1 小班，2 中班，3 大班）', 'int', { min: 0, maxValue: 3 }),
  ],
  //
  children: [
    req('kindergartenId', '幼儿园', 'ref'),
    f('classId', '班级', 'ref'),
    ...person(),
    req('entryYm', '入园年月', 'ym'),
    req('childCategory', '幼儿类别', 'code', { table: 'child_category' }),
  ],
  //
  child_guardians: guardian(),
  child_family_members: familyMember(),
  child_registrations: registration(),
  //
  child_attendances: [
    req('kindergartenCode', '幼儿园代码', 'text', { max: 10 }),
    req('entryYm', '入园年月', 'ym'),
    f('sourceArea', '来源地区', 'place'),
    req('attendanceWay', '就读方式', 'code', { table: 'study_way' }),
    f('leaveYm', '离园年月', 'ym'),
    f('leaveReason', '离园原因', 'text', { max: 500 }),
  ],
  //
  // –R-15.1 (node/growth): the field forms only; module names, scales and credit rules
  // are the growth rules' data, checked by node/growth/rules.ts at the home node.
  growth_courses: [
    req('term', '学年学期', 'term'),
    req('moduleCode', '模块代码', 'text', { max: 20 }),
    req('name', '课程（模块）名称', 'text', { max: 100 }),
    req('classHours', '学时', 'int', { min: 0, maxValue: 1000 }),
    f('examScore', '考试成绩', 'number'),
    req('credits', '学分', 'number'),
    f('proficiencyScore', '会考成绩', 'number'),
  ],
  growth_practices: [
    req('kind', '活动类别', 'text', { max: 30 }),
    req('term', '学年学期', 'term'),
    req('topic', '课题或内容', 'text', { max: 200 }),
    f('members', '课题组成员', 'text', { max: 500 }),
    f('outcome', '研究成果', 'text', { max: 1000 }),
    f('tasks', '承担任务', 'text', { max: 500 }),
    f('place', '地点', 'text', { max: 200 }),
    req('fromDate', '时间', 'date'),
    f('toDate', '结束时间', 'date'),
    req('evaluation', '评价', 'text', { max: 20 }),
  ],
  growth_qualities: [
    req('term', '学年学期', 'term'),
    req('moralDescription', '思想品德描述', 'text', { max: 2000 }),
    req('aesthetics', '审美与艺术', 'number'),
    req('sport', '运动与健康', 'number'),
    req('inquiry', '探究与实践', 'number'),
    req('labour', '劳动与技能', 'number'),
  ],
  growth_evaluations: [f('overallComment', '综合评语', 'text', { max: 2000 })],
  growth_objections: [req('reason', '异议内容', 'text', { max: 500 }), f('answer', '学校答复', 'text', { max: 500 })],
  // Change requests (node/change-requests): the typed parts; the patch is the subject record's own fields, checked by its validators.
  change_requests: [
    req('reason', '申请理由', 'text', { max: 500 }),
    req('patch', '变更内容', 'text', { max: 200_000 }),
    f('bureauReason', '教育局意见', 'text', { max: 500 }),
    f('provinceReason', '省级意见', 'text', { max: 500 }),
    f('failureMessage', '未能办理的原因', 'text', { max: 500 }),
  ],
  child_status_changes: statusChange().map(fl =>
    fl.key === 'responsibility' ? { ...fl, label: '幼儿园责任' } : fl.key === 'changeType' ? { ...fl, table: 'child_status_change_type' } : fl,
  ),
}

/** The record tables that have fields (every replicated table except problem records). */
export type RecordTable = keyof typeof FIELDS

export function fieldsOf(table: string): Field[] {
  const fields = FIELDS[table]
  if (!fields) throw new Error(`no field list for table ${table}`)
  return fields
}
