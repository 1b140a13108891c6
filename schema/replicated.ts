import * as r from './records/index.ts'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'

/**
 * How the sync layer treats a replicated table. Every replicated record table has the columns
 * of `recordColumns` (schema/columns.ts): `id` (global UUID made by the home node, the natural
 * key other tiers use), `home_node` (the only node that may write it), `version`, `epoch`.
 */
export interface ReplicatedTable {
  /** SQL table name, as carried in change rows. */
  name: string
  table: SQLiteTable
  /** SQL column names of the natural key (always `['id']` for record tables). */
  key: readonly string[]
  /**
   * How the receiving parent checks ownership of a row from an origin:
   * - `self`: the row's own `home_node` must be the origin (schools, units, accounts' own rows);
   * - `{ parent: table, column }`: the row belongs to the record `column` points to in `table`,
   *   whose `home_node` must be the origin (a guardian belongs to its student).
   */
  owner: 'self' | { parent: string; column: string }
  /** Apply order: parents before children within one change set. */
  order: number
  /**
   * Other records a row names (besides its owner): each one held by the receiver must lie in
   * the origin's area, so a child cannot attach its rows to another node's records.
   * `from` is the row's column, `table`/`column` where the named record is looked up; `within`:
   * a column the named record must hold this value in (a student's class is of its own school);
   * `kept`: the row keeps the value it was first written with, so a row held here with the same
   * value passes whoever writes it now (a transferred student's 转出 names the sending school).
   */
  refs?: (row: Record<string, unknown>) => Array<{ from: string; table: string; column: string; value: unknown; within?: { column: string; value: unknown }; kept?: boolean }>
  /**
   * Columns copied from the owner record (`owner: { parent }`), as `row column → owner column`:
   * the receiver refuses a row whose copy differs from its owner's value (a student's
   * `school_code` must be the code of the school `school_id` names: scope checks and statistics
   * read the copy).
   */
  copies?: Readonly<Record<string, string>>
  /** A column that must hold the division code of the origin's parent (an alert is for the next tier up only). */
  toParent?: string
}


const self = 'self' as const
const under = (parent: string, column: string) => ({ parent, column })
/**
 * A status change is counted at the school (kindergarten) it was applied at (`unit_code`), which
 * lies in the area of the node that applied it; the person's later homes carry it on unchanged.
 */
const countedAt = (units: string, column: string): ReplicatedTable['refs'] => row => [{ from: 'unit_code', table: units, column, value: row.unit_code, kept: true }]

/**
 * Every table whose rows travel upward, in apply order (parents first). Upper tiers hold
 * read-only replicas of their subtree in the same tables.
 */
export const REPLICATED_TABLES: readonly ReplicatedTable[] = [
  { name: 'supervising_units', table: r.supervisingUnits, key: ['id'], owner: self, order: 1 },
  { name: 'schools', table: r.schools, key: ['id'], owner: self, order: 2 },
  { name: 'kindergartens', table: r.kindergartens, key: ['id'], owner: self, order: 2 },
  { name: 'school_teachers', table: r.schoolTeachers, key: ['id'], owner: under('schools', 'school_id'), order: 3 },
  { name: 'school_classes', table: r.schoolClasses, key: ['id'], owner: under('schools', 'school_id'), order: 3, copies: { school_code: 'school_code' } },
  { name: 'kindergarten_teachers', table: r.kindergartenTeachers, key: ['id'], owner: under('kindergartens', 'kindergarten_id'), order: 3 },
  {
    name: 'kindergarten_classes', table: r.kindergartenClasses, key: ['id'], owner: under('kindergartens', 'kindergarten_id'), order: 3,
    copies: { kindergarten_code: 'kindergarten_code' },
  },
  {
    name: 'students', table: r.students, key: ['id'], owner: under('schools', 'school_id'), order: 4, copies: { school_code: 'school_code' },
    refs: row => [{ from: 'class_id', table: 'school_classes', column: 'id', value: row.class_id, within: { column: 'school_id', value: row.school_id } }],
  },
  {
    name: 'children', table: r.children, key: ['id'], owner: under('kindergartens', 'kindergarten_id'), order: 4, copies: { kindergarten_code: 'kindergarten_code' },
    refs: row => [{ from: 'class_id', table: 'kindergarten_classes', column: 'id', value: row.class_id, within: { column: 'kindergarten_id', value: row.kindergarten_id } }],
  },
  ...(
    [
      ['student_resumes', r.studentResumes],
      ['student_guardians', r.studentGuardians],
      ['student_family_members', r.studentFamilyMembers],
      ['student_registrations', r.studentRegistrations],
      ['student_exams', r.studentExams],
      ['student_awards', r.studentAwards],
      ['student_punishments', r.studentPunishments],
      ['student_enrolments', r.studentEnrolments],
      ['student_completions', r.studentCompletions],
      ['student_status_changes', r.studentStatusChanges, countedAt('schools', 'school_code')],
      ['growth_courses', r.growthCourses],
      ['growth_practices', r.growthPractices],
      ['growth_qualities', r.growthQualities],
      ['growth_evaluations', r.growthEvaluations],
      ['growth_objections', r.growthObjections],
    ] as const
  ).map(([name, table, refs]) => ({ name, table, key: ['id'], owner: under('students', 'student_id'), order: 5, refs })),
  ...(
    [
      ['child_guardians', r.childGuardians],
      ['child_family_members', r.childFamilyMembers],
      ['child_registrations', r.childRegistrations],
      ['child_attendances', r.childAttendances],
      ['child_status_changes', r.childStatusChanges, countedAt('kindergartens', 'kindergarten_code')],
    ] as const
  ).map(([name, table, refs]) => ({ name, table, key: ['id'], owner: under('children', 'child_id'), order: 5, refs })),
  {
    // Raised by a node about a status change in its area for its parent's bureau: the
    // status change and the school it names must lie in that node's area.
    name: 'alerts', table: r.alerts, key: ['id'], owner: self, order: 6, toParent: 'addressed_to',
    refs: row => {
      const kindergarten = row.subject_table === 'child_status_changes'
      return [
        { from: 'subject_id', table: kindergarten ? 'child_status_changes' : 'student_status_changes', column: 'id', value: row.subject_id },
        { from: 'school_code', table: kindergarten ? 'kindergartens' : 'schools', column: kindergarten ? 'kindergarten_code' : 'school_code', value: row.school_code },
      ]
    },
  },
  {
    // Homed at the node of the record it changes; the person and school it names lie in that node's area.
    name: 'change_requests', table: r.changeRequests, key: ['id'], owner: self, order: 6,
    refs: row => [
      { from: 'person_id', table: row.person_table === 'children' ? 'children' : 'students', column: 'id', value: row.person_id },
      { from: 'school_code', table: row.person_table === 'children' ? 'kindergartens' : 'schools', column: row.person_table === 'children' ? 'kindergarten_code' : 'school_code', value: row.school_code },
    ],
  },
  {
    // Owned by the node that found the problem (a city's scan names its counties' students);
    // the persons and the school it names must lie in that node's area.
    name: 'problem_records', table: r.problemRecords, key: ['id'], owner: self, order: 6,
    refs: row => {
      const persons = row.subject_table === 'children' ? 'children' : 'students'
      const [units, code] = persons === 'children' ? ['kindergartens', 'kindergarten_code'] : ['schools', 'school_code']
      return [
        { from: 'subject_id', table: persons, column: 'id', value: row.subject_id },
        { from: 'other_id', table: persons, column: 'id', value: row.other_id },
        { from: 'school_code', table: units, column: code, value: row.school_code },
      ]
    },
  },
]

/** Looks a replicated table up by its SQL name. */
export const replicatedTable = (name: string): ReplicatedTable | undefined => REPLICATED_TABLES.find(t => t.name === name)
