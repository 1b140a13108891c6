/**
 * The records service (Articles 7–12): create, read, update, delete and list every record, each
 * write ONE transaction that also appends its outbox rows. Validation is the pure code of
 * node/records; what needs the database lives here: references, duplicates (查重), scope,
 * optimistic concurrency, ownership (only the home node writes a record, DESIGN.md §2).
 *
 * The seed generator and imports call it with `systemActor(...)`; the HTTP routes with
 * `recordsActor(req.actor)`. Batch writers may wrap many calls in one `storage.write()`: nested
 * writes join the outer transaction. Called for an API request, a write commits the request's
 * audit entry in its own transaction (`auditedWrite`, R-25.2).
 */
import { randomInt } from 'node:crypto'
import type { CodeRegistry } from '../../../schema/codes/index.ts'
import type { Storage } from '../../../schema/db.ts'
import { PROVINCE_DATES, type CalendarDates } from '../../../config/calendar.ts'
import { XuejiError } from '../../../config/errors.ts'
import { nodeError } from '../../errors.ts'
import { inScope, type Actor, type ScopeFilter, type Target } from '../../auth/access.ts'
import { auditedWrite, type AuditNote } from '../../auth/audit.ts'
import { authError } from '../../auth/errors.ts'
import { targetOfRow } from '../../auth/targets.ts'
import { compactPinyin } from '../../records/pinyin.ts'
import { recordError, withPath, issuesError, type Issue } from '../../records/errors.ts'
import { chinaToday, derivedStudentNo, normaliseIdentifier, prepareRecord, temporaryStudentNo, type RecordInput } from '../../records/validate.ts'
import { calendarError } from '../../calendar/errors.ts'
import { lockOf } from '../../calendar/locks.ts'
import { CHANGE_REQUEST_ROUTE } from '../../change-requests/rules.ts'
import { statusChangeError } from '../../status-changes/errors.ts'
import { assertGenericWrite, assertNotByTransfer, KINDS, OPEN_TRANSFER_OF_CHANGE, STATUS_CHANGE_TABLES } from '../../status-changes/rules.ts'
import { OPEN as OPEN_TRANSFERS } from '../../transfers/rules.ts'
import { createDuplicates } from './duplicates.ts'
import { kindergartenFigures, schoolFigures, teacherAge } from './derived.ts'
import { finishPage, listItemsJson, listSelect, pageHead } from './list-items.ts'
import type { ReadPool } from './read-pool.ts'
import { cascadedBy, ownedBy, resource, PROBLEMS, PROBLEM_OTHER_SCHOOL, type ResourceSpec } from './resources.ts'
import { createStore, fromSql, type Rec, type SqlRow } from './store.ts'
import { newRecordId } from '../../../schema/record-ids.ts'
import { sameIdNumberSql } from '../../../sync/lookup.ts'

/** Who is writing or reading, as the service needs it: an id to stamp and a scope to respect. */
export interface RecordsActor {
  /** Stamped in `entered_by` and on outbox rows. */
  accountId: string
  /** Restricts list queries (node/auth/access.ts `scopeFilter`). */
  filter: ScopeFilter
  /** Object check for one record (node/auth/access.ts `inScope`). */
  reach(target: Target): boolean
  /** The node's own jobs reach everything: skips computing targets (a bulk seed writes 10⁵ rows). */
  unrestricted?: boolean
  /**
   * Entering a school's existing records when it starts on the system (R-19.1): they predate the
   * system, so its locks on expiry (node/calendar/locks.ts) do not judge them.
   */
  initialEntry?: boolean
  /**
   * The id of the approved change request (node/change-requests, R-22.5) whose patch this write
   * carries: the locks on expiry do not judge that one write; every other check does.
   */
  changeRequest?: string
}

/** An actor for the node's own jobs (seed, import, commands applied from above): the whole node. */
export function systemActor(name: string, opts: { initialEntry?: boolean } = {}): RecordsActor {
  return { accountId: `system:${name}`, filter: { all: true }, reach: () => true, unrestricted: true, ...opts }
}

/** The service's view of a signed-in account; `onDenied` lets the route mark its audit entry. */
export function recordsActor(actor: Actor, filter: ScopeFilter, onDenied?: () => void): RecordsActor {
  return {
    accountId: actor.accountId,
    filter,
    reach: target => {
      const ok = inScope(actor, target)
      if (!ok) onDenied?.()
      return ok
    },
  }
}

export interface RecordsServiceDeps {
  storage: Storage
  identity: { code: string }
  codes: CodeRegistry
  /** Clock, for tests of date rules. */
  now?: () => Date
  /** The calendar dates of this node (config/calendar.ts `datesFor`); the province's by default. */
  dates?: CalendarDates
  /** Record ids (default: random UUIDs); the seed generator makes its own, deterministic ones. */
  newId?: () => string
  /** Where list and search queries run (read-pool.ts); without it, on `storage`'s connection. */
  reads?: ReadPool
}

export interface ListQuery {
  limit?: number
  offset?: number
  /** Comma-separated keys: a list answers only these fields of each record, and its id. */
  fields?: string
  /** Name, pinyin (full or initials), ID number or 学籍号 for people; name for other records. */
  q?: string
  [filter: string]: unknown
}

export interface ListResult {
  items: Rec[]
  total: number
  limit: number
  offset: number
}

/** A row of an initial-entry file (its index) and the student record it made or found. */
export interface EnteredRow {
  row: number
  id: string
}

export const DEFAULT_LIMIT = 50
export const MAX_LIMIT = 500

const SYSTEM_KEYS = new Set(['id', 'homeNode', 'version', 'epoch', 'createdAt', 'updatedAt', 'verifyState', 'enteredBy', 'enteredAt', 'verifiedBy', 'verifiedAt', 'returnReason', 'state', 'schoolCode', 'kindergartenCode', 'pinyinInitials'])

/** Tables whose rows another record points to; deleting or re-coding them is refused while any exist. */
const DEPENDANTS: Record<string, Array<{ table: string; column: string; by: 'id' | 'unitCode' }>> = {
  supervising_units: [{ table: 'schools', column: 'unit_code', by: 'unitCode' }, { table: 'kindergartens', column: 'unit_code', by: 'unitCode' }],
  schools: [{ table: 'school_classes', column: 'school_id', by: 'id' }, { table: 'students', column: 'school_id', by: 'id' }],
  kindergartens: [{ table: 'kindergarten_classes', column: 'kindergarten_id', by: 'id' }, { table: 'children', column: 'kindergarten_id', by: 'id' }],
  school_classes: [{ table: 'students', column: 'class_id', by: 'id' }],
  kindergarten_classes: [{ table: 'children', column: 'class_id', by: 'id' }],
}

/** The natural code other tiers and copied columns use; it cannot change while dependants exist. */
const NATURAL_CODE: Record<string, string> = { supervising_units: 'unitCode', schools: 'schoolCode', kindergartens: 'kindergartenCode' }
/** List filters of people that an index of their own answers (students_school_class, students_class, children_kg_class, children_class). */
const NARROW_FILTERS = ['schoolId', 'kindergartenId', 'classId', 'grade']

const notFound = () => authError('NOT_FOUND', '未找到该记录')

/** Columns an edit sets by itself: they say an edit happened, not what it changed. */
const EDIT_MARKS = new Set(['version', 'updated_at', 'verify_state', 'entered_by', 'entered_at', 'verified_by', 'verified_at', 'return_reason'])

/** A value about to be stored against the stored one (booleans are stored as 0/1). */
function sameSqlValue(next: unknown, stored: unknown): boolean {
  const v = typeof next === 'boolean' ? (next ? 1 : 0) : next ?? null
  return v === (stored ?? null)
}

export function createRecordsService(deps: RecordsServiceDeps) {
  const { storage, identity, codes } = deps
  const now = deps.now ?? (() => new Date())
  const newId = deps.newId ?? newRecordId
  const dates = deps.dates ?? PROVINCE_DATES
  const store = createStore(storage)
  const duplicates = createDuplicates({ store, identity, now })

  // ------------------------------------------------------------ scope

  /**
   * The access target of a row: node/auth/targets.ts knows the tree for every record table; a
   * problem record is reached like the person it names.
   */
  function targetOf(spec: ResourceSpec, row: SqlRow): Target {
    if (spec.table === 'problem_records') {
      const subject = { homeNode: String(row.home_node), school: String(row.school_code), studentId: String(row.subject_id) }
      // A pair across two schools is reached through either (R-16.1: each school's own student).
      const other = otherSchoolOf(row)
      return other === null || other === subject.school ? subject : { homeNode: subject.homeNode, schools: [subject.school, other], studentId: subject.studentId }
    }
    return targetOfRow(storage, spec.table, row)
  }

  /** The school (kindergarten) code of a problem's other record on this node, or null. */
  function otherSchoolOf(row: SqlRow): string | null {
    const other = row.subject_table === 'children'
      ? store.get('select kindergarten_code as code from children where id = ?', row.other_id)
      : store.get('select school_code as code from students where id = ?', row.other_id)
    return other ? String(other.code) : null
  }

  /** A problem record as the API answers it: with the other record's school (`otherSchoolCode`). */
  function presentProblem(row: SqlRow): Rec {
    return { ...fromSql(PROBLEMS, row), otherSchoolCode: row.other_school_code !== undefined ? (row.other_school_code as string | null) : otherSchoolOf(row) }
  }

  const reaches = (actor: RecordsActor, spec: ResourceSpec, row: SqlRow) => actor.unrestricted === true || actor.reach(targetOf(spec, row))

  /** Loads a row the actor may see, or throws 404 (missing and out of scope answer alike). */
  function reachable(actor: RecordsActor, spec: ResourceSpec, id: string, ownerId?: string): SqlRow {
    const row = store.row(spec, id)
    if (!row) throw notFound()
    if (spec.owner?.viaPath && ownerId !== undefined && row[spec.owner.column] !== ownerId) throw notFound()
    if (!reaches(actor, spec, row)) throw notFound()
    return row
  }

  /** SQL conditions (alias t) restricting a list to the actor's scope; mirrors access.ts `inScope`. */
  function scopeSql(spec: ResourceSpec, f: ScopeFilter): { where: string[]; params: unknown[] } {
    const where: string[] = []
    const params: unknown[] = []
    const inList = (expr: string, values: string[]) => {
      where.push(values.length === 0 ? '0' : `${expr} in (${values.map(() => '?').join(', ')})`)
      params.push(...values)
    }
    // A range, not LIKE ? || '%': the search indexes and students_stats carry home_node, so a
    // count stays index-only. It stays even on the node's own subtree: a node may hold rows of
    // other nodes (the authorization matrix places some), and those it must filter out.
    if (f.homeNodePrefix !== undefined) {
      where.push('t.home_node >= ? and t.home_node < ?')
      params.push(f.homeNodePrefix, `${f.homeNodePrefix}\u{10ffff}`)
    }
    if (f.schools) {
      if (spec.table === 'supervising_units') {
        const ph = f.schools.map(() => '?').join(', ')
        where.push(f.schools.length === 0 ? '0' : `t.unit_code in (select unit_code from schools where school_code in (${ph}) union select unit_code from kindergartens where kindergarten_code in (${ph}))`)
        params.push(...f.schools, ...f.schools)
      } else if (spec.scope.otherSchool && f.schools.length > 0) {
        const ph = f.schools.map(() => '?').join(', ')
        where.push(`(${spec.scope.school} in (${ph}) or ${spec.scope.otherSchool} in (${ph}))`)
        params.push(...f.schools, ...f.schools)
      } else inList(spec.scope.school, f.schools)
    }
    if (f.classes) {
      if (spec.scope.class) inList(spec.scope.class, f.classes)
      else if (!spec.scope.schoolLevel || spec.scope.student) where.push('0')
    }
    if (f.studentId !== undefined) {
      if (spec.scope.student) {
        where.push(`${spec.scope.student} = ?`)
        params.push(f.studentId)
      } else where.push('0')
    }
    if (!f.all && !f.schools && !f.classes && f.studentId === undefined) where.push('0')
    return { where, params }
  }

  /**
   * The WHERE clause and parameters of a list: scope, the owner (sub-records), filters, search;
   * as its count has it (`where`) and as its page of rowids has it (`pageWhere`: the same terms
   * and parameters but the state's). Exported through the service so a test can show its plan.
   */
  function listWhere(spec: ResourceSpec, filter: ScopeFilter, query: ListQuery, ownerId?: string): { where: string; pageWhere: string; params: unknown[]; order: string; exact: boolean } {
    const { where, params } = scopeSql(spec, filter)
    if (spec.owner?.viaPath) {
      where.push(`t.${spec.owner.column} = ?`)
      params.push(ownerId)
    }
    // Lists of people show those in school unless another state (or `all`) is asked for.
    const active = spec.table === 'students' ? KINDS.student.active : spec.table === 'children' ? KINDS.child.active : undefined
    const q = typeof query.q === 'string' ? query.q.trim() : ''
    let stateAt = -1
    if (active && (query.state === undefined || query.state === null || query.state === '')) {
      // The state matches nearly every row, yet SQLite prefers students_stats (state, home node
      // range) to one narrow column: unary + keeps it off when something narrower is asked (a
      // search, a school, a class, one student: each has an index of its own that carries the
      // state), and off for a page, which is read in rowid order and stops at its limit. A
      // broad count keeps it: the count is read from students_stats alone.
      const narrow = q !== '' || filter.schools !== undefined || filter.classes !== undefined || filter.studentId !== undefined || Boolean(spec.owner?.viaPath) || NARROW_FILTERS.some(k => query[k] !== undefined && query[k] !== null && query[k] !== '')
      stateAt = where.push(narrow ? '+t.state = ?' : 't.state = ?') - 1
      params.push(active)
    }
    for (const [name, f] of Object.entries(spec.filters)) {
      const v = query[name]
      if (v === undefined || v === null || v === '' || (active && name === 'state' && v === 'all')) continue
      where.push(f.sql)
      params.push(v)
    }
    let order = 't.rowid'
    let exact = false
    if (q !== '') {
      const search = searchSql(spec, q, (cond, args) => store.get(`select 1 from ${spec.table} t where ${cond} limit 1`, ...args) !== undefined)
      where.push(search.sql)
      params.push(...search.params)
      if (search.order) order = search.order
      exact = search.exact === true
    }
    const page = where.map((term, i) => (i === stateAt ? '+t.state = ?' : term))
    return { where: where.length ? where.join(' and ') : '1', pageWhere: page.length ? page.join(' and ') : '1', params, order, exact }
  }

  // ------------------------------------------------------------ reads

  /** A record as the API answers it: sub-records of a person, derived figures of a school. */
  function present(spec: ResourceSpec, row: SqlRow): Rec {
    const rec = fromSql(spec, row)
    const id = String(row.id)
    if (spec.table === 'students' || spec.table === 'children') {
      for (const sub of ownedBy(spec.table)) {
        const rows = store.all(`select * from ${sub.table} where ${sub.owner!.column} = ? order by rowid`, id).map(r => fromSql(sub, r))
        rec[sub.group!] = sub.single ? (rows[0] ?? null) : rows
      }
      rec.problems = duplicates.openFor(id).map(r => fromSql(PROBLEMS, r))
    }
    if (spec.table === 'schools') rec.derived = schoolFigures(store, id, now())
    if (spec.table === 'kindergartens') rec.derived = kindergartenFigures(store, id, now())
    if (spec.table === 'school_teachers' || spec.table === 'kindergarten_teachers') rec.age = teacherAge(rec.birthYm, now())
    return rec
  }

  // ------------------------------------------------------------ writes

  /** Owner row of a record being written, checked: exists, reachable, and owned by this node. */
  function ownerOf(actor: RecordsActor, spec: ResourceSpec, ownerId: unknown): SqlRow | undefined {
    if (!spec.owner) return undefined
    const ownerSpec = resource(spec.owner.table)
    const row = typeof ownerId === 'string' ? store.row(ownerSpec, ownerId) : undefined
    if (!row || !reaches(actor, ownerSpec, row)) {
      if (spec.owner.viaPath) throw notFound()
      throw recordError('RECORD_REFERENCE_INVALID', `所选${ownerSpec.label}不存在或不在您的管理范围内`, { field: spec.owner.key, rule: 'reference' })
    }
    return row
  }

  function assertHome(row: SqlRow | undefined): void {
    if (row && row.home_node !== identity.code) {
      throw recordError('RECORD_NOT_HOME', `该记录属于节点 ${String(row.home_node)}，只能在其所属节点修改`, { homeNode: row.home_node })
    }
  }

  /** Checks of a prepared record that need the database; returns the copied columns to store. */
  function references(spec: ResourceSpec, rec: Rec, owner: SqlRow | undefined): Rec {
    const copies: Rec = {}
    const invalid = (field: string, message: string) => recordError('RECORD_REFERENCE_INVALID', message, { field, rule: 'reference' })
    switch (spec.table) {
      case 'schools':
      case 'kindergartens':
        if (rec.unitCode && !store.get('select 1 from supervising_units where unit_code = ?', rec.unitCode)) throw invalid('unitCode', '主管单位代码不存在，请先录入主管单位')
        break
      case 'school_classes':
      case 'students':
        copies.schoolCode = owner!.school_code
        if (spec.table === 'students' && rec.classId && store.get('select school_id from school_classes where id = ?', rec.classId)?.school_id !== owner!.id) {
          throw invalid('classId', '所选班级不存在或不属于该学校')
        }
        break
      case 'kindergarten_classes':
      case 'children':
        copies.kindergartenCode = owner!.kindergarten_code
        if (spec.table === 'children' && rec.classId && store.get('select kindergarten_id from kindergarten_classes where id = ?', rec.classId)?.kindergarten_id !== owner!.id) {
          throw invalid('classId', '所选班级不存在或不属于该幼儿园')
        }
        break
      case 'student_registrations':
        if (!store.get('select 1 from school_classes where school_id = ? and class_code = ?', owner!.school_id, rec.classCode)) throw invalid('classCode', '注册班级代码不是本校的班级')
        break
      case 'child_registrations':
        if (!store.get('select 1 from kindergarten_classes where kindergarten_id = ? and class_code = ?', owner!.kindergarten_id, rec.classCode)) throw invalid('classCode', '注册班级代码不是本园的班级')
        break
    }
    return copies
  }

  /**
   * Refuses a second record with the same ID number or 学籍号 on this node (查重). A number is the
   * same whatever document type it is filed under when either side is a resident ID (a resident ID
   * number filed as 其他 is still that person's), and within one type otherwise (two passports).
   * An edit is judged only on a number it changes (`current`: the record before the edit): a
   * duplicate that came otherwise (old data, found by the scan) does not block every other edit
   * of its two records, and the correction that ends it is an edit of the number.
   */
  function assertUnique(spec: ResourceSpec, rec: Rec, id: string, current?: Rec): void {
    const idChanged = !current || current.idNumber !== rec.idNumber || current.idDocType !== rec.idDocType
    if ((spec.table === 'students' || spec.table === 'children') && rec.idNumber && idChanged) {
      const doc = String(rec.idDocType ?? '1')
      if (store.get(`select 1 from ${spec.table} t where ${sameIdNumberSql('t', '?', '?')} and t.id <> ? limit 1`, rec.idNumber, doc, doc, id)) {
        throw recordError('RECORD_DUPLICATE_ID', '该身份证号已有学籍记录（查重），不能重复建立', { field: 'idNumber', rule: 'unique_id_number' })
      }
    }
    const noChanged = !current || current.studentNo !== rec.studentNo
    if (spec.table === 'students' && noChanged && store.get('select 1 from students where student_no = ? and id <> ?', rec.studentNo, id)) {
      throw recordError('RECORD_DUPLICATE_STUDENT_NO', '该学籍号已被其他学生使用', { field: 'studentNo', rule: 'unique_student_no' })
    }
  }

  function assertNoDependants(spec: ResourceSpec, row: SqlRow, what: 'delete' | 'recode'): void {
    for (const dep of DEPENDANTS[spec.table] ?? []) {
      const value = dep.by === 'id' ? row.id : row.unit_code
      if (value !== null && store.get(`select 1 from ${dep.table} where ${dep.column} = ? limit 1`, value)) {
        const message = what === 'delete' ? `该${spec.label}下仍有${resource(dep.table).label}记录，不能删除` : `该${spec.label}下已有${resource(dep.table).label}记录，代码不能修改`
        throw recordError('RECORD_IN_USE', message, { table: dep.table, rule: what === 'delete' ? 'has_dependants' : 'code_in_use' })
      }
    }
    // A class a transfer between nodes will place its person in (node/transfers) stays until it ends.
    if (what === 'delete' && (spec.table === 'school_classes' || spec.table === 'kindergarten_classes')) {
      const open = store.get(`select id from transfers where role = 'receiver' and target_class_id = ? and status in (${OPEN_TRANSFERS.map(() => '?').join(', ')}) limit 1`, row.id, ...OPEN_TRANSFERS)
      if (open) throw recordError('RECORD_IN_USE', '该班级是办理中的转学申请的转入班级，不能删除', { table: 'transfers', rule: 'open_transfer', id: open.id })
    }
  }

  /**
   * R-18.1: a sub-record without its own verification (a guardian, a teacher) is part of its
   * owner's verified info, so changing it puts the owner back to "entered".
   */
  function unverifyOwner(spec: ResourceSpec, owner: SqlRow | undefined, actor: RecordsActor, at: string): void {
    const partOfOwner = spec.owner?.viaPath || spec.table.endsWith('_teachers')
    if (!owner || spec.verified || !partOfOwner) return
    const ownerSpec = resource(spec.owner!.table)
    if (!ownerSpec.verified || owner.verify_state === 'entered') return
    const rec = fromSql(ownerSpec, owner)
    store.update(ownerSpec, { ...rec, ...backToEntered(actor, at), version: Number(owner.version) + 1, updatedAt: at }, actor.accountId)
  }

  function backToEntered(actor: RecordsActor, at: string): Rec {
    return { verifyState: 'entered', verifiedBy: null, verifiedAt: null, returnReason: null, enteredBy: actor.accountId, enteredAt: at }
  }

  function validationContext(spec: ResourceSpec, owner: SqlRow | undefined) {
    const parent = owner && spec.owner?.viaPath ? fromSql(resource(spec.owner.table), owner) : undefined
    return { codes, now: now(), nodeCode: identity.code, parent }
  }

  /**
   * A completion (R-10.9) ends a student's schooling: the student leaves the in-school counts
   * (R-8.1) in the same transaction, and comes back if the completion is deleted as a mistake.
   */
  function graduate(actor: RecordsActor, studentId: string, to: 'graduated' | 'in_school', at: string): void {
    const spec = resource('students')
    const student = store.row(spec, studentId)!
    const from = to === 'graduated' ? 'in_school' : 'graduated'
    if (student.state !== from) {
      if (to === 'in_school') return
      throw statusChangeError('STATUS_CHANGE_STATE_INVALID', '只有在校学生可以录入结业信息', { state: student.state })
    }
    store.update(spec, { ...fromSql(spec, student), state: to, version: Number(student.version) + 1, updatedAt: at }, actor.accountId)
  }

  /**
   * Refuses a write of `rec` when a lock on expiry holds it (R-22.1–R-22.4), naming the rule, the
   * day it took effect and how the change is made. `person` is the student or child the row
   * belongs to (the row itself for a person).
   */
  function assertOpen(actor: RecordsActor, spec: ResourceSpec, rec: Rec, person: Rec | undefined): void {
    if (actor.initialEntry || actor.changeRequest !== undefined) return
    const who = person ?? rec
    const unitId = who.schoolId ?? who.kindergartenId
    const rollover = (year: number) => store.get('select state, day from calendar_rollovers where unit_id = ? and school_year = ?', unitId, year) as { state: 'done' | 'blocked'; day: string } | undefined
    const lock = lockOf(spec.table, rec, who, chinaToday(now()), dates, { rollover })
    if (!lock) return
    throw calendarError(
      'CALENDAR_RECORD_LOCKED',
      `${spec.label}已于${lock.lockedFrom}起锁定（${lock.rule} ${lock.name}，截止日${lock.lastOpenDay}）。如需修改，请学校提出修改申请（${CHANGE_REQUEST_ROUTE}）并说明理由，经上级教育行政部门审批后由其管理员执行（R-22.5）`,
      { rule: lock.rule, lockedFrom: lock.lockedFrom, lastOpenDay: lock.lastOpenDay, table: spec.table, changeRequest: CHANGE_REQUEST_ROUTE, approvals: ['bureau'] },
    )
  }

  /** The person (camelCase) a row of `spec` belongs to, from its owner row. */
  function personOf(spec: ResourceSpec, owner: SqlRow | undefined): Rec | undefined {
    return owner && spec.owner?.viaPath ? fromSql(resource(spec.owner.table), owner) : undefined
  }

  /**
   * Creates one record (no transaction of its own: callers wrap it). `judged`: the locks on expiry
   * apply (not to a person's sub-records entered with the person, which are part of its entry).
   */
  function insertOne(actor: RecordsActor, spec: ResourceSpec, input: RecordInput, ownerId: unknown, at: string, judged = true): SqlRow {
    const owner = ownerOf(actor, spec, ownerId)
    assertHome(owner)
    if (spec.table === 'students' && (input.studentNo === undefined || input.studentNo === null || input.studentNo === '')) {
      const derived = derivedStudentNo(input)
      if (derived) input = { ...input, studentNo: derived }
      else if (typeof input.birthDate === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(input.birthDate)) input = { ...input, studentNo: freeTemporaryStudentNo(String(owner!.division_code ?? identity.code), input.birthDate) }
    }
    const prepared = prepareRecord(spec.table, input, validationContext(spec, owner))
    // Entering a person is governed by the entry deadlines (R-19.1, R-19.2), not by the locks.
    if (judged && spec.owner?.viaPath) assertOpen(actor, spec, prepared, personOf(spec, owner))
    const id = newId()
    const rec: Rec = {
      ...prepared,
      ...references(spec, prepared, owner),
      ...(spec.owner ? { [spec.owner.key]: owner!.id } : {}),
      id,
      homeNode: owner ? owner.home_node : identity.code,
      version: 1,
      epoch: spec.owner?.viaPath ? owner!.epoch : 0,
      createdAt: at,
      updatedAt: at,
      ...(spec.verified ? { verifyState: 'entered', enteredBy: actor.accountId, enteredAt: at } : {}),
      ...(spec.table === 'students' ? { state: 'in_school' } : spec.table === 'children' ? { state: 'in_kindergarten' } : {}),
    }
    // Scope of the new record itself: a class teacher may add a student only to their own class.
    if (!reaches(actor, spec, toSqlShape(spec, rec))) throw notFound()
    assertUnique(spec, rec, id)
    if (spec.single && store.get(`select 1 from ${spec.table} where ${spec.owner!.column} = ?`, owner!.id)) {
      throw recordError('RECORD_DUPLICATE_KEY', `每人只有一条${spec.label}，请修改已有记录`, { field: spec.owner!.key, rule: 'one_per_owner' })
    }
    const stored = store.insert(spec, rec, actor.accountId)
    duplicates.check(spec.table, stored, actor.accountId)
    unverifyOwner(spec, owner, actor, at)
    return stored
  }

  /**
   * A formal 学籍号 (G + the ID number, given after the national duplicate check) is the student's
   * for good: a key change goes L → G (STANDARDS.md), never back to a temporary L or to a J number.
   * A G number follows a corrected ID number (validate.ts: G = G + the ID number), and an approved
   * change request (R-22.5) or a correction from above may still replace it.
   */
  function assertFormalNoKept(actor: RecordsActor, current: Rec, rec: Rec): void {
    if (actor.changeRequest !== undefined || actor.unrestricted === true) return
    if (typeof current.studentNo === 'string' && current.studentNo.startsWith('G') && rec.studentNo !== current.studentNo && !String(rec.studentNo ?? '').startsWith('G')) {
      throw recordError('RECORD_FIELD_NOT_ALLOWED', '正式学籍号（G 字头）已确定，不能改为临时学籍号（L 字头）或 J 字头学籍号；如确需更改，请提出修改申请', { field: 'studentNo', rule: 'formal_student_no_fixed' })
    }
  }

  /** Whether `rec` would store what `row` holds, apart from the version and the edit's own marks. */
  function unchanged(spec: ResourceSpec, row: SqlRow, rec: Rec): boolean {
    const next = toSqlShape(spec, rec)
    return spec.columns.every(c => EDIT_MARKS.has(c.name) || sameSqlValue(next[c.name], row[c.name]))
  }

  /** L + school region + birth date + 4 random digits, retried until free on this node. */
  function freeTemporaryStudentNo(division: string, birthDate: string): string {
    for (;;) {
      const no = temporaryStudentNo(division, birthDate, String(randomInt(10000)))
      if (!store.get('select 1 from students where student_no = ?', no)) return no
    }
  }

  function toSqlShape(spec: ResourceSpec, rec: Rec): SqlRow {
    const out: SqlRow = {}
    for (const c of spec.columns) out[c.name] = rec[c.key] ?? null
    return out
  }

  /**
   * Runs a write transaction, with the audit entry of the API request that asked for it (if any),
   * turning SQLite constraint failures into record errors.
   */
  function write<T>(fn: () => T, note?: (result: T) => AuditNote): T {
    try {
      return auditedWrite(storage, fn, note)
    } catch (err) {
      throw constraintError(err)
    }
  }

  // ------------------------------------------------------------ the service

  const service = {
    /** The code tables the records are validated with (national plus local, R-30.1). */
    codes,

    /**
     * Creates a record. `ownerId` is the student or child id of a sub-record (from the URL); other
     * records name their owner in the body (`schoolId`, `kindergartenId`). A student or child may
     * carry its sub-record groups (`guardians: [...]`, `enrolment: {...}` …): all are written, or
     * none. Returns the full record as `get` does, or with `{ read: false }` only its own row
     * (a bulk writer saves the read-back queries).
     */
    create(actor: RecordsActor, table: string, input: RecordInput, ownerId?: string, opts: { read?: boolean } = {}): Rec {
      const spec = resource(table)
      const at = now().toISOString()
      // Groups verified on their own (completion, status changes) have their own routes and rights.
      const groups = ownedBy(table).filter(s => s.owner!.viaPath && !s.verified && input[s.group!] !== undefined)
      const stored = write(() => {
        const row = insertOne(actor, spec, input, spec.owner?.viaPath ? ownerId : input[spec.owner?.key ?? ''], at)
        if (table === 'student_completions') graduate(actor, String(row.student_id), 'graduated', at)
        for (const sub of groups) {
          const value = input[sub.group!]
          const items = sub.single ? (value === null ? [] : [value]) : (value as unknown[])
          if (!Array.isArray(items)) throw recordError('RECORD_FIELD_FORMAT', `${sub.label}应为列表`, { field: sub.group, rule: 'array' })
          items.forEach((item, i) => {
            try {
              insertOne(actor, sub, item as RecordInput, row.id, at, false)
            } catch (err) {
              throw prefixed(err, sub.single ? sub.group! : `${sub.group}[${i}]`)
            }
          })
        }
        return row
      }, row => ({ targetTable: table, targetId: String(row.id) }))
      return opts.read === false ? fromSql(spec, stored) : present(spec, store.row(spec, String(stored.id))!)
    },

    /**
     * Initial entry (R-19.1): a school starting on the system enters its current students from one
     * file, each row a student with its sub-record groups, created as `create` does. A row whose
     * person the school already holds (same 学籍号, given or derived from the ID number, else same
     * name, birth date and gender) is skipped, so sending the file again changes nothing. All or
     * nothing: any refused row refuses the file, naming every refused row (`students[i].field`).
     * `refused` carries row refusals found before the transaction (查重 across nodes).
     */
    enterStudents(actor: RecordsActor, schoolId: string, rows: RecordInput[], refused: ReadonlyMap<number, XuejiError> = new Map()): { created: EnteredRow[]; existing: EnteredRow[] } {
      return write(() => {
        ownerOf(actor, resource('students'), schoolId)
        const created: EnteredRow[] = []
        const existing: EnteredRow[] = []
        const issues: Issue[] = []
        const seen = new Set<string>()
        rows.forEach((row, i) => {
          const path = `students[${i}]`
          const studentNo = typeof row.studentNo === 'string' && normaliseIdentifier(row.studentNo) !== '' ? normaliseIdentifier(row.studentNo) : derivedStudentNo(row)
          const key = studentNo ?? `${String(row.name)}|${String(row.birthDate)}|${String(row.gender)}`
          const held = studentNo
            ? store.get('select id from students where school_id = ? and student_no = ?', schoolId, studentNo)
            : store.get('select id from students where school_id = ? and name = ? and birth_date = ? and gender = ?', schoolId, row.name ?? null, row.birthDate ?? null, row.gender ?? null)
          if (seen.has(key)) {
            issues.push({ code: 'RECORD_DUPLICATE_KEY', field: path, rule: 'once_per_file', message: `第${i + 1}行与前面的行是同一学生` })
            return
          }
          seen.add(key)
          if (held && !refused.has(i)) {
            existing.push({ row: i, id: String(held.id) })
            return
          }
          try {
            const pre = refused.get(i)
            if (pre) throw pre
            // Its own savepoint: a refused row leaves nothing behind while the others are checked.
            created.push({ row: i, id: String(storage.write(() => service.create(actor, 'students', { ...row, schoolId }, undefined, { read: false })).id) })
          } catch (err) {
            if (!(err instanceof XuejiError)) throw err
            const e = prefixed(err, path) as XuejiError
            const own = e.details?.issues as Issue[] | undefined
            issues.push(...(own ?? [{ code: (e.code.startsWith('RECORD_') ? e.code : 'RECORD_REFERENCE_INVALID') as Issue['code'], field: String(e.details?.field ?? path), rule: String(e.details?.rule ?? e.code), message: `第${i + 1}行：${e.message}` }]))
          }
        })
        if (issues.length > 0) throw issuesError(issues)
        return { created, existing }
      }, () => ({ targetTable: 'schools', targetId: schoolId }))
    },

    /** The full record (404 when missing or outside the actor's scope). */
    get(actor: RecordsActor, table: string, id: string, ownerId?: string): Rec {
      const spec = resource(table)
      return present(spec, reachable(actor, spec, id, ownerId))
    },

    /**
     * Changes the fields given in `patch` (others keep their value; null clears one). `patch.version`
     * must be the version read (409 RECORD_VERSION_CONFLICT otherwise). A verified record goes back
     * to "entered" (R-18.1). A 学籍号 change is recorded as a key change (rekey) in the outbox.
     */
    update(actor: RecordsActor, table: string, id: string, patch: RecordInput & { version: number }, ownerId?: string): Rec {
      const spec = resource(table)
      const at = now().toISOString()
      write(() => {
        const row = reachable(actor, spec, id, ownerId)
        assertHome(row)
        if (row.version !== patch.version) {
          throw recordError('RECORD_VERSION_CONFLICT', '该记录已被他人修改，请刷新后重新修改', { field: 'version', rule: 'version', currentVersion: row.version })
        }
        const current = fromSql(spec, row)
        if (STATUS_CHANGE_TABLES.has(table)) {
          assertNotByTransfer(store.get(OPEN_TRANSFER_OF_CHANGE, id))
          assertGenericWrite('update', current as Parameters<typeof assertGenericWrite>[1], patch)
        }
        const ownerKey = spec.owner?.key
        if (ownerKey && patch[ownerKey] !== undefined && patch[ownerKey] !== current[ownerKey]) {
          throw recordError('RECORD_FIELD_NOT_ALLOWED', `所属${resource(spec.owner!.table).label}不能在此修改（转学请办理学籍异动）`, { field: ownerKey, rule: 'immutable' })
        }
        const input: RecordInput = { ...current }
        for (const [k, v] of Object.entries(patch)) if (k !== 'version' && !SYSTEM_KEYS.has(k)) input[k] = v
        // A new name gets new pinyin unless the pinyin was typed with it.
        if (patch.name !== undefined && patch.namePinyin === undefined && patch.name !== current.name) input.namePinyin = null
        const owner = spec.owner ? store.row(resource(spec.owner.table), String(current[spec.owner.key])) : undefined
        const person = personOf(spec, owner)
        assertOpen(actor, spec, current, person)
        const prepared = prepareRecord(spec.table, input, validationContext(spec, owner))
        // Nor may an edit move a row into a period that has locked (an exam into last year); the
        // row's verification marks are not input, so they come from the current row.
        assertOpen(actor, spec, { ...current, ...prepared }, person)
        const codeKey = NATURAL_CODE[spec.table]
        if (codeKey && prepared[codeKey] !== current[codeKey]) assertNoDependants(spec, row, 'recode')
        const rec: Rec = {
          ...current,
          ...prepared,
          ...references(spec, prepared, owner),
          version: Number(row.version) + 1,
          epoch: spec.owner?.viaPath ? owner!.epoch : current.epoch,
          updatedAt: at,
          ...(spec.verified ? backToEntered(actor, at) : {}),
        }
        if (!reaches(actor, spec, toSqlShape(spec, rec))) throw notFound()
        if (spec.table === 'students') assertFormalNoKept(actor, current, rec)
        assertUnique(spec, rec, id, current)
        // Nothing changed (a form saved as it was read): no new version, no outbox row, and a
        // verified record stays verified (R-18.1 puts back what was edited, and nothing was).
        if (unchanged(spec, row, rec)) return
        const rekey = spec.table === 'students' && rec.studentNo !== current.studentNo ? { student_no: String(current.studentNo) } : undefined
        const stored = store.update(spec, rec, actor.accountId, rekey)
        duplicates.check(spec.table, stored, actor.accountId)
        unverifyOwner(spec, owner, actor, at)
      })
      return present(spec, store.row(spec, id)!)
    },

    /**
     * Deletes a record and, with it, its sub-records (a tombstone each in the outbox). Refused
     * while other records depend on it (classes of a school, students of a class). Open problem
     * records about a deleted person are resolved as "deleted".
     */
    remove(actor: RecordsActor, table: string, id: string, opts: { version?: number; ownerId?: string } = {}): void {
      const spec = resource(table)
      const at = now().toISOString()
      write(() => {
        const row = reachable(actor, spec, id, opts.ownerId)
        assertHome(row)
        if (opts.version !== undefined && row.version !== opts.version) {
          throw recordError('RECORD_VERSION_CONFLICT', '该记录已被他人修改，请刷新后再删除', { field: 'version', rule: 'version', currentVersion: row.version })
        }
        assertNoDependants(spec, row, 'delete')
        if (STATUS_CHANGE_TABLES.has(table)) {
          assertNotByTransfer(store.get(OPEN_TRANSFER_OF_CHANGE, id))
          assertGenericWrite('delete', fromSql(spec, row) as Parameters<typeof assertGenericWrite>[1])
        }
        // R-26.1: a person once verified, or whose state has moved, ends by a status change or completion.
        if ((table === 'students' || table === 'children') && (row.first_verified_at !== null || row.verify_state === 'verified' || row.state !== (table === 'students' ? KINDS.student.active : KINDS.child.active))) {
          throw statusChangeError('RECORD_DELETE_VERIFIED', '已核对过或已办理异动的学籍记录不能删除，请通过学籍异动（转出、退学、死亡等）或结业办理', { rule: 'never_delete_verified' })
        }
        const ownerRow = spec.owner?.viaPath ? store.row(resource(spec.owner.table), String(row[spec.owner.column])) : undefined
        assertOpen(actor, spec, fromSql(spec, row), personOf(spec, ownerRow))
        if (table === 'student_completions') graduate(actor, String(row.student_id), 'in_school', at)
        for (const sub of cascadedBy(table)) {
          for (const child of store.all(`select * from ${sub.table} where ${sub.owner!.column} = ?`, id)) store.tombstone(sub, child, actor.accountId)
        }
        store.tombstone(spec, row, actor.accountId)
        if (table === 'students' || table === 'children') duplicates.resolveDeleted(id, actor.accountId)
        const owner = spec.owner ? store.row(resource(spec.owner.table), String(row[spec.owner.column])) : undefined
        unverifyOwner(spec, owner, actor, at)
      })
    },

    /**
     * A page of records within the actor's scope with the total matching count, as the API
     * answers it: UTF-8 JSON `{items, total, limit, offset}`, the items masked (list-items.ts).
     * With a read pool the count and the page run side by side on its readers, and the page's
     * mapping, masking and serialisation with them.
     */
    async listPage(actor: RecordsActor, table: string, query: ListQuery = {}, ownerId?: string): Promise<Buffer> {
      const spec = resource(table)
      if (spec.owner?.viaPath) reachable(actor, resource(spec.owner.table), String(ownerId))
      const { limit, offset } = pageBounds(query)
      const { where, pageWhere, params, order, exact } = listWhere(spec, actor.filter, query, ownerId)
      // An ID number or 学籍号 is one lookup on its index (a few rows at most): cheaper here than
      // the two hand-offs to the readers and back (bench:search, 1 client p50 1.1–1.4 → 0.9 ms).
      const reads = exact ? undefined : deps.reads
      const countSql = `select count(*) as n from ${table} t where ${where}`
      // The page's rowids first: a search's index holds them, so only the page's rows are read.
      // LIMIT and OFFSET are written in, not bound: SQLite plans with a bound LIMIT's value and so
      // prepares the statement again at every execution (a one-student page 125 µs against 14).
      const pageSql = `select ${listFields(spec, query.fields)} from ${table} t where t.rowid in (select t.rowid from ${table} t where ${pageWhere} order by ${order} limit ${limit} offset ${offset}) order by ${order}`
      const at = now()
      const [counted, head] = reads
        ? await Promise.all([reads.all(countSql, params), reads.items(pageSql, params, at)])
        : [store.all(countSql, ...params), pageHead(listItemsJson(store.statement(pageSql), params, at))]
      return finishPage(head, Number(counted[0].n), limit, offset)
    },

    /**
     * The SQL a list runs, for EXPLAIN QUERY PLAN in tests and ops, and its WHERE clause (alias t)
     * for exports that page by rowid: as its count has it, or (`page`) as its page of rowids has it.
     */
    listSql(actor: RecordsActor, table: string, query: ListQuery = {}, ownerId?: string, page = false): { sql: string; where: string; params: unknown[] } {
      const lw = listWhere(resource(table), actor.filter, query, ownerId)
      const where = page ? lw.pageWhere : lw.where
      return { sql: `select t.* from ${table} t where ${where} order by t.rowid`, where, params: lw.params }
    },

    /** Problem records (查重) within the actor's scope. */
    listProblems(actor: RecordsActor, query: ListQuery = {}): ListResult {
      const { limit, offset } = pageBounds(query)
      const { where, params } = listWhere(PROBLEMS, actor.filter, { ...query, q: undefined })
      const total = Number(store.get(`select count(*) as n from problem_records t where ${where}`, ...params)!.n)
      const items = store.all(`select t.*, ${PROBLEM_OTHER_SCHOOL} as other_school_code from problem_records t where ${where} order by t.rowid limit ${limit} offset ${offset}`, ...params).map(presentProblem)
      return { items, total, limit, offset }
    },

    getProblem(actor: RecordsActor, id: string): Rec {
      return presentProblem(reachable(actor, PROBLEMS, id))
    },

    /** Runs 查重 over every student and child of the node; returns how many problems were opened. */
    scanDuplicates(actor: RecordsActor): { created: number; open: number } {
      return write(() => duplicates.scan(actor.accountId))
    },

    /**
     * Resolves a problem record by evidence (佐证: `note` required) or correction (the duplicate
     * must be gone). Deletion resolves itself when the duplicate record is deleted.
     */
    resolveProblem(actor: RecordsActor, id: string, input: { version: number; resolution: 'evidence' | 'corrected'; note?: string | null }): Rec {
      write(() => {
        const row = reachable(actor, PROBLEMS, id)
        assertHome(row)
        if (row.version !== input.version) throw recordError('RECORD_VERSION_CONFLICT', '该问题记录已被他人处理，请刷新', { field: 'version', rule: 'version', currentVersion: row.version })
        duplicates.resolve(row, input.resolution, input.note ?? null, actor.accountId)
      })
      return presentProblem(store.row(PROBLEMS, id)!)
    },
  }
  return service
}

export type RecordsService = ReturnType<typeof createRecordsService>

/**
 * The select list of a list page (list-items.ts): every field, or those `fields` names and the
 * id (a page showing a few columns need not carry the rest); a name the records lack is refused.
 */
function listFields(spec: ResourceSpec, fields: unknown): string {
  if (fields === undefined || fields === null || fields === '') return listSelect(spec.table, spec.columns)
  const keys = new Set(String(fields).split(',').map(k => k.trim()).filter(k => k !== ''))
  const teachers = spec.table.endsWith('_teachers')
  const known = [...spec.columns.map(c => c.key), ...(teachers ? ['age'] : [])]
  const unknown = [...keys].filter(k => !known.includes(k))
  if (unknown.length > 0) throw nodeError('QUERY_FIELD_UNKNOWN', `没有这些字段：${unknown.join('、')}`, { field: 'fields', unknown, known })
  return listSelect(spec.table, spec.columns, keys)
}

/**
 * A list's LIMIT and OFFSET as integers to write into its SQL (a bound LIMIT makes SQLite prepare
 * the statement again at each execution, listPage): within 1–MAX_LIMIT, and an offset no larger
 * than SQLite takes (beyond it, an empty page).
 */
function pageBounds(query: ListQuery): { limit: number; offset: number } {
  const limit = Math.min(Math.max(Math.trunc(Number(query.limit ?? DEFAULT_LIMIT)) || DEFAULT_LIMIT, 1), MAX_LIMIT)
  const offset = Math.min(Math.max(Math.trunc(Number(query.offset ?? 0)) || 0, 0), Number.MAX_SAFE_INTEGER)
  return { limit, offset }
}

/**
 * Search conditions (alias t) for `q`. ID numbers and 学籍号 are equality on their indexes. A name
 * prefix is listed in name order: the order of its index (students_name: name, state, home node),
 * so a page stops at its last row instead of sorting every match. `any` tells whether a condition
 * holds for any row of the table (one step on its index).
 */
function searchSql(spec: ResourceSpec, q: string, any: (cond: string, params: unknown[]) => boolean): { sql: string; params: unknown[]; order?: string; exact?: boolean } {
  const top = String.fromCodePoint(0x10ffff)
  if (spec.personSearch) {
    // As stored (validate.ts normaliseIdentifier): typed full-width or with spaces, still the number.
    const ident = normaliseIdentifier(q)
    if (/^\d{17}[\dX]$|^\d{15}$/.test(ident)) return { sql: 't.id_number = ?', params: [ident], exact: true }
    if (spec.table === 'students' && /^[GJL][0-9X]{18}$/.test(ident)) return { sql: 't.student_no = ?', params: [ident], exact: true }
    const compact = compactPinyin(q)
    if (/^[a-zv]+$/.test(compact)) {
      // Initials, or the pinyin typed without spaces: a range on students_initials or on
      // students_pinyin_compact (the expression as indexed). Either, in rowid order, where both
      // have rows in the range (zh: 张华 and 张三); where only one has (zy: no pinyin starts so;
      // zhang: no initials), that range alone, in its index's order: the count reads the index
      // alone and a page stops at its last row (bench:search, q=zy: count 0.93 → 0.50 ms, the
      // page's rowids 1.06 → 0.05).
      const range = [compact, compact + top]
      const initials = { sql: 't.pinyin_initials >= ? and t.pinyin_initials < ?', params: range, order: 't.pinyin_initials, t.state, t.home_node, t.rowid' }
      const full = { sql: "replace(t.name_pinyin, ' ', '') >= ? and replace(t.name_pinyin, ' ', '') < ?", params: range, order: "replace(t.name_pinyin, ' ', ''), t.state, t.home_node, t.rowid" }
      const [byInitials, byFull] = [any(initials.sql, range), any(full.sql, range)]
      if (byInitials && byFull) return { sql: `((${initials.sql}) or (${full.sql}))`, params: [...range, ...range] }
      return byFull ? full : initials
    }
    return { sql: 't.name >= ? and t.name < ?', params: [q, q + top], order: 't.name, t.state, t.home_node, t.rowid' }
  }
  if (spec.columns.some(c => c.name === 'name')) return { sql: `t.name like ? escape '\\'`, params: [`%${q.replace(/[\\%_]/g, m => `\\${m}`)}%`] }
  return { sql: '1', params: [] }
}

/** Adds the sub-record's path (`guardians[1]`) to the field of a validation error. */
function prefixed(err: unknown, path: string): unknown {
  if (!(err instanceof XuejiError) || !err.code.startsWith('RECORD_')) return err
  const issues = (err.details?.issues as Issue[] | undefined) ?? [{ code: err.code, field: String(err.details?.field ?? ''), rule: String(err.details?.rule ?? ''), message: err.message } as Issue]
  if (err.details?.issues) return issuesError(withPath(path, issues))
  return new XuejiError(err.code, err.message, err.statusCode, { ...err.details, field: `${path}.${String(err.details?.field ?? '')}` })
}

/** A UNIQUE or FOREIGN KEY failure that slipped past the explicit checks, as a record error. */
function constraintError(err: unknown): unknown {
  const e = err as { code?: string; message: string }
  if (e?.code === 'SQLITE_CONSTRAINT_UNIQUE') {
    const column = /UNIQUE constraint failed: [\w.]+\.(\w+)(?:,|$)/.exec(e.message)?.[1]
    const last = /\.(\w+)$/.exec(e.message)?.[1] ?? column
    return recordError('RECORD_DUPLICATE_KEY', '已有相同代码（或同一学期）的记录', { field: camel(last ?? ''), rule: 'unique' })
  }
  if (e?.code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return recordError('RECORD_IN_USE', '该记录仍被其他记录引用', { rule: 'foreign_key' })
  return err
}

const camel = (s: string) => s.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())
