/**
 * The status-change workflow (学籍异动, R-10.10, R-12.5, R-19.4, R-20.1): the school applies, the
 * school's bureau reviews (approve, or reject with a reason), the bureau administrator carries it
 * out (办理), which moves the person's state and class in the same transaction. Every step is
 * check, check, act, record: one `BEGIN IMMEDIATE` transaction with its outbox rows (so the
 * change syncs upward) and, for an API request, its audit entry. Students and kindergarten
 * children go through the same steps over their own tables and codes (rules.ts `KINDS`).
 *
 * Only this service sets `processingStatus` and a person's `state` (besides a completion, which
 * the records service marks as graduated).
 */
import type { WorkingCalendar } from '../../config/calendar.ts'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import type { Storage } from '../../schema/db.ts'
import { parentDivision } from '../../sync/area.ts'
import { latestDeathReportOf, recordDeathReport } from '../../sync/death.ts'
import type { Target } from '../auth/access.ts'
import { auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { targetOfRow } from '../auth/targets.ts'
import { recordError } from '../records/errors.ts'
import { chinaToday, prepareRecord, type RecordInput } from '../records/validate.ts'
import { resource } from '../services/records/resources.ts'
import type { RecordsActor } from '../services/records/service.ts'
import { createStore, fromSql, type Rec, type SqlRow } from '../services/records/store.ts'
import { assertCertifiable } from './certificate.ts'
import { statusChangeError } from './errors.ts'
import { DEATH, DECEASED, KINDS, OPEN_STATUSES, STATUS_CHANGE_TABLES, OPEN_TRANSFER_OF_CHANGE, PROCESSING, WORKFLOW_FIELDS, ageOf, assertNotByTransfer, assertNotFrozen, assertStep, assertTransition, deadlines, type PersonKind } from './rules.ts'
import { newRecordId } from '../../schema/record-ids.ts'

export interface StatusChangeServiceDeps {
  storage: Storage
  identity: { code: string }
  codes: CodeRegistry
  calendar: WorkingCalendar
  /** Working days of R-19.4 (apply) and R-20.1 (review); configuration `calendar.statusChange*Days`. */
  days: { apply: number; review: number }
  /** Clock, for tests of deadlines and for the seed generator's history. */
  now?: () => Date
  /** Record ids (default: random UUIDs); the seed generator makes its own, deterministic ones. */
  newId?: () => string
  /**
   * Called after a death (or its reversal) was carried out and its report committed:
   * the node queues it on the priority path at once. Without it the sync reconciler finds it.
   */
  onDeathReported?: () => void
}

export interface ReviewInput {
  version: number
  decision: 'approve' | 'reject'
  /** 驳回理由 (required to reject) or a note on the approval. */
  reason?: string | null
  /** 审批文号 */
  approvalDocNo?: string | null
}

const notFound = () => authError('NOT_FOUND', '未找到该记录')

export function createStatusChangeService(deps: StatusChangeServiceDeps) {
  const { storage, identity, codes, calendar, days } = deps
  const now = deps.now ?? (() => new Date())
  const newId = deps.newId ?? newRecordId
  const store = createStore(storage)

  const kindOfTable = (table: string) => (Object.keys(KINDS) as PersonKind[]).find(k => KINDS[k].table === table)!

  /** A status-change row by id, in either table. */
  function locate(id: string): { kind: PersonKind; row: SqlRow } | undefined {
    for (const kind of Object.keys(KINDS) as PersonKind[]) {
      const row = store.row(resource(KINDS[kind].table), id)
      if (row) return { kind, row }
    }
    return undefined
  }

  const reaches = (actor: RecordsActor, table: string, row: SqlRow) => actor.unrestricted === true || actor.reach(targetOfRow(storage, table, row))

  function assertHome(row: SqlRow): void {
    if (row.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', `该记录属于节点 ${String(row.home_node)}，只能在其所属节点办理`, { homeNode: row.home_node })
  }

  function assertVersion(row: SqlRow, version: number): void {
    if (row.version !== version) throw recordError('RECORD_VERSION_CONFLICT', '该异动已被他人处理，请刷新后重试', { field: 'version', rule: 'version', currentVersion: row.version })
  }

  /**
   * A reachable status change of this node, or 404. `via`: the transfer between nodes that moves
   * its own 转出 (node/transfers); any other step on such a 转出 is refused.
   */
  function reachableChange(actor: RecordsActor, id: string, via?: 'transfer'): { kind: PersonKind; row: SqlRow } {
    const found = locate(id)
    if (!found || !reaches(actor, KINDS[found.kind].table, found.row)) throw notFound()
    assertHome(found.row)
    if (via !== 'transfer') assertNotByTransfer(store.get(OPEN_TRANSFER_OF_CHANGE, id))
    return found
  }

  const personRow = (kind: PersonKind, id: unknown) => store.row(resource(KINDS[kind].person), String(id))

  function gradeOf(kind: PersonKind, classId: unknown): number | null {
    if (typeof classId !== 'string') return null
    const g = store.get(`select grade from ${KINDS[kind].classes} where id = ?`, classId)?.grade
    return typeof g === 'number' ? g : null
  }

  /** Refuses a target class the change needs but lacks, or one outside the person's school. */
  function assertTargetClass(kind: PersonKind, need: 'required' | 'optional' | 'none', person: SqlRow, classId: unknown): void {
    const k = KINDS[kind]
    if (classId === null || classId === undefined || classId === '') {
      if (need === 'required') throw statusChangeError('STATUS_CHANGE_CLASS_INVALID', '此类异动须选择编入的班级', { field: 'targetClassId', rule: 'required' })
      return
    }
    if (need === 'none') throw statusChangeError('STATUS_CHANGE_CLASS_INVALID', '此类异动不编入班级，请不要选择班级', { field: 'targetClassId', rule: 'not_applicable' })
    if (typeof classId !== 'string' || !store.get(`select 1 from ${k.classes} where id = ? and ${k.orgColumn} = ?`, classId, person[k.orgColumn])) {
      throw statusChangeError('STATUS_CHANGE_CLASS_INVALID', '所选班级不存在或不属于本校（园）', { field: 'targetClassId', rule: 'same_school' })
    }
  }

  /** A status change as the API answers it: the record, its deadlines and its age. */
  function view(table: string, row: SqlRow): Rec {
    const rec = fromSql(resource(table), row)
    const applied = typeof row.applied_on === 'string' ? row.applied_on : String(row.created_at).slice(0, 10)
    const d = deadlines(calendar, days, String(row.change_date), applied)
    const open = OPEN_STATUSES.includes(String(row.processing_status))
    return {
      ...rec,
      kind: kindOfTable(table),
      deadlines: { applyBy: d.applyBy, applyByProvisional: d.applyByProvisional, reviewBy: d.reviewBy, reviewByProvisional: d.reviewByProvisional },
      ...(open ? ageOf(calendar, applied, d.reviewBy, chinaToday(now())) : { ageWorkingDays: null, ageDays: null, overdue: false }),
    }
  }

  /** Rewrites a row with `changes` (camelCase), its version raised, and appends its outbox row. */
  function bump(table: string, row: SqlRow, changes: Rec, actor: string, at: string): SqlRow {
    const spec = resource(table)
    return store.update(spec, { ...fromSql(spec, row), ...changes, version: Number(row.version) + 1, updatedAt: at }, actor)
  }

  /** One workflow step: its transaction, audited as `action` on the status change it wrote. */
  function step(action: string, fn: () => { kind: PersonKind; row: SqlRow }): { kind: PersonKind; row: SqlRow } {
    return auditedWrite(storage, fn, r => ({ targetTable: KINDS[r.kind].table, targetId: String(r.row.id), action }))
  }

  return {
    /**
     * A school applies (申请): checks the person (reachable, owned here, no open application, a
     * state the type allows), validates the fields like any record, then stores the application
     * with its date and the late flag (a late one is accepted).
     */
    apply(actor: RecordsActor, kind: PersonKind, personId: string, input: RecordInput): Rec {
      const k = KINDS[kind]
      const spec = resource(k.table)
      const at = now().toISOString()
      const { row } = step('status_change_apply', () => {
        const person = personRow(kind, personId)
        if (!person || !reaches(actor, k.person, person)) throw notFound()
        assertHome(person)
        const reserved = WORKFLOW_FIELDS.filter(f => input[f] !== undefined && input[f] !== null)
        if (reserved.length) throw statusChangeError('STATUS_CHANGE_PROCESSING_RESERVED', '处理状态、处理结果和审批信息由审核、办理流程填写，申请时不能填写', { fields: reserved })
        const type = String(input.changeType)
        assertNotFrozen(kind, String(person.state), type)
        const reversal = person.state === DECEASED
        // A death, or its reversal, is reported whatever else is pending (that business freezes).
        const overriding = type === DEATH || reversal
        const open = store.get(
          `select id from ${k.table} where ${k.personColumn} = ? and processing_status in (${OPEN_STATUSES.map(() => '?').join(', ')})${overriding ? ' and change_type = ?' : ''}`,
          personId, ...OPEN_STATUSES, ...(overriding ? [type] : []),
        )
        if (open) throw statusChangeError('STATUS_CHANGE_PENDING_EXISTS', '该人员已有未办结的异动申请，请先办结或撤回', { id: open.id })
        const parent = fromSql(resource(k.person), person)
        const prepared = prepareRecord(k.table, { ...input, processingStatus: PROCESSING.applied }, { codes, now: now(), nodeCode: identity.code, parent })
        if (reversal) assertTargetClass(kind, 'none', person, prepared.targetClassId)
        else {
          const tr = assertTransition(kind, String(prepared.changeType), String(person.state), gradeOf(kind, person.class_id))
          if (tr) assertTargetClass(kind, tr.targetClass, person, prepared.targetClassId)
        }
        const appliedOn = chinaToday(now())
        const d = deadlines(calendar, days, String(prepared.changeDate), appliedOn)
        return { kind, row: store.insert(spec, {
          ...prepared,
          [spec.owner!.key]: personId,
          appliedOn,
          late: d.late,
          id: newId(),
          homeNode: person.home_node,
          version: 1,
          epoch: person.epoch,
          createdAt: at,
          updatedAt: at,
          verifyState: 'entered',
          enteredBy: actor.accountId,
          enteredAt: at,
          unitCode: person[kind === 'student' ? 'school_code' : 'kindergarten_code'],
        }, actor.accountId) }
      })
      return view(k.table, row)
    },

    /**
     * The school's bureau reviews: approve (审批日期 today, 审批文号) or reject with its reason. A
     * child's change keeps no 审批文号: one given is refused (RECORD_FIELD_NOT_ALLOWED).
     * `via`: as with every step, only the transfer between nodes moves a 转出 it applied.
     */
    review(actor: RecordsActor, id: string, input: ReviewInput, via?: 'transfer'): Rec {
      const at = now().toISOString()
      const { kind, row } = step(`status_change_${input.decision}`, () => {
        const found = reachableChange(actor, id, via)
        assertVersion(found.row, input.version)
        assertStep('review', String(found.row.processing_status))
        // A child's change has no column for it (R-12.5: 幼儿异动 lists no approval), so one given is refused rather than dropped.
        if (found.kind === 'child' && typeof input.approvalDocNo === 'string' && input.approvalDocNo.trim() !== '') {
          throw recordError('RECORD_FIELD_NOT_ALLOWED', '幼儿异动不登记批准文号（办法第十二条所列幼儿异动信息不含批准文号），请清空批准文号后再审核', { field: 'approvalDocNo', rule: 'child_no_approval_doc_no' })
        }
        // entered by the school administrator, verified by the school leadership, then
        // reviewed by the bureau. A transfer's own 转出 and 转入 are decided by the bureaus in it.
        if (via !== 'transfer' && found.row.verify_state !== 'verified') {
          throw statusChangeError('STATUS_CHANGE_NOT_VERIFIED', '该异动申请尚未经校领导核对，核对后方可审核', { verifyState: found.row.verify_state })
        }
        assertNotFrozen(found.kind, String(personRow(found.kind, found.row[KINDS[found.kind].personColumn])?.state), String(found.row.change_type))
        const reason = typeof input.reason === 'string' ? input.reason.trim() : ''
        if (input.decision === 'reject' && reason === '') throw statusChangeError('STATUS_CHANGE_REASON_REQUIRED', '驳回异动申请须填写理由', { field: 'reason', rule: 'required' })
        const approve = input.decision === 'approve'
        const row = bump(KINDS[found.kind].table, found.row, {
          processingStatus: approve ? PROCESSING.approved : PROCESSING.rejected,
          reviewedBy: actor.accountId,
          reviewedAt: at,
          approvalDate: approve ? chinaToday(now()) : null,
          approvalDocNo: approve ? (input.approvalDocNo ?? null) : null,
          result: reason === '' ? null : reason,
        }, actor.accountId, at)
        return { kind: found.kind, row }
      })
      return view(KINDS[kind].table, row)
    },

    /**
     * The bureau administrator carries an approved change out (办理): the person's state and class
     * move in the same transaction as the change's own status, checked again against the
     * person's state of now.
     */
    carryOut(actor: RecordsActor, id: string, input: { version: number; result?: string | null }, via?: 'transfer'): Rec {
      const at = now().toISOString()
      let reported = false
      const { kind, row } = step('status_change_carry_out', () => {
        const found = reachableChange(actor, id, via)
        const k = KINDS[found.kind]
        assertVersion(found.row, input.version)
        assertStep('carry_out', String(found.row.processing_status))
        const person = personRow(found.kind, found.row[k.personColumn])!
        const type = String(found.row.change_type)
        const state = String(person.state)
        assertNotFrozen(found.kind, state, type)
        const placement: Rec = {}
        const death = state === DECEASED ? latestDeathReportOf(storage, identity.code, String(person.id)) : undefined
        if (state === DECEASED) placement.state = death?.priorState ?? k.active
        else {
          const tr = assertTransition(found.kind, type, state, gradeOf(found.kind, person.class_id))
          const targetClassId = found.row.target_class_id
          if (tr) assertTargetClass(found.kind, tr.targetClass, person, targetClassId)
          if (tr?.to) placement.state = tr.to
          if (typeof targetClassId === 'string') placement.classId = targetClassId
        }
        if (Object.keys(placement).length) bump(k.person, person, placement, actor.accountId, at)
        const row = bump(k.table, found.row, {
          processingStatus: PROCESSING.carriedOut,
          carriedOutBy: actor.accountId,
          carriedOutAt: at,
          result: input.result ?? '已办理',
        }, actor.accountId, at)
        if (type === DEATH || state === DECEASED) {
          recordDeathReport(storage, identity.code, {
            event: type === DEATH ? 'death' : 'reversal',
            kind: found.kind,
            subjectId: String(person.id),
            name: String(person.name),
            unitCode: String(found.kind === 'student' ? person.school_code : person.kindergarten_code),
            changeId: String(row.id),
            eventDate: String(found.row.death_date ?? found.row.change_date),
            reverses: type === DEATH ? null : (death?.id ?? null),
            priorState: type === DEATH ? state : null,
          }, now())
          reported = true
        }
        return { kind: found.kind, row }
      })
      if (reported) deps.onDeathReported?.()
      return view(KINDS[kind].table, row)
    },

    /**
     * What the transfer certificate (转学证明) of an approved or carried-out 转出 prints: the
     * change, the person and their school (kindergarten), at the home node; `destination`, the
     * receiving school's (kindergarten's) code of a transfer between nodes, null otherwise.
     */
    certificate(actor: RecordsActor, id: string): { kind: PersonKind; change: Rec; person: Rec; org: { name: string; code: string } | undefined; destination: string | null } {
      const found = locate(id)
      if (!found || !reaches(actor, KINDS[found.kind].table, found.row)) throw notFound()
      const k = KINDS[found.kind]
      const codeColumn = found.kind === 'student' ? 'school_code' : 'kindergarten_code'
      // A person handed over to another node (node/transfers) keeps its 转出 here, read-only:
      // the sending school, whose unit is still homed here, prints its certificate. Its transfer
      // record names that school: the person's own row may sit in the receiving school by now
      // (a city holds the copy of a county below it that received the person).
      const sent = store.get(`select sender_unit_code, receiver_unit_code from transfers where status_change_id = ? and role = 'sender'`, id)
      const org = sent
        ? store.get(`select name, home_node, ${codeColumn} code from ${k.org} where ${codeColumn} = ?`, sent.sender_unit_code)
        : store.get(`select name, home_node, ${codeColumn} code from ${k.org} where id = (select ${k.orgColumn} from ${k.person} where id = ?)`, found.row[k.personColumn])
      if (org?.home_node !== identity.code) assertHome(found.row)
      const change = fromSql(resource(k.table), found.row)
      assertCertifiable({ changeType: change.changeType, processingStatus: change.processingStatus })
      const row = personRow(found.kind, found.row[k.personColumn])!
      return {
        kind: found.kind, change, person: fromSql(resource(k.person), row), org: org ? { name: String(org.name), code: String(org.code) } : undefined,
        destination: typeof sent?.receiver_unit_code === 'string' ? sent.receiver_unit_code : null,
      }
    },

    /** The school withdraws its application before the review (已撤回). */
    withdraw(actor: RecordsActor, id: string, input: { version: number }, via?: 'transfer'): Rec {
      const at = now().toISOString()
      const { kind, row } = step('status_change_withdraw', () => {
        const found = reachableChange(actor, id, via)
        assertVersion(found.row, input.version)
        assertStep('withdraw', String(found.row.processing_status))
        return { kind: found.kind, row: bump(KINDS[found.kind].table, found.row, { processingStatus: PROCESSING.withdrawn }, actor.accountId, at) }
      })
      return view(KINDS[kind].table, row)
    },

    /**
     * A queue: the status changes in `statuses` (default: the open ones) that `reach` admits,
     * oldest first, each with its age and deadlines.
     */
    queue(reach: (t: Target) => boolean, query: { statuses?: string[]; kind?: PersonKind } = {}): { items: Rec[]; total: number } {
      const statuses = query.statuses ?? OPEN_STATUSES
      const items: Rec[] = []
      for (const kind of query.kind ? [query.kind] : (Object.keys(KINDS) as PersonKind[])) {
        const table = KINDS[kind].table
        const rows = store.all(`select * from ${table} where processing_status in (${statuses.map(() => '?').join(', ')}) order by applied_on, created_at`, ...statuses)
        for (const row of rows) if (reach(targetOfRow(storage, table, row))) items.push(view(table, row))
      }
      items.sort((a, b) => String(a.appliedOn ?? a.createdAt).localeCompare(String(b.appliedOn ?? b.createdAt)))
      return { items, total: items.length }
    },

    /**
     * every application whose review deadline has passed unreviewed is escalated once to
     * the next tier up, as an alert row that syncs upward like any record. Returns how many.
     */
    escalateOverdue(): number {
      const today = chinaToday(now())
      const at = now().toISOString()
      const actor = 'system:status-changes'
      return storage.write(() => {
        let raised = 0
        for (const kind of Object.keys(KINDS) as PersonKind[]) {
          const k = KINDS[kind]
          const rows = store.all(`select * from ${k.table} where processing_status = ? and escalated_at is null and home_node = ?`, PROCESSING.applied, identity.code)
          for (const row of rows) {
            const applied = typeof row.applied_on === 'string' ? row.applied_on : String(row.created_at).slice(0, 10)
            const d = deadlines(calendar, days, String(row.change_date), applied)
            if (today <= d.reviewBy) continue
            const person = personRow(kind, row[k.personColumn])!
            store.insert(resource('alerts'), {
              id: newId(), homeNode: identity.code, version: 1, epoch: 0, createdAt: at, updatedAt: at,
              kind: 'status_change_review_overdue', addressedTo: parentDivision(identity.code),
              schoolCode: kind === 'student' ? person.school_code : person.kindergarten_code,
              subjectTable: k.table, subjectId: row.id, deadline: d.reviewBy, deadlineProvisional: d.reviewByProvisional ? 'yes' : 'no', raisedAt: at,
            }, actor)
            bump(k.table, row, { escalatedAt: at }, actor, at)
            raised++
          }
        }
        return raised
      })
    },

    /**
     * Alerts raised here or addressed to this node's bureau that `reach` admits, newest first. An
     * alert is about one status change: it is reached as that change's student (R-16.1), so a
     * teacher sees its own classes' alerts only; one whose change is not held here names no class.
     */
    alerts(reach: (t: Target) => boolean): Rec[] {
      const spec = resource('alerts')
      const subjectOf = (r: SqlRow): Target => {
        const table = String(r.subject_table)
        const change = STATUS_CHANGE_TABLES.has(table) ? store.get(`select * from ${table} where id = ?`, r.subject_id) : undefined
        const subject: Target = change ? targetOfRow(storage, table, change) : { school: String(r.school_code), studentId: '' }
        return { ...subject, homeNode: String(r.home_node) }
      }
      return store
        .all('select * from alerts where addressed_to = ? or home_node = ? order by raised_at desc', identity.code, identity.code)
        .filter(r => reach(subjectOf(r)))
        .map(r => fromSql(spec, r))
    },
  }
}

export type StatusChangeService = ReturnType<typeof createStatusChangeService>
