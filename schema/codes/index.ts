/**
 * Code tables (代码表) as versioned data.
 *
 * Every standard and edition is a JSON file in `data/` (format: README.md beside this file), never a
 * TypeScript enum: the 2007 MOE spec and JY/T 1001 use different codes for the same field, and old
 * records keep old codes, so several editions of one table must live side by side.
 *
 * Local codes: a city or county adds codes by configuration, never by changing code.
 * `createCodeRegistry(loadCodeFiles(dir))` merges files with `"extends": "<table>"` into that
 * table's default edition (entries flagged `local: true`) and adds wholly new tables.
 */
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { codeError } from './errors.ts'

export interface CodeEntry {
  code: string
  name: string
  /** Code of the parent entry in the same table (division: the city of a county). */
  parent?: string
  /** Year-month (or date) the code stopped being issued. Kept so old records still resolve. */
  retired?: string
  /** The current code that took over a retired one, where there is exactly one. */
  replacedBy?: string
  note?: string
  /** Set by the registry on codes added by local configuration, not by a national standard. */
  local?: boolean
}

export interface CodeTable {
  table: string
  title: string
  standard: string
  edition: string
  /** Marks the edition used when a caller names no edition; exactly one per table. */
  default?: boolean
  /** A local file that adds its codes to the default edition of this table (must equal `table`). */
  extends?: string
  /** Set on tables and editions that came from local configuration. */
  local?: boolean
  note?: string
  codes: CodeEntry[]
}

export interface CodeTableInfo {
  table: string
  edition: string
  title: string
  standard: string
  default: boolean
}

export interface CodeRegistry {
  /** One row per table and edition, sorted by table then edition. */
  tables(): CodeTableInfo[]
  /** The whole table (frozen). Throws CODE_TABLE_UNKNOWN for an unknown table or edition. */
  get(table: string, edition?: string): Readonly<CodeTable>
  /** True for every code of the edition, retired ones included (old records must resolve). */
  has(table: string, code: string, edition?: string): boolean
  name(table: string, code: string, edition?: string): string | undefined
  entry(table: string, code: string, edition?: string): Readonly<CodeEntry> | undefined
  editions(table: string): string[]
  defaultEdition(table: string): string
  /** True when the code exists and is flagged retired. */
  isRetired(table: string, code: string, edition?: string): boolean
}

const TABLE_RE = /^[a-z][a-z0-9_]*$/
const EDITION_RE = /^[a-z0-9][a-z0-9.-]*$/
const CODE_RE = /^[0-9A-Za-z]+$/
const RETIRED_RE = /^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$/
const HEADER_KEYS = new Set(['table', 'title', 'standard', 'edition', 'default', 'extends', 'local', 'note', 'codes'])
const ENTRY_KEYS = new Set(['code', 'name', 'parent', 'retired', 'replacedBy', 'note', 'local'])

function invalid(source: string, reason: string, details: Record<string, unknown> = {}): never {
  throw codeError('CODE_TABLE_INVALID', `代码表文件 ${source} 无效：${reason}`, { source, reason, ...details })
}

const isText = (v: unknown): v is string => typeof v === 'string' && v.trim() !== ''

/**
 * Checks one parsed file and returns it typed. Unknown keys are refused so a typo such as
 * `"retierd"` fails loudly instead of silently leaving a code current.
 */
export function validateCodeTable(raw: unknown, source: string): CodeTable {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) invalid(source, '不是 JSON 对象')
  const file = raw as Record<string, unknown>
  for (const key of Object.keys(file)) if (!HEADER_KEYS.has(key)) invalid(source, `未知字段 "${key}"`)
  if (!isText(file.table) || !TABLE_RE.test(file.table)) invalid(source, 'table 须为小写字母、数字、下划线')
  if (!isText(file.edition) || !EDITION_RE.test(file.edition)) invalid(source, 'edition 须为小写字母、数字、点、连字符')
  if (!isText(file.title)) invalid(source, '缺少 title')
  if (!isText(file.standard)) invalid(source, '缺少 standard')
  if (file.default !== undefined && typeof file.default !== 'boolean') invalid(source, 'default 须为布尔值')
  if (file.local !== undefined && typeof file.local !== 'boolean') invalid(source, 'local 须为布尔值')
  if (file.note !== undefined && typeof file.note !== 'string') invalid(source, 'note 须为字符串')
  if (file.extends !== undefined) {
    if (file.extends !== file.table) invalid(source, `extends（${String(file.extends)}）须与 table（${file.table}）相同`)
    // An extension joins the default edition; it cannot itself be one.
    if (file.default) invalid(source, '扩充文件不能标记 default')
  }
  if (!Array.isArray(file.codes) || file.codes.length === 0) invalid(source, 'codes 须为非空数组')

  const seen = new Set<string>()
  for (const [i, rawEntry] of (file.codes as unknown[]).entries()) {
    if (typeof rawEntry !== 'object' || rawEntry === null || Array.isArray(rawEntry)) invalid(source, `第 ${i + 1} 项不是对象`)
    const e = rawEntry as Record<string, unknown>
    for (const key of Object.keys(e)) if (!ENTRY_KEYS.has(key)) invalid(source, `第 ${i + 1} 项有未知字段 "${key}"`)
    if (!isText(e.code) || !CODE_RE.test(e.code)) invalid(source, `第 ${i + 1} 项 code 须为字母或数字`)
    if (!isText(e.name)) invalid(source, `代码 ${e.code} 缺少 name`, { code: e.code })
    if (seen.has(e.code)) invalid(source, `代码 ${e.code} 重复`, { code: e.code })
    seen.add(e.code)
    if (e.retired !== undefined && (typeof e.retired !== 'string' || !RETIRED_RE.test(e.retired))) {
      invalid(source, `代码 ${e.code} 的 retired 须为 YYYY-MM 或 YYYY-MM-DD`, { code: e.code })
    }
    for (const key of ['parent', 'replacedBy', 'note'] as const) {
      if (e[key] !== undefined && typeof e[key] !== 'string') invalid(source, `代码 ${e.code} 的 ${key} 须为字符串`, { code: e.code })
    }
    if (e.local !== undefined && typeof e.local !== 'boolean') invalid(source, `代码 ${e.code} 的 local 须为布尔值`, { code: e.code })
  }
  return file as unknown as CodeTable
}

/**
 * Reads every `*.json` of a directory (sorted, so merge order and errors are reproducible).
 * A file must be named `<table>.<edition>.json`, so the folder listing tells what is configured.
 */
export function loadCodeFiles(dir: string): CodeTable[] {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) invalid(dir, '目录不存在')
  return fs.readdirSync(dir)
    .filter(f => f.endsWith('.json'))
    .sort()
    .map(f => {
      let parsed: unknown
      try {
        parsed = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'))
      } catch (e) {
        invalid(f, `JSON 语法错误（${(e as Error).message}）`)
      }
      const table = validateCodeTable(parsed, f)
      const expected = `${table.table}.${table.edition}.json`
      if (f !== expected) invalid(f, `文件名须为 ${expected}`)
      return table
    })
}

/** The shipped data folder; under `dist/` (tsc copies no JSON) fall back to the source folder. */
function dataDir(): string {
  const beside = fileURLToPath(new URL('./data/', import.meta.url))
  if (fs.existsSync(beside)) return beside
  return fileURLToPath(new URL('../../../schema/codes/data/', import.meta.url))
}

/** Read once per process: the shipped tables never change while a node runs. */
const SHIPPED: readonly CodeTable[] = loadCodeFiles(dataDir())

interface Edition {
  table: CodeTable
  byCode: Map<string, CodeEntry>
}

function deepFreeze(t: CodeTable): CodeTable {
  for (const e of t.codes) Object.freeze(e)
  Object.freeze(t.codes)
  return Object.freeze(t)
}

/**
 * Builds a registry from the shipped tables plus `localFiles`. Throws CODE_TABLE_INVALID
 * for a malformed file, a duplicate table edition, an extension of an unknown table, a local code
 * that collides with an existing code, a parent that does not exist, or a table without exactly
 * one default edition.
 */
export function createCodeRegistry(localFiles: CodeTable[] = []): CodeRegistry {
  const local = localFiles.map((f, i) => validateCodeTable(f, sourceOf(f, i)))
  const files = [
    ...SHIPPED.map(f => ({ file: f, isLocal: false })),
    ...local.map(f => ({ file: f, isLocal: true })),
  ]
  const tables = new Map<string, Map<string, Edition>>()

  // 1. Whole editions first (shipped, then local), so extensions find their target whatever the order.
  for (const { file, isLocal } of files) {
    if (file.extends !== undefined) continue
    const editions = tables.get(file.table) ?? new Map<string, Edition>()
    tables.set(file.table, editions)
    if (editions.has(file.edition)) invalid(sourceOf(file), `${file.table} 的版本 ${file.edition} 已存在`)
    const table: CodeTable = {
      ...file,
      ...(isLocal ? { local: true } : {}),
      codes: file.codes.map(e => ({ ...e, ...(isLocal ? { local: true } : {}) })),
    }
    editions.set(file.edition, { table, byCode: new Map(table.codes.map(e => [e.code, e])) })
  }

  // 2. Exactly one default per table; a table with a single edition needs no marker.
  const defaults = new Map<string, string>()
  for (const [name, editions] of tables) {
    const marked = [...editions.values()].filter(e => e.table.default).map(e => e.table.edition)
    if (marked.length > 1) invalid(name, `多个默认版本：${marked.join(', ')}`)
    if (marked.length === 0 && editions.size > 1) invalid(name, '有多个版本但没有标记 "default": true')
    defaults.set(name, marked[0] ?? [...editions.keys()][0])
  }

  // 3. Extensions join the default edition; a local code may never redefine an existing one,
  //    or records coded under the national meaning would silently change meaning.
  for (const { file } of files) {
    if (file.extends === undefined) continue
    const editions = tables.get(file.table)
    if (!editions) invalid(sourceOf(file), `扩充的代码表 ${file.table} 不存在`)
    const target = editions.get(defaults.get(file.table)!)!
    for (const e of file.codes) {
      const existing = target.byCode.get(e.code)
      if (existing) {
        const what = existing.local ? '另一个地方代码' : '国家代码'
        invalid(sourceOf(file), `代码 ${e.code} 与${what}（${existing.name}）冲突`, { code: e.code, table: file.table })
      }
      const entry: CodeEntry = { ...e, local: true }
      target.table.codes.push(entry)
      target.byCode.set(e.code, entry)
    }
  }

  // 4. Parents and successors must resolve inside the same edition, then freeze everything.
  for (const editions of tables.values()) {
    for (const { table, byCode } of editions.values()) {
      for (const e of table.codes) {
        if (e.parent !== undefined && !byCode.has(e.parent)) invalid(`${table.table}.${table.edition}`, `代码 ${e.code} 的 parent ${e.parent} 不存在`, { code: e.code })
        if (e.replacedBy !== undefined && !byCode.has(e.replacedBy)) invalid(`${table.table}.${table.edition}`, `代码 ${e.code} 的 replacedBy ${e.replacedBy} 不存在`, { code: e.code })
      }
      table.default = table.edition === defaults.get(table.table)
      deepFreeze(table)
    }
  }

  function edition(table: string, edition?: string): Edition {
    const editions = tables.get(table)
    if (!editions) throw codeError('CODE_TABLE_UNKNOWN', `没有代码表 ${table}`, { table })
    const name = edition ?? defaults.get(table)!
    const found = editions.get(name)
    if (!found) throw codeError('CODE_TABLE_UNKNOWN', `代码表 ${table} 没有版本 ${name}`, { table, edition: name })
    return found
  }

  return {
    tables: () =>
      [...tables.values()]
        .flatMap(editions => [...editions.values()].map(({ table: t }) => ({
          table: t.table, edition: t.edition, title: t.title, standard: t.standard, default: t.default === true,
        })))
        .sort((a, b) => a.table.localeCompare(b.table) || a.edition.localeCompare(b.edition)),
    get: (table, ed) => edition(table, ed).table,
    has: (table, code, ed) => edition(table, ed).byCode.has(code),
    name: (table, code, ed) => edition(table, ed).byCode.get(code)?.name,
    entry: (table, code, ed) => edition(table, ed).byCode.get(code),
    editions: table => {
      edition(table) // throws for an unknown table
      return [...tables.get(table)!.keys()].sort()
    },
    defaultEdition: table => edition(table).table.edition,
    isRetired: (table, code, ed) => edition(table, ed).byCode.get(code)?.retired !== undefined,
  }
}

function sourceOf(file: Partial<CodeTable>, index?: number): string {
  if (typeof file?.table === 'string' && typeof file?.edition === 'string') return `${file.table}.${file.edition}.json`
  return `local file #${index ?? '?'}`
}

/** The registry of the shipped tables, for code that needs no local configuration. */
export const codes: CodeRegistry = createCodeRegistry()

/** A node's registry: the shipped tables plus the local ones of `codes.localDir` when set. */
export function nodeCodes(localDir: string | null | undefined): CodeRegistry {
  return localDir ? createCodeRegistry(loadCodeFiles(localDir)) : codes
}
