/**
 * A records node (test/records/setup.ts) plus the status-change service over its database with a
 * clock the test sets, and the service actors of its school and bureau administrators.
 */
import type { Test } from 'tap'
import { createWorkingCalendar, type CalendarYear } from '../../../config/calendar.ts'
import { scopeFilter, type Actor } from '../../../node/auth/access.ts'
import { verify } from '../../../node/auth/verification.ts'
import { verificationStep } from '../../../node/auth/verify-record.ts'
import type { Storage } from '../../../schema/db.ts'
import { recordsActor, type RecordsActor } from '../../../node/services/records/service.ts'
import { createStatusChangeService, type StatusChangeService } from '../../../node/status-changes/service.ts'
import { loginAs, type TestLogin } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { KG_CODE, recordsNode, SCHOOL_CODE, withSchool, type Json, type RecordsNode } from '../../records/setup.ts'

export interface Workflow {
  node: RecordsNode
  /** The service, deciding "today" by `clock.at` (a UTC instant). */
  engine: StatusChangeService
  clock: { at: string }
  /** Sets the clock to a China date (noon). */
  day(date: string): void
  school: RecordsActor
  bureau: RecordsActor
}

export const serviceActor = (login: TestLogin): RecordsActor => recordsActor(login.actor, scopeFilter(login.actor))

export async function workflowNode(t: Test, overrides: Record<string, CalendarYear> = {}): Promise<Workflow> {
  const node = await recordsNode(t)
  const clock = { at: '2026-03-02T04:00:00Z' }
  const engine = createStatusChangeService({
    storage: node.app.storage,
    identity: node.app.identity,
    codes: node.app.records.codes,
    calendar: createWorkingCalendar(overrides),
    days: { apply: 7, review: 20 },
    now: () => new Date(clock.at),
  })
  return { node, engine, clock, day: d => (clock.at = `${d}T04:00:00Z`), school: serviceActor(node.school), bureau: serviceActor(node.bureau) }
}

/** An application's fields: the fixture's status change without what only the workflow writes. */
export function application(over: Json = {}): Json {
  return fx.application({ documentNos: '证明〔2026〕1号', ...over })
}

/** The school with classes of grades 3, 4 (withSchool's) and 5. */
export async function schoolWithClasses(node: RecordsNode): Promise<{ school: Json; classes: Record<number, Json> }> {
  const { school, klass } = await withSchool(node)
  const classes: Record<number, Json> = { 4: klass }
  for (const grade of [3, 5]) {
    const r = await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: `202${grade}001`, name: `${grade}年级（1）班`, grade }), schoolId: school.id })
    if (r.status !== 201) throw new Error(`class: ${JSON.stringify(r.body)}`)
    classes[grade] = r.body
  }
  return { school, classes }
}

let seq = 0
/**
 * A new student without ID number (the school administrator enters it), entered this month so
 * that its lock on expiry is still ahead and edits after verification pass.
 */
export async function newStudent(node: RecordsNode, schoolId: string, classId: string | null): Promise<Json> {
  seq++
  const r = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: `学生${'甲乙丙丁戊己庚辛壬癸'[seq % 10]}${seq}`, enrolmentYm: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 7) }), schoolId, classId })
  if (r.status !== 201) throw new Error(`student: ${JSON.stringify(r.body)}`)
  return r.body
}

const leaders = new WeakMap<RecordsNode, Promise<TestLogin>>()

/**
 * the school leadership verifies (核对) an application through the API, as the bureau's
 * review needs first; answers the application's version after it.
 */
export async function verifyChange(node: RecordsNode, id: unknown, kind: 'student' | 'child' = 'student'): Promise<number> {
  let leader = leaders.get(node)
  if (!leader) leaders.set(node, (leader = loginAs(node.app, 'school_admin', { kind: 'schools', schools: [SCHOOL_CODE, KG_CODE] }, { leader: true })))
  const r = await node.call('POST', `/api/v1/verification/${kind}_status_changes/${String(id)}/verify`, undefined, await leader)
  if (r.status !== 200) throw new Error(`verify the ${kind} status change: ${r.status} ${JSON.stringify(r.body)}`)
  return r.body.version as number
}

/** The school leadership (校领导) of `schools`: the account that verifies applications. */
export const schoolLeader = (schools: string[] = [SCHOOL_CODE, KG_CODE]): Actor => ({ accountId: `leader:${schools.join(',')}`, username: 'leader', role: 'school_admin', scope: { kind: 'schools', schools }, leader: true, grants: [] })

/**
 * on a node without HTTP (test/sync/lib): the school leadership verifies an application
 * through the verification step the routes take; answers its version after it.
 */
export function leaderVerifies(storage: Storage, homeNode: string, id: unknown, kind: 'student' | 'child' = 'student', schools?: string[]): number {
  const row = storage.write(() => verificationStep(storage, homeNode, `${kind}_status_changes`, String(id), schoolLeader(schools), (r, a, now) => verify(r, a, 'status_change', now)))
  if (!row) throw new Error(`no ${kind} status change ${String(id)}`)
  return row.version as number
}
