import { sqliteTable, text, index } from 'drizzle-orm/sqlite-core'

/**
 * Excel imports of registrars (node/imports): the parsed file and its preview, kept until it is
 * committed (then only the rows in error), cancelled or expired. Local to the node that made them (never replicated); nothing is written
 * to the records until commit.
 */
export const imports = sqliteTable(
  'imports',
  {
    /** UUID, the `importId` of the API. */
    id: text('id').primaryKey(),
    /** students | children | classes | teachers */
    kind: text('kind').notNull(),
    /** The school (or kindergarten) the rows belong to. */
    ownerId: text('owner_id').notNull(),
    /** Its school or kindergarten code, for scope checks. */
    ownerCode: text('owner_code').notNull(),
    /** Account that previewed the file. */
    accountId: text('account_id').notNull(),
    /** SHA-256 (hex) of the uploaded file. */
    fileHash: text('file_hash').notNull(),
    /** JSON: every data row as parsed (its cells as typed and the record input made of them); after the commit, the cells of the rows in error only (null for the others). */
    rowsJson: text('rows_json').notNull(),
    /** JSON: the outcome of every row (action and errors), of the preview and then of the commit. */
    resultJson: text('result_json').notNull(),
    /** JSON of the counts of the preview: create, update, unchanged, error. */
    countsJson: text('counts_json').notNull(),
    /** previewed | committed */
    state: text('state').notNull(),
    /** JSON of the commit's answer: created, updated, unchanged, errorRows. */
    commitJson: text('commit_json'),
    committedBy: text('committed_by'),
    committedAt: text('committed_at'),
    createdAt: text('created_at').notNull(),
    /** A preview not committed by then is refused and deleted. */
    expiresAt: text('expires_at').notNull(),
  },
  t => [index('imports_expires').on(t.expiresAt)],
)
