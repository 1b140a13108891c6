/**
 * Excel imports (issue 12; R-19.1 through Excel): a registrar uploads a filled template; the
 * preview runs every row through the records service in a transaction that is rolled back, so
 * what it shows (create, update, unchanged, error with the validators' Chinese messages, locks on
 * expiry included) is what the commit will do; the parsed file and the preview are kept in the
 * `imports` table until the commit (which keeps only the cells of the rows in error), a cancel or
 * the expiry. The commit writes the valid rows through the records service in one
 * transaction (outbox, audit, locks), each row in its own savepoint, so a row refused at commit is
 * a row error and the other rows are written. Rows are matched to the school's existing records,
 * so importing the same file again changes nothing.
 */
import { createHash, randomUUID } from 'node:crypto'
import { XuejiError } from '../../config/errors.ts'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import type { Storage } from '../../schema/db.ts'
import { sameIdNumberSql } from '../../sync/lookup.ts'
import type { PersonHolder, PersonQuery } from '../../sync/messages.ts'
import { can, inScope, type Actor } from '../auth/access.ts'
import { auditedWrite } from '../auth/audit.ts'
import { authError } from '../auth/errors.ts'
import { recordError, type Issue } from '../records/errors.ts'
import { prepareRecord, type RecordInput } from '../records/validate.ts'
import { checkEachAcrossFederation } from '../services/records/federation-check.ts'
import { resource } from '../services/records/resources.ts'
import type { RecordsActor, RecordsService } from '../services/records/service.ts'
import { fromSql, type Rec } from '../services/records/store.ts'
import { importError } from './errors.ts'
import { convertCell, displayOf, KINDS, rowKey, type ImportKind, type KindSpec } from './rules.ts'
import { namesOf, readSheet, templateBook } from './workbook.ts'

/** How long a preview may be committed. */
export const PREVIEW_TTL_MS = 24 * 3600_000

export type RowAction = 'create' | 'update' | 'unchanged' | 'error'

/** One problem of a row: the field (path), the template column it came from, a stable code, a Chinese message. */
export interface RowError {
  field: string | null
  column: string | null
  code: string
  message: string
}

export interface RowResult {
  /** The row of the sheet (the first data row of the template is 3). */
  row: number
  action: RowAction
  errors: RowError[]
  /** The record created, updated or found. */
  id?: string
  /**
   * The versions of the record the row matched (and of its guardians) as the preview found them,
   * null when it matched none: the commit refuses a row whose record changed since.
   */
  seen?: string | null
}

/** A data row as parsed: the cells as typed (for the errors file) and the record input made of them. */
interface ParsedRow {
  row: number
  cells: Array<string | null>
  input: RecordInput
  /** File guardians in order (blank ones dropped), and the template guardian (0 or 1) each came from. */
  guardians: RecordInput[]
  slots: number[]
  problems: RowError[]
}

export interface Counts {
  create: number
  update: number
  unchanged: number
  error: number
}

export interface PreviewAnswer {
  importId: string
  counts: Counts
  rows: Array<{ row: number; action: RowAction; errors: RowError[] }>
}

export interface CommitAnswer {
  created: number
  updated: number
  unchanged: number
  errorRows: number
}

export interface ImportServiceDeps {
  storage: Storage
  records: RecordsService
  codes: CodeRegistry
  identity: { code: string }
  /** The parent's answer on a person (查重 across the federation, R-10.1). */
  askParent: (q: PersonQuery) => Promise<PersonHolder | null>
  /** Notes a person registered while the parent could not be asked. */
  flagUnchecked: (table: string, id: string) => void
  now?: () => Date
}

interface ImportRow {
  id: string
  kind: ImportKind
  owner_id: string
  owner_code: string
  account_id: string
  file_hash: string
  rows_json: string
  result_json: string
  counts_json: string
  state: 'previewed' | 'committed'
  commit_json: string | null
  expires_at: string
}

/**
 * What `rows_json` holds for a row: the parsed row until the commit, then only the cells of a row
 * in error (null for the others).
 */
type KeptRow = Pick<ParsedRow, 'cells'> | null

/** Thrown to roll the preview's transaction back. */
const DRY_RUN = Symbol('dry run')

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

export function createImportService(deps: ImportServiceDeps) {
  const { storage, records, codes, identity } = deps
  const now = deps.now ?? (() => new Date())
  const db = storage.sqlite

  /** The school or kindergarten of an import, or undefined. */
  function ownerRow(spec: KindSpec, ownerId: string): Record<string, unknown> | undefined {
    return db.prepare(`select * from ${spec.ownerTable} where id = ?`).get(ownerId) as Record<string, unknown> | undefined
  }

  const ownerCodeOf = (spec: KindSpec, owner: Record<string, unknown>) => String(spec.ownerTable === 'schools' ? owner.school_code : owner.kindergarten_code)

  // ---------------------------------------------------------------- parsing

  async function parse(spec: KindSpec, file: Buffer): Promise<ParsedRow[]> {
    const names = namesOf(spec, codes)
    const sheet = await readSheet(spec, file)
    return sheet.map(({ row, raws, present }) => {
      const input: RecordInput = {}
      const guardianCells: RecordInput[] = []
      const problems: RowError[] = []
      spec.columns.forEach((c, i) => {
        // A column the file does not hold is no value at all: it leaves a matched record's field as it is.
        if (!present[i]) return
        const converted = convertCell(c.field, raws[i], c.field.kind === 'code' ? names.get(c.field.table!) : undefined)
        if ('problem' in converted) {
          problems.push({ field: c.path, column: c.header, code: converted.problem.code, message: converted.problem.message })
          return
        }
        if (c.guardian === undefined) input[c.path] = converted.value
        else (guardianCells[c.guardian] ??= {})[c.field.key] = converted.value
      })
      const guardians: RecordInput[] = []
      const slots: number[] = []
      guardianCells.forEach((g, slot) => {
        if (g && Object.values(g).some(v => v !== null)) {
          guardians.push(g)
          slots.push(slot)
        }
      })
      return { row, cells: raws.map(displayOf), input, guardians, slots, problems }
    })
  }

  /** The template column of a field path (`guardians[0].phone` → the column of the guardian it came from). */
  function columnOf(spec: KindSpec, p: ParsedRow, field: string | null | undefined): string | null {
    if (!field) return null
    const g = /^guardians\[(\d+)\]\.(\w+)/.exec(field)
    if (g) return spec.columns.find(c => c.guardian === p.slots[Number(g[1])] && c.field.key === g[2])?.header ?? null
    const key = field === 'classId' ? 'classCode' : field
    return spec.columns.find(c => c.path === key)?.header ?? null
  }

  function rowErrors(spec: KindSpec, p: ParsedRow, err: XuejiError): RowError[] {
    if (err.code === 'NOT_FOUND') return [{ field: null, column: null, code: err.code, message: `该${spec.label}不在您的管理范围内（如所选班级不是您负责的班级）` }]
    const issues = (err.details?.issues as Issue[] | undefined) ?? [{ code: err.code, field: (err.details?.field as string | undefined) ?? '', rule: '', message: err.message } as Issue]
    return issues.map(i => ({ field: i.field || null, column: columnOf(spec, p, i.field), code: i.code, message: i.message }))
  }

  /** Marks the later rows of one record that appears twice in the file. */
  function markDuplicates(spec: KindSpec, rows: ParsedRow[]): void {
    const first = new Map<string, number>()
    for (const p of rows) {
      const k = rowKey(spec.kind, p.input)
      if (k === undefined) continue
      const seen = first.get(k)
      if (seen === undefined) first.set(k, p.row)
      else p.problems.push({ field: null, column: null, code: 'IMPORT_ROW_DUPLICATE', message: `与第 ${seen} 行是同一${spec.label}，请只保留一行` })
    }
  }

  // ---------------------------------------------------------------- matching and writing

  /**
   * The school's existing record a row stands for (see rules.ts `rowKey`), as its SQL row. A
   * person's ID number is compared as 查重 compares it (`sameIdNumberSql`): a resident ID number
   * names the record under whatever document type it is filed, and a row's number under another
   * type names the record filed as a resident ID or under that type, before its 学籍号 or name.
   */
  function match(spec: KindSpec, ownerId: string, input: RecordInput): Record<string, unknown> | undefined {
    const column = spec.ownerTable === 'schools' ? 'school_id' : 'kindergarten_id'
    const k = rowKey(spec.kind, input)
    if (!k) return undefined
    const [form, value] = [k.slice(0, k.indexOf(':')), k.slice(k.indexOf(':') + 1)]
    const get = (where: string, ...params: unknown[]) => db.prepare(`select * from ${spec.table} p where p.${column} = ? and ${where} order by p.rowid limit 1`).get(ownerId, ...params) as Record<string, unknown> | undefined
    if (form !== 'id' && (spec.kind === 'students' || spec.kind === 'children') && typeof input.idNumber === 'string' && input.idNumber !== '') {
      const docType = typeof input.idDocType === 'string' && input.idDocType !== '' ? input.idDocType : '1'
      // The document type asked about stands twice in the rule.
      const byId = get(sameIdNumberSql('p', '?', '?'), input.idNumber, docType, docType)
      if (byId) return byId
    }
    switch (form) {
      case 'id': return get(sameIdNumberSql('p', '?', "'1'"), value)
      case 'no': return get('student_no = ?', value)
      case 'p': {
        const [name, gender, birth] = value.split('|')
        // Only a record without an ID number: one that has it is matched by it, and a row without
        // one must not take it over (its blank cell would erase the stored number).
        return get('name = ? and gender = ? and birth_date = ? and id_number is null', name, gender, birth)
      }
      case 'c': return get('class_code = ?', value)
      default: {
        const [name, gender, birthYm] = value.split('|')
        return get('name = ? and gender = ? and coalesce(birth_ym, \'\') = ?', name, gender, birthYm)
      }
    }
  }

  /** The input of the row's own record: the class code resolved to the class of the owner. */
  function ownInput(spec: KindSpec, ownerId: string, p: ParsedRow): RecordInput {
    const input: RecordInput = { ...p.input }
    if (!spec.classTable) return input
    if (!('classCode' in input)) return input
    const code = input.classCode
    delete input.classCode
    if (code === null || code === undefined || code === '') return { ...input, classId: null }
    const owner = spec.ownerTable === 'schools' ? 'school_id' : 'kindergarten_id'
    const cls = db.prepare(`select id from ${spec.classTable} where ${owner} = ? and class_code = ?`).get(ownerId, code) as { id: string } | undefined
    if (!cls) throw recordError('RECORD_REFERENCE_INVALID', `班级代码“${String(code)}”不是本${spec.ownerTable === 'schools' ? '校' : '园'}的班级，请先建立该班级或改正班级代码`, { field: 'classId', rule: 'reference' })
    return { ...input, classId: cls.id }
  }

  /** The fields of `input` whose value, normalised as stored, differs from `current`. */
  function changes(table: string, current: Rec, input: RecordInput, keys: string[], parent?: Rec): RecordInput {
    const merged: RecordInput = { ...current }
    for (const k of keys) merged[k] = input[k] ?? null
    // A 学籍号 left blank keeps the one the node made (G + ID number, or a temporary L number).
    if (table === 'students' && (input.studentNo === null || input.studentNo === undefined)) merged.studentNo = current.studentNo
    const prepared = prepareRecord(table, merged, { codes, now: now(), nodeCode: identity.code, parent })
    const patch: RecordInput = {}
    for (const k of keys) if (!same(prepared[k], current[k])) patch[k] = prepared[k]
    return patch
  }

  const prefixed = (err: unknown, path: string): unknown => {
    if (!(err instanceof XuejiError)) return err
    const issues = (err.details?.issues as Issue[] | undefined) ?? [{ code: err.code, field: String(err.details?.field ?? ''), rule: '', message: err.message } as Issue]
    return new XuejiError(err.code, err.message, err.statusCode, { ...err.details, issues: issues.map(i => ({ ...i, field: i.field ? `${path}.${i.field}` : path })) })
  }

  /** The versions of a matched record and of its guardians: what the preview saw of it. */
  function versionsOf(spec: KindSpec, existing: Record<string, unknown>): string {
    const guardians = spec.guardianTable
      ? (db.prepare(`select version from ${spec.guardianTable} where ${resource(spec.guardianTable).owner!.column} = ? order by rowid`).pluck().all(existing.id) as number[])
      : []
    return [existing.version, ...guardians].join(',')
  }

  /**
   * Writes one row (in its own savepoint) through the records service. At the commit, `previewed`
   * is the row's preview: a record matched (or not) otherwise than then is a row error.
   */
  function applyRow(actor: RecordsActor, spec: KindSpec, ownerId: string, p: ParsedRow, refused?: XuejiError, previewed?: RowResult): RowResult {
    if (p.problems.length > 0) return { row: p.row, action: 'error', errors: p.problems }
    try {
      return storage.write((): RowResult => {
        const input = ownInput(spec, ownerId, p)
        const existing = match(spec, ownerId, input)
        const seen = existing ? versionsOf(spec, existing) : null
        if (previewed?.seen !== undefined && previewed.seen !== seen) {
          throw recordError('RECORD_VERSION_CONFLICT', `预览后该${spec.label}的记录已被他人修改（或新建），本行未写入，以免覆盖他人的修改；请重新上传文件预览`, { field: 'version', rule: 'version' })
        }
        if (!existing) {
          if (refused) throw refused
          const body = { ...input, [spec.ownerKey]: ownerId, ...(spec.guardianTable ? { guardians: p.guardians } : {}) }
          const rec = records.create(actor, spec.table, body, undefined, { read: false })
          return { row: p.row, action: 'create', errors: [], id: String(rec.id), seen }
        }
        const id = String(existing.id)
        const current = fromSql(resource(spec.table), existing)
        const keys = Object.keys(input).filter(k => k !== spec.ownerKey)
        const patch = changes(spec.table, current, input, keys)
        let changed = false
        if (Object.keys(patch).length > 0) {
          records.update(actor, spec.table, id, { ...patch, version: Number(current.version) })
          changed = true
        }
        if (spec.guardianTable) {
          const gspec = resource(spec.guardianTable)
          const held = db.prepare(`select * from ${spec.guardianTable} where ${gspec.owner!.column} = ? order by rowid`).all(id) as Array<Record<string, unknown>>
          p.guardians.forEach((g, k) => {
            try {
              if (!held[k]) {
                records.create(actor, spec.guardianTable!, g, id, { read: false })
                changed = true
                return
              }
              const cur = fromSql(gspec, held[k])
              const gpatch = changes(spec.guardianTable!, cur, g, Object.keys(g), current)
              if (Object.keys(gpatch).length === 0) return
              records.update(actor, spec.guardianTable!, String(cur.id), { ...gpatch, version: Number(cur.version) }, id)
              changed = true
            } catch (err) {
              throw prefixed(err, `guardians[${k}]`)
            }
          })
        }
        return { row: p.row, action: changed ? 'update' : 'unchanged', errors: [], id, seen }
      })
    } catch (err) {
      if (!(err instanceof XuejiError)) throw err
      return { row: p.row, action: 'error', errors: rowErrors(spec, p, err) }
    }
  }

  /** 查重 across the federation for the people the rows would create (not those the school holds). */
  async function askAbout(spec: KindSpec, ownerId: string, rows: ParsedRow[], skip: (i: number) => boolean) {
    if (spec.table !== 'students' && spec.table !== 'children') return { refused: new Map<number, XuejiError>(), unchecked: new Set<number>() }
    const inputs = rows.map((p, i) => (skip(i) || p.problems.length > 0 || match(spec, ownerId, p.input) ? undefined : p.input))
    return checkEachAcrossFederation(deps.askParent, spec.table, inputs)
  }

  const countsOf = (results: RowResult[]): Counts => ({
    create: results.filter(r => r.action === 'create').length,
    update: results.filter(r => r.action === 'update').length,
    unchanged: results.filter(r => r.action === 'unchanged').length,
    error: results.filter(r => r.action === 'error').length,
  })

  const load = (id: string) => db.prepare('select * from imports where id = ?').get(id) as ImportRow | undefined

  /** The import if `actor` may act on it: the account that previewed it, or an administrator of its school; else 404. */
  function reachable(actor: Actor, id: string): ImportRow {
    const imp = load(id)
    const spec = imp && KINDS[imp.kind]
    const inReach = imp && spec && can(actor, spec.permission) && inScope(actor, { homeNode: identity.code, school: imp.owner_code })
    const mine = imp?.account_id === actor.accountId
    const admin = actor.role === 'school_admin' || actor.role === 'central_school_admin'
    if (!imp || !inReach || !(mine || admin)) throw authError('NOT_FOUND', '未找到该导入')
    return imp
  }

  const templates = new Map<ImportKind, Promise<Buffer>>()

  const present = (results: RowResult[]) => results.map(r => ({ row: r.row, action: r.action, errors: r.errors }))

  return {
    /** The school or kindergarten an import names, for the route's scope check; undefined when missing. */
    owner(kind: ImportKind, ownerId: string): Record<string, unknown> | undefined {
      return ownerRow(KINDS[kind], ownerId)
    },

    /** The template of a record type (made once: it depends on the code tables only). */
    template(kind: ImportKind): Promise<Buffer> {
      let made = templates.get(kind)
      if (!made) {
        made = templateBook(KINDS[kind], codes)
        templates.set(kind, made)
        made.catch(() => templates.delete(kind))
      }
      return made
    },

    /**
     * Parses and checks `file` against the school's records without writing any (the rows run in a
     * transaction that is rolled back), keeps the result for the commit, and audits it.
     */
    async preview(actor: Actor, recordsActor: RecordsActor, kind: ImportKind, ownerId: string, file: Buffer): Promise<PreviewAnswer> {
      const spec = KINDS[kind]
      const owner = ownerRow(spec, ownerId)
      if (!owner) throw authError('NOT_FOUND', '未找到该学校')
      if (owner.home_node !== identity.code) throw recordError('RECORD_NOT_HOME', `该${spec.ownerTable === 'schools' ? '学校' : '幼儿园'}属于节点 ${String(owner.home_node)}，只能在其所属节点导入`, { homeNode: owner.home_node })
      const rows = await parse(spec, file)
      markDuplicates(spec, rows)
      const { refused } = await askAbout(spec, ownerId, rows, () => false)
      let results: RowResult[] = []
      try {
        auditedWrite(storage, () => {
          results = rows.map((p, i) => applyRow(recordsActor, spec, ownerId, p, refused.get(i)))
          throw DRY_RUN
        })
      } catch (err) {
        if (err !== DRY_RUN) throw err
      }
      const id = randomUUID()
      const counts = countsOf(results)
      const hash = createHash('sha256').update(file).digest('hex')
      const at = now()
      const ownerCode = ownerCodeOf(spec, owner)
      auditedWrite(storage, () => {
        db.prepare(`insert into imports (id, kind, owner_id, owner_code, account_id, file_hash, rows_json, result_json, counts_json, state, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, 'previewed', ?, ?)`)
          .run(id, kind, ownerId, ownerCode, actor.accountId, hash, JSON.stringify(rows), JSON.stringify(results), JSON.stringify(counts), at.toISOString(), new Date(at.getTime() + PREVIEW_TTL_MS).toISOString())
      }, () => ({ action: 'import.preview', targetTable: 'imports', targetId: id, fields: [`kind:${kind}`, `school:${ownerCode}`, `sha256:${hash}`, ...Object.entries(counts).map(([k, n]) => `${k}:${n}`)] }))
      return { importId: id, counts, rows: present(results) }
    },

    /**
     * Writes the rows the preview found valid, in one transaction; a row refused now (a lock, a
     * record changed since) is a row error. A committed import answers its result again and
     * changes nothing.
     */
    async commit(actor: Actor, recordsActor: RecordsActor, id: string): Promise<CommitAnswer> {
      const imp = reachable(actor, id)
      if (imp.state === 'committed') return JSON.parse(imp.commit_json!) as CommitAnswer
      if (imp.expires_at < now().toISOString()) throw importError('IMPORT_EXPIRED', '该导入预览已过期，请重新上传文件', { expiresAt: imp.expires_at })
      const spec = KINDS[imp.kind]
      const rows = JSON.parse(imp.rows_json) as ParsedRow[]
      const previewed = JSON.parse(imp.result_json) as RowResult[]
      const { refused, unchecked } = await askAbout(spec, imp.owner_id, rows, i => previewed[i].action === 'error')
      let results: RowResult[] = []
      const answer = auditedWrite(storage, (): CommitAnswer => {
        // Cancelled or purged while the parent was asked: gone.
        const fresh = load(id)
        if (!fresh) throw authError('NOT_FOUND', '未找到该导入')
        if (fresh.state === 'committed') return JSON.parse(fresh.commit_json!) as CommitAnswer
        results = rows.map((p, i) => (previewed[i].action === 'error' ? previewed[i] : applyRow(recordsActor, spec, imp.owner_id, p, refused.get(i), previewed[i])))
        const c = countsOf(results)
        const out: CommitAnswer = { created: c.create, updated: c.update, unchanged: c.unchanged, errorRows: c.error }
        // The parsed rows hold ID numbers in clear: once committed only the cells of the
        // rows in error stay, for the errors file, until the import expires.
        const kept: KeptRow[] = results.map((r, i) => (r.action === 'error' ? { cells: rows[i].cells } : null))
        db.prepare(`update imports set state = 'committed', rows_json = ?, result_json = ?, commit_json = ?, committed_by = ?, committed_at = ? where id = ?`)
          .run(JSON.stringify(kept), JSON.stringify(results), JSON.stringify(out), actor.accountId, now().toISOString(), id)
        return out
      }, out => ({ action: 'import.commit', targetTable: 'imports', targetId: id, fields: [`kind:${imp.kind}`, `school:${imp.owner_code}`, `sha256:${imp.file_hash}`, ...Object.entries(out).map(([k, n]) => `${k}:${n}`)] }))
      results.forEach((r, i) => {
        if (r.action === 'create' && unchecked.has(i)) deps.flagUnchecked(spec.table, r.id!)
      })
      return answer
    },

    /** The rows in error (of the commit once committed, else of the preview) in the template's layout, with 错误原因. */
    async errorsFile(actor: Actor, id: string): Promise<{ kind: ImportKind; file: Buffer }> {
      const imp = reachable(actor, id)
      const rows = JSON.parse(imp.rows_json) as KeptRow[]
      const results = JSON.parse(imp.result_json) as RowResult[]
      const bad = results.flatMap((r, i) => (r.action === 'error' ? [{ cells: rows[i]!.cells, reason: r.errors.map(e => (e.column ? `${e.column}：${e.message}` : e.message)).join('；') }] : []))
      return { kind: imp.kind, file: await templateBook(KINDS[imp.kind], codes, bad) }
    },

    /** Cancels an import: the preview can no longer be committed, and what was kept of it (the parsed rows) is deleted. */
    cancel(actor: Actor, id: string): void {
      const imp = reachable(actor, id)
      auditedWrite(storage, () => {
        db.prepare('delete from imports where id = ?').run(id)
      }, () => ({ action: 'import.cancel', targetTable: 'imports', targetId: id, fields: [`kind:${imp.kind}`, `school:${imp.owner_code}`, `sha256:${imp.file_hash}`] }))
    },

    /** Deletes the imports past their expiry, committed or not (the node runs it at start and on a timer). Answers how many. */
    purgeExpired(): number {
      return db.prepare('delete from imports where expires_at < ?').run(now().toISOString()).changes
    },
  }
}

export type ImportService = ReturnType<typeof createImportService>
