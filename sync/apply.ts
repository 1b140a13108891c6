/**
 * Applying change rows to the replicated tables: the hot path of every receiving node.
 *
 * Statements are prepared once per table from drizzle's table config and bound positionally;
 * building a drizzle query per row costs ~50× more (issue 5 measurements). Ownership is checked
 * mostly by the upsert itself: its `DO UPDATE … WHERE` refuses to overwrite a row homed
 * elsewhere or of a higher epoch, and only when it changes nothing do we look at why.
 *
 * Rows are applied in the order the origin committed them (outbox order), not sorted by the
 * registry's `order`: the origin's own database enforced its foreign keys in that order, so
 * replaying it is valid, while sorting would move a delete before a re-insert of one record.
 *
 * Every upserted row passes, before it is written: the column types and enumerations of its
 * table (here, from drizzle's config) and the API's own field validation (`RowRules.validate`,
 * injected by node/ because sync/ may not import the domain rules). Rules of time and workflow
 * (locks, deadlines) are the home node's and not judged here.
 */
import { getTableConfig } from 'drizzle-orm/sqlite-core'
import type Database from 'better-sqlite3'
import { REPLICATED_TABLES, type ReplicatedTable } from '../schema/replicated.ts'
import type { Storage } from '../schema/db.ts'
import { inArea, parentDivision } from './area.ts'
import { canonicalJson, sameKeys } from './canonical.ts'
import type { ChangeRow } from './changeset.ts'
import type { SyncErrorCode } from './errors.ts'
import type { SelfNode } from './registry.ts'

/** One problem field validation found in a row: the API's code (`RECORD_ID_CHECKSUM` …), field and rule. */
export interface RowIssue {
  code: string
  field: string
  rule: string
}

/**
 * What a replica found about a row that it applied anyway and the homes concerned must hear
 * (a person registered at another node too: 查重 across nodes). Ids and codes only.
 */
export interface RowNotice {
  kind: 'duplicate'
  table: string
  id: string
  /** Home node and school (or kindergarten) code of the row applied … */
  homeNode: string
  schoolCode: string
  /** … and of the record it duplicates. */
  otherId: string
  otherHomeNode: string
  otherSchoolCode: string
  /** `id_number` or `student_no`. */
  rule: string
}

/** A row image an apply wrote, for `RowRules.applied`. */
export interface WrittenRow {
  table: string
  row: Record<string, unknown>
}

/**
 * The domain's rules for replicated rows, provided by node/ to every applier (the API's
 * validation must not be skipped by arriving through sync, and sync/ may not import node/).
 */
export interface RowRules {
  /** Field validation of one row image (SQL column names) from `origin`; empty when valid. */
  validate(table: string, row: Record<string, unknown>, origin: SelfNode): RowIssue[]
  /** After a change set's rows were written, in the same transaction: 查重 across nodes of the rows written, in their order. */
  applied(written: readonly WrittenRow[], origin: SelfNode): RowNotice[]
  /**
   * Optional: a received change set's body checks on another thread, so that the applying thread
   * only parses and writes: the hash, length and canonical form against its verified manifest and
   * the change-set shape (`openSignedBody`, `assertChangeSetBody`, refusing as they do), then
   * `precheckRows` with this `validate`, and the body compressed as it is stored (`packBody`)
   * unless it came so (`packed`: those bytes are stored).
   * The inbox uses it for large bodies.
   */
  checkBody?(signed: { body: string; hash?: string; packed?: Uint8Array }, manifest: { hash: string; bytes: number; origin: string; seq: number }, origin: SelfNode): Promise<CheckedBody>
  /** Ends what `checkBody` started. */
  close?(): Promise<void>
}

/**
 * What `RowRules.checkBody` found and made: the rows' findings, the body as stored (`packBody`;
 * none when it came compressed, whose bytes the inbox stores), the milliseconds of its stages.
 */
export interface CheckedBody {
  prechecked: Prechecked
  stored?: Uint8Array
  ms: { verify: number; parse: number; fields: number; pack: number }
}

/** What the checks of one row that need no database found (`precheckRows`). */
export interface RowFinding {
  /** `columns`: a column the table does not have; `fields`: a column's type or enumeration, or field validation. */
  step: 'columns' | 'fields'
  reason: string
  issues?: RowIssue[]
}

/**
 * The checks of a change set's rows that need no database, made before the apply (on another
 * thread): `apply` takes their findings at the point of its own order where it would have made
 * them. Rows in `unchecked` (a rule of theirs reads the database) it checks itself.
 */
export interface Prechecked {
  findings: Map<number, RowFinding>
  unchecked: Set<number>
}

/** Why one row of a change set was not applied (ids and codes only, never row data). */
export interface BadRow {
  index: number
  table: string
  key: Record<string, string>
  code: Extract<SyncErrorCode, 'SYNC_ROW_OUTSIDE_OWNERSHIP' | 'SYNC_ROW_INVALID'>
  reason: string
  /** Field validation's findings, with the API's codes (when that is why). */
  issues?: RowIssue[]
}

/** What `apply` did. */
export interface ApplyResult {
  bad: BadRow[]
  upserts: number
  deletes: number
  /** Rows older (lower version) than the replica's: ignored. */
  stale: number
  /** What the homes of applied rows must hear (duplicates across nodes). */
  notices: RowNotice[]
}

/** Applies change rows; see `createApplier`. */
export interface Applier {
  /**
   * Checks and applies `rows` from `origin`. MUST run inside `storage.write()`. Every row is
   * tried (SQLite undoes a failed statement alone), so `bad` lists every bad row; the caller
   * rolls the whole transaction back when it is not empty. `skip`: indexes to leave out (an
   * operator's release of a quarantined change set). `prechecked`: what `precheckRows` found on
   * these rows with the same rules, not checked again.
   */
  apply(rows: readonly ChangeRow[], origin: SelfNode, skip?: ReadonlySet<number>, prechecked?: Prechecked): ApplyResult
}

/**
 * The ownership rule for an existing replica row (DESIGN.md §2, §8), pure. The same home may
 * write at the same or a higher epoch; another node only through an ownership handoff that
 * raises the epoch. `handoff` is true only for rows of a verified handoff (the transfer flow).
 */
export function ownershipDecision(
  existing: { homeNode: string; epoch: number } | undefined,
  incoming: { homeNode: string; epoch: number },
  handoff: boolean,
): 'ok' | 'home' | 'epoch' {
  if (!existing) return 'ok'
  if (existing.homeNode === incoming.homeNode) return incoming.epoch >= existing.epoch ? 'ok' : 'epoch'
  return handoff && incoming.epoch > existing.epoch ? 'ok' : 'home'
}

/** The person tables whose records a transfer hands over with their sub-records. */
const PERSONS: ReadonlySet<string> = new Set(['students', 'children'])

/** A column's SQL shape, checked on every incoming value (SQLite itself would store anything). */
interface ColumnCheck {
  name: string
  type: 'text' | 'integer' | 'real' | 'boolean'
  values?: readonly string[]
}

interface Prepared {
  spec: ReplicatedTable
  columns: string[]
  columnSet: Set<string>
  checks: ColumnCheck[]
  hasDivision: boolean
  upsert: Database.Statement
  /** The upsert of a verified handoff: any home, a higher epoch only. */
  takeOver: Database.Statement
  /** The person (student or child id) a row belongs to, and its table, for handoffs; undefined for other tables. */
  subjectColumn?: string
  subjectTable?: string
  subjectOf?: Database.Statement
  existing: Database.Statement
  remove: Database.Statement
  rekey: Database.Statement
  /** The owner record's home (and the columns `copies` names) by id. */
  parent?: { column: string; lookup: Database.Statement }
}

const q = (name: string) => `"${name.replaceAll('"', '""')}"`

/** A table's columns and their SQL shapes, from drizzle's config. */
function tableColumns(spec: ReplicatedTable): { columns: string[]; columnSet: Set<string>; checks: ColumnCheck[] } {
  const config = getTableConfig(spec.table).columns
  const columns = config.map(c => c.name)
  return {
    columns,
    columnSet: new Set(columns),
    checks: config.map(c => ({
      name: c.name,
      type: c.columnType === 'SQLiteBoolean' ? 'boolean' : c.columnType === 'SQLiteInteger' ? 'integer' : c.columnType === 'SQLiteReal' ? 'real' : 'text',
      values: (c as { enumValues?: readonly string[] }).enumValues?.length ? (c as { enumValues?: readonly string[] }).enumValues : undefined,
    })),
  }
}

/**
 * Per set of known columns, the key lists of rows found to hold only those: the rows of one
 * table list the same keys in the same order, so most rows are matched against one list instead
 * of looking up each key. Bounded: a sender of ever new shapes only replaces entries.
 */
const knownShapes = new WeakMap<ReadonlySet<string>, string[][]>()
const KNOWN_SHAPES_MAX = 8

/** A column of `row` that its table does not have. */
function unknownColumn(columnSet: ReadonlySet<string>, row: Record<string, unknown>): string | undefined {
  const keys = Object.keys(row)
  let shapes = knownShapes.get(columnSet)
  if (!shapes) knownShapes.set(columnSet, (shapes = []))
  for (const shape of shapes) if (sameKeys(shape, keys)) return undefined
  for (const c of keys) if (!columnSet.has(c)) return c
  if (shapes.length >= KNOWN_SHAPES_MAX) shapes.shift()
  shapes.push(keys)
  return undefined
}

/** The checks of one row image that need no database, in `apply`'s order; undefined: nothing found. */
function rowFinding(t: { columnSet: ReadonlySet<string>; checks: readonly ColumnCheck[] }, issues: () => RowIssue[], row: Record<string, unknown>): RowFinding | undefined {
  const unknown = unknownColumn(t.columnSet, row)
  if (unknown !== undefined) return { step: 'columns', reason: `unknown column ${unknown}` }
  const shape = columnShape(t.checks, row)
  if (shape) return { step: 'fields', reason: shape }
  const found = issues()
  return found.length > 0 ? { step: 'fields', reason: `${found[0].code} ${found[0].field}`, issues: found } : undefined
}

const columnsOf = new WeakMap<ReplicatedTable, ReturnType<typeof tableColumns>>()

/**
 * The checks of `rows` from `origin` that need no database (a row's columns, their types and
 * enumerations, and `validate`), for `apply(…, prechecked)`. `validate` answers undefined for a
 * row it cannot judge without the database: that row is left to the applier.
 */
export function precheckRows(
  rows: readonly ChangeRow[],
  origin: SelfNode,
  validate: (table: string, row: Record<string, unknown>, origin: SelfNode) => RowIssue[] | undefined,
  tables: readonly ReplicatedTable[] = REPLICATED_TABLES,
): Prechecked {
  const out: Prechecked = { findings: new Map(), unchecked: new Set() }
  for (let i = 0; i < rows.length; i++) {
    const change = rows[i]
    const spec = tables.find(t => t.name === change.table)
    if (!spec || change.op === 'delete' || typeof change.row !== 'object' || change.row === null) continue
    let t = columnsOf.get(spec)
    if (!t) columnsOf.set(spec, (t = tableColumns(spec)))
    const row = change.row as Record<string, unknown>
    let unjudged = false
    const finding = rowFinding(t, () => {
      const found = validate(spec.name, row, origin)
      if (found === undefined) unjudged = true
      return found ?? []
    }, row)
    if (unjudged) out.unchecked.add(i)
    else if (finding) out.findings.set(i, finding)
  }
  return out
}

/**
 * Prepares the statements of every table in `tables` (default: the registry) once. `rules` is
 * required so that no apply path (inbox, release, rebuild, CLI) can leave validation out.
 */
export function createApplier(storage: Storage, rules: RowRules, tables: readonly ReplicatedTable[] = REPLICATED_TABLES): Applier {
  const db = storage.sqlite
  const byName = new Map<string, Prepared>()
  const refLookups = new Map<string, Database.Statement>()
  /** `wanted` of the record of `table` whose `column` is `value`, or undefined when none is held. */
  const columnOf = (table: string, column: string, value: unknown, wanted = 'home_node'): unknown => {
    const k = `${table}.${column}.${wanted}`
    let stmt = refLookups.get(k)
    if (!stmt) refLookups.set(k, (stmt = db.prepare(`select ${q(wanted)} from ${q(table)} where ${q(column)} = ?`).pluck()))
    return stmt.get(value)
  }
  for (const spec of tables) {
    const shape = tableColumns(spec)
    const columns = shape.columns
    const key = spec.key
    const t = q(spec.name)
    const nonKey = columns.filter(c => !key.includes(c))
    const keyWhere = key.map(k => `${q(k)} = ?`).join(' and ')
    byName.set(spec.name, {
      spec,
      ...shape,
      hasDivision: spec.owner === 'self' && columns.includes('division_code'),
      upsert: db.prepare(
        `insert into ${t} (${columns.map(q).join(', ')}) values (${columns.map(() => '?').join(', ')})
         on conflict (${key.map(q).join(', ')}) do update set ${nonKey.map(c => `${q(c)} = excluded.${q(c)}`).join(', ')}
         where ${t}.home_node = excluded.home_node and excluded.epoch >= ${t}.epoch and excluded.version >= ${t}.version`,
      ),
      takeOver: db.prepare(
        `insert into ${t} (${columns.map(q).join(', ')}) values (${columns.map(() => '?').join(', ')})
         on conflict (${key.map(q).join(', ')}) do update set ${nonKey.map(c => `${q(c)} = excluded.${q(c)}`).join(', ')}
         where excluded.epoch > ${t}.epoch`,
      ),
      ...(() => {
        const person = PERSONS.has(spec.name) ? spec.name : typeof spec.owner === 'object' && PERSONS.has(spec.owner.parent) ? spec.owner.parent : undefined
        const column = person === spec.name ? 'id' : typeof spec.owner === 'object' ? spec.owner.column : undefined
        return person && column ? { subjectColumn: column, subjectTable: person, subjectOf: db.prepare(`select ${q(column)} from ${t} where ${keyWhere}`).pluck() } : {}
      })(),
      existing: db.prepare(`select home_node as homeNode, epoch, version from ${t} where ${keyWhere}`),
      remove: db.prepare(`delete from ${t} where ${keyWhere} and home_node = ?`),
      rekey: db.prepare(`update ${t} set ${key.map(k => `${q(k)} = ?`).join(', ')} where ${keyWhere} and home_node = ?`),
    })
  }
  // Parents resolved after all tables are known, whatever the registry's order. One lookup per
  // owner table, with every column its tables copy (a change set's cache is keyed by owner id).
  const copiedOf = new Map<string, Set<string>>()
  for (const p of byName.values()) {
    if (p.spec.owner === 'self') continue
    const cols = copiedOf.get(p.spec.owner.parent) ?? new Set<string>()
    for (const c of Object.values(p.spec.copies ?? {})) cols.add(c)
    copiedOf.set(p.spec.owner.parent, cols)
  }
  const lookups = new Map<string, Database.Statement>()
  for (const p of byName.values()) {
    if (p.spec.owner === 'self') continue
    const parent = byName.get(p.spec.owner.parent)
    if (!parent) throw new Error(`replicated table ${p.spec.name}: owner table ${p.spec.owner.parent} is not replicated`)
    let lookup = lookups.get(parent.spec.name)
    if (!lookup) {
      const cols = ['home_node', ...(copiedOf.get(parent.spec.name) ?? [])]
      lookups.set(parent.spec.name, (lookup = db.prepare(`select ${cols.map(q).join(', ')} from ${q(parent.spec.name)} where ${q(parent.spec.key[0])} = ?`)))
    }
    p.parent = { column: p.spec.owner.column, lookup }
  }

  const handedTo = db.prepare('select max(epoch) from sync_handoffs where subject_table = ? and subject_id = ? and to_node = ?').pluck()
  const handedFrom = db.prepare('select max(epoch) from sync_handoffs where subject_table = ? and subject_id = ? and from_node = ?').pluck()
  /** A verified handoff of `subject` (a person of `p`'s subject table) to `origin` at an epoch `epoch` reaches. */
  const handoffTo = (p: Prepared, subject: unknown, origin: string, epoch: number) => {
    const e = p.subjectTable && typeof subject === 'string' ? (handedTo.get(p.subjectTable, subject, origin) as number | null) : null
    return e !== null && epoch >= e
  }
  /** `origin` handed `subject` away at an epoch above `epoch`: its late rows are stale, not refused. */
  const handedAway = (p: Prepared, subject: unknown, origin: string, epoch: number) => {
    const e = p.subjectTable && typeof subject === 'string' ? (handedFrom.get(p.subjectTable, subject, origin) as number | null) : null
    return e !== null && e > epoch
  }

  return {
    apply(rows, origin, skip, prechecked) {
      const result: ApplyResult = { bad: [], upserts: 0, deletes: 0, stale: 0, notices: [] }
      // Parent records (home, copied columns) seen in this change set: most students of a set share a few schools.
      const parentRow = new Map<string, Record<string, unknown> | undefined>()
      // Referenced records' columns looked up in this change set, per table (the class of each
      // student: a set's students share a few). A table's entries go once a row of it was handled.
      const refCache = new Map<string, Map<string, unknown>>()
      const refColumn = (table: string, column: string, value: unknown, wanted = 'home_node'): unknown => {
        if (typeof value !== 'string') return columnOf(table, column, value, wanted)
        let held = refCache.get(table)
        if (!held) refCache.set(table, (held = new Map()))
        const k = `${column}\0${wanted}\0${value}`
        if (held.has(k)) return held.get(k)
        const v = columnOf(table, column, value, wanted)
        held.set(k, v)
        return v
      }
      let lastTable: string | undefined
      const written: WrittenRow[] = []
      const bad = (index: number, row: ChangeRow, code: BadRow['code'], reason: string, issues?: RowIssue[]) =>
        result.bad.push({ index, table: row.table, key: row.key, code, reason, ...(issues ? { issues } : {}) })

      for (let i = 0; i < rows.length; i++) {
        if (skip?.has(i)) continue
        const change = rows[i]
        // The previous row may have written its table: its cached look-ups are stale.
        if (lastTable !== undefined) refCache.delete(lastTable)
        lastTable = change.table
        const p = byName.get(change.table)
        if (!p) {
          bad(i, change, 'SYNC_ROW_INVALID', 'unknown table')
          continue
        }
        const keyCols = p.spec.key
        const keyNames = Object.keys(change.key)
        if (keyNames.length !== keyCols.length || !keyCols.every(k => typeof change.key[k] === 'string')) {
          bad(i, change, 'SYNC_ROW_INVALID', 'key columns')
          continue
        }
        const keyVals = keyCols.map(k => change.key[k])

        if (change.op === 'delete') {
          // A delete may cascade to other tables' rows.
          refCache.clear()
          if (p.remove.run(...keyVals, origin.code).changes === 1) {
            result.deletes++
            continue
          }
          const held = p.existing.get(...keyVals) as { homeNode: string; epoch: number } | undefined
          // A tombstone for a row we never had (or already removed) is idempotent; one from a
          // home that has since handed the record over is stale.
          if (held && p.subjectOf && handedAway(p, p.subjectOf.get(...keyVals), origin.code, Number(change.epoch ?? 0))) result.stale++
          else if (held) bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', 'home')
          continue
        }

        const row = change.row as Record<string, unknown>
        if (row.home_node !== origin.code) {
          bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', 'home_node')
          continue
        }
        // Checked beforehand (prechecked), or here in the same order: the columns now, the rest below.
        const finding = prechecked && !prechecked.unchecked.has(i) ? prechecked.findings.get(i) : rowFinding(p, () => rules.validate(p.spec.name, row, origin), row)
        if (finding?.step === 'columns') {
          bad(i, change, 'SYNC_ROW_INVALID', finding.reason)
          continue
        }
        if (!keyCols.every(k => row[k] === change.key[k])) {
          bad(i, change, 'SYNC_ROW_INVALID', 'key and row image disagree')
          continue
        }
        if (p.hasDivision && !inArea(origin, row.division_code as string)) {
          bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', 'division')
          continue
        }
        if (p.spec.toParent && row[p.spec.toParent] !== parentDivision(origin.code)) {
          bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', `${p.spec.toParent} is not the origin's parent`)
          continue
        }
        if (p.parent) {
          const parentId = row[p.parent.column]
          if (typeof parentId !== 'string') {
            bad(i, change, 'SYNC_ROW_INVALID', `no ${p.parent.column}`)
            continue
          }
          let owner = parentRow.get(parentId)
          if (owner === undefined && !parentRow.has(parentId)) {
            owner = p.parent.lookup.get(parentId) as Record<string, unknown> | undefined
            parentRow.set(parentId, owner)
          }
          if (owner === undefined) {
            bad(i, change, 'SYNC_ROW_INVALID', `${p.parent.column} names no record here`)
            continue
          }
          if (owner.home_node !== origin.code) {
            if (p.subjectColumn && handedAway(p, row[p.subjectColumn], origin.code, Number(row.epoch ?? 0))) result.stale++
            else bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', 'parent')
            continue
          }
          // A copy of the owner's code (a student's school_code) must be its owner's: scope
          // checks and statistics read the copy, so another school's code would file the row there.
          const copy = p.spec.copies && Object.entries(p.spec.copies).find(([from, col]) => row[from] !== owner[col])
          if (copy) {
            bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', `${copy[0]} is not its ${p.parent.column}'s`)
            continue
          }
        }
        // Every record it names besides its owner (a class, the students of a problem record)
        // must, when held here, lie within the origin's area: a child flags only its own subtree.
        const refs = p.spec.refs?.(row) ?? []
        const foreign = refs.find(ref => {
          if (ref.value === null || ref.value === undefined) return false
          const home = refColumn(ref.table, ref.column, ref.value) as string | undefined
          return home !== undefined && !inArea(origin, home) && !(ref.kept && columnOf(p.spec.name, 'id', row.id, ref.from) === ref.value)
        })
        if (foreign) {
          bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', `reference ${foreign.from}`)
          continue
        }
        // … and, held here, is of the row's own owner where it must be (a student's class of its school).
        const astray = refs.find(ref => {
          if (!ref.within || ref.value === null || ref.value === undefined) return false
          const held = refColumn(ref.table, ref.column, ref.value, ref.within.column)
          return held !== undefined && held !== ref.within.value
        })
        if (astray) {
          bad(i, change, 'SYNC_ROW_INVALID', `${astray.from} is not of its ${astray.within!.column}`)
          continue
        }
        if (finding) {
          bad(i, change, 'SYNC_ROW_INVALID', finding.reason, finding.issues)
          continue
        }
        // 学籍号 L → G and other key changes: move the record before writing its new image.
        // A change of another natural key (学籍号 on a table keyed by id) needs no move: the
        // upsert by key writes it. Only the table's key columns are moved here.
        if (change.rekey) {
          const from = change.rekey.from
          const names = Object.keys(from)
          if (!names.every(k => p.columnSet.has(k))) {
            bad(i, change, 'SYNC_ROW_INVALID', 'rekey columns')
            continue
          }
          const moves = names.length === keyCols.length && keyCols.every(k => k in from)
          try {
            if (moves) p.rekey.run(...keyVals, ...keyCols.map(k => from[k]), origin.code)
          } catch (err) {
            // Onto a key that is already taken: a refusal of this row, not a failure of the node.
            bad(i, change, 'SYNC_ROW_INVALID', `rekey ${String((err as { code?: string }).code ?? 'sqlite error')}`)
            continue
          }
        }

        const values = new Array(p.columns.length)
        for (let c = 0; c < p.columns.length; c++) values[c] = sqlValue(row[p.columns[c]])
        let changes: number
        try {
          changes = p.upsert.run(values).changes
        } catch (err) {
          // A constraint or type error: SQLite names the constraint, never the value.
          bad(i, change, 'SYNC_ROW_INVALID', String((err as { code?: string }).code ?? 'sqlite error'))
          continue
        }
        if (changes === 1) {
          result.upserts++
          written.push({ table: p.spec.name, row })
          if (p.parent === undefined) parentRow.delete(keyVals[0])
          continue
        }
        const held = p.existing.get(...keyVals) as { homeNode: string; epoch: number; version: number }
        const incoming = { homeNode: origin.code, epoch: Number(row.epoch ?? 0) }
        const subject = p.subjectColumn ? row[p.subjectColumn] : undefined
        const decision = ownershipDecision(held, incoming, held.homeNode !== origin.code && handoffTo(p, subject, origin.code, incoming.epoch))
        if (decision === 'ok' && held.homeNode !== origin.code) {
          // The new home of a verified handoff writes the record at the raised epoch.
          p.takeOver.run(values)
          result.upserts++
          written.push({ table: p.spec.name, row })
          parentRow.delete(keyVals[0])
        } else if (decision === 'ok' || handedAway(p, subject, origin.code, incoming.epoch)) result.stale++
        else bad(i, change, 'SYNC_ROW_OUTSIDE_OWNERSHIP', decision)
      }
      // Every other write of the set was by the same origin, which 查重 leaves out: checking the
      // written rows together after the loop finds what checking each after its write would.
      if (written.length > 0) result.notices = rules.applied(written, origin)
      return result
    },
  }
}

/** The first value of `row` that its column cannot hold (type or enumeration), as a reason. */
function columnShape(checks: readonly ColumnCheck[], row: Record<string, unknown>): string | undefined {
  for (const c of checks) {
    const v = row[c.name]
    if (v === undefined || v === null) continue
    const ok =
      c.type === 'text' ? typeof v === 'string' && (!c.values || c.values.includes(v))
      : c.type === 'integer' ? Number.isSafeInteger(v)
      : c.type === 'real' ? typeof v === 'number' && Number.isFinite(v)
      : v === 0 || v === 1 || typeof v === 'boolean'
    if (!ok) return `column ${c.name}: ${c.values ? 'not one of its values' : `not ${c.type}`}`
  }
  return undefined
}

/** JSON row-image values as SQLite binds them (booleans as 0/1, JSON columns as text). */
function sqlValue(v: unknown): unknown {
  if (v === undefined || v === null) return null
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'object') return canonicalJson(v)
  return v
}
