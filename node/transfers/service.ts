/**
 * Transfers between schools of different nodes (R-19.5, R-12.5 for children; DESIGN.md §8).
 * `createTransferService(...)`: the receiving side's steps (`request`, `send`, `withdraw`,
 * `expire`), the sending side's (`approve`, `reject`), the list both schools read, and the
 * handlers of the routed messages between the two nodes (sync/routed.ts). Every step is one
 * transaction: checks, the status-change engine's own step (it alone sets processingStatus),
 * the transfer's row with the step's time, and the routed message to the other node.
 */
import { randomUUID } from 'node:crypto'
import type { Storage } from '../../schema/db.ts'
import { checkIdNumber, checkStudentNumber } from '../../schema/ids.ts'
import { sameIdNumberSql } from '../../sync/lookup.ts'
import { recordRouted, type RoutedHandler, type RoutedMessage } from '../../sync/routed.ts'
import type { Target } from '../auth/access.ts'
import { auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { targetOfRow } from '../auth/targets.ts'
import { chinaToday, normaliseIdentifier } from '../records/validate.ts'
import { systemActor, type RecordsActor } from '../services/records/service.ts'
import { resource } from '../services/records/resources.ts'
import { createStore, fromSql, type SqlRow } from '../services/records/store.ts'
import { OPEN_STATUSES, KINDS, PROCESSING } from '../status-changes/rules.ts'
import type { StatusChangeService } from '../status-changes/service.ts'
import { transferError } from './errors.ts'
import { assertStep, FILES, inPause, MESSAGES, OPEN, subTables, type TransferKind } from './rules.ts'

export interface TransferDeps {
  storage: Storage
  identity: { code: string }
  statusChanges: StatusChangeService
  /** The yearly pause (MM-DD) and the days after which an open request is abandoned. */
  pause: { from: string; to: string }
  timeoutDays: number
  now?: () => Date
  /** After a commit that wrote a routed message (the sync service routes and sends it). */
  onRouted?: () => void
}

/** A transfer as both schools read it. */
export interface TransferView {
  id: string
  role: 'receiver' | 'sender'
  kind: TransferKind
  status: string
  receiverNode: string
  receiverUnitCode: string
  targetClassId: string
  senderNode: string | null
  senderUnitCode: string | null
  subjectId: string | null
  name: string | null
  statusChangeId: string | null
  epoch: number | null
  code: string | null
  reason: string | null
  steps: { step: string; at: string }[]
  createdAt: string
  updatedAt: string
}

interface Row {
  id: string
  role: 'receiver' | 'sender'
  kind: TransferKind
  status: string
  receiver_node: string
  receiver_unit_code: string
  target_class_id: string
  id_number: string | null
  student_no: string | null
  sender_node: string | null
  sender_unit_code: string | null
  subject_id: string | null
  name: string | null
  status_change_id: string | null
  epoch: number | null
  code: string | null
  reason: string | null
  steps: string
  created_at: string
  updated_at: string
}

const ACTOR = 'system:transfer'

export function createTransferService(deps: TransferDeps) {
  const { storage, identity, statusChanges } = deps
  const db = storage.sqlite
  const store = createStore(storage)
  const now = deps.now ?? (() => new Date())
  const engine = systemActor('transfer')
  const byId = db.prepare('select * from transfers where id = ?')

  const view = (r: Row): TransferView => ({
    id: r.id, role: r.role, kind: r.kind, status: r.status, receiverNode: r.receiver_node, receiverUnitCode: r.receiver_unit_code,
    targetClassId: r.target_class_id, senderNode: r.sender_node, senderUnitCode: r.sender_unit_code, subjectId: r.subject_id, name: r.name,
    statusChangeId: r.status_change_id, epoch: r.epoch, code: r.code, reason: r.reason, steps: JSON.parse(r.steps), createdAt: r.created_at, updatedAt: r.updated_at,
  })

  /**
   * This transfer as an access target on this node: its school
   * (kindergarten) here, and the class of the subject as held here, or before the subject is held
   * the receiving class asked for; a row naming no class names its student, so class scopes fail
   * closed on it. The home node is this node's: the row is, whatever the person's is.
   */
  const targetOf = (r: Row): Target => {
    const person = r.subject_id ? store.get(`select * from ${KINDS[r.kind].person} where id = ?`, r.subject_id) : undefined
    const subject: Target = person
      ? targetOfRow(storage, KINDS[r.kind].person, person)
      : { classId: r.role === 'receiver' ? r.target_class_id : undefined, studentId: r.subject_id ?? '' }
    return { ...subject, homeNode: identity.code, school: r.role === 'receiver' ? r.receiver_unit_code : (r.sender_unit_code ?? '') }
  }

  /** Moves a row to `status`, adding the step with its time. */
  function move(r: Row, status: string, fields: Partial<Pick<Row, 'sender_node' | 'sender_unit_code' | 'subject_id' | 'name' | 'status_change_id' | 'epoch' | 'code' | 'reason'>> = {}): void {
    const at = now().toISOString()
    const steps = [...(JSON.parse(r.steps) as { step: string; at: string }[]), { step: status, at }]
    const next = { ...r, ...fields, status, steps: JSON.stringify(steps), updated_at: at }
    db.prepare(`update transfers set status = ?, sender_node = ?, sender_unit_code = ?, subject_id = ?, name = ?, status_change_id = ?, epoch = ?, code = ?, reason = ?, steps = ?, updated_at = ? where id = ?`).run(
      next.status, next.sender_node, next.sender_unit_code, next.subject_id, next.name, next.status_change_id, next.epoch, next.code, next.reason, next.steps, next.updated_at, r.id,
    )
  }

  function insert(r: Omit<Row, 'steps' | 'created_at' | 'updated_at'>): void {
    const at = now().toISOString()
    db.prepare(`insert into transfers (id, role, kind, status, receiver_node, receiver_unit_code, target_class_id, id_number, student_no, sender_node, sender_unit_code, subject_id, name, status_change_id, epoch, code, reason, steps, created_at, updated_at)
      values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      r.id, r.role, r.kind, r.status, r.receiver_node, r.receiver_unit_code, r.target_class_id, r.id_number, r.student_no, r.sender_node, r.sender_unit_code,
      r.subject_id, r.name, r.status_change_id, r.epoch, r.code, r.reason, JSON.stringify([{ step: r.status, at }]), at, at,
    )
  }

  /** A transfer of this node the actor reaches, or 404. */
  function reachable(actor: RecordsActor, id: string): Row {
    const r = byId.get(id) as Row | undefined
    if (!r || !(actor.unrestricted || actor.reach(targetOf(r)))) throw authError('NOT_FOUND', '未找到该转学申请')
    return r
  }

  /** Runs one audited step; `routed`: whether it wrote a routed message to send after the commit. */
  function step<T>(action: string, fn: () => { id: string; routed: boolean; out: T }): T {
    const { out, routed } = auditedWrite(storage, fn, r => ({ targetTable: 'transfers', targetId: r.id, action }))
    if (routed) deps.onRouted?.()
    return out
  }

  const send = (fields: Parameters<typeof recordRouted>[2]) => recordRouted(storage, identity.code, fields, now())
  const personTable = (kind: TransferKind) => FILES[kind].person

  /** Tells the receiving node what became of its request. */
  const reply = (r: Pick<Row, 'id' | 'receiver_node'>, body: Record<string, unknown>) =>
    send({ destination: r.receiver_node, find: null, type: MESSAGES.update, handoff: null, body: { transferId: r.id, ...body } })

  // ---------------------------------------------------------------- the receiving side

  /**
   * The receiving school asks for a person (ID number or 学籍号) to be placed in `targetClassId`
   * of one of its schools (kindergartens). Refused in the yearly pause, for a class it does not
   * manage, for a person already on this node or already being transferred.
   */
  function request(actor: RecordsActor, input: { kind: TransferKind; targetClassId: string; idNumber?: string | null; studentNo?: string | null; reason?: string | null }): TransferView {
    const f = FILES[input.kind]
    // As the records store them (full-width characters, spaces and case made one way), so the
    // sending node's look-up and the checks below compare like with like.
    const typed = (v: string | null | undefined) => (typeof v === 'string' ? normaliseIdentifier(v) || null : null)
    let idNumber = typed(input.idNumber)
    let studentNo = input.kind === 'student' ? typed(input.studentNo) : null
    if (!idNumber && !studentNo) throw transferError('TRANSFER_PERSON_REQUIRED', '请填写转入人员的身份证号或学籍号', { field: 'idNumber', rule: 'required' })
    return step('transfer_request', () => {
      const klass = store.get(`select * from ${f.classes} where id = ?`, input.targetClassId)
      if (!klass || !(actor.unrestricted || actor.reach(targetOfRow(storage, f.classes, klass)))) throw authError('NOT_FOUND', '未找到该班级')
      if (klass.home_node !== identity.code) throw transferError('TRANSFER_CLASS_INVALID', '所选班级不属于本节点的学校（幼儿园）', { field: 'targetClassId', rule: 'home' })
      // The sending node finds the person by the exact number: a masked or mistyped one finds nobody.
      if (idNumber !== null) {
        const id = checkIdNumber(idNumber, { now: now() })
        if (!id.ok) throw transferError('TRANSFER_PERSON_INVALID', '身份证号无效：请填写完整的 18 位身份证号（不能使用脱敏显示的号码）', { field: 'idNumber', rule: id.rule })
        idNumber = id.idNumber
      }
      if (studentNo !== null) {
        const xjh = checkStudentNumber(studentNo, { now: now() })
        if (!xjh.ok) throw transferError('TRANSFER_PERSON_INVALID', '学籍号无效：请填写完整的 19 位学籍号（不能使用脱敏显示的号码）', { field: 'studentNo', rule: xjh.rule })
        studentNo = xjh.studentNumber
      }
      if (inPause(chinaToday(now()), deps.pause)) throw transferError('TRANSFER_PAUSED', `全国学籍系统每年 ${deps.pause.from} 至 ${deps.pause.to} 暂停办理转学，请在此后申请`, deps.pause)
      // The number asked for is a resident ID: the same person under whatever document type it is filed here.
      const here = store.get(
        `select p.id from ${f.person} p where p.home_node = ? and (${sameIdNumberSql('p', '?', "'1'")}${input.kind === 'student' ? ' or p.student_no = ?' : ''})`,
        identity.code, idNumber, ...(input.kind === 'student' ? [studentNo] : []),
      )
      if (here) throw transferError('TRANSFER_SAME_NODE', '该人员已在本节点建立学籍，本节点内转学请办理转出、转入异动', { id: here.id })
      const open = store.get(
        `select id from transfers where role = 'receiver' and status in (${OPEN.map(() => '?').join(', ')}) and (id_number = ? or student_no = ?)`,
        ...OPEN, idNumber, studentNo,
      )
      if (open) throw transferError('TRANSFER_OPEN_EXISTS', '该人员已有办理中的转学申请', { id: open.id })
      const id = randomUUID()
      insert({
        id, role: 'receiver', kind: input.kind, status: 'requested', receiver_node: identity.code, receiver_unit_code: String(klass[f.codeColumn]),
        target_class_id: String(klass.id), id_number: idNumber, student_no: studentNo, sender_node: null, sender_unit_code: null, subject_id: null,
        name: null, status_change_id: null, epoch: null, code: null, reason: input.reason ?? null,
      })
      return { id, routed: false, out: view(byId.get(id) as Row) }
    })
  }

  /** The receiving bureau agrees and sends the request out: routed to the node that holds the person. */
  function sendOut(actor: RecordsActor, id: string): TransferView {
    return step('transfer_send', () => {
      const r = reachable(actor, id)
      assertStep('send', r.role, r.status)
      send({ destination: null, find: { table: personTable(r.kind), idNumber: r.id_number, studentNo: r.student_no }, type: MESSAGES.request, handoff: null, body: { transferId: r.id, kind: r.kind, receiverUnitCode: r.receiver_unit_code } })
      move(r, 'sent')
      return { id, routed: true, out: view(byId.get(id) as Row) }
    })
  }

  /** Tells the sending node (found by the person, when it has not answered yet) that the request is off. */
  function callOff(r: Row, code: string): void {
    if (r.status === 'requested') return
    send({
      destination: r.sender_node,
      find: r.sender_node ? null : { table: personTable(r.kind), idNumber: r.id_number, studentNo: r.student_no },
      type: MESSAGES.withdraw, handoff: null, body: { transferId: r.id, code },
    })
  }

  /** The receiving side withdraws until the sending bureau has approved; the person stays where they are. */
  function withdraw(actor: RecordsActor, id: string): TransferView {
    return step('transfer_withdraw', () => {
      const r = reachable(actor, id)
      assertStep('withdraw', r.role, r.status)
      callOff(r, 'TRANSFER_WITHDRAWN')
      move(r, 'withdrawn')
      return { id, routed: r.status !== 'requested', out: view(byId.get(id) as Row) }
    })
  }

  /** Abandons the receiving side's requests older than `timeoutDays` (config); returns how many. */
  function expire(): number {
    const before = new Date(now().getTime() - deps.timeoutDays * 86_400_000).toISOString()
    let n = 0
    const routed = storage.write(() => {
      const rows = db.prepare(`select * from transfers where role = 'receiver' and status in (${OPEN.map(() => '?').join(', ')}) and created_at < ?`).all(...OPEN, before) as Row[]
      for (const r of rows) {
        callOff(r, 'TRANSFER_EXPIRED')
        move(r, 'expired', { code: 'TRANSFER_EXPIRED' })
        n++
      }
      return rows.some(r => r.status !== 'requested')
    })
    if (routed) deps.onRouted?.()
    return n
  }

  // ---------------------------------------------------------------- the sending side

  /**
   * The sending bureau approves: the engine approves and carries out the 转出, the complete file
   * goes to the receiving node as a signed handoff with the epoch raised by one, and this node's
   * copy becomes a read-only record homed at the receiving node.
   */
  function approve(actor: RecordsActor, id: string, input: { approvalDocNo?: string | null }): TransferView {
    return step('transfer_approve', () => {
      const r = reachable(actor, id)
      assertStep('approve', r.role, r.status)
      const f = FILES[r.kind]
      const change = outgoing(r)
      statusChanges.review(actor, r.status_change_id!, { version: Number(change.version), decision: 'approve', approvalDocNo: input.approvalDocNo ?? null }, 'transfer')
      statusChanges.carryOut(actor, r.status_change_id!, { version: Number(change.version) + 1, result: `转至 ${r.receiver_unit_code}` }, 'transfer')
      const person = store.get(`select * from ${f.person} where id = ?`, r.subject_id)!
      const epoch = Number(person.epoch) + 1
      const file: Record<string, SqlRow[]> = { [f.person]: [person] }
      for (const table of subTables(r.kind)) file[table] = store.all(`select * from ${table} where ${f.column} = ? order by created_at, id`, r.subject_id)
      send({ destination: r.receiver_node, find: null, type: MESSAGES.handoff, handoff: { table: f.person, subjectId: String(person.id), epoch }, body: { transferId: r.id, kind: r.kind, targetClassId: r.target_class_id, file } })
      // The departure: this node keeps the file, homed at the receiving node (writes here are refused, RECORD_NOT_HOME).
      db.prepare(`update ${f.person} set home_node = ?, epoch = ? where id = ?`).run(r.receiver_node, epoch, r.subject_id)
      for (const table of subTables(r.kind)) db.prepare(`update ${table} set home_node = ?, epoch = ? where ${f.column} = ?`).run(r.receiver_node, epoch, r.subject_id)
      move(r, 'approved', { epoch })
      return { id, routed: true, out: view(byId.get(id) as Row) }
    })
  }

  /** The 转出 the transfer applied at the sending node (nothing but the transfer moves it: status-changes/rules.ts `assertNotByTransfer`). */
  function outgoing(r: Row): SqlRow {
    const change = store.get(`select version, processing_status from ${KINDS[r.kind].table} where id = ?`, r.status_change_id)
    if (change?.processing_status !== PROCESSING.applied) throw transferError('TRANSFER_STEP_INVALID', '该转学申请的转出异动已不在“申请”状态，不能再批准或驳回', { step: 'decide', role: r.role, status: r.status })
    return change
  }

  /** The sending bureau rejects: the engine rejects the 转出 with the reason; the person stays here. */
  function reject(actor: RecordsActor, id: string, input: { reason: string }): TransferView {
    return step('transfer_reject', () => {
      const r = reachable(actor, id)
      assertStep('reject', r.role, r.status)
      const change = outgoing(r)
      statusChanges.review(actor, r.status_change_id!, { version: Number(change.version), decision: 'reject', reason: input.reason }, 'transfer')
      reply(r, { status: 'rejected', reason: input.reason })
      move(r, 'rejected', { reason: input.reason })
      return { id, routed: true, out: view(byId.get(id) as Row) }
    })
  }

  /** The transfers of this node the reader reaches, newest first. */
  function list(reach: (t: Target) => boolean, query: { status?: string; role?: string } = {}): TransferView[] {
    return (db.prepare('select * from transfers order by created_at desc, id').all() as Row[])
      .filter(r => (!query.status || r.status === query.status) && (!query.role || r.role === query.role) && reach(targetOf(r)))
      .map(view)
  }

  // ---------------------------------------------------------------- messages from the other node

  /** At the sending node: a request for a person homed here. */
  function onRequest(m: RoutedMessage): void {
    const b = m.body as { transferId: string; kind: TransferKind; receiverUnitCode: string }
    const f = FILES[b.kind]
    const r = { id: b.transferId, receiver_node: m.origin }
    const find = m.find!
    // A resident ID number (request() checks it) names the person under whatever document type it is filed here.
    const person = store.get(
      `select p.* from ${f.person} p where p.home_node = ? and (${[find.idNumber ? sameIdNumberSql('p', '?', "'1'") : '', find.studentNo && b.kind === 'student' ? 'p.student_no = ?' : ''].filter(Boolean).join(' or ')})`,
      identity.code, ...(find.idNumber ? [find.idNumber] : []), ...(find.studentNo && b.kind === 'student' ? [find.studentNo] : []),
    )
    if (!person) return void reply(r, { status: 'not_found', code: 'TRANSFER_NOT_FOUND' })
    const k = KINDS[b.kind]
    const open = store.get(`select id from ${k.table} where ${k.personColumn} = ? and processing_status in (${OPEN_STATUSES.map(() => '?').join(', ')})`, person.id, ...OPEN_STATUSES)
    if (open) return void reply(r, { status: 'refused', code: 'TRANSFER_PENDING_BUSINESS' })
    if (person.state !== k.active) return void reply(r, { status: 'refused', code: 'TRANSFER_STATE_INVALID' })
    // a student's 转出 names the school left and the school going to.
    const schools = b.kind === 'student' ? { previousSchoolCode: person.school_code, currentSchoolCode: b.receiverUnitCode } : {}
    const change = statusChanges.apply(engine, b.kind, String(person.id), { changeType: '21', changeDate: chinaToday(now()), reason: `转学至 ${b.receiverUnitCode}`, ...schools })
    insert({
      id: b.transferId, role: 'sender', kind: b.kind, status: 'received', receiver_node: m.origin, receiver_unit_code: b.receiverUnitCode,
      target_class_id: '', id_number: null, student_no: null, sender_node: identity.code, sender_unit_code: String(person[f.codeColumn]),
      subject_id: String(person.id), name: String(person.name), status_change_id: String(change.id), epoch: Number(person.epoch), code: null, reason: null,
    })
    reply(r, { status: 'received', senderUnitCode: person[f.codeColumn], subjectId: person.id, name: person.name, statusChangeId: change.id })
  }

  /** At the sending node: the receiving side withdrew (or its request expired) before the approval. */
  function onWithdraw(m: RoutedMessage): void {
    const r = byId.get(String(m.body.transferId)) as Row | undefined
    if (!r || r.role !== 'sender' || r.status !== 'received') return
    const change = store.get(`select version, processing_status from ${KINDS[r.kind].table} where id = ?`, r.status_change_id)
    if (change?.processing_status === '1') statusChanges.withdraw(engine, r.status_change_id!, { version: Number(change.version) }, 'transfer')
    move(r, 'withdrawn', { code: String(m.body.code ?? 'TRANSFER_WITHDRAWN') })
  }

  /** At the receiving node: what the sending node answered. */
  function onUpdate(m: RoutedMessage): void {
    const b = m.body as { transferId: string; status: string; code?: string; reason?: string; senderUnitCode?: string; subjectId?: string; name?: string; statusChangeId?: string }
    const r = byId.get(b.transferId) as Row | undefined
    if (!r || r.role !== 'receiver' || !OPEN.includes(r.status)) return
    if (b.status === 'received') move(r, 'received', { sender_node: m.origin, sender_unit_code: b.senderUnitCode ?? null, subject_id: b.subjectId ?? null, name: b.name ?? null })
    else move(r, b.status, { sender_node: m.origin, code: b.code ?? null, reason: b.reason ?? null })
  }

  /**
   * At the receiving node: the handoff. Imports the complete file homed here at the raised epoch,
   * the person in the target class's school, then the engine applies, approves and carries out
   * the 转入 (in school, in the target class). A handoff for no open request here is refused.
   */
  function onHandoff(m: RoutedMessage): void {
    const b = m.body as { transferId: string; kind: TransferKind; file: Record<string, SqlRow[]> }
    const r = byId.get(b.transferId) as Row | undefined
    if (!r || r.role !== 'receiver' || r.status === 'completed' || r.sender_node !== null && r.sender_node !== m.origin) {
      throw transferError('TRANSFER_HANDOFF_UNEXPECTED', '收到的学籍档案不属于本节点办理中的转学申请', { transferId: b.transferId })
    }
    const f = FILES[r.kind]
    const epoch = m.handoff!.epoch
    const subject = m.handoff!.subjectId
    // The records service refuses to delete a class an open transfer targets; this is the guard of last resort.
    const klass = store.get(`select * from ${f.classes} where id = ?`, r.target_class_id)
    if (!klass) throw transferError('TRANSFER_CLASS_INVALID', '转入班级已不存在，无法接收学籍档案', { field: 'targetClassId', rule: 'deleted' })
    // A person who left this node before (transferred out, now coming back) left a read-only copy
    // here, homed at the node they went to: the file replaces it, its sub-records going with it
    // (their foreign keys cascade). A record homed here is never replaced by a handoff.
    const held = store.get(`select home_node from ${f.person} where id = ?`, subject)
    if (held?.home_node === identity.code) throw transferError('TRANSFER_HANDOFF_UNEXPECTED', '该学生（幼儿）的学籍已在本节点，不能再接收其档案', { transferId: b.transferId })
    if (held) store.run(`delete from ${f.person} where id = ?`, subject)
    const tables = [f.person, ...subTables(r.kind)]
    for (const table of tables) {
      const spec = resource(table)
      for (const row of b.file[table] ?? []) {
        if ((table === f.person ? row.id : row[f.column]) !== subject) throw transferError('TRANSFER_HANDOFF_UNEXPECTED', '收到的学籍档案含有其他人员的记录', { transferId: b.transferId, table })
        const moved: SqlRow = { ...row, home_node: identity.code, epoch, version: Number(row.version) + 1 }
        if (table === f.person) Object.assign(moved, { [f.orgColumn]: klass[f.orgColumn], [f.codeColumn]: klass[f.codeColumn], class_id: null })
        store.insert(spec, fromSql(spec, moved), ACTOR)
      }
    }
    const schools = r.kind === 'student' ? { previousSchoolCode: r.sender_unit_code, currentSchoolCode: klass.school_code } : {}
    const change = statusChanges.apply(engine, r.kind, subject, { changeType: '22', changeDate: chinaToday(now()), reason: `由 ${r.sender_unit_code ?? m.origin} 转入`, targetClassId: r.target_class_id, ...schools })
    statusChanges.review(engine, String(change.id), { version: 1, decision: 'approve' }, 'transfer')
    statusChanges.carryOut(engine, String(change.id), { version: 2 }, 'transfer')
    move(r, 'completed', { sender_node: m.origin, subject_id: subject, name: String(b.file[f.person]?.[0]?.name ?? r.name), status_change_id: String(change.id), epoch })
  }

  /** At the receiving node: nobody in the federation holds the person its request named. */
  function onUndeliverable(m: RoutedMessage): void {
    const r = byId.get(String(m.body.transferId)) as Row | undefined
    if (r && r.role === 'receiver' && OPEN.includes(r.status)) move(r, 'not_found', { code: 'TRANSFER_NOT_FOUND' })
  }

  const handlers: ReadonlyMap<string, RoutedHandler> = new Map<string, RoutedHandler>([
    [MESSAGES.request, { deliver: onRequest, undeliverable: onUndeliverable }],
    [MESSAGES.update, { deliver: onUpdate }],
    [MESSAGES.withdraw, { deliver: onWithdraw }],
    [MESSAGES.handoff, { deliver: onHandoff }],
  ])

  return { request, send: sendOut, withdraw, expire, approve, reject, list, get: (actor: RecordsActor, id: string) => view(reachable(actor, id)), handlers }
}

export type TransferService = ReturnType<typeof createTransferService>
