import { sqliteTable, text, integer, primaryKey, uniqueIndex, index } from 'drizzle-orm/sqlite-core'

/**
 * The 1 August rollover (R-21.1, R-22.3; node/calendar/rollover.ts), one row per school or
 * kindergarten and school year: the marker that makes the run idempotent and that the R-22.3 lock
 * follows. Local to the home node (never replicated): the changes it made travel upward as the
 * records' own change sets.
 */
export const calendarRollovers = sqliteTable(
  'calendar_rollovers',
  {
    /** The school's or kindergarten's record id. */
    unitId: text('unit_id').notNull(),
    /** school | kindergarten */
    kind: text('kind', { enum: ['school', 'kindergarten'] }).notNull(),
    /** 学校代码 / 幼儿园代码 */
    unitCode: text('unit_code').notNull(),
    /** The school year rolled into, by its first year (2026 = 2026–27). */
    schoolYear: integer('school_year').notNull(),
    /** done: rolled (written in the same transaction as its changes); blocked: a run found blockers and rolled nothing. */
    state: text('state', { enum: ['done', 'blocked'] }).notNull(),
    /** The term the unit is in after the run, e.g. 2026-1 (done only). */
    term: text('term'),
    /** Day (Asia/Shanghai, YYYY-MM-DD) of the run: for done, the day the past year's lock took effect. */
    day: text('day').notNull(),
    /** JSON: what the run changed (counts) or, when blocked, the blockers. */
    summaryJson: text('summary_json').notNull(),
    /** UTC ISO timestamp of the run. */
    at: text('at').notNull(),
  },
  t => [primaryKey({ columns: [t.unitId, t.schoolYear] })],
)

/**
 * Reminders before a deadline of the registration calendar (R-19.2 new students, R-19.6
 * completion info; node/calendar/reminders.ts), one per school, deadline and school year, to
 * the school and its bureau (the home node). Local to the home node.
 */
export const calendarReminders = sqliteTable(
  'calendar_reminders',
  {
    id: text('id').primaryKey(),
    schoolId: text('school_id').notNull(),
    schoolCode: text('school_code').notNull(),
    /** The bureau reminded with the school: the home node's division code. */
    bureauCode: text('bureau_code').notNull(),
    /** R-19.2 | R-19.6 */
    requirement: text('requirement').notNull(),
    schoolYear: integer('school_year').notNull(),
    /** The deadline (YYYY-MM-DD, Asia/Shanghai). */
    deadline: text('deadline').notNull(),
    /** The state when raised: none | open | overdue (nothing entered, unverified). */
    state: text('state').notNull(),
    entered: integer('entered').notNull(),
    verified: integer('verified').notNull(),
    /** UTC ISO timestamp it was raised. */
    raisedAt: text('raised_at').notNull(),
  },
  t => [uniqueIndex('calendar_reminders_once').on(t.schoolId, t.requirement, t.schoolYear), index('calendar_reminders_raised').on(t.raisedAt)],
)
