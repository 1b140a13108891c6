import { addDays, birthRange, dateBetween, ym, type Term } from './calendar.ts'
import { personName } from './names.ts'
import { documents, family, person, recent, verification, type SeedContext } from './people.ts'
import type { ClassPlan, Cohort, SchoolPlan } from './schools.ts'
import { stageOf } from './schools.ts'
import type { Rng } from './random.ts'
import type { Row } from './writer.ts'
import { systemActor } from '../../node/services/records/service.ts'

const SEED = systemActor('seed', { initialEntry: true })

/** What happened to a pupil; drives the state column and the status-change records. */
type Fate = 'stays' | 'transferred_in' | 'resumed' | 'pending_transfer' | 'repeated' | 'suspended' | 'transferred_out' | 'withdrawn' | 'expelled' | 'deceased'

/** Yearly rates of the rarer events (Zhejiang orders of magnitude, not statistics). */
function drawFate(rng: Rng, grade: number, forceDeath: boolean): Fate {
  if (forceDeath) return 'deceased'
  const r = rng.float()
  const senior = grade >= 10
  if (r < 0.0003) return 'deceased'
  if (r < 0.0063) return 'transferred_out'
  if (r < 0.0093) return 'suspended'
  if (senior && r < 0.0113) return 'withdrawn'
  if (senior && r < 0.0118) return 'expelled'
  if (r < 0.03) return 'transferred_in'
  if (r < 0.033) return 'pending_transfer'
  if (r < 0.035) return 'resumed'
  if (grade > 1 && r < 0.039) return 'repeated'
  return 'stays'
}

const KINDERGARTEN_WORDS = ['实验幼儿园', '中心幼儿园', '阳光幼儿园', '蓝天幼儿园', '育英幼儿园', '艺术幼儿园']
const DEATH_CAUSES = ['溺水', '交通事故', '疾病（急性白血病）', '疾病（先天性心脏病）', '意外坠落', '疾病（重症肺炎）']
const COMMENTS = ['学习认真，积极参加集体活动，望继续努力。', '思维活跃，乐于助人，书写还需更加工整。', '尊敬师长，团结同学，成绩稳步提高。', '性格开朗，热爱劳动，课堂发言积极。', '踏实肯学，有上进心，希望多参加体育锻炼。']
const GRADUATION = ['品学兼优，全面发展，准予毕业。', '遵守纪律，学业合格，准予毕业。', '勤奋好学，积极进取，祝前程似锦。']
const LETTERS = ['优', '优', '良', '良', '合格']

export interface StudentSlot {
  plan: SchoolPlan
  cohort: Cohort
  cls: ClassPlan
  /** 1-based seat in the class, for the school's own 学号. */
  seat: number
  forceDeath: boolean
  /** Codes of other schools a pupil can come from or go to. */
  otherSchools: string[]
  /** Division codes anywhere in Zhejiang, for source areas of pupils from outside the node. */
  zhejiang: string[]
}

/** Writes one student with every sub-record (R-10.2 … ). */
export function writeStudent(ctx: SeedContext, s: StudentSlot): void {
  const { rng, cal, writer } = ctx
  const { plan, cohort, cls } = s
  const Y = cal.year
  const grade = cohort.grade
  const stage = stageOf(grade)
  const gender = rng.chance(0.52) ? '1' : '2'
  const fate: Fate = cohort.graduated ? 'stays' : drawFate(rng, grade, s.forceDeath)
  const repeated = fate === 'repeated' && grade > cohort.entryGrade
  // A repeater is a year older than the grade and entered the school a year before the cohort.
  const [from, to] = birthRange(cohort.graduated ? Y - 1 : Y, grade)
  const shift = repeated ? -1 : 0
  const birthDate = dateBetween(rng, `${+from.slice(0, 4) + shift}${from.slice(4)}`, `${+to.slice(0, 4) + shift}${to.slice(4)}`)
  const county = rng.chance(0.85) ? plan.county : rng.pick(ctx.area.counties)

  const p = person(ctx, { birthDate, gender, county })
  const docs = documents(ctx, p, plan.county.code, true)
  const studentId = ctx.newId()
  const studentNo = docs.student_no as string

  // Entry to this school: with the cohort, or later by transfer.
  let entryDate = `${cohort.entryYear + shift}-09-01`
  const transferredIn = fate === 'transferred_in' && grade > cohort.entryGrade
  let previousSchool: string | null = cohort.entryGrade > 1 ? rng.pick(s.otherSchools) : null
  if (transferredIn) {
    entryDate = dateBetween(rng, addDays(entryDate, 365), addDays(cal.asOf, -1))
    previousSchool = rng.pick(s.otherSchools)
  }
  const leaving = fate === 'transferred_out' || fate === 'withdrawn' || fate === 'expelled' || fate === 'deceased'
  // Leavers go after last term's exams, so no record is dated after the pupil left.
  const leaveDate = cohort.graduated ? `${Y}-07-10` : leaving ? recent(ctx, 200, maxDate(entryDate, addDays(cal.previous.final, 1))) : null

  // Where the student's history ends (the workflow below gets them there): decides registration.
  const state = cohort.graduated ? 'graduated' : fate === 'suspended' ? 'suspended' : leaving ? 'left' : 'in_school'
  const disabled = p.row.health === '6'
  const political = stage === 'primary' ? (grade >= 2 ? '14' : rng.chance(0.5) ? '14' : '13') : stage === 'junior' ? (rng.chance(grade === 9 ? 0.4 : 0.15) ? '03' : rng.chance(0.7) ? '14' : '13') : rng.chance(0.75) ? '03' : '13'
  writer.insert('students', {
    id: studentId,
    school_id: plan.id,
    school_code: plan.code,
    class_id: cls.id,
    student_no: studentNo,
    school_student_no: `${cohort.entryYear}${String(cls.number).padStart(2, '0')}${String(s.seat).padStart(3, '0')}`,
    ...docs,
    enrolment_ym: ym(entryDate),
    student_category: disabled ? rng.pick(['11', '12', '13', '19']) : '00',
    political,
    email: stage === 'senior' && rng.chance(0.2) ? `${(p.row.name_pinyin as string).replaceAll(' ', '')}${rng.int(1, 9999)}@qq.com` : null,
    homepage: null,
    // Every student starts in school; the workflow and completion below move the state.
    state: 'in_school',
  }, verification(ctx), p.row)
  const sub = (table: string, row: Row) => {
    row.student_id = studentId
    writer.insert(table, row)
  }

  // résumé: the stage before this school, then this school.
  const earlier = cohort.entryGrade === 1 ? null : cohort.entryGrade === 7 ? { years: 6, word: '小学' } : { years: 3, word: '初级中学' }
  if (earlier) {
    sub('student_resumes', { from_ym: `${cohort.entryYear - earlier.years}-09`, to_ym: `${cohort.entryYear}-07`, school_name: `${plan.county.fullName}${rng.pick(['城关', '城南', '实验', '育才', '东方'])}${earlier.word}`, post: rng.chance(0.1) ? rng.pick(['班长', '学习委员', '中队长']) : null, witness: personName(rng, rng.chance(0.7) ? '2' : '1'), remarks: null })
  } else {
    sub('student_resumes', { from_ym: `${cohort.entryYear - 3}-09`, to_ym: `${cohort.entryYear}-07`, school_name: `${plan.county.fullName}${rng.pick(KINDERGARTEN_WORDS)}`, post: null, witness: personName(rng, '2'), remarks: null })
  }
  sub('student_resumes', { from_ym: ym(entryDate), to_ym: leaveDate ? ym(leaveDate) : null, school_name: plan.name, post: rng.chance(0.12) ? rng.pick(['班长', '学习委员', '文艺委员', '体育委员', '课代表', '小组长']) : null, witness: rng.pick(plan.teachers), remarks: null })

  // guardians and family.
  const fam = family(ctx, p, county, (p.row.only_child as boolean | null) ?? null)
  for (const g of fam.guardians) sub('student_guardians', g)
  for (const m of fam.members) sub('student_family_members', m)

  // enrolment.
  sub('student_enrolments', {
    previous_school_code: previousSchool,
    enrolment_ym: ym(entryDate),
    enrolment_way: transferredIn ? '6' : stage === 'senior' ? (rng.chance(0.97) ? '2' : rng.pick(['4', '5'])) : rng.chance(0.97) ? '1' : rng.pick(['2', '9']),
    source_area: transferredIn ? rng.pick(s.zhejiang) : p.row.household_registration ?? plan.county.code,
    student_source: rng.chance(0.985) ? '1' : '2',
    study_way: stage === 'senior' ? (rng.chance(0.55) ? '2' : '1') : plan.category === '218' || rng.chance(0.97) ? '1' : '2',
    financial_aid: rng.chance(0.03) ? '1' : rng.chance(0.01) ? '2' : '0',
  })

  // registration for the current term (pupils still on the roll).
  const current = cal.current
  if ((state === 'in_school' || state === 'suspended') && entryDate <= current.start) {
    const r = rng.float()
    const status = state === 'suspended' ? '3' : r < 0.97 ? '1' : r < 0.98 ? '2' : '3'
    sub('student_registrations', {
      term: current.code,
      class_code: cls.code,
      status,
      due_date: current.due,
      actual_date: status === '1' ? dateBetween(rng, current.start, minDate(current.due, cal.asOf)) : null,
      late_reason: status === '1' ? null : state === 'suspended' ? '休学' : rng.pick(['因病请假，暂缓注册', '随父母外出，尚未返校', '转学手续办理中']),
    })
  }

  // exams of the last finished term, if the pupil was there for it.
  const prev = cal.previous
  if (entryDate <= prev.start && (!leaveDate || leaveDate > prev.final)) {
    writeExams(ctx, sub, prev, gradeDuring(cohort, +prev.code.slice(0, 4), Y) + (repeated ? 1 : 0))
  }

  // awards and punishments.
  const end = leaveDate ?? cal.asOf
  if (rng.chance(0.06) && entryDate < addDays(end, -2)) sub('student_awards', award(ctx, plan, entryDate, leaveDate, stage))
  if (stage !== 'primary' && rng.chance(0.006) && addDays(entryDate, 30) < addDays(end, -1)) {
    const given = dateBetween(rng, addDays(entryDate, 30), addDays(end, -1))
    const revokeFrom = addDays(given, 180)
    const revoked = revokeFrom < cal.asOf && rng.chance(0.6) ? dateBetween(rng, revokeFrom, minDate(addDays(given, 365), addDays(cal.asOf, -1))) : null
    sub('student_punishments', { name: rng.pick(['1', '1', '2', '3']), reason: rng.pick(['考试作弊', '打架斗殴', '多次旷课', '携带手机进入考场', '破坏公物']), punished_on: given, revoked_on: revoked })
  }

  // status changes go through the workflow like any school's (node/status-changes): applied
  // within days of the change, approved and carried out by the bureau days later, which moves the
  // student's state. The services' clock is set to each step's day of that history.
  const { statusChanges, records, verifyChange, clock } = ctx.services
  const on = (date: string) => (clock.at = `${minDate(date, cal.asOf)}T02:00:00.000Z`)
  const change = (row: Row, result: string | null) => {
    const applied = minDate(addDays(row.changeDate as string, rng.int(0, 6)), cal.asOf)
    on(applied)
    const a = statusChanges.apply(SEED, 'student', studentId, {
      previousSchoolCode: plan.code, currentSchoolCode: plan.code, previousStudentNo: studentNo, currentStudentNo: studentNo, ...row,
    })
    if (result === null) return
    const version = verifyChange(String(a.id), plan.code)
    const approval = minDate(addDays(applied, rng.int(1, 10)), cal.asOf)
    on(approval)
    statusChanges.review(SEED, String(a.id), { version, decision: 'approve', approvalDocNo: `${plan.county.name.slice(0, 1)}教学籍〔${approval.slice(0, 4)}〕${rng.int(1, 300)}号` })
    statusChanges.carryOut(SEED, String(a.id), { version: version + 1, result })
  }
  switch (fate) {
    case 'transferred_in':
      // The receiving school's copy of a transfer in from elsewhere (the handoff): history
      // of another node's workflow, so written as such; it moves no state here.
      if (transferredIn) {
        const approval = minDate(addDays(entryDate, rng.int(1, 10)), cal.asOf)
        sub('student_status_changes', {
          change_type: '22', change_date: entryDate, reason: '随父母工作调动转学', processing_status: '5', result: '已转入', approval_date: approval,
          approval_doc_no: `${plan.county.name.slice(0, 1)}教学籍〔${approval.slice(0, 4)}〕${rng.int(1, 300)}号`,
          previous_school_code: previousSchool, current_school_code: plan.code, previous_student_no: studentNo, current_student_no: studentNo, applied_on: entryDate, unit_code: plan.code, ...verification(ctx),
        })
      }
      break
    case 'transferred_out':
      change({ changeType: '21', changeDate: leaveDate, reason: rng.pick(['随父母工作调动转学', '家庭搬迁转学', '回户籍地就读']), currentSchoolCode: rng.pick(s.otherSchools) }, '已转出')
      break
    case 'pending_transfer':
      change({ changeType: '21', changeDate: recent(ctx, 20, entryDate), reason: '家庭搬迁转学', currentSchoolCode: rng.pick(s.otherSchools), currentStudentNo: null }, null)
      break
    case 'suspended':
      change({ changeType: '11', changeDate: recent(ctx, 200, entryDate), reason: rng.pick(['因病休学', '因伤休学']) }, '休学一年')
      break
    case 'resumed': {
      // 休学 then 复学: a year apart, both before today.
      const back = recent(ctx, 300, addDays(entryDate, 366))
      const away = addDays(back, -rng.int(180, 365))
      if (away >= entryDate) {
        change({ changeType: '11', changeDate: away, reason: '因病休学' }, '休学')
        change({ changeType: '12', changeDate: back, reason: '病愈复学' }, '复学')
      }
      break
    }
    case 'repeated':
      if (repeated) change({ changeType: '02', changeDate: `${Y}-07-05`, reason: '因病缺课过多，家长申请留级', targetClassId: cls.id }, '留级一年')
      break
    case 'withdrawn':
      change({ changeType: '31', changeDate: leaveDate, reason: '本人申请退学' }, '已退学')
      break
    case 'expelled':
      sub('student_punishments', { name: '5', reason: '严重违反校规校纪', punished_on: leaveDate, revoked_on: null })
      change({ changeType: '42', changeDate: leaveDate, reason: '严重违反校规校纪' }, '开除学籍')
      break
    case 'deceased': {
      const died = addDays(leaveDate!, -rng.int(0, 3))
      change({
        changeType: '51', changeDate: maxDate(leaveDate!, died), reason: '死亡', currentSchoolCode: null, currentStudentNo: null,
        deathDate: maxDate(died, entryDate), deathCause: rng.pick(DEATH_CAUSES), responsibility: rng.chance(0.9) ? '1' : '9', reviewOpinion: '经核查属实，同意注销学籍。',
      }, '注销学籍')
      break
    }
  }

  // completion for last summer's graduates, through the records service (which graduates them).
  if (cohort.graduated) {
    records.create(SEED, 'student_completions', { graduatingSchoolCode: plan.code, completionYm: `${Y}-07`, reason: '毕业', comment: rng.pick(GRADUATION) }, studentId, { read: false })
  }
}

/** Grade of the cohort in school year `year` (the graduated cohort finished its grade in Y-1). */
function gradeDuring(cohort: Cohort, year: number, Y: number): number {
  return cohort.grade - ((cohort.graduated ? Y - 1 : Y) - year)
}

const SUBJECTS = {
  primary: ['语文', '数学', '英语'],
  junior: ['语文', '数学', '英语', '科学'],
  senior: ['语文', '数学', '英语', '物理', '化学'],
}

function writeExams(ctx: SeedContext, sub: (table: string, row: Row) => void, t: Term, grade: number): void {
  const rng = ctx.rng
  if (grade < 1) return
  const ability = rng.around(80, 40, 35, 100)
  const score = () => Math.round(rng.around(ability, 16, 20, 100) * 2) / 2
  const stage = stageOf(grade)
  // Grades 1–2 have no written exams with scores (减负): a 等级 for 语文 and 数学 at the end of term.
  if (grade <= 2) {
    for (const course of ['语文', '数学']) {
      sub('student_exams', { term: t.code, exam_date: t.final, course, exam_form: '6', exam_category: '3', score: null, grade_letter: rng.pick(LETTERS), term_comment: course === '语文' ? rng.pick(COMMENTS) : null })
    }
    return
  }
  const courses = grade === 3 || grade === 4 ? SUBJECTS.primary.slice(0, 3) : SUBJECTS[stage]
  // The end-of-term exams only: the record keeps what goes on the report card (期中 results stay
  // in the school's own gradebook), which also keeps the seed fast.
  for (const course of courses) {
    sub('student_exams', { term: t.code, exam_date: t.final, course, exam_form: '1', exam_category: '3', score: score(), grade_letter: null, term_comment: course === '语文' ? rng.pick(COMMENTS) : null })
  }
}

const AWARDS: Array<{ name: string; level: string; category: string; unit: 'school' | 'county' | 'city' | 'province'; stages?: string[] }> = [
  { name: '校级三好学生', level: '5', category: '1', unit: 'school' },
  { name: '校级优秀学生干部', level: '5', category: '2', unit: 'school' },
  { name: '区（县）级三好学生', level: '4', category: '1', unit: 'county' },
  { name: '区（县）中小学生运动会田径项目第一名', level: '4', category: '4', unit: 'county' },
  { name: '市中小学生科技创新大赛一等奖', level: '3', category: '5', unit: 'city' },
  { name: '市级优秀学生干部', level: '3', category: '2', unit: 'city' },
  { name: '全国中学生数学奥林匹克竞赛（浙江赛区）二等奖', level: '2', category: '3', unit: 'province', stages: ['junior', 'senior'] },
  { name: '浙江省中小学生艺术节一等奖', level: '2', category: '4', unit: 'province' },
  { name: '见义勇为好少年', level: '4', category: '6', unit: 'county' },
  { name: '学校奖学金', level: '5', category: '7', unit: 'school', stages: ['senior'] },
]

function award(ctx: SeedContext, plan: SchoolPlan, entryDate: string, leaveDate: string | null, stage: string): Row {
  const rng = ctx.rng
  const choices = AWARDS.filter(a => !a.stages || a.stages.includes(stage))
  const a = rng.pick(choices)
  const when = dateBetween(ctx.rng, entryDate, addDays(leaveDate ?? ctx.cal.asOf, -1))
  const unit = a.unit === 'school' ? plan.name : a.unit === 'county' ? `${plan.county.fullName}教育局` : a.unit === 'city' ? `${plan.county.cityName}教育局` : '浙江省教育厅'
  return {
    name: a.name,
    level: a.level,
    category: a.category,
    reason: rng.pick(['品学兼优', '成绩突出', '表现优异', '积极参加活动并取得优异成绩']),
    amount: a.category === '7' ? rng.pick([500, 800, 1000, 2000]) : null,
    document_no: a.unit === 'school' ? null : `${unit.slice(0, 2)}教〔${when.slice(0, 4)}〕${rng.int(1, 200)}号`,
    award_ym: ym(when),
    awarding_unit: unit,
  }
}

const minDate = (a: string, b: string) => (a < b ? a : b)
const maxDate = (a: string, b: string) => (a > b ? a : b)
