/**
 * The growth service: writes a senior high student's course, practice and quality
 * records, each write one transaction that checks, writes the record with its outbox row, and
 * regenerates the student's comprehensive evaluation from the records it depends on (its own
 * outbox row when a figure moved). The evaluation's overall comment is the only typed part of it.
 */
import type { CodeRegistry } from '../../schema/codes/index.ts'
import type { Storage } from '../../schema/db.ts'
import { auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { recordError } from '../records/errors.ts'
import { prepareRecord, type RecordInput } from '../records/validate.ts'
import { resource, type ResourceSpec } from '../services/records/resources.ts'
import type { RecordsActor } from '../services/records/service.ts'
import { createStore, fromSql, type Rec, type SqlRow } from '../services/records/store.ts'
import { targetOfRow } from '../auth/targets.ts'
import { maskValue } from '../auth/sensitive.ts'
import { growthError } from './errors.ts'
import { chinaToday } from '../records/validate.ts'
import { PROVINCE_RULES, assertNoGenerated, assertNotReported, reportDeadlines, checkCourse, checkPractice, checkQuality, evaluate, isSeniorHigh, type Evaluation, type GrowthRules } from './rules.ts'
import { newRecordId } from '../../schema/record-ids.ts'

/**
 * whether `input` may become the 公示 period of a grade's evaluation rows on `today`. The
 * period starts no earlier than today, unless every one of them has a running period (opened,
 * not yet ended) with that start, which is then kept; a running period never ends sooner. Refused
 * with GROWTH_PUBLICITY_INVALID naming the rule.
 */
function assertPublicityPeriod(evaluations: SqlRow[], input: { from: string; to: string }, today: string): void {
  const running = evaluations.filter(e => e.public_from !== null && e.public_to !== null && String(e.public_from) <= today && today <= String(e.public_to))
  const open = running[0] ? { publicFrom: running[0].public_from, publicTo: running[0].public_to } : {}
  if (input.from < today && !(running.length > 0 && running.length === evaluations.length && running.every(e => e.public_from === input.from))) {
    throw growthError('GROWTH_PUBLICITY_INVALID', `公示期不能早于今天（${today}）开始：公示须有真实的公示时间，结束后方可上报`, { field: 'from', rule: 'not_before_today', today, ...open })
  }
  const shortened = running.find(e => input.to < String(e.public_to))
  if (shortened) {
    throw growthError('GROWTH_PUBLICITY_INVALID', `公示已于 ${String(shortened.public_from)} 开始，结束日期 ${String(shortened.public_to)} 只能延后，不能提前`, {
      field: 'to', rule: 'not_shortened', today, publicFrom: shortened.public_from, publicTo: shortened.public_to,
    })
  }
}

/** The three kinds of growth record and their tables. */
export const GROWTH_KINDS = {
  courses: { table: 'growth_courses', check: (rules: GrowthRules, codes: CodeRegistry, rec: Rec) => checkCourse(rules, codes, rec) },
  practices: { table: 'growth_practices', check: (rules: GrowthRules, _codes: CodeRegistry, rec: Rec) => checkPractice(rules, rec) },
  qualities: { table: 'growth_qualities', check: (rules: GrowthRules, _codes: CodeRegistry, rec: Rec) => checkQuality(rules, rec) },
} as const
export type GrowthKind = keyof typeof GROWTH_KINDS

const SYSTEM_KEYS = new Set(['id', 'homeNode', 'version', 'epoch', 'createdAt', 'updatedAt', 'verifyState', 'enteredBy', 'enteredAt', 'verifiedBy', 'verifiedAt', 'returnReason', 'firstVerifiedAt', 'studentId'])

export interface GrowthServiceDeps {
  storage: Storage
  identity: { code: string }
  codes: CodeRegistry
  rules?: GrowthRules
  now?: () => Date
}

/** A student's growth file as read: records, the in-school exams of, the evaluation and its sources. */
export interface GrowthFile {
  student: { id: string; name: string; studentNo: string; schoolCode: string; grade: number | null; className: string | null; schoolName: string | null }
  courses: Rec[]
  exams: Rec[]
  practices: Rec[]
  qualities: Rec[]
  evaluation: Rec | null
  /** Objections raised during the 公示 period, with the school's answers. */
  objections: Rec[]
  sources: Evaluation['sources'] | null
  rules: { edition: string; title: string }
}

const notFound = () => authError('NOT_FOUND', '未找到该记录')

export function createGrowthService(deps: GrowthServiceDeps) {
  const { storage, identity, codes } = deps
  const rules = deps.rules ?? PROVINCE_RULES
  const now = deps.now ?? (() => new Date())
  const store = createStore(storage)
  const STUDENTS = resource('students')
  const EVALUATION = resource('growth_evaluations')

  /** The student row the actor reaches (404 otherwise, missing and out of scope alike). */
  function studentRow(actor: RecordsActor, studentId: string): SqlRow {
    const row = store.row(STUDENTS, studentId)
    if (!row) throw notFound()
    if (!actor.unrestricted && !actor.reach(targetOfRow(storage, 'students', row))) throw notFound()
    return row
  }

  /** and ownership: growth records are written at the student's home node, for senior high students. */
  function writableStudent(actor: RecordsActor, studentId: string): SqlRow {
    const row = studentRow(actor, studentId)
    if (row.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', `该学生属于节点 ${String(row.home_node)}，成长记录只能在其所属节点录入`, { homeNode: row.home_node })
    const school = store.get('select category from schools where id = ?', row.school_id)
    const cls = row.class_id ? store.get('select grade from school_classes where id = ?', row.class_id) : undefined
    if (!isSeniorHigh(rules, school?.category, cls?.grade)) {
      throw growthError('GROWTH_NOT_SENIOR_HIGH', '成长记录和综合素质评价只适用于普通高中（含综合高中普通班）10–12 年级学生', { rule: 'senior_high' })
    }
    const ev = store.get('select * from growth_evaluations where student_id = ?', row.id)
    // The patch of an approved change request (node/change-requests, R-24.2) passes the reported lock.
    if (actor.changeRequest === undefined) assertNotReported(ev ? fromSql(EVALUATION, ev) : undefined)
    return row
  }

  function recordOf(spec: ResourceSpec, studentId: string, id: string): SqlRow {
    const row = store.row(spec, id)
    if (!row || row.student_id !== studentId) throw notFound()
    return row
  }

  const rowsOf = (table: string, studentId: string) => store.all(`select * from ${table} where student_id = ? order by term, rowid`, studentId)

  /**
   * Regenerates the evaluation of a student from the records as they are now (inside the write).
   * Written only when a figure moved; a new figure puts a verified evaluation back to entered.
   */
  function regenerate(actor: RecordsActor, student: SqlRow, at: string): void {
    const studentId = String(student.id)
    const courses = rowsOf('growth_courses', studentId).map(r => fromSql(resource('growth_courses'), r))
    const qualities = rowsOf('growth_qualities', studentId).map(r => fromSql(resource('growth_qualities'), r))
    const { figures } = evaluate(rules, courses, qualities)
    const row = store.get('select * from growth_evaluations where student_id = ?', studentId)
    if (!row) {
      store.insert(EVALUATION, {
        id: newRecordId(), homeNode: identity.code, version: 1, epoch: student.epoch, createdAt: at, updatedAt: at, studentId,
        overallComment: null, ...figures, verifyState: 'entered', enteredBy: actor.accountId, enteredAt: at,
      }, actor.accountId)
      return
    }
    const current = fromSql(EVALUATION, row)
    if (Object.entries(figures).every(([k, v]) => current[k] === v)) return
    store.update(EVALUATION, { ...current, ...figures, ...entered(actor, at), version: Number(row.version) + 1, epoch: student.epoch, updatedAt: at }, actor.accountId)
  }

  /** any change makes a record unverified again, entered by the writer. */
  const entered = (actor: RecordsActor, at: string) => ({ verifyState: 'entered', enteredBy: actor.accountId, enteredAt: at, verifiedBy: null, verifiedAt: null, returnReason: null })

  function prepare(kind: GrowthKind, input: RecordInput, student: SqlRow): Rec {
    const spec = resource(GROWTH_KINDS[kind].table)
    const prepared = prepareRecord(spec.table, input, { codes, now: now(), nodeCode: identity.code, parent: fromSql(STUDENTS, student) })
    return GROWTH_KINDS[kind].check(rules, codes, prepared)
  }

  function write<T>(fn: () => T, target?: (r: T) => { targetTable: string; targetId: string }): T {
    try {
      return auditedWrite(storage, fn, target)
    } catch (err) {
      const e = err as { code?: string }
      if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE') throw recordError('RECORD_DUPLICATE_KEY', '该学生本学期已有素质发展记录，请修改已有记录', { field: 'term', rule: 'unique' })
      throw err
    }
  }

  return {
    rules,

    /**
     * The student's growth file (records, exams shown from, evaluation with its sources).
     * The 学籍号 is masked like every other read (a G-form one is the ID number, R-27.1) unless
     * the caller, having checked the actor's grant and audited the disclosure, asks it `clear`.
     */
    file(actor: RecordsActor, studentId: string, studentNo: 'masked' | 'clear' = 'masked'): GrowthFile {
      const s = studentRow(actor, studentId)
      const read = (table: string) => rowsOf(table, studentId).map(r => fromSql(resource(table), r))
      const courses = read('growth_courses')
      const qualities = read('growth_qualities')
      const ev = store.get('select * from growth_evaluations where student_id = ?', studentId)
      const cls = s.class_id ? store.get('select grade, name from school_classes where id = ?', s.class_id) : undefined
      const school = store.get('select name from schools where id = ?', s.school_id)
      return {
        student: {
          id: studentId, name: String(s.name), studentNo: String(studentNo === 'clear' ? s.student_no : maskValue('id_number', s.student_no)), schoolCode: String(s.school_code),
          grade: typeof cls?.grade === 'number' ? cls.grade : null, className: typeof cls?.name === 'string' ? cls.name : null, schoolName: typeof school?.name === 'string' ? school.name : null,
        },
        courses,
        exams: store.all('select * from student_exams where student_id = ? order by term, exam_date, rowid', studentId).map(r => fromSql(resource('student_exams'), r)),
        practices: read('growth_practices'),
        qualities,
        evaluation: ev ? fromSql(EVALUATION, ev) : null,
        objections: store.all('select * from growth_objections where student_id = ? order by raised_at, rowid', studentId).map(r => fromSql(resource('growth_objections'), r)),
        // Recomputed on read from the same records and rules: what each stored figure came from.
        sources: ev ? evaluate(rules, courses, qualities).sources : null,
        rules: { edition: rules.edition, title: rules.title },
      }
    },

    /** The files of a class's students in school, in 学号 order (the class export); 404 outside the actor's reach. */
    classFiles(actor: RecordsActor, classId: string, studentNo: 'masked' | 'clear' = 'masked'): GrowthFile[] {
      const cls = store.get('select * from school_classes where id = ?', classId)
      if (!cls || (!actor.unrestricted && !actor.reach(targetOfRow(storage, 'school_classes', cls)))) throw notFound()
      return store.all("select id from students where class_id = ? and state = 'in_school' order by school_student_no, student_no", classId)
        .map(r => this.file(actor, String(r.id), studentNo))
    },

    /**
     * the school reports a grade's verified growth records to its bureau. Every evaluation
     * of the grade's students in school and every record behind it must be verified; each
     * evaluation is stamped (and locked) in one transaction. A report after the deadline is
     * accepted and answered `late: true`, so progress shows it.
     */
    schoolReport(actor: RecordsActor, schoolId: string, input: { schoolYear: number; grade: number }): { reported: number; deadline: string; late: boolean } {
      const { school: deadline } = reportDeadlines(rules, input.schoolYear, input.grade)
      const at = now().toISOString()
      const reported = write(() => {
        const school = store.get('select * from schools where id = ?', schoolId)
        if (!school || (!actor.unrestricted && !actor.reach({ ...targetOfRow(storage, 'schools', school), wholeSchool: true }))) throw notFound()
        if (school.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', '该学校由其他节点管理，只能在其所属节点上报', { homeNode: school.home_node })
        const students = store.all(
          "select s.* from students s join school_classes c on c.id = s.class_id where s.school_id = ? and c.grade = ? and s.state = 'in_school'", schoolId, input.grade)
        const evaluations = students.map(s => store.get('select * from growth_evaluations where student_id = ?', s.id))
        const done = evaluations.filter(e => e && e.reported_at !== null).length
        if (done > 0) throw growthError('GROWTH_ALREADY_REPORTED', '该年级的成长记录已经上报', { reported: done })
        let unverified = evaluations.filter(e => !e || e.verify_state !== 'verified').length
        for (const table of ['growth_courses', 'growth_practices', 'growth_qualities']) {
          for (const s of students) unverified += Number(store.get(`select count(*) n from ${table} where student_id = ? and verify_state <> 'verified'`, s.id)!.n)
        }
        if (unverified > 0) throw growthError('GROWTH_NOT_VERIFIED', `尚有 ${unverified} 条成长记录或评价未经评价领导小组核对，不能上报`, { unverified })
        const today = chinaToday(now())
        if (evaluations.some(e => e!.public_to === null || String(e!.public_to) >= today)) {
          throw growthError('GROWTH_PUBLICITY_PENDING', '该年级的综合素质评价尚未公示或公示期未结束，不能上报', { rule: 'publicity' })
        }
        if (students.some(s => store.get('select 1 from growth_objections where student_id = ? and answer is null', s.id))) {
          throw growthError('GROWTH_PUBLICITY_PENDING', '公示期间提出的异议尚未答复，不能上报', { rule: 'objection' })
        }
        for (const e of evaluations) {
          const cur = fromSql(EVALUATION, e!)
          store.update(EVALUATION, { ...cur, reportYear: input.schoolYear, reportGrade: input.grade, reportedAt: at, version: Number(e!.version) + 1, updatedAt: at }, actor.accountId)
        }
        return evaluations.length
      })
      return { reported, deadline, late: chinaToday(now()) > deadline }
    },

    /**
     * the school opens the 公示 period of a grade's verified evaluations: from `from` to
     * `to` (China dates, both included) the students see their evaluation and may object. Returns
     * how many. The period starts no earlier than today (by the node's clock), so it is a real one
     * before any report; a period that has opened and not yet ended is only extended: it keeps its
     * start or starts anew today or later, and ends no sooner than it did. One not yet open may be
     * moved; after one has ended a new one starts today or later.
     */
    publicity(actor: RecordsActor, schoolId: string, input: { grade: number; from: string; to: string }): { evaluations: number } {
      const date = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/
      if (!date.test(input.from) || !date.test(input.to) || input.from > input.to) throw growthError('GROWTH_PUBLICITY_INVALID', '公示期应为两个日期（YYYY-MM-DD），且开始不晚于结束', { field: 'from', rule: 'dates' })
      const at = now().toISOString()
      const today = chinaToday(now())
      return write(() => {
        const school = store.get('select * from schools where id = ?', schoolId)
        if (!school || (!actor.unrestricted && !actor.reach({ ...targetOfRow(storage, 'schools', school), wholeSchool: true }))) throw notFound()
        if (school.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', '该学校由其他节点管理', { homeNode: school.home_node })
        const evaluations = store.all(
          "select e.* from growth_evaluations e join students s on s.id = e.student_id join school_classes c on c.id = s.class_id where s.school_id = ? and c.grade = ? and s.state = 'in_school'", schoolId, input.grade)
        const unverified = evaluations.filter(e => e.verify_state !== 'verified').length
        if (unverified > 0) throw growthError('GROWTH_NOT_VERIFIED', `尚有 ${unverified} 份综合素质评价未核对，不能公示`, { unverified })
        for (const e of evaluations) assertNotReported(fromSql(EVALUATION, e))
        assertPublicityPeriod(evaluations, input, today)
        for (const e of evaluations) {
          store.update(EVALUATION, { ...fromSql(EVALUATION, e), publicFrom: input.from, publicTo: input.to, version: Number(e.version) + 1, updatedAt: at }, actor.accountId)
        }
        return { evaluations: evaluations.length }
      })
    },

    /** the student (or guardians, on the student's account) objects to their evaluation during its 公示 period. */
    object(actor: RecordsActor, studentId: string, reason: unknown): Rec {
      const at = now().toISOString()
      const OBJECTIONS = resource('growth_objections')
      const row = write(() => {
        const student = studentRow(actor, studentId)
        if (student.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', '该学生的成长记录由其他节点管理', { homeNode: student.home_node })
        const ev = store.get('select * from growth_evaluations where student_id = ?', studentId)
        const today = chinaToday(now())
        if (!ev || ev.public_from === null || today < String(ev.public_from) || today > String(ev.public_to)) {
          throw growthError('GROWTH_NOT_IN_PUBLICITY', '只能在综合素质评价公示期间提出异议', { publicFrom: ev?.public_from ?? null, publicTo: ev?.public_to ?? null })
        }
        const prepared = prepareRecord('growth_objections', { reason }, { codes, now: now(), nodeCode: identity.code })
        return store.insert(OBJECTIONS, {
          id: newRecordId(), homeNode: identity.code, version: 1, epoch: student.epoch, createdAt: at, updatedAt: at, studentId,
          reason: prepared.reason, raisedBy: actor.accountId, raisedAt: at, answer: null, answeredBy: null, answeredAt: null,
        }, actor.accountId)
      }, r => ({ targetTable: 'growth_objections', targetId: String(r.id) }))
      return fromSql(OBJECTIONS, row)
    },

    /** The school's answer to an objection (the evaluation leading group). */
    answer(actor: RecordsActor, studentId: string, id: string, answer: unknown): Rec {
      const at = now().toISOString()
      const OBJECTIONS = resource('growth_objections')
      write(() => {
        const student = studentRow(actor, studentId)
        if (student.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', '该学生的成长记录由其他节点管理', { homeNode: student.home_node })
        const row = recordOf(OBJECTIONS, studentId, id)
        if (row.answer !== null) throw growthError('GROWTH_OBJECTION_ANSWERED', '该异议已经答复')
        const prepared = prepareRecord('growth_objections', { reason: row.reason, answer }, { codes, now: now(), nodeCode: identity.code })
        if (prepared.answer === null) throw recordError('RECORD_FIELD_REQUIRED', '学校答复为必填项', { field: 'answer', rule: 'required' })
        store.update(OBJECTIONS, { ...fromSql(OBJECTIONS, row), answer: prepared.answer, answeredBy: actor.accountId, answeredAt: at, version: Number(row.version) + 1, updatedAt: at }, actor.accountId)
      })
      return fromSql(OBJECTIONS, store.row(OBJECTIONS, id)!)
    },

    /**
     * the bureau reports to the province what its schools reported for a school year and
     * grade (the grade as reported: classes have moved up on 1 August since). Late after the deadline.
     */
    bureauReport(actor: RecordsActor, input: { schoolYear: number; grade: number }): { reported: number; deadline: string; late: boolean } {
      const { bureau: deadline } = reportDeadlines(rules, input.schoolYear, input.grade)
      const at = now().toISOString()
      const reported = write(() => {
        const rows = store.all('select * from growth_evaluations where home_node = ? and report_year = ? and report_grade = ? and reported_at is not null and bureau_reported_at is null', identity.code, input.schoolYear, input.grade)
          .filter(e => actor.unrestricted || actor.reach(targetOfRow(storage, 'growth_evaluations', e)))
        for (const e of rows) store.update(EVALUATION, { ...fromSql(EVALUATION, e), bureauReportedAt: at, version: Number(e.version) + 1, updatedAt: at }, actor.accountId)
        return rows.length
      })
      return { reported, deadline, late: chinaToday(now()) > deadline }
    },

    /**
     * Progress against the deadlines per school for a school year: evaluations
     * verified, reported by the school, reported by the bureau, per reported grade.
     */
    progress(actor: RecordsActor, schoolYear: number): Array<{ schoolCode: string; grade: number; evaluations: number; verified: number; reported: number; bureauReported: number; schoolDeadline: string; bureauDeadline: string }> {
      const rows = store.all(
        `select s.school_code, c.grade, e.verify_state, e.report_year, e.report_grade, e.reported_at, e.bureau_reported_at, s.id as sid, s.class_id, e.home_node
         from growth_evaluations e join students s on s.id = e.student_id left join school_classes c on c.id = s.class_id`)
      const out = new Map<string, { schoolCode: string; grade: number; evaluations: number; verified: number; reported: number; bureauReported: number; schoolDeadline: string; bureauDeadline: string }>()
      for (const r of rows) {
        if (!actor.unrestricted && !actor.reach({ homeNode: String(r.home_node), school: String(r.school_code), classId: r.class_id as string, studentId: String(r.sid) })) continue
        const ofYear = r.report_year === schoolYear
        const grade = ofYear ? Number(r.report_grade) : Number(r.grade)
        if (!rules.deadlines[String(grade)]) continue
        const key = `${String(r.school_code)}/${grade}`
        const d = reportDeadlines(rules, schoolYear, grade)
        const p = out.get(key) ?? { schoolCode: String(r.school_code), grade, evaluations: 0, verified: 0, reported: 0, bureauReported: 0, schoolDeadline: d.school, bureauDeadline: d.bureau }
        p.evaluations++
        if (r.verify_state === 'verified') p.verified++
        if (ofYear && r.reported_at !== null) p.reported++
        if (ofYear && r.bureau_reported_at !== null) p.bureauReported++
        out.set(key, p)
      }
      return [...out.values()].sort((a, b) => a.schoolCode.localeCompare(b.schoolCode) || a.grade - b.grade)
    },

    create(actor: RecordsActor, kind: GrowthKind, studentId: string, input: RecordInput): Rec {
      const spec = resource(GROWTH_KINDS[kind].table)
      const at = now().toISOString()
      const row = write(() => {
        const student = writableStudent(actor, studentId)
        const rec = prepare(kind, input, student)
        const stored = store.insert(spec, {
          ...rec, id: newRecordId(), studentId, homeNode: identity.code, version: 1, epoch: student.epoch, createdAt: at, updatedAt: at,
          verifyState: 'entered', enteredBy: actor.accountId, enteredAt: at,
        }, actor.accountId)
        regenerate(actor, student, at)
        return stored
      }, r => ({ targetTable: spec.table, targetId: String(r.id) }))
      return fromSql(spec, row)
    },

    /** Changes the fields in `patch` (`version` must be the version read); the record is unverified again. */
    update(actor: RecordsActor, kind: GrowthKind, studentId: string, id: string, patch: RecordInput & { version: number }): Rec {
      const spec = resource(GROWTH_KINDS[kind].table)
      const at = now().toISOString()
      write(() => {
        const student = writableStudent(actor, studentId)
        const row = recordOf(spec, studentId, id)
        if (row.version !== patch.version) throw recordError('RECORD_VERSION_CONFLICT', '该记录已被他人修改，请刷新后重新修改', { field: 'version', rule: 'version', currentVersion: row.version })
        const current = fromSql(spec, row)
        const input: RecordInput = { ...current }
        for (const [k, v] of Object.entries(patch)) if (k !== 'version' && !SYSTEM_KEYS.has(k)) input[k] = v
        const rec = prepare(kind, input, student)
        store.update(spec, { ...current, ...rec, ...entered(actor, at), version: Number(row.version) + 1, epoch: student.epoch, updatedAt: at }, actor.accountId)
        regenerate(actor, student, at)
      })
      return fromSql(spec, store.row(spec, id)!)
    },

    remove(actor: RecordsActor, kind: GrowthKind, studentId: string, id: string, version: number): void {
      const spec = resource(GROWTH_KINDS[kind].table)
      const at = now().toISOString()
      write(() => {
        const student = writableStudent(actor, studentId)
        const row = recordOf(spec, studentId, id)
        if (row.version !== version) throw recordError('RECORD_VERSION_CONFLICT', '该记录已被他人修改，请刷新后再删除', { field: 'version', rule: 'version', currentVersion: row.version })
        store.tombstone(spec, row, actor.accountId)
        regenerate(actor, student, at)
      })
    },

    /**
     * writes the school's overall comment. Any generated figure in `input` is refused
     * they follow from the records.
     */
    comment(actor: RecordsActor, studentId: string, input: RecordInput & { version?: number }): Rec {
      assertNoGenerated(input)
      const at = now().toISOString()
      write(() => {
        const student = writableStudent(actor, studentId)
        regenerate(actor, student, at)
        const row = store.get('select * from growth_evaluations where student_id = ?', studentId)!
        // A first comment may come before any record: the evaluation was just generated for it.
        if (input.version !== undefined && row.version !== input.version) throw recordError('RECORD_VERSION_CONFLICT', '该评价已被他人修改，请刷新后重新修改', { field: 'version', rule: 'version', currentVersion: row.version })
        const current = fromSql(EVALUATION, row)
        const prepared = prepareRecord('growth_evaluations', { overallComment: input.overallComment }, { codes, now: now(), nodeCode: identity.code })
        store.update(EVALUATION, { ...current, ...prepared, ...entered(actor, at), version: Number(row.version) + 1, updatedAt: at }, actor.accountId)
      }, () => ({ targetTable: 'growth_evaluations', targetId: studentId }))
      return fromSql(EVALUATION, store.get('select * from growth_evaluations where student_id = ?', studentId)!)
    },
  }
}

export type GrowthService = ReturnType<typeof createGrowthService>
