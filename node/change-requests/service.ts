/**
 * Change requests for locked records: the school applies with the proposed field
 * patch and a reason; the school's bureau approves or rejects; where the growth records were
 * reported to the province, the province approves too, and its decision comes down to the home
 * node as a signed command; the home node then applies the approved patch as done by the
 * approving administrator, through the subject record's own service with the locks lifted for
 * that one write, and records the chain of decisions. Every step is check, check, act, record in
 * one transaction with its outbox rows (the request row and the changed record travel upward as
 * ordinary change sets) and its audit entry.
 *
 * The patch is judged by the subject's own validators twice: when the school applies (a trial
 * write in a savepoint that is rolled back) and when it is applied.
 */
import type { WorkingCalendar } from '../../config/calendar.ts'
import { XuejiError } from '../../config/errors.ts'
import type { Storage } from '../../schema/db.ts'
import { newRecordId } from '../../schema/record-ids.ts'
import type { Command } from '../../sync/command.ts'
import type { Target } from '../auth/access.ts'
import { appendAudit, auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { loadRow, targetOfRow } from '../auth/targets.ts'
import type { GrowthService } from '../growth/service.ts'
import { recordError } from '../records/errors.ts'
import { chinaToday, prepareRecord, type RecordInput } from '../records/validate.ts'
import { CHANGE_REQUESTS } from '../services/records/resources.ts'
import type { RecordsActor, RecordsService } from '../services/records/service.ts'
import { createStore, fromSql, type Rec, type SqlRow } from '../services/records/store.ts'
import { changeRequestError } from './errors.ts'
import {
  GROWTH_SUBJECTS, OPEN, PROVINCE_DECISION_COMMAND, SUBJECT_TABLES, assertDecidable, assertPatch, assertRejectReason, assertWithdrawable,
  chainOf, failureOf, lockOfRefusal, personOf, type Status,
} from './rules.ts'

export interface ChangeRequestServiceDeps {
  storage: Storage
  identity: { code: string; tier: string }
  records: RecordsService
  growth: GrowthService
  /** Working days, for the bureau's review period (`reviewDays`). */
  calendar: WorkingCalendar
  /** Working days the school's bureau has to decide (R-20.1's period; `calendar.statusChangeReviewDays`). */
  reviewDays: number
  /** Sends the province's decision down to the request's home node (sync/downward.ts `issue`). */
  issue(destination: string, type: string, payload: Record<string, unknown>): Promise<{ seq: number }>
  now?: () => Date
}

export interface ApplyInput {
  /** The subject record's table and id, and the version the school read. */
  table: string
  id: string
  version: number
  patch: Record<string, unknown>
  reason: string
}

export interface DecideInput {
  version: number
  decision: 'approve' | 'reject'
  reason?: string | null
}

const notFound = () => authError('NOT_FOUND', '未找到该变更申请')
/** Thrown to roll back a trial write's savepoint. */
const TRIAL = Symbol('trial')

/** Pending change requests (awaiting the bureau or the province) of a school or kindergarten, by its id: blockers of the rollover. */
export function openChangeRequests(storage: Storage, unitId: string): number {
  return Number(storage.sqlite.prepare(
    `select count(*) from change_requests where status in ('pending_bureau', 'pending_province')
     and school_code in (select school_code from schools where id = ? union select kindergarten_code from kindergartens where id = ?)`,
  ).pluck().get(unitId, unitId))
}

export function createChangeRequestService(deps: ChangeRequestServiceDeps) {
  const { storage, identity, records, growth, calendar } = deps
  const now = deps.now ?? (() => new Date())
  const store = createStore(storage)
  const db = storage.sqlite

  /** The request's place in the school → class → student tree: its person's, at its home node. */
  function targetOf(row: SqlRow): Target {
    const person = loadRow(storage, String(row.person_table), String(row.person_id))
    return person ? { ...targetOfRow(storage, String(row.person_table), person), homeNode: String(row.home_node) } : { homeNode: String(row.home_node), studentId: '' }
  }

  const reaches = (actor: RecordsActor, row: SqlRow) => actor.unrestricted === true || actor.reach(targetOf(row))

  function reachable(actor: RecordsActor, id: string): SqlRow {
    const row = store.row(CHANGE_REQUESTS, id)
    if (!row || !reaches(actor, row)) throw notFound()
    return row
  }

  function assertVersion(row: SqlRow, version: number): void {
    if (row.version !== version) throw recordError('RECORD_VERSION_CONFLICT', '该变更申请已被他人处理，请刷新后重试', { field: 'version', rule: 'version', currentVersion: row.version })
  }

  /** Writes `patch` to the subject record through its own service, as `actor`; answers its new version. */
  function writeSubject(actor: RecordsActor, table: string, id: string, version: number, patch: Record<string, unknown>): number {
    const kind = GROWTH_SUBJECTS[table]
    if (kind === undefined) return Number(records.update(actor, table, id, { ...(patch as RecordInput), version }).version)
    const studentId = String(loadRow(storage, table, id)?.student_id ?? '')
    if (kind === 'evaluation') return Number(growth.comment(actor, studentId, { ...(patch as RecordInput), version }).version)
    return Number(growth.update(actor, kind, studentId, id, { ...(patch as RecordInput), version }).version)
  }

  /** Runs a write in a savepoint that is always rolled back; answers the error it threw, if any. */
  function trial(fn: () => void): unknown {
    try {
      storage.write(() => {
        fn()
        throw TRIAL
      })
    } catch (err) {
      return err === TRIAL ? undefined : err
    }
    return undefined
  }

  /** The subject's patch applied at the home node, or the request marked failed (the record untouched). */
  function carryOut(row: SqlRow, actor: RecordsActor, at: string): { row: SqlRow; failure?: XuejiError } {
    const patch = JSON.parse(String(row.patch)) as Record<string, unknown>
    let version = 0
    const err = (() => {
      try {
        storage.write(() => {
          version = writeSubject(actor, String(row.subject_table), String(row.subject_id), Number(row.subject_version), patch)
        })
        return undefined
      } catch (e) {
        if (e instanceof XuejiError) return e
        throw e
      }
    })()
    if (err) {
      const failure = failureOf(err)
      return { row: bump(row, { status: 'failed', failureCode: failure.code, failureMessage: failure.message.slice(0, 500) }, actor.accountId, at), failure }
    }
    return { row: bump(row, { status: 'carried_out', carriedOutBy: actor.accountId, carriedOutAt: at, resultVersion: version }, actor.accountId, at) }
  }

  function bump(row: SqlRow, changes: Rec, actor: string, at: string): SqlRow {
    return store.update(CHANGE_REQUESTS, { ...fromSql(CHANGE_REQUESTS, row), ...changes, version: Number(row.version) + 1, updatedAt: at }, actor)
  }

  /** The province's decision already sent down for this request, if any. */
  function sentDecision(row: SqlRow): { seq: number; decision: string; at: string } | undefined {
    if (row.home_node === identity.code) return undefined
    const sent = db.prepare(
      `select seq, json_extract(body, '$.payload.decision') decision, json_extract(body, '$.createdAt') at from sync_commands
       where issuer = ? and destination = ? and type = ? and json_extract(body, '$.payload.id') = ? and json_extract(body, '$.payload.version') = ?`,
    ).get(identity.code, row.home_node, PROVINCE_DECISION_COMMAND, row.id, row.version) as { seq: number; decision: string; at: string } | undefined
    return sent
  }

  /** A request as the API answers it: the row, its patch, the chain of decisions, its age and deadline. */
  function view(row: SqlRow): Rec {
    const rec = fromSql(CHANGE_REQUESTS, row)
    const today = chinaToday(now())
    const open = OPEN.includes(rec.status as Status)
    const appliedOn = String(rec.appliedOn)
    const review = rec.status === 'pending_bureau' ? calendar.addWorkingDays(appliedOn, deps.reviewDays) : undefined
    return {
      ...rec,
      patch: JSON.parse(String(rec.patch)) as Rec,
      decisions: chainOf(rec),
      ageDays: open ? Math.max(0, Math.round((Date.parse(today) - Date.parse(appliedOn)) / 86_400_000)) : null,
      ageWorkingDays: open ? calendar.workingDaysBetween(appliedOn, today).days : null,
      deadline: review ? review.date : null,
      deadlineProvisional: review ? review.provisional : false,
      overdue: review ? today > review.date : false,
      decisionSent: sentDecision(row) ?? null,
    }
  }

  const service = {
    /**
     * The school applies (申请): the subject exists, is reached by the applicant and homed here;
     * the patch passes the subject's own validators (a trial write, rolled back); the record is in
     * fact locked (the same write without the lift is refused by a lock), which says who approves;
     * then the request is stored, awaiting the school's bureau.
     */
    apply(actor: RecordsActor, input: ApplyInput): Rec {
      const at = now().toISOString()
      const row = auditedWrite(storage, () => {
        if (!SUBJECT_TABLES.has(input.table)) throw changeRequestError('CHANGE_REQUEST_TABLE_INVALID', '该类记录不能通过变更申请修改', { table: input.table })
        const patch = assertPatch(input.patch)
        const subject = loadRow(storage, input.table, input.id)
        if (!subject || (!actor.unrestricted && !actor.reach(targetOfRow(storage, input.table, subject)))) throw authError('NOT_FOUND', '未找到该记录')
        if (subject.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', `该记录属于节点 ${String(subject.home_node)}，变更申请在其所属节点提出`, { homeNode: subject.home_node })
        if (subject.version !== input.version) throw recordError('RECORD_VERSION_CONFLICT', '该记录已被他人修改，请刷新后重新申请', { field: 'version', rule: 'version', currentVersion: subject.version })
        const invalid = trial(() => writeSubject({ ...actor, changeRequest: 'application' }, input.table, input.id, input.version, patch))
        if (invalid) throw invalid
        const refused = trial(() => writeSubject(actor, input.table, input.id, input.version, patch))
        const lock = lockOfRefusal(refused)
        if (!lock) {
          if (refused) throw refused
          throw changeRequestError('CHANGE_REQUEST_NOT_LOCKED', '该记录未锁定，请直接修改，无需变更申请', { table: input.table })
        }
        const text = prepareRecord('change_requests', { reason: input.reason, patch: JSON.stringify(patch) }, { codes: records.codes, now: now(), nodeCode: identity.code })
        const person = personOf(input.table, subject)
        const personRow = loadRow(storage, person.table, person.id)!
        return store.insert(CHANGE_REQUESTS, {
          id: newRecordId(), homeNode: identity.code, version: 1, epoch: 0, createdAt: at, updatedAt: at,
          personTable: person.table, personId: person.id, schoolCode: person.table === 'students' ? personRow.school_code : personRow.kindergarten_code,
          subjectTable: input.table, subjectId: input.id, subjectVersion: input.version, patch: text.patch, reason: text.reason,
          lockRule: lock.rule, needsProvince: lock.needsProvince, status: 'pending_bureau', appliedBy: actor.accountId, appliedOn: chinaToday(now()),
        }, actor.accountId)
      }, r => ({ targetTable: 'change_requests', targetId: String(r.id), action: 'change_request_apply', fields: Object.keys(input.patch ?? {}) }))
      return view(row)
    },

    /**
     * A decision. At the home node the school's bureau decides: a rejection (with its reason)
     * ends the request; an approval either awaits the province or is carried out at once
     * as done by the approving administrator. At the province, its decision goes down to the home
     * node as a signed command and shows as `decisionSent` until the home node's answer comes up.
     * An approved patch that is stale or no longer valid marks the request failed and is refused
     * (CHANGE_REQUEST_STALE, CHANGE_REQUEST_NO_LONGER_VALID), the record untouched.
     */
    async decide(actor: RecordsActor, id: string, input: DecideInput): Promise<Rec> {
      const reason = typeof input.reason === 'string' ? input.reason.trim() : ''
      const found = reachable(actor, id)
      const home = found.home_node === identity.code
      const step = assertDecidable(String(found.status), { home, province: identity.tier === 'province' }, String(found.home_node))
      if (step === 'province') {
        assertVersion(found, input.version)
        assertRejectReason(input.decision, reason)
        const sent = sentDecision(found)
        if (sent) throw changeRequestError('CHANGE_REQUEST_DECISION_SENT', '省级审批意见已下达，正等待学校所属节点办理', { seq: sent.seq, decision: sent.decision })
        const text = prepareRecord('change_requests', { reason: found.reason, patch: found.patch, provinceReason: reason === '' ? null : reason }, { codes: records.codes, now: now(), nodeCode: identity.code })
        await deps.issue(String(found.home_node), PROVINCE_DECISION_COMMAND, {
          id, version: input.version, decision: input.decision, reason: text.provinceReason ?? null, by: actor.accountId, at: now().toISOString(),
        })
        return view(store.row(CHANGE_REQUESTS, id)!)
      }
      const at = now().toISOString()
      let failure: XuejiError | undefined
      const row = auditedWrite(storage, () => {
        const row = reachable(actor, id)
        assertDecidable(String(row.status), { home: true, province: identity.tier === 'province' }, String(row.home_node))
        assertVersion(row, input.version)
        assertRejectReason(input.decision, reason)
        const given = reason === '' ? null : reason
        const text = prepareRecord('change_requests', { reason: row.reason, patch: row.patch, bureauReason: given, provinceReason: given }, { codes: records.codes, now: now(), nodeCode: identity.code })
        // The lock is judged again: a growth record reported to the province since the school
        // applied (R-23.1 then) now needs the province's approval too.
        const escalated = !row.needs_province && input.decision === 'approve' ? lockOfRefusal(trial(() => writeSubject(actor, String(row.subject_table), String(row.subject_id), Number(row.subject_version), JSON.parse(String(row.patch)) as Record<string, unknown>))) : undefined
        const needsProvince = Boolean(row.needs_province) || escalated?.needsProvince === true
        // At the province as the school's home its administrator's decision is the bureau's and,
        // when asks for it, the province's too.
        const asBureau = row.status === 'pending_bureau'
        const asProvince = needsProvince && identity.tier === 'province'
        const decided = bump(row, {
          ...(needsProvince && !row.needs_province ? { needsProvince: true, lockRule: escalated!.rule } : {}),
          ...(asBureau ? { bureauDecision: input.decision, bureauBy: actor.accountId, bureauAt: at, bureauReason: text.bureauReason ?? null } : {}),
          ...(asProvince ? { provinceNode: identity.code, provinceDecision: input.decision, provinceBy: actor.accountId, provinceAt: at, provinceReason: text.provinceReason ?? null } : {}),
          ...(input.decision === 'reject' ? { status: 'rejected' } : needsProvince && !asProvince ? { status: 'pending_province' } : {}),
        }, actor.accountId, at)
        if (input.decision === 'reject' || (needsProvince && !asProvince)) return decided
        const done = carryOut(decided, { ...actor, changeRequest: id }, at)
        failure = done.failure
        return done.row
      }, r => ({ targetTable: 'change_requests', targetId: String(r.id), action: `change_request_${input.decision}`, ...(failure ? { outcome: 'failed' as const } : {}) }))
      if (failure) throw new XuejiError(failure.code, failure.message, failure.statusCode, { ...failure.details, changeRequest: id, status: row.status })
      return view(row)
    },

    /** The applicant school withdraws its request while it is undecided (at the home node). */
    withdraw(actor: RecordsActor, id: string, input: { version: number }): Rec {
      const at = now().toISOString()
      const row = auditedWrite(storage, () => {
        const row = reachable(actor, id)
        if (row.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', `该变更申请属于节点 ${String(row.home_node)}，只能在其所属节点撤回`, { homeNode: row.home_node })
        assertVersion(row, input.version)
        assertWithdrawable(String(row.status))
        return bump(row, { status: 'withdrawn', withdrawnBy: actor.accountId, withdrawnAt: at }, actor.accountId, at)
      }, r => ({ targetTable: 'change_requests', targetId: String(r.id), action: 'change_request_withdraw' }))
      return view(row)
    },

    /**
     * The province's decision (a `change_requests.decide` command), applied at the home node in
     * the command's transaction: the request awaits the province at the version the province
     * read; a rejection ends it, an approval carries the patch out as done by the province's
     * administrator. Audited here under that administrator's account id. Refusals (a withdrawn or
     * changed request) are the command's recorded result.
     */
    applyProvinceDecision(command: Command): Record<string, unknown> {
      const p = command.payload as { id?: unknown; version?: unknown; decision?: unknown; reason?: unknown; by?: unknown; at?: unknown }
      if (typeof p.id !== 'string' || !Number.isInteger(p.version) || (p.decision !== 'approve' && p.decision !== 'reject') || typeof p.by !== 'string' || typeof p.at !== 'string') {
        throw changeRequestError('CHANGE_REQUEST_PATCH_INVALID', '省级审批指令格式不正确', { rule: 'command' })
      }
      // Only the province approves: a city's command, though signed and from above, is refused.
      if (!/^\d{2}0000$/.test(command.issuer)) throw changeRequestError('CHANGE_REQUEST_WRONG_TIER', '变更申请的省级审批只能由省级教育行政部门作出', { issuer: command.issuer })
      const row = store.row(CHANGE_REQUESTS, p.id)
      if (!row || row.home_node !== identity.code) throw notFound()
      if (row.status !== 'pending_province') throw changeRequestError('CHANGE_REQUEST_NOT_PENDING', '该变更申请不在待省级审批状态', { status: row.status })
      assertVersion(row, p.version as number)
      const at = now().toISOString()
      const reason = typeof p.reason === 'string' ? p.reason : null
      const decided = bump(row, { provinceNode: command.issuer, provinceDecision: p.decision, provinceBy: p.by, provinceAt: p.at, provinceReason: reason, ...(p.decision === 'reject' ? { status: 'rejected' } : {}) }, p.by, at)
      const done = p.decision === 'reject'
        ? { row: decided, failure: undefined }
        : carryOut(decided, { accountId: p.by, filter: { all: true }, reach: () => true, unrestricted: true, changeRequest: p.id }, at)
      appendAudit(storage, {
        actorId: p.by, actorRole: 'bureau_admin', ip: null, action: `change_request_province_${p.decision}`, targetTable: 'change_requests', targetId: p.id,
        fields: null, outcome: done.failure ? 'failed' : 'ok', status: null, code: done.failure?.code ?? null,
      })
      return { changeRequest: p.id, status: done.row.status, ...(done.failure ? { code: done.failure.code } : {}) }
    },

    /** One request within the reader's scope. */
    get(actor: RecordsActor, id: string): Rec {
      return view(reachable(actor, id))
    },

    /** Requests in `statuses` (default: the open ones) that `reach` admits, oldest first. */
    queue(reach: (t: Target) => boolean, statuses: readonly string[] = OPEN): { items: Rec[]; total: number } {
      const rows = store.all(`select * from change_requests where status in (${statuses.map(() => '?').join(', ')}) order by applied_on, created_at`, ...statuses)
      const items = rows.filter(r => reach(targetOf(r))).map(view)
      return { items, total: items.length }
    },

    /** Pending change requests of a school or kindergarten, by its id: blockers of the rollover. */
    openForSchool: (schoolId: string): number => openChangeRequests(storage, schoolId),
  }
  return service
}

export type ChangeRequestService = ReturnType<typeof createChangeRequestService>
