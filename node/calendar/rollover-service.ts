/**
 * The rollover service (R-21.1, R-22.3): the dry run and the real run of the 1 August rollover
 * over this node's own schools and kindergartens (the home node writes them; DESIGN.md §2).
 *
 * The real run is one transaction per school: check the marker (`calendar_rollovers`), read the
 * facts, collect the blockers, then either record the school as blocked (nothing else written)
 * or move its classes through the records store, complete its graduates through the records
 * service's completion path and its kindergarten leavers' records, and record the marker — all in
 * that transaction, so a run stopped anywhere leaves each school rolled once or not at all, and
 * its changes reach the outbox and travel upward as ordinary change sets.
 */
import type { CalendarDates } from '../../config/calendar.ts'
import { XuejiError } from '../../config/errors.ts'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import type { Storage } from '../../schema/db.ts'
import type { Target } from '../auth/access.ts'
import { targetOfRow } from '../auth/targets.ts'
import { chinaToday } from '../records/validate.ts'
import { resource } from '../services/records/resources.ts'
import { createRecordsService, systemActor } from '../services/records/service.ts'
import { createStore, fromSql } from '../services/records/store.ts'
import { openChangeRequests } from '../change-requests/service.ts'
import { OPEN_STATUSES } from '../status-changes/rules.ts'
import { calendarError } from './errors.ts'
import { classBlockers, completionMonth, planUnit, rolloverOf, type Blocker, type ClassMove, type UnitFacts, type UnitKind, type UnitPlan } from './rollover.ts'

export interface RolloverServiceDeps {
  storage: Storage
  identity: { code: string }
  codes: CodeRegistry
  /** This node's dates (config/calendar.ts `datesFor`): the rollover day is `dates.rollover`. */
  dates: CalendarDates
  /** Clock, for tests. */
  now?: () => Date
}

/** What the rollover does, or did, to one school or kindergarten. */
export interface UnitReport {
  unitId: string
  unitCode: string
  name: string
  kind: UnitKind
  /** ready: would roll; blocked: would not (see blockers); done: rolled into this school year (on `rolledOn`). */
  state: 'ready' | 'blocked' | 'done'
  rolledOn: string | null
  classes: Array<Omit<ClassMove, 'pupils'> & { pupils: number }>
  /** Pupils that move up a grade with their class. */
  promoted: number
  /** Graduates (students) or leavers for primary school (children) whose record completes. */
  completing: number
  blockers: Blocker[]
}

export interface RolloverReport {
  schoolYear: number
  /** The rollover day (Asia/Shanghai). */
  day: string
  /** The term after the rollover, e.g. 2026-1. */
  term: string
  items: UnitReport[]
}

interface UnitRow {
  id: string
  code: string
  name: string
  kind: UnitKind
  homeNode: string
  createdAt: string
}

/** Where a unit kind's rows are. */
const TABLES = {
  school: { units: 'schools', code: 'school_code', classes: 'school_classes', persons: 'students', owner: 'school_id', changes: 'student_status_changes', personColumn: 'student_id' },
  kindergarten: { units: 'kindergartens', code: 'kindergarten_code', classes: 'kindergarten_classes', persons: 'children', owner: 'kindergarten_id', changes: 'child_status_changes', personColumn: 'child_id' },
} as const

/** The pupils of one class in a run, as its marker keeps them. */
type Moved = Pick<ClassMove, 'classId' | 'action'> & { pupils: number }

/** Pupils promoted and completing over some classes. */
function pupilsOf(classes: readonly Moved[]): { promoted: number; completing: number } {
  const count = (action: ClassMove['action']) => classes.filter(c => c.action === action).reduce((n, c) => n + c.pupils, 0)
  return { promoted: count('up'), completing: count('complete') }
}

export function createRolloverService(deps: RolloverServiceDeps) {
  const { storage, identity, dates } = deps
  const now = deps.now ?? (() => new Date())
  const db = storage.sqlite
  const store = createStore(storage)
  const records = createRecordsService({ storage, identity, codes: deps.codes, now, dates })
  const actor = systemActor('rollover')

  function units(unitId?: string): UnitRow[] {
    const rows: UnitRow[] = []
    for (const kind of ['school', 'kindergarten'] as const) {
      const t = TABLES[kind]
      const sql = `select id, ${t.code} code, name, home_node homeNode, created_at createdAt from ${t.units} where home_node = ?${unitId ? ' and id = ?' : ''} order by ${t.code}`
      for (const r of db.prepare(sql).all(...(unitId ? [identity.code, unitId] : [identity.code])) as Omit<UnitRow, 'kind'>[]) rows.push({ ...r, kind })
    }
    return rows
  }

  /** The classes and people of a unit, classes entered on or after the rollover day left out (they belong to the new year). */
  function factsOf(u: UnitRow, day: string): UnitFacts {
    const t = TABLES[u.kind]
    const classes = (db.prepare(`select id, class_code classCode, name, grade, created_at createdAt${u.kind === 'school' ? ', schooling_length schoolingLength' : ''} from ${t.classes} where ${t.owner} = ? order by class_code`).all(u.id) as Array<UnitFacts['classes'][number] & { createdAt: string }>)
      .filter(c => chinaToday(new Date(c.createdAt)) < day)
      .map(({ createdAt: _, ...c }) => c)
    const persons = db.prepare(`select id, class_id classId, state from ${t.persons} where ${t.owner} = ? order by rowid`).all(u.id) as UnitFacts['persons']
    return { id: u.id, code: u.code, name: u.name, kind: u.kind, classes, persons }
  }

  // ------------------------------------------------------------ blockers

  /** `year`: the school year the unit rolls into. */
  type BlockerSource = (unit: UnitFacts, plan: UnitPlan, year: number) => Blocker[]

  /** Pending business (STANDARDS.md: pending business blocks graduation): open status-change applications. */
  const pendingStatusChanges: BlockerSource = unit => {
    const t = TABLES[unit.kind]
    const rows = db.prepare(`select c.id, c.${t.personColumn} personId from ${t.changes} c join ${t.persons} p on p.id = c.${t.personColumn} where p.${t.owner} = ? and c.processing_status in (${OPEN_STATUSES.map(() => '?').join(', ')}) order by c.rowid`).all(unit.id, ...OPEN_STATUSES) as Array<{ id: string; personId: string }>
    if (rows.length === 0) return []
    return [{ code: 'pending_status_change', recordIds: rows.map(r => r.id), personIds: [...new Set(rows.map(r => r.personId))], message: `有 ${rows.length} 项学籍异动尚未办结（申请或已批准）：请审核、办理或撤回后再进行学年升级` }]
  }

  /** Children leaving for primary school complete their 入园与离园 record: it must exist. */
  const leaversWithoutAttendance: BlockerSource = (unit, plan) => {
    if (unit.kind !== 'kindergarten') return []
    const leavers = plan.classes.filter(c => c.action === 'complete').flatMap(c => c.pupils)
    const missing = leavers.filter(id => !db.prepare('select 1 from child_attendances where child_id = ?').get(id))
    return missing.length === 0 ? [] : [{ code: 'attendance_missing', personIds: missing, message: `有 ${missing.length} 名大班幼儿没有入园与离园信息，离园时无法完成其学籍记录：请先录入` }]
  }

  /**
   * Graduates complete through the records service, which refuses a completion month before the
   * student's 入学年月: a pupil of a graduating class who enrolled after it (entered while
   * the school's rollover waited) would refuse the school's run, so the dry run names them first.
   */
  const enrolledAfterCompletion: BlockerSource = (unit, plan, year) => {
    if (unit.kind !== 'school') return []
    const ym = completionMonth(year, dates)
    const enrolment = db.prepare('select enrolment_ym from students where id = ?').pluck()
    const late = plan.classes.filter(c => c.action === 'complete').flatMap(c => c.pupils).filter(id => String(enrolment.get(id) ?? '') > ym)
    return late.length === 0 ? [] : [{ code: 'enrolled_after_completion', personIds: late, message: `毕业班有 ${late.length} 名学生的入学年月晚于毕业年月 ${ym}，无法为其录入结业信息：请更正入学年月或将其调出毕业班，再进行学年升级` }]
  }

  /** Change requests still awaiting the bureau or the province are pending business too. */
  const pendingChangeRequests: BlockerSource = unit => {
    const n = openChangeRequests(storage, unit.id)
    return n === 0 ? [] : [{ code: 'pending_change_request', message: `有 ${n} 项修改申请尚未决定：请审核或撤回后再进行学年升级` }]
  }

  /**
   * A blocker as a reader sees it: what blocks the school is shown to its staff, but the
   * people it names (and their status changes) only where the reader reaches the person; a
   * teacher sees its own classes' students, never the sibling classes'.
   */
  function narrowBlocker(u: UnitRow, b: Blocker, reaches: (target: Target) => boolean): Blocker {
    const t = TABLES[u.kind]
    const seen = new Map<string, boolean>()
    const reached = (personId: string): boolean => {
      let ok = seen.get(personId)
      if (ok === undefined) {
        const person = db.prepare(`select * from ${t.persons} where id = ?`).get(personId) as Record<string, unknown> | undefined
        // A person no longer held here names a student, so no class scope reaches it.
        ok = reaches(person ? targetOfRow(storage, t.persons, person) : { homeNode: u.homeNode, school: u.code, studentId: personId })
        seen.set(personId, ok)
      }
      return ok
    }
    const personOfChange = db.prepare(`select ${t.personColumn} from ${t.changes} where id = ?`).pluck()
    const personIds = b.personIds?.filter(reached)
    // Only pending_status_change carries record ids: the status changes of its people.
    const recordIds = b.recordIds?.filter(id => reached(String(personOfChange.get(id))))
    // The message counts the whole school (or class); it says how many of them the reader sees.
    const [all, shown, unit] = recordIds ? [b.recordIds!.length, recordIds.length, '项'] : personIds ? [b.personIds!.length, personIds.length, '名'] : [0, 0, '']
    return {
      ...b,
      ...(personIds && { personIds }),
      ...(recordIds && { recordIds }),
      ...(shown < all && { message: `${b.message}（其中 ${shown} ${unit}在您的管理范围内）` }),
    }
  }

  /** Every source of blockers; a school with any is not rolled. */
  const BLOCKER_SOURCES: BlockerSource[] = [pendingStatusChanges, pendingChangeRequests, classBlockers, leaversWithoutAttendance, enrolledAfterCompletion]
  const blockersOf = (unit: UnitFacts, plan: UnitPlan, year: number) => BLOCKER_SOURCES.flatMap(source => source(unit, plan, year))

  // ------------------------------------------------------------ reports

  const marker = (unitId: string, year: number) => db.prepare('select state, day, summary_json summaryJson from calendar_rollovers where unit_id = ? and school_year = ?').get(unitId, year) as { state: 'done' | 'blocked'; day: string; summaryJson: string } | undefined

  /**
   * What the rollover into `year` does to `u`; a unit already rolled reports what its run did.
   * `moves`: the pupils of each class, planned or (from the marker) moved; null for a marker
   * written before markers kept them.
   */
  function report(u: UnitRow, year: number, day: string): { report: UnitReport; plan: UnitPlan; moves: Moved[] | null } {
    const base = { unitId: u.id, unitCode: u.code, name: u.name, kind: u.kind }
    const done = marker(u.id, year)
    if (done?.state === 'done') {
      const summary = JSON.parse(done.summaryJson) as { promoted: number; completing: number; moves?: Moved[] }
      return { plan: { classes: [], misfits: [] }, moves: summary.moves ?? null, report: { ...base, state: 'done', rolledOn: done.day, classes: [], promoted: summary.promoted, completing: summary.completing, blockers: [] } }
    }
    const facts = factsOf(u, day)
    const plan = planUnit(facts)
    const blockers = blockersOf(facts, plan, year)
    const classes = plan.classes.map(c => ({ ...c, pupils: c.pupils.length }))
    return { plan, moves: classes, report: { ...base, state: blockers.length > 0 ? 'blocked' : 'ready', rolledOn: null, classes, ...pupilsOf(classes), blockers } }
  }

  /**
   * A report as a reader bound to classes sees it: the classes it reaches and
   * their pupils only; a rolled unit's counts are those of its classes in the run (none from a
   * marker that does not list the classes).
   */
  function narrowClasses(u: UnitRow, r: UnitReport, moves: Moved[] | null, reaches: (target: Target) => boolean): UnitReport {
    const mine = (moves ?? []).filter(c => reaches({ homeNode: u.homeNode, school: u.code, classId: c.classId }))
    const classes = r.classes.filter(c => mine.some(m => m.classId === c.classId))
    return { ...r, classes, ...pupilsOf(mine) }
  }

  /** A unit that came onto this node on or after the rollover day starts in the new year: nothing of it rolls. */
  const startedAfter = (u: UnitRow, day: string) => chinaToday(new Date(u.createdAt)) >= day

  function target(schoolYear?: number) {
    const today = chinaToday(now())
    const current = rolloverOf(today, dates)
    if (schoolYear === undefined || schoolYear === current.schoolYear) return { ...current, today }
    if (schoolYear === current.schoolYear + 1) return { ...rolloverOf(`${schoolYear}-12-31`, dates), today }
    throw calendarError('CALENDAR_ROLLOVER_YEAR', `只能预览本学年（${current.schoolYear}）或下一学年（${current.schoolYear + 1}）的学年升级`, { field: 'schoolYear', current: current.schoolYear })
  }

  function assertUnit(unitId: string | undefined): void {
    if (unitId !== undefined && units(unitId).length === 0) throw calendarError('CALENDAR_ROLLOVER_UNIT', '本节点没有这所学校或幼儿园', { field: 'schoolId' })
  }

  /** Applies one unit's plan in the caller's transaction: classes up, completions, leavers. */
  function apply(u: UnitRow, plan: UnitPlan, year: number, at: string): void {
    const classSpec = resource(TABLES[u.kind].classes)
    for (const move of plan.classes) {
      if (move.action === 'up') {
        const row = store.row(classSpec, move.classId)!
        store.update(classSpec, { ...fromSql(classSpec, row), grade: move.toGrade, name: move.toName, version: Number(row.version) + 1, updatedAt: at }, actor.accountId)
        continue
      }
      const ym = completionMonth(year, dates)
      for (const personId of move.pupils) {
        if (u.kind === 'school') {
          // The completion path of the records service: the student becomes graduated there.
          records.create(actor, 'student_completions', { graduatingSchoolCode: u.code, completionYm: ym, reason: '毕业（学年升级）', comment: null }, personId, { read: false })
          continue
        }
        const childSpec = resource('children')
        const child = store.row(childSpec, personId)!
        store.update(childSpec, { ...fromSql(childSpec, child), state: 'left', version: Number(child.version) + 1, updatedAt: at }, actor.accountId)
        const attSpec = resource('child_attendances')
        const att = db.prepare('select * from child_attendances where child_id = ?').get(personId) as Record<string, unknown>
        store.update(attSpec, { ...fromSql(attSpec, att), leaveYm: ym, leaveReason: '幼儿园毕业，升入小学（学年升级）', version: Number(att.version) + 1, updatedAt: at }, actor.accountId)
      }
    }
  }

  /**
   * One unit's transaction, `roll`. A record the records service refuses in it (a rule no blocker
   * foresaw) rolls that unit back whole and records it as blocked, naming the refusal, so that the
   * node's other units still roll and its past year stays open until the cause is fixed;
   * the next run tries it again. Any other error stops the run, as before.
   */
  function rollUnit(u: UnitRow, summary: (r: UnitReport) => string, roll: () => UnitReport): UnitReport {
    try {
      return roll()
    } catch (err) {
      if (!(err instanceof XuejiError)) throw err
      const t = target()
      const blocker: Blocker = { code: 'rollover_refused', message: `学年升级未能完成，本校（园）未作任何修改：${err.message}（${err.code}）。请更正后再进行学年升级` }
      const r: UnitReport = { unitId: u.id, unitCode: u.code, name: u.name, kind: u.kind, state: 'blocked', rolledOn: null, classes: [], promoted: 0, completing: 0, blockers: [blocker] }
      storage.write(() => writeMarker.run(u.id, u.kind, u.code, t.schoolYear, 'blocked', null, t.today, summary(r), now().toISOString()))
      return r
    }
  }

  const writeMarker = db.prepare(`insert into calendar_rollovers (unit_id, kind, unit_code, school_year, state, term, day, summary_json, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)
    on conflict (unit_id, school_year) do update set state = excluded.state, term = excluded.term, day = excluded.day, summary_json = excluded.summary_json, at = excluded.at`)

  return {
    /**
     * What the rollover into `schoolYear` (default: the school year of today; the next one may be
     * previewed) would change and what blocks it, per school and kindergarten of this node that
     * `reaches` lets the caller see. Writes nothing.
     */
    dryRun(opts: { schoolYear?: number; unitId?: string; reaches?: (target: Target) => boolean } = {}): RolloverReport {
      const t = target(opts.schoolYear)
      assertUnit(opts.unitId)
      const reaches = opts.reaches
      const items = units(opts.unitId)
        .filter(u => !reaches || reaches({ homeNode: u.homeNode, school: u.code }))
        .map(u => {
          if (startedAfter(u, t.day)) return { unitId: u.id, unitCode: u.code, name: u.name, kind: u.kind, state: 'done' as const, rolledOn: null, classes: [], promoted: 0, completing: 0, blockers: [] }
          const { report: r, moves } = report(u, t.schoolYear, t.day)
          if (!reaches) return r
          const seen = reaches({ homeNode: u.homeNode, school: u.code, wholeSchool: true }) ? r : narrowClasses(u, r, moves, reaches)
          return { ...seen, blockers: r.blockers.map(b => narrowBlocker(u, b, reaches)) }
        })
      return { schoolYear: t.schoolYear, day: t.day, term: t.term, items }
    },

    /**
     * The rollover into the school year of today (its day has come), per unit in its own
     * transaction. A unit already rolled is reported `done` and left alone; a blocked one is
     * recorded as blocked and left alone (its past year stays open, locks.ts). `onUnit` hears of
     * each unit after its commit.
     */
    run(opts: { unitId?: string; onUnit?: (item: UnitReport) => void } = {}): RolloverReport {
      const t = target()
      assertUnit(opts.unitId)
      const items: UnitReport[] = []
      const summary = (r: UnitReport) => JSON.stringify({ promoted: r.promoted, completing: r.completing, classes: r.classes.length, moves: r.classes.map(c => ({ classId: c.classId, action: c.action, pupils: c.pupils })), blockers: r.blockers.map(b => ({ code: b.code, classId: b.classId, count: b.personIds?.length ?? b.recordIds?.length })) })
      for (const u of units(opts.unitId)) {
        const item = rollUnit(u, summary, () => storage.write(() => {
          const at = now().toISOString()
          if (startedAfter(u, t.day)) {
            // Its marker carries the rollover day: the year before it is past for this unit from then.
            const r: UnitReport = { unitId: u.id, unitCode: u.code, name: u.name, kind: u.kind, state: 'done', rolledOn: t.day, classes: [], promoted: 0, completing: 0, blockers: [] }
            if (!marker(u.id, t.schoolYear)) writeMarker.run(u.id, u.kind, u.code, t.schoolYear, 'done', t.term, t.day, summary(r), at)
            return r
          }
          const { report: r, plan } = report(u, t.schoolYear, t.day)
          if (r.state === 'done') return r
          if (r.state === 'blocked') {
            writeMarker.run(u.id, u.kind, u.code, t.schoolYear, 'blocked', null, t.today, summary(r), at)
            return r
          }
          apply(u, plan, t.schoolYear, at)
          writeMarker.run(u.id, u.kind, u.code, t.schoolYear, 'done', t.term, t.today, summary(r), at)
          return { ...r, state: 'done' as const, rolledOn: t.today }
        }))
        opts.onUnit?.(item)
        items.push(item)
      }
      return { schoolYear: t.schoolYear, day: t.day, term: t.term, items }
    },

    /** Whether every unit of this node has rolled into the school year of today (the timer's check). */
    pending(): boolean {
      const t = target()
      return units().some(u => marker(u.id, t.schoolYear)?.state !== 'done')
    },
  }
}

export type RolloverService = ReturnType<typeof createRolloverService>
