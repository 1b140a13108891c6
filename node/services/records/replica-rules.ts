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
import type { RowIssue, RowNotice, RowRules, WrittenRow } from '../../../sync/apply.ts'
import { childTier, inArea } from '../../../sync/area.ts'
import { sameIdNumberSql } from '../../../sync/lookup.ts'
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
  /** Per table, its columns in the order fromSql reads them, with what the check needs to know of each. */
  interface Plan {
    columns: { name: string; key: string; boolean: boolean; system: boolean }[]
    /** A record with every key, copied for each row: filling a copy is cheaper than growing an empty object key by key. */
    blank: Record<string, unknown>
  }
  const plans = new Map<string, Plan>()
  const planOf = (table: string) => {
    let plan = plans.get(table)
    if (!plan) {
      const keys = new Set((FIELDS[table] ?? []).map(f => f.key))
      const columns = resource(table).columns.map(c => ({ name: c.name, key: c.key, boolean: c.type === 'boolean', system: !keys.has(c.key) }))
      plans.set(table, (plan = { columns, blank: Object.fromEntries(columns.map(c => [c.key, undefined])) }))
    }
    return plan
  }
  return function check(table: string, row: Record<string, unknown>, origin: SelfNode, now: Date, ownerOf?: (table: string, id: string) => SqlRow | undefined): RowIssue[] | undefined {
    const spec = resource(table)
    // The record as fromSql reads it, in the same pass: booleans travel as 0/1 (SQL row images) or true/false.
    const plan = planOf(table)
    const record = { ...plan.blank }
    for (const c of plan.columns) {
      const v = row[c.name]
      if (c.system && typeof v === 'string' && v.length > SYSTEM_TEXT_MAX) return [{ code: 'RECORD_FIELD_FORMAT', field: c.key, rule: 'max_length' }]
      record[c.key] = c.boolean && v !== null && v !== undefined ? v === 1 || v === true : v
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
 * 查重 across nodes of written persons, by table: the records of other homes with the same ID
 * number by the node's own rule (sync/lookup.ts `sameIdNumberSql`: either side a resident ID, or
 * the same document type), or (students) the same 学籍号. The first parameter is a JSON array of
 * [index, id, ID number or null, 学籍号 or null, document type], the second the origin; each hit
 * once, by index.
 */
const PERSON_DUPLICATES = Object.fromEntries(
  (['students', 'children'] as const).map(table => {
    const hits = (on: string, sameId: string) => `select w.value->>0 as i, p.id, p.home_node, p.${table === 'students' ? 'school_code' : 'kindergarten_code'} as unit, ${sameId} as same_id
      from w join ${table} p on ${on} where p.id <> w.value->>1 and p.home_node <> (select code from origin)`
    const sameId = sameIdNumberSql('p', "w.value->>2", "w.value->>4")
    const byId = hits(sameId, '1')
    return [table, `with w as (select value from json_each(?)), origin as (select ? as code) ${table === 'students' ? `${byId} union ${hits('p.student_no = w.value->>3', `coalesce(${sameId}, 0)`)}` : byId}`]
  }),
) as Record<'students' | 'children', string>

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

  /** 查重 of the written students and children: per table, one query for all of them (`PERSON_DUPLICATES`). */
  function applied(written: readonly WrittenRow[], origin: SelfNode): RowNotice[] {
    const found: { index: number; table: string; other: SqlRow }[] = []
    for (const table of ['students', 'children'] as const) {
      const subjects: [number, unknown, string | null, string | null, string][] = []
      for (let i = 0; i < written.length; i++) {
        const { table: t, row } = written[i]
        if (t !== table) continue
        const idNumber = typeof row.id_number === 'string' && row.id_number !== '' ? row.id_number : null
        const studentNo = table === 'students' && typeof row.student_no === 'string' ? row.student_no : null
        if (idNumber !== null || studentNo !== null) subjects.push([i, row.id, idNumber, studentNo, String(row.id_doc_type ?? '1')])
      }
      if (subjects.length === 0) continue
      for (const other of store.all(PERSON_DUPLICATES[table], JSON.stringify(subjects), origin.code)) {
        if (!underOneChild(origin.code, String(other.home_node))) found.push({ index: Number(other.i), table, other })
      }
    }
    // In the order of the rows written, as each row's check after its write would have found them.
    found.sort((a, b) => a.index - b.index)
    return found.map(({ index, table, other }) => {
      const row = written[index].row
      duplicates.openAcross(table, row as SqlRow, String(other.id))
      return {
        kind: 'duplicate', table, id: String(row.id), homeNode: origin.code, schoolCode: String(row[table === 'students' ? 'school_code' : 'kindergarten_code']),
        otherId: String(other.id), otherHomeNode: String(other.home_node), otherSchoolCode: String(other.unit), rule: other.same_id === 1 ? 'id_number' : 'student_no',
      }
    })
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
