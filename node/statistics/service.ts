/**
 * Statistics over the node's own replica (R-17.2–R-17.6): GROUP BY queries over the covering
 * indexes `students_stats` / `children_stats` (one range of state × subtree per query; a joined
 * attribute such as a class's grade is looked up once per class, after grouping), restricted to
 * what the account may see, with drill-down to the next tier's units.
 */
import { PROVINCE_DATES, type CalendarDates } from '../../config/calendar.ts'
import type { Storage } from '../../schema/db.ts'
import type { CodeRegistry } from '../../schema/codes/index.ts'
import { inSubtree, type Actor } from '../auth/access.ts'
import { schoolYear } from '../calendar/locks.ts'
import { SCHOOLING_SPANS } from '../calendar/rollover.ts'
import { PROCESSING } from '../status-changes/rules.ts'
import { statisticsError } from './errors.ts'
import { drillUnit, homeNodeRange, periodProblem, subjectSpecs, type Dimension, type StatsScope, type Subject, type SubjectSpec } from './rules.ts'

export interface StatisticsServiceDeps {
  storage: Storage
  identity: { code: string }
  codes: CodeRegistry
  now?: () => Date
  /** This node's dates (config/calendar.ts `datesFor`): a school year begins on `dates.rollover`. Default: the province's. */
  dates?: CalendarDates
}

export interface StatsQuery {
  subject: Subject
  by: string
  /** A division code, school (kindergarten) code or class id inside the account's scope; default its whole scope. */
  unit?: string
  /** The active state (在校, 在园) unless another state or `all` is asked for (persons only). */
  state?: string
  /** Count per unit of the next tier down as well. */
  drill?: boolean
  /** Reference date of ages, YYYY-MM-DD (default today, China). */
  asOf?: string
}

export interface StatsRow {
  key: string
  label: string
  count: number
}

export interface StatsUnit {
  unit: string
  name: string
  total: number
  counts: Record<string, number>
}

export interface StatsTable {
  subject: Subject
  by: string
  label: string
  state: string | null
  scope: { level: StatsScope['level']; unit: string; name: string }
  asOf: string
  total: number
  rows: StatsRow[]
  /** Per unit of the next tier (with `drill`); empty otherwise or below a class. */
  units: StatsUnit[]
}

export interface AnnualTables {
  from: string
  to: string
  scope: StatsTable['scope']
  /** 在校生 by grade (as of now). */
  inSchoolByGrade: StatsTable
  /** 招生: students whose 入学年月 falls in the period, by the grade they entered (`entryGradeSql`). */
  entrantsByGrade: StatsTable
  /** 毕业生: completions (R-10.9) whose 毕结业年月 falls in the period, by the student's grade. */
  graduatesByGrade: StatsTable
  /** 学籍异动 carried out (已办理) with a change date in the period, by type. */
  statusChangesByType: StatsTable
}

/**
 * A FROM clause other than the subject's table, for the annual tables: alias t has the columns
 * the scope, state and drill conditions read (home_node, school_id, school_code, class_id, state).
 */
interface Extra {
  from?: string
  /** Parameters of `from`, which come before the WHERE clause's. */
  fromParams?: unknown[]
  where?: string[]
  params?: unknown[]
  dimension?: Dimension
  label?: string
}

/** The school year (its first year) a day falls in, as SQL over `day` (text YYYY-MM-DD): it begins on the rollover day `mmdd` (a parameter). */
const schoolYearSql = (day: string) => `(cast(substr(${day}, 1, 4) as integer) - (substr(${day}, 6, 5) < ?))`

/** The last grade of each 学制 span (SCHOOLING_SPANS), as `学制:grade` keys: a class there completes instead of moving up. */
const SPAN_ENDS = Object.entries(SCHOOLING_SPANS).flatMap(([length, spans]) => spans.map(([, last]) => `'${length}:${last}'`)).join(', ')

/**
 * The grade an entrant entered, as SQL over the student (alias t) and its class (alias c, left
 * joined): the class's grade in the school year of the student's 入学年月, that is its grade now
 * less the school years between then and the year its grade is for (R-21.1: one grade a year).
 * The year a class's grade is for:
 * - a class of a school homed at this node: the later of the school year the class was entered in
 *   and the last school year the school's rollover was done into (its marker, calendar_rollovers);
 *   a school whose rollover is still blocked or not yet run keeps last year's grades;
 * - a class of another node's school (a replica, which holds no markers): the school year of today;
 * - a class at the last grade of its 学制 whose pupils completed (R-10.9): at the latest, the
 *   school year of their last completion, for it stays at that grade once it has completed.
 * A class whose pupils changed to a class of another grade (留级, 跳级) is not known to have done so:
 * its grade then is counted. A result outside grades 1–12 (a class younger than the entrant's
 * 入学年月) is counted as not given. Parameters: `params`, in order.
 */
function entryGradeSql(nodeCode: string, today: string, dates: CalendarDates): { sql: string; params: unknown[] } {
  const mmdd = dates.rollover
  const entered = schoolYearSql(`t.enrolment_ym || '-01'`)
  const classEntered = schoolYearSql(`date(c.created_at, '+8 hours')`)
  const rolled = `coalesce((select max(r.school_year) from calendar_rollovers r where r.unit_id = c.school_id and r.state = 'done'), 0)`
  const completed = `(select ${schoolYearSql(`max(g.completion_ym) || '-01'`)} from student_completions g join students p on p.id = g.student_id where p.class_id = c.id)`
  const gradeYear = `min(case when c.home_node = ? then max(${classEntered}, ${rolled}) else ? end, coalesce(case when c.schooling_length || ':' || c.grade in (${SPAN_ENDS}) then ${completed} end, 9999))`
  return {
    sql: `c.grade - (${gradeYear} - ${entered})`,
    params: [nodeCode, mmdd, schoolYear(today, dates), mmdd, mmdd],
  }
}

/** China's date (Asia/Shanghai) of an instant, YYYY-MM-DD. */
function chinaDate(d: Date): string {
  return new Date(d.getTime() + 8 * 3600_000).toISOString().slice(0, 10)
}

export function createStatisticsService(deps: StatisticsServiceDeps) {
  const { storage, codes } = deps
  const now = deps.now ?? (() => new Date())
  const dates = deps.dates ?? PROVINCE_DATES
  const specs = subjectSpecs(deps.identity.code.slice(0, 2))
  const get = (sql: string, ...params: unknown[]) => storage.sqlite.prepare(sql).get(...params) as Record<string, unknown> | undefined

  /**
   * The subject's dimension named `by`. Only its own keys: `by` comes from the query string, and
   * a name such as toString or constructor would otherwise reach the object's prototype.
   */
  function dimensionOf(spec: SubjectSpec, by: string): Dimension {
    const dim = Object.hasOwn(spec.dimensions, by) ? spec.dimensions[by] : undefined
    if (!dim) throw statisticsError('STATS_DIMENSION_UNKNOWN', '没有这个统计维度', { dimensions: Object.keys(spec.dimensions) })
    return dim
  }

  /** The reference date of ages: a real date (it is written into the SQL), default today in China. */
  function asOfOf(query: Pick<StatsQuery, 'asOf'>): string {
    const asOf = query.asOf ?? chinaDate(now())
    if (typeof asOf !== 'string' || periodProblem(asOf, asOf)) throw statisticsError('STATS_PERIOD_INVALID', '统计日期应为实际存在的日期，格式 YYYY-MM-DD', { field: 'asOf' })
    return asOf
  }

  // ------------------------------------------------------------ scope

  /** The account's scope narrowed to the asked unit; an unknown or unreachable unit is refused alike. */
  function resolveScope(actor: Actor, spec: SubjectSpec, unit: string | undefined): StatsScope {
    const s = actor.scope
    const unknown = () => statisticsError('STATS_UNIT_UNKNOWN', '没有这个统计单位，或不在您的权限范围内', { unit })
    const schoolOf = (code: string) => get(`select home_node from ${spec.unitTable} where ${spec.unitCodeColumn} = ?`, code)
    const classOf = (id: string) => (spec.classTable ? get(`select home_node, ${spec.unitCodeColumn} as unit from ${spec.classTable} where id = ?`, id) : undefined)
    if (s.kind === 'bureau') {
      if (unit === undefined) return { level: 'division', code: s.node }
      if (/^\d{6}$/.test(unit)) {
        if (!inSubtree(s.node, unit) || !codes.has('division', unit)) throw unknown()
        return { level: 'division', code: unit }
      }
      const school = schoolOf(unit)
      if (school) {
        if (!inSubtree(s.node, String(school.home_node))) throw unknown()
        return { level: 'schools', schools: [unit] }
      }
      const cls = classOf(unit)
      if (cls && inSubtree(s.node, String(cls.home_node))) return { level: 'classes', school: String(cls.unit), classes: [unit] }
      throw unknown()
    }
    if (s.kind === 'schools') {
      if (unit === undefined) return { level: 'schools', schools: [...s.schools] }
      if (s.schools.includes(unit)) return { level: 'schools', schools: [unit] }
      const cls = classOf(unit)
      if (cls && s.schools.includes(String(cls.unit))) return { level: 'classes', school: String(cls.unit), classes: [unit] }
      throw unknown()
    }
    if (s.kind === 'classes') {
      if (!spec.classTable) throw statisticsError('STATS_SCOPE_TOO_NARROW', '教师、学校和幼儿园按学校统计；您的账号只能查看所带班级的学生统计')
      if (unit === undefined) return { level: 'classes', school: s.school, classes: [...s.classes] }
      if (s.classes.includes(unit)) return { level: 'classes', school: s.school, classes: [unit] }
      throw unknown()
    }
    // Students hold no stats:read; the route refuses them before this.
    throw unknown()
  }

  function scopeWhere(spec: SubjectSpec, scope: StatsScope): { where: string[]; params: unknown[] } {
    const list = (values: string[]) => values.map(() => '?').join(', ')
    switch (scope.level) {
      case 'division':
        return { where: ['t.home_node >= ?', 't.home_node < ?'], params: homeNodeRange(scope.code) }
      case 'schools':
        return {
          where: [scope.schools.length ? `${spec.unitIdColumn} in (select id from ${spec.unitTable} where ${spec.unitCodeColumn} in (${list(scope.schools)}))` : '0'],
          params: [...scope.schools],
        }
      case 'classes':
        return {
          where: [`${spec.unitIdColumn} in (select id from ${spec.unitTable} where ${spec.unitCodeColumn} = ?)`, scope.classes.length ? `t.class_id in (${list(scope.classes)})` : '0'],
          params: [scope.school, ...scope.classes],
        }
    }
  }

  function stateWhere(spec: SubjectSpec, state: string | undefined): { where: string[]; params: unknown[]; state: string | null } {
    if (!spec.states) {
      if (state !== undefined && state !== 'all') throw statisticsError('STATS_STATE_UNKNOWN', '教师统计不区分状态', { states: [] })
      return { where: [], params: [], state: null }
    }
    const asked = state ?? spec.active!
    if (asked === 'all') return { where: [`t.state in (${spec.states.map(() => '?').join(', ')})`], params: [...spec.states], state: 'all' }
    if (!spec.states.includes(asked)) throw statisticsError('STATS_STATE_UNKNOWN', '没有这个状态', { states: [...spec.states, 'all'] })
    // An equality on the index's first column: one range, never the whole table.
    return { where: ['t.state = ?'], params: [asked], state: asked }
  }

  function scopeName(spec: SubjectSpec, scope: StatsScope): { unit: string; name: string } {
    if (scope.level === 'division') return { unit: scope.code, name: codes.name('division', scope.code) ?? scope.code }
    if (scope.level === 'schools') {
      if (scope.schools.length !== 1) return { unit: scope.schools.join(','), name: `${scope.schools.length} 所学校` }
      return { unit: scope.schools[0]!, name: String(get(`select name from ${spec.unitTable} where ${spec.unitCodeColumn} = ?`, scope.schools[0])?.name ?? scope.schools[0]) }
    }
    if (scope.classes.length !== 1) return { unit: scope.classes.join(','), name: `${scope.classes.length} 个班级` }
    return { unit: scope.classes[0]!, name: String(get(`select name from ${spec.classTable} where id = ?`, scope.classes[0])?.name ?? scope.classes[0]) }
  }

  function unitName(spec: SubjectSpec, kind: 'division' | 'school' | 'class', unit: string): string {
    if (kind === 'division') return codes.name('division', unit) ?? unit
    if (kind === 'school') return String(get(`select name from ${spec.unitTable} where ${spec.unitCodeColumn} = ?`, unit)?.name ?? unit)
    return String(get(`select name from ${spec.classTable} where id = ?`, unit)?.name ?? unit)
  }

  function labelOf(dim: Dimension, key: string): string {
    if (key === '') return '未填写'
    if (dim.labels?.[key]) return dim.labels[key]
    if (dim.codeTable) return codes.name(dim.codeTable, key) ?? key
    if (dim.key === 'grade') return `${key} 年级`
    if (dim.key === 'age') return `${key} 岁`
    return key
  }

  // ------------------------------------------------------------ the query

  /** The SQL of one table: grouped by the next tier's unit (or not) and the dimension's key. */
  function sqlOf(spec: SubjectSpec, dim: Dimension, scope: StatsScope, state: string | undefined, drill: boolean, asOf: string, extra: Extra = {}) {
    const sw = scopeWhere(spec, scope)
    const st = stateWhere(spec, state)
    const where = [...st.where, ...sw.where, ...(extra.where ?? [])].join(' and ') || '1'
    const params = [...(extra.fromParams ?? []), ...st.params, ...sw.params, ...(extra.params ?? [])]
    const drillTo = drill ? drillUnit(scope, spec) : null
    const u = drillTo ? drillTo.expr : `''`
    const from = extra.from ?? `${spec.table} t`
    // asOf is checked to be a date before it gets here.
    const expr = dim.expr.replaceAll('?ref', `'${asOf}'`)
    const sql = dim.via
      ? `select x.u as u, ${expr} as k, sum(x.n) as n from (select ${u} as u, ${dim.via.column} as jk, count(*) as n from ${from} where ${where} group by u, jk) x left join ${dim.via.table} j on ${dim.via.on} = x.jk group by x.u, k`
      : `select ${u} as u, ${expr} as k, count(*) as n from ${from} where ${where} group by u, k`
    return { sql, params, drillTo, state: st.state }
  }

  function table(actor: Actor, query: StatsQuery, extra: Extra = {}): StatsTable {
    const spec = specs[query.subject]
    const dim = extra.dimension ?? dimensionOf(spec, query.by)
    const asOf = asOfOf(query)
    const scope = resolveScope(actor, spec, query.unit)
    const q = sqlOf(spec, dim, scope, query.state, query.drill === true, asOf, extra)
    const raw = storage.sqlite.prepare(q.sql).all(...q.params) as Array<{ u: string | null; k: string | number | null; n: number }>
    const totals = new Map<string, number>()
    const units = new Map<string, StatsUnit>()
    let total = 0
    for (const r of raw) {
      const key = r.k === null ? '' : String(r.k)
      totals.set(key, (totals.get(key) ?? 0) + r.n)
      total += r.n
      if (q.drillTo) {
        const code = r.u ?? ''
        let unit = units.get(code)
        if (!unit) units.set(code, (unit = { unit: code, name: '', total: 0, counts: {} }))
        unit.total += r.n
        unit.counts[key] = (unit.counts[key] ?? 0) + r.n
      }
    }
    const order = (a: string, b: string) => (/^\d+$/.test(a) && /^\d+$/.test(b) ? Number(a) - Number(b) : a.localeCompare(b))
    const rows = [...totals.keys()].sort(order).map(key => ({ key, label: labelOf(dim, key), count: totals.get(key)! }))
    const unitList = [...units.values()].sort((a, b) => a.unit.localeCompare(b.unit))
    for (const unit of unitList) unit.name = unit.unit === '' ? '未分班' : unitName(spec, q.drillTo!.kind, unit.unit)
    return {
      subject: query.subject, by: dim.key, label: extra.label ?? `${spec.label}：${dim.label}`, state: q.state,
      scope: { level: scope.level, ...scopeName(spec, scope) }, asOf, total, rows, units: unitList,
    }
  }

  return {
    table,

    /** The dimensions of every subject, for the UI and /docs. */
    dimensions(): Record<Subject, Array<{ key: string; label: string }>> {
      return Object.fromEntries(Object.entries(specs).map(([s, spec]) => [s, Object.values(spec.dimensions).map(d => ({ key: d.key, label: d.label }))])) as Record<Subject, Array<{ key: string; label: string }>>
    },

    /** The SQL a table runs, for EXPLAIN QUERY PLAN in tests and benches. */
    sqlOf(actor: Actor, query: StatsQuery): { sql: string; params: unknown[] } {
      const spec = specs[query.subject]
      const dim = dimensionOf(spec, query.by)
      const q = sqlOf(spec, dim, resolveScope(actor, spec, query.unit), query.state, query.drill === true, asOfOf(query))
      return { sql: q.sql, params: q.params }
    },

    /** The annual tables a bureau files (基础报表) for a period, within the account's scope. */
    annual(actor: Actor, input: { unit?: string; from: string; to: string; drill?: boolean }): AnnualTables {
      const problem = periodProblem(input.from, input.to)
      if (problem) throw statisticsError('STATS_PERIOD_INVALID', `统计期间有误：${problem}`, { from: input.from, to: input.to })
      const base = { subject: 'students' as const, by: 'grade', unit: input.unit, drill: input.drill }
      const grade = specs.students.dimensions.grade!
      const fromYm = input.from.slice(0, 7)
      const toYm = input.to.slice(0, 7)
      const inSchoolByGrade = table(actor, base, { label: '在校学生数（按年级）' })
      // An entrant counts at the grade it entered, not at its class's grade now (entryGradeSql).
      const entryGrade = entryGradeSql(deps.identity.code, chinaDate(now()), dates)
      return {
        from: input.from, to: input.to, scope: inSchoolByGrade.scope,
        inSchoolByGrade,
        entrantsByGrade: table(actor, { ...base, state: 'all' }, {
          from: `(select e.home_node, e.school_id, e.school_code, e.class_id, e.state, case when e.g between 1 and 12 then e.g end as entry_grade
            from (select t.home_node, t.school_id, t.school_code, t.class_id, t.state, ${entryGrade.sql} as g
              from students t left join school_classes c on c.id = t.class_id where t.enrolment_ym >= ? and t.enrolment_ym <= ?) e) t`,
          fromParams: [...entryGrade.params, fromYm, toYm],
          dimension: { key: 'grade', label: '入学年级', expr: 't.entry_grade' }, label: '招生数（按入学年级）',
        }),
        graduatesByGrade: table(actor, { ...base, state: 'all' }, {
          from: 'student_completions g join students t on t.id = g.student_id', where: ['g.completion_ym >= ?', 'g.completion_ym <= ?'], params: [fromYm, toYm],
          dimension: grade, label: '毕（结）业生数（按年级）',
        }),
        // A change counts at the school it was applied at (unit_code; the person's school for a row
        // written before migration 0020), in that school's county and, for class scopes, in the
        // person's class while they are still at that school: a transfer's 转出 stays the sending
        // school's, its 转入 the receiving school's.
        statusChangesByType: table(actor, { ...base, by: 'changeType', state: 'all' }, {
          from: `(select u.home_node, u.id as school_id, u.school_code, case when u.id = p.school_id then p.class_id end as class_id, p.state, g.change_type
            from student_status_changes g join students p on p.id = g.student_id join schools u on u.school_code = coalesce(g.unit_code, p.school_code)
            where g.processing_status = ? and g.change_date >= ? and g.change_date <= ?) t`,
          fromParams: [PROCESSING.carriedOut, input.from, input.to],
          dimension: { key: 'changeType', label: '异动类别', expr: 't.change_type', codeTable: 'status_change_type' }, label: '学籍异动（已办理，按类别）',
        }),
      }
    },
  }
}

export type StatisticsService = ReturnType<typeof createStatisticsService>
