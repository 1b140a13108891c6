import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'

/**
 * The outbox: every domain write appends its rows here in the SAME transaction (DESIGN.md §3).
 * It is the record of what must travel upward; Redis only schedules the work of packing and
 * sending it. `id` orders rows locally and never leaves the node.
 */
export const outbox = sqliteTable(
  'outbox',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** SQL name of the replicated table (see schema/replicated.ts). */
    tableName: text('table_name').notNull(),
    /** Canonical JSON of the natural key, column → value. */
    keyJson: text('key_json').notNull(),
    op: text('op', { enum: ['upsert', 'delete'] }).notNull(),
    /** Canonical JSON of the full row image (SQL column names); null for a delete tombstone. */
    rowJson: text('row_json'),
    /** Row version at the home node after this write. */
    version: integer('version').notNull(),
    /** Ownership epoch of the record (DESIGN.md §8). */
    epoch: integer('epoch').notNull().default(0),
    /** Account id of the writer at this node, or a system actor such as `system:rollover`. */
    actor: text('actor'),
    /** JSON of the previous natural key when the key changed (学籍号 L → G). */
    rekeyJson: text('rekey_json'),
    /** UTC ISO time of the write. */
    createdAt: text('created_at').notNull(),
    /** seq of the change set that carries this row; null until packed. */
    changeSetSeq: integer('change_set_seq'),
  },
  t => [index('outbox_unpacked').on(t.changeSetSeq, t.id)],
)
