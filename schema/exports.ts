import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'

/**
 * Exports of the consolidated query and of statistics tables (R-D.7, node/exports). Local to the
 * node that made them (never replicated): the row is the truth of an export job; the BullMQ job
 * carries only its id, and a job lost with Redis is queued again from the rows still `queued`.
 */
export const exports_ = sqliteTable(
  'exports',
  {
    /** UUID; the name of the file and the id of the job. */
    id: text('id').primaryKey(),
    /** Account that asked for it; only that account downloads it. */
    accountId: text('account_id').notNull(),
    /** JSON of the account's role and scope when it asked (the job runs later, without a request). */
    actorJson: text('actor_json').notNull(),
    /** students | children | statistics */
    kind: text('kind').notNull(),
    /** csv | xlsx */
    format: text('format').notNull(),
    /** JSON of the filter (list query or statistics query); may hold a searched name or ID number, so it is shown only to its owner and to audit readers. */
    queryJson: text('query_json').notNull(),
    /** queued | running | done | failed */
    state: text('state').notNull(),
    /** Rows written so far (progress), and the number of rows the filter matched when the job started. */
    rowsDone: integer('rows_done').notNull().default(0),
    rowsTotal: integer('rows_total'),
    /** Stable error code when failed. */
    errorCode: text('error_code'),
    createdAt: text('created_at').notNull(),
    finishedAt: text('finished_at'),
  },
  t => [index('exports_account').on(t.accountId, t.createdAt), index('exports_state').on(t.state)],
)
