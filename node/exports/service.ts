/**
 * Exports (R-D.7): a filtered record list (students, children, teachers, classes, schools,
 * kindergartens, supervising units), or a statistics table, written to a
 * CSV or Excel file under the data directory by a job. The `exports` row is the record of the
 * export (who, what filter, how many rows, where it stands); the job carries its id only.
 * Every value goes through `maskRecord`, as on every read; every export is audited when asked
 * for, when finished (or failed) and when downloaded.
 */
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { XuejiError } from '../../config/errors.ts'
import type { Storage } from '../../schema/db.ts'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import { can, scopeFilter, type Actor } from '../auth/access.ts'
import { appendAudit, auditedWrite } from '../auth/audit.ts'
import { maskRecord } from '../auth/sensitive.ts'
import { authError } from '../auth/errors.ts'
import { actorOfAccount, type AccountRow } from '../auth/service.ts'
import { fieldsOf } from '../records/fields.ts'
import { resource } from '../services/records/resources.ts'
import { recordsActor, type RecordsService } from '../services/records/service.ts'
import { fromSql } from '../services/records/store.ts'
import type { StatisticsService, StatsQuery, StatsTable } from '../statistics/service.ts'
import { CHILD_STATE_LABELS, STUDENT_STATE_LABELS, SUBJECTS, type Subject } from '../statistics/rules.ts'
import { exportError } from './errors.ts'
import { openSheetWriter, type Cell, type ExportFormat, type SheetWriter } from './writer.ts'

type AnnualQuery = { from: string; to: string; unit?: string; drill?: boolean }

export const EXPORT_KINDS = ['students', 'children', 'school_teachers', 'school_classes', 'kindergarten_teachers', 'kindergarten_classes', 'schools', 'kindergartens', 'supervising_units', 'statistics', 'annual'] as const
export type ExportKind = (typeof EXPORT_KINDS)[number]

/** Rows read per statement; between pages the event loop serves other requests. */
const PAGE = 1000
/** Rowids one statement of a broad export looks at, at most. */
const WINDOW = 5000
/** Up to this many matching rows an export reads through the filter's index. */
const SMALL_RESULT = 2 * PAGE

export interface ExportRecord {
  id: string
  kind: ExportKind
  format: ExportFormat
  query: Record<string, unknown>
  state: 'queued' | 'running' | 'done' | 'failed' | 'expired'
  rowsDone: number
  rowsTotal: number | null
  errorCode: string | null
  createdAt: string
  finishedAt: string | null
}

export interface ExportServiceDeps {
  storage: Storage
  records: RecordsService
  statistics: StatisticsService
  codes: CodeRegistry
  /** Directory of the files (created when missing). */
  dir: string
  /** Puts the export's job on the queue. */
  enqueue: (id: string) => Promise<void>
  /** Days a finished export's file is kept (config exports.keepDays). */
  keepDays: number
  now?: () => Date
}

type Row = Record<string, unknown>

const STATS_KEYS = ['subject', 'by', 'unit', 'state', 'drill', 'asOf']
const ANNUAL_KEYS = ['from', 'to', 'unit', 'drill']

function present(r: Row): ExportRecord {
  return {
    id: String(r.id), kind: r.kind as ExportKind, format: r.format as ExportFormat, query: JSON.parse(String(r.query_json)),
    state: r.state as ExportRecord['state'], rowsDone: Number(r.rows_done), rowsTotal: r.rows_total === null ? null : Number(r.rows_total),
    errorCode: (r.error_code as string | null) ?? null, createdAt: String(r.created_at), finishedAt: (r.finished_at as string | null) ?? null,
  }
}

export function createExportService(deps: ExportServiceDeps) {
  const { storage, records, statistics, codes } = deps
  const now = deps.now ?? (() => new Date())
  const sql = storage.sqlite
  mkdirSync(deps.dir, { recursive: true, mode: 0o700 })

  const fileOf = (r: { id: string; format: string }) => join(deps.dir, `${r.id}.${r.format}`)
  /** Set when the node stops: a running export stops at its next page and stays queued for the next start. */
  let stopping = false
  const STOPPED = new Error('export stopped with the node')

  /** The filter must be one the list (or the statistics table) takes; values are scalars. */
  function checkQuery(actor: Actor, kind: ExportKind, query: Record<string, unknown>): void {
    const allowed = kind === 'statistics' ? STATS_KEYS : kind === 'annual' ? ANNUAL_KEYS : ['q', ...Object.keys(resource(kind).filters)]
    // A list exports only for an account that may read it (a grade administrator has no unit:read).
    if (kind !== 'statistics' && kind !== 'annual') {
      const permission = resource(kind).permissions.read
      if (!can(actor, permission)) throw authError('FORBIDDEN', '您的角色无权进行此操作', { permission })
    }
    for (const [key, value] of Object.entries(query)) {
      if (!allowed.includes(key)) throw exportError('EXPORT_QUERY_INVALID', `导出条件不支持“${key}”`, { field: key, allowed })
      if (value !== null && !['string', 'number', 'boolean'].includes(typeof value)) throw exportError('EXPORT_QUERY_INVALID', `导出条件“${key}”的值应为文字或数字`, { field: key })
    }
    if (kind === 'statistics') {
      if (!SUBJECTS.includes(query.subject as Subject)) throw exportError('EXPORT_QUERY_INVALID', '统计导出需要统计对象（subject）', { field: 'subject', allowed: SUBJECTS })
      if (typeof query.by !== 'string') throw exportError('EXPORT_QUERY_INVALID', '统计导出需要统计维度（by）', { field: 'by' })
      // The table's own refusals (unknown dimension, unit out of scope …) answer now, with their codes.
      statistics.sqlOf(actor, query as unknown as StatsQuery)
    }
    if (kind === 'annual') {
      if (typeof query.from !== 'string' || typeof query.to !== 'string') throw exportError('EXPORT_QUERY_INVALID', '年度报表导出需要统计期间（from、to）', { field: typeof query.from !== 'string' ? 'from' : 'to' })
      // The period and the unit are judged as GET /api/v1/statistics/annual judges them.
      statistics.annual(actor, query as unknown as AnnualQuery)
    }
  }

  async function writePersons(rec: ExportRecord, actor: Actor): Promise<number> {
    const table = rec.kind
    const spec = resource(table)
    const { where, params } = records.listSql(recordsActor(actor, scopeFilter(actor)), table, rec.query)
    const total = Number((sql.prepare(`select count(*) as n from ${table} t where ${where}`).get(...params) as Row).n)
    sql.prepare('update exports set rows_total = ? where id = ?').run(total, rec.id)
    // The photo is an image, not a cell.
    const fields = fieldsOf(table).filter(f => f.key !== 'photo')
    const person = table === 'students' || table === 'children'
    const header = [...fields.map(f => f.label), ...(person ? ['状态'] : [])]
    const writer = await openSheetWriter(fileOf(rec), rec.format, spec.label, header)
    // Which way to page: left to itself SQLite answers a broad filter through the statistics index
    // (state = ?) and sorts every matching row, all columns, by rowid for each page, so a page costs
    // the whole result and an export grows with its square (a CPU profile of the node: 260 ms a
    // page of a 4,200-row result, all of it in that statement). A broad result is walked in rowid order instead, without an
    // index on the table, a window of rowids at a time (one statement reads at most WINDOW rows);
    // a small one (a class, a search) keeps the index and sorts only its few rows.
    const maxRowid = Number((sql.prepare(`select coalesce(max(rowid), 0) as m from ${table}`).get() as Row).m)
    const walk = total > SMALL_RESULT
    const page = walk
      ? sql.prepare(`select t.rowid as _rid, t.* from ${table} t not indexed where ${where} and t.rowid > ? and t.rowid <= ? order by t.rowid limit ${PAGE}`)
      : sql.prepare(`select t.rowid as _rid, t.* from ${table} t where ${where} and t.rowid > ? order by t.rowid limit ${PAGE}`)
    const progress = sql.prepare('update exports set rows_done = ? where id = ?')
    // A reference is exported as the name of what it names (学校 杭州市…小学, 班级 四年级（1）班),
    // not its internal id; the state by its Chinese name.
    const refTables: Record<string, string> = { schoolId: 'schools', kindergartenId: 'kindergartens', classId: table === 'children' ? 'kindergarten_classes' : 'school_classes' }
    const refNames = new Map<string, string>()
    const nameOf = Object.fromEntries(Object.entries(refTables).map(([key, t]) => [key, sql.prepare(`select name from ${t} where id = ?`).pluck()]))
    const refName = (key: string, id: string): string => {
      let name = refNames.get(`${key}:${id}`)
      if (name === undefined) {
        name = (nameOf[key]!.get(id) as string | undefined) ?? id
        refNames.set(`${key}:${id}`, name)
      }
      return name
    }
    const stateLabels = table === 'children' ? CHILD_STATE_LABELS : STUDENT_STATE_LABELS
    let last = 0
    let done = 0
    try {
      for (;;) {
        if (walk && last >= maxRowid) break
        const rows = (walk ? page.all(...params, last, last + WINDOW) : page.all(...params, last)) as Row[]
        if (!walk && rows.length === 0) break
        for (const r of rows) {
          const masked = maskRecord(table, fromSql(spec, r))
          const cells: Cell[] = fields.map(f => {
            const v = masked[f.key]
            if (v === null || v === undefined) return null
            if (f.kind === 'ref' && f.key in refTables) return refName(f.key, String(v))
            // A code is exported with its name (性别 男, not 1); an unknown one as it is.
            return f.table ? (codes.name(f.table, String(v)) ?? String(v)) : (v as Cell)
          })
          if (person) cells.push(stateLabels[String(r.state)] ?? String(r.state))
          await writer.row(cells)
        }
        last = rows.length === PAGE || !walk ? Number(rows[rows.length - 1]!._rid) : last + WINDOW
        done += rows.length
        progress.run(done, rec.id)
        await yieldToLoop()
        if (stopping) throw STOPPED
      }
    } finally {
      await writer.close()
    }
    return done
  }

  /** A table's sheet name (Excel: at most 31 characters, none of \\ / ? * [ ] :) and header. */
  const sheetOf = (t: StatsTable) => ({
    name: `${t.label}（${t.scope.name}）`.replace(/[\\/?*[\]:]/g, ' ').slice(0, 31),
    header: t.units.length === 0 ? [t.label, '人数'] : ['单位代码', '单位', ...t.rows.map(r => r.label), '合计'],
  })

  /** Writes one table's rows (a line per key, or per unit when drilled) and its total line; returns the lines. */
  async function writeTable(writer: SheetWriter, t: StatsTable): Promise<number> {
    if (t.units.length === 0) {
      for (const r of t.rows) await writer.row([r.label, r.count])
      await writer.row(['合计', t.total])
      return t.rows.length
    }
    for (const u of t.units) await writer.row([u.unit, u.name, ...t.rows.map(r => u.counts[r.key] ?? 0), u.total])
    await writer.row(['', '合计', ...t.rows.map(r => r.count), t.total])
    return t.units.length
  }

  /** A statistics table, or the four annual tables one after another (a sheet each in Excel). */
  async function writeStatistics(rec: ExportRecord, actor: Actor): Promise<number> {
    const tables =
      rec.kind === 'annual'
        ? (({ inSchoolByGrade, entrantsByGrade, graduatesByGrade, statusChangesByType }) => [inSchoolByGrade, entrantsByGrade, graduatesByGrade, statusChangesByType])(statistics.annual(actor, rec.query as unknown as AnnualQuery))
        : [statistics.table(actor, rec.query as unknown as StatsQuery)]
    const first = sheetOf(tables[0]!)
    const writer = await openSheetWriter(fileOf(rec), rec.format, first.name, first.header)
    let lines = 0
    try {
      for (const [i, t] of tables.entries()) {
        if (i > 0) await writer.sheet(sheetOf(t).name, sheetOf(t).header)
        lines += await writeTable(writer, t)
      }
    } finally {
      await writer.close()
    }
    return lines
  }

  function load(id: string): Row | undefined {
    return sql.prepare('select * from exports where id = ?').get(id) as Row | undefined
  }

  return {
    /** Records the export and queues its job; the request's audit entry commits with the row. */
    async request(actor: Actor, input: { kind: ExportKind; format: ExportFormat; query?: Record<string, unknown> }): Promise<ExportRecord> {
      const query = input.query ?? {}
      checkQuery(actor, input.kind, query)
      const id = randomUUID()
      const at = now().toISOString()
      auditedWrite(
        storage,
        () => {
          sql.prepare(`insert into exports (id, account_id, actor_json, kind, format, query_json, state, created_at) values (?, ?, ?, ?, ?, ?, 'queued', ?)`)
            .run(id, actor.accountId, JSON.stringify(actor), input.kind, input.format, JSON.stringify(query), at)
        },
        // Filter keys only: a filter's values may be a name or an ID number (kept in the exports row).
        () => ({ action: 'export.request', targetTable: 'exports', targetId: id, fields: Object.keys(query) }),
      )
      // A job lost here (Redis away) is queued again from the row by the plugin's reconciler.
      await deps.enqueue(id).catch(() => undefined)
      return present(load(id)!)
    },

    /** The job: writes the file, counting progress in the row, then audits the result. */
    async run(id: string): Promise<void> {
      const row = stopping ? undefined : load(id)
      if (!row || row.state === 'done' || row.state === 'failed') return
      const rec = present(row)
      const asked = JSON.parse(String(row.actor_json)) as Actor
      // The account as it is now, not as it asked: a job waits (Redis away, a long queue) while
      // an administrator narrows its scope, withdraws a grant or disables it.
      const account = sql.prepare('select * from accounts where id = ?').get(asked.accountId) as AccountRow | undefined
      const actor = account && account.disabled_at === null ? actorOfAccount(account) : asked
      sql.prepare(`update exports set state = 'running', rows_done = 0 where id = ?`).run(id)
      // A run cut short (the node stopped) starts again from nothing.
      rmSync(fileOf(rec), { force: true })
      let outcome: 'ok' | 'failed' = 'ok'
      let code: string | null = null
      try {
        if (!account || account.disabled_at !== null) throw authError('FORBIDDEN', '该账号已停用，导出未执行', { rule: 'ACCOUNT_DISABLED' })
        checkQuery(actor, rec.kind, rec.query)
        const rows = rec.kind === 'statistics' || rec.kind === 'annual' ? await writeStatistics(rec, actor) : await writePersons(rec, actor)
        sql.prepare(`update exports set state = 'done', rows_done = ?, rows_total = ?, finished_at = ? where id = ?`).run(rows, rows, now().toISOString(), id)
      } catch (err) {
        rmSync(fileOf(rec), { force: true })
        if (err === STOPPED) {
          sql.prepare(`update exports set state = 'queued', rows_done = 0 where id = ?`).run(id)
          return
        }
        outcome = 'failed'
        code = err instanceof XuejiError ? err.code : 'INTERNAL'
        sql.prepare(`update exports set state = 'failed', error_code = ?, finished_at = ? where id = ?`).run(code, now().toISOString(), id)
      }
      appendAudit(storage, {
        actorId: actor.accountId, actorRole: actor.role, ip: null, action: 'export.done', targetTable: 'exports', targetId: id,
        fields: Object.keys(rec.query), outcome, status: null, code,
      })
    },

    /** One export of the account (another account's answers as missing). */
    get(actor: Actor, id: string): ExportRecord {
      const row = load(id)
      if (!row || row.account_id !== actor.accountId) throw authError('NOT_FOUND', '未找到该导出')
      return present(row)
    },

    list(actor: Actor): ExportRecord[] {
      return (sql.prepare('select * from exports where account_id = ? order by created_at desc limit 100').all(actor.accountId) as Row[]).map(present)
    },

    /** The finished file of an export, audited as downloaded. */
    download(actor: Actor, id: string, ip: string | null): { file: string; record: ExportRecord } {
      const record = this.get(actor, id)
      if (record.state === 'expired') throw exportError('EXPORT_EXPIRED', `导出文件已超过保存期限（${deps.keepDays} 天）被删除，请重新导出`, { keepDays: deps.keepDays })
      if (record.state !== 'done') throw exportError('EXPORT_NOT_READY', record.state === 'failed' ? '导出失败，请重新导出' : '导出尚未完成，请稍后再下载', { state: record.state })
      const file = fileOf(record)
      if (!existsSync(file)) throw authError('NOT_FOUND', '导出文件已不存在，请重新导出')
      appendAudit(storage, { actorId: actor.accountId, actorRole: actor.role, ip, action: 'export.download', targetTable: 'exports', targetId: id, fields: null, outcome: 'ok', status: 200, code: null })
      return { file, record }
    },

    /**
     * Deletes the files of exports finished more than keepDays before `at` (default now) and marks
     * them `expired` (each audited as `export.expire`); returns how many.
     */
    expire(at: Date = now()): number {
      const cutoff = new Date(at.getTime() - deps.keepDays * 86_400_000).toISOString()
      const old = sql.prepare(`select id, format, account_id from exports where state in ('done', 'failed') and finished_at < ?`).all(cutoff) as Row[]
      for (const r of old) {
        rmSync(fileOf({ id: String(r.id), format: String(r.format) }), { force: true })
        storage.write(() => {
          sql.prepare(`update exports set state = 'expired' where id = ?`).run(r.id)
          appendAudit(storage, { actorId: null, actorRole: null, ip: null, action: 'export.expire', targetTable: 'exports', targetId: String(r.id), fields: null, outcome: 'ok', status: null, code: null })
        })
      }
      return old.length
    },

    /** Stops the running export at its next page (the node is closing). */
    stop(): void {
      stopping = true
    },

    /** Exports to queue again: every one still queued, and at start (nothing runs yet) those a stop left running. */
    unfinished(opts: { running?: boolean } = {}): string[] {
      const states = opts.running ? `('queued', 'running')` : `('queued')`
      return (sql.prepare(`select id from exports where state in ${states} order by created_at`).all() as Row[]).map(r => String(r.id))
    },
  }
}

export type ExportService = ReturnType<typeof createExportService>
