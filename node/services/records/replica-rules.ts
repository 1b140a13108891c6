/**
 * The records domain's rules for rows that arrive by sync (sync/apply.ts `RowRules`): the same
 * field validation as the API and imports, and 查重 across nodes. Injected into every applier by
 * whoever builds a sync service (the node plugin, the CLI, the benchmark), because sync/ may not
 * import node/ and the rules need the code tables and node/records.
 *
 * Injection rather than moving node/records down to schema/: the rules use the error catalogue
 * (config/), the access helpers and pinyin-pro, none of which schema/ may import, and a required
 * `rules` argument makes the type checker find every place that builds an applier.
 */
import type { CodeRegistry } from '../../../schema/codes/index.ts'
import type { Storage } from '../../../schema/db.ts'
import type { RowIssue, RowNotice, RowRules } from '../../../sync/apply.ts'
import { childTier, inArea } from '../../../sync/area.ts'
import type { SelfNode } from '../../../sync/registry.ts'
import { FIELDS } from '../../records/fields.ts'
import { validateRecord } from '../../records/validate.ts'
import { createDuplicates } from './duplicates.ts'
import { resource } from './resources.ts'
import { createStore, fromSql, type SqlRow } from './store.ts'
import { createCheckPool } from './check-pool.ts'

/** Columns the system fills (ids, timestamps, account ids, pinyin initials) are short; fields have their own limits. */
const SYSTEM_TEXT_MAX = 1000

/**
 * The field validation of replicated rows (`RowRules.validate`) as a function of the code tables:
 * the same on the applying thread and on the checking thread (check-worker.ts). `ownerOf` reads
 * the owner record of a sub-record whose fields are judged against it (a student's, a child's);
 * without it such a row is not judged here (undefined).
 */
export function createFieldCheck(codes: CodeRegistry) {
  const fieldKeys = new Map<string, Set<string>>()
  return function check(table: string, row: Record<string, unknown>, origin: SelfNode, now: Date, ownerOf?: (table: string, id: string) => SqlRow | undefined): RowIssue[] | undefined {
    const spec = resource(table)
    let keys = fieldKeys.get(table)
    if (!keys) fieldKeys.set(table, (keys = new Set((FIELDS[table] ?? []).map(f => f.key))))
    // The record as fromSql reads it, in the same pass: booleans travel as 0/1 (SQL row images) or true/false.
    const record: Record<string, unknown> = {}
    for (const c of spec.columns) {
      const v = row[c.name]
      if (!keys.has(c.key) && typeof v === 'string' && v.length > SYSTEM_TEXT_MAX) return [{ code: 'RECORD_FIELD_FORMAT', field: c.key, rule: 'max_length' }]
      record[c.key] = c.type === 'boolean' && v !== null && v !== undefined ? v === 1 || v === true : v
    }
    // Problem records have no typed fields: their columns' enumerations are checked by the applier.
    if (!(table in FIELDS)) return []
    let parent: Record<string, unknown> | undefined
    if (spec.owner?.viaPath) {
      if (!ownerOf) return undefined
      const owner = ownerOf(spec.owner.table, String(row[spec.owner.column]))
      if (owner) parent = fromSql(resource(spec.owner.table), owner)
    }
    // The origin's area, not ours: a county's school lies in the county.
    return validateRecord(table, record, { codes, now, nodeCode: origin.code, parent }).map(i => ({ code: i.code, field: i.field, rule: i.rule }))
  }
}

/**
 * `checkThread`: check large received change-set bodies on a worker thread (check-pool.ts), whose code
 * tables are the shipped ones plus `codesDir`'s (the node's `codes.localDir`, as `codes` was made).
 */
export function createReplicaRules(deps: { storage: Storage; self: SelfNode; codes: CodeRegistry; now?: () => Date; checkThread?: { codesDir: string | null } }): RowRules {
  const { self, codes } = deps
  const now = deps.now ?? (() => new Date())
  const store = createStore(deps.storage)
  const duplicates = createDuplicates({ store, identity: self, now })
  const fields = createFieldCheck(codes)
  const ownerOf = (table: string, id: string) => store.row(resource(table), id)
  const checks = deps.checkThread ? createCheckPool(deps.checkThread.codesDir) : undefined

  function validate(table: string, row: Record<string, unknown>, origin: SelfNode): RowIssue[] {
    return fields(table, row, origin, now(), ownerOf)!
  }

  /** Whether `a` and `b` lie under one child of this node (that child, lower, saw both first). */
  function underOneChild(a: string, b: string): boolean {
    const tier = childTier(self.tier)
    return tier !== undefined && a !== self.code && b !== self.code && inArea({ code: a, tier }, b)
  }

  function applied(table: string, row: Record<string, unknown>, origin: SelfNode): RowNotice[] {
    if (table !== 'students' && table !== 'children') return []
    const unit = table === 'students' ? 'school_code' : 'kindergarten_code'
    const byId = row.id_doc_type === '1' && typeof row.id_number === 'string'
    const byNo = table === 'students' && typeof row.student_no === 'string'
    if (!byId && !byNo) return []
    const others = store.all(
      `select id, home_node, ${unit} as unit, id_number = ? as same_id from ${table} where id <> ? and home_node <> ? and (${[byId ? "(id_number = ? and id_doc_type = '1')" : '', byNo ? 'student_no = ?' : ''].filter(Boolean).join(' or ')})`,
      row.id_number ?? null, row.id, origin.code, ...(byId ? [row.id_number] : []), ...(byNo ? [row.student_no] : []),
    )
    const notices: RowNotice[] = []
    for (const other of others) {
      if (underOneChild(origin.code, String(other.home_node))) continue
      duplicates.openAcross(table, row as SqlRow, String(other.id))
      notices.push({
        kind: 'duplicate', table, id: String(row.id), homeNode: origin.code, schoolCode: String(row[unit]),
        otherId: String(other.id), otherHomeNode: String(other.home_node), otherSchoolCode: String(other.unit), rule: other.same_id === 1 ? 'id_number' : 'student_no',
      })
    }
    return notices
  }

  return {
    validate,
    applied,
    ...(checks
      ? {
          checkBody: (signed, manifest, origin) => checks.check(signed, manifest, origin, now()),
          close: () => checks.close(),
        }
      : {}),
  }
}
