import { sqliteTable, text, index } from 'drizzle-orm/sqlite-core'
import { recordColumns } from './columns.ts'

/**
 * Alerts a node raises for the bureau of the next tier up: today an overdue status-change review
 * . The raising node owns the row; it travels upward like any record, and the tier it is
 * addressed to lists it for its bureau administrators.
 */
export const alerts = sqliteTable(
  'alerts',
  {
    ...recordColumns(),
    /** status_change_review_overdue */
    kind: text('kind', { enum: ['status_change_review_overdue'] }).notNull(),
    /** Division code of the node whose bureau is alerted (the parent of the raising node). */
    addressedTo: text('addressed_to').notNull(),
    /** School or kindergarten code the alert is about (scope of the list). */
    schoolCode: text('school_code').notNull(),
    /** student_status_changes | child_status_changes, and the row's id. */
    subjectTable: text('subject_table').notNull(),
    subjectId: text('subject_id').notNull(),
    /** The deadline that passed, YYYY-MM-DD, and whether it was computed on weekdays only. */
    deadline: text('deadline').notNull(),
    deadlineProvisional: text('deadline_provisional', { enum: ['yes', 'no'] }).notNull().default('no'),
    /** UTC time it was raised. */
    raisedAt: text('raised_at').notNull(),
  },
  t => [index('alerts_addressed').on(t.addressedTo, t.raisedAt), index('alerts_subject').on(t.subjectId)],
)
