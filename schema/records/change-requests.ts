import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'
import { recordColumns } from './columns.ts'

/**
 * 变更申请: a school's application to change a record that a lock refuses (a lock
 * on expiry, or growth records after reporting), with the chain of decisions on it. Homed at the
 * node of the record it changes, which alone writes it; it travels upward like any record, so the
 * province reads the ones that need its approval in its replica and decides by a downward command.
 */
export const changeRequests = sqliteTable(
  'change_requests',
  {
    ...recordColumns(),
    /** students | children: the person the record belongs to (scope). */
    personTable: text('person_table', { enum: ['students', 'children'] }).notNull(),
    personId: text('person_id').notNull(),
    /** School or kindergarten code of the person, for the school's list. */
    schoolCode: text('school_code').notNull(),
    /** The record to change: its table and id, and the version the school read. */
    subjectTable: text('subject_table').notNull(),
    subjectId: text('subject_id').notNull(),
    subjectVersion: integer('subject_version').notNull(),
    /** The proposed change: the field patch the record's own route takes, as JSON. */
    patch: text('patch').notNull(),
    /** The school's reason (申请理由). */
    reason: text('reason').notNull(),
    /** The lock that refused the change: … for growth records. */
    lockRule: text('lock_rule').notNull(),
    /** Whether the province approves too (R-24.2: growth records reported to the province). */
    needsProvince: integer('needs_province', { mode: 'boolean' }).notNull().default(false),
    /** pending_bureau → pending_province → carried_out; or rejected, withdrawn, failed. */
    status: text('status', { enum: ['pending_bureau', 'pending_province', 'carried_out', 'rejected', 'withdrawn', 'failed'] }).notNull().default('pending_bureau'),
    appliedBy: text('applied_by').notNull(),
    /** China date of the application. */
    appliedOn: text('applied_on').notNull(),
    /** The school's bureau: approve | reject, who, when (UTC), and its reason. */
    bureauDecision: text('bureau_decision', { enum: ['approve', 'reject'] }),
    bureauBy: text('bureau_by'),
    bureauAt: text('bureau_at'),
    bureauReason: text('bureau_reason'),
    /** The province, as its signed command carried it: node, decision, who, when, reason. */
    provinceNode: text('province_node'),
    provinceDecision: text('province_decision', { enum: ['approve', 'reject'] }),
    provinceBy: text('province_by'),
    provinceAt: text('province_at'),
    provinceReason: text('province_reason'),
    /** The approving administrator the change was applied as (account id), when, and the record's new version. */
    carriedOutBy: text('carried_out_by'),
    carriedOutAt: text('carried_out_at'),
    resultVersion: integer('result_version'),
    withdrawnBy: text('withdrawn_by'),
    withdrawnAt: text('withdrawn_at'),
    /** Why the approved change could not be applied (a stable code, e.g. CHANGE_REQUEST_STALE), and its message. */
    failureCode: text('failure_code'),
    failureMessage: text('failure_message'),
  },
  t => [index('change_requests_status').on(t.status, t.appliedOn), index('change_requests_person').on(t.personId), index('change_requests_school').on(t.schoolCode, t.status)],
)
