import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'

/**
 * Transfers between schools of different nodes (R-19.5, node/transfers). Local to each node
 * taking part: the receiving node's row (`role` receiver) and the sending node's (`role` sender)
 * share the id; each step's time is kept in `steps`. Not replicated: the messages between the
 * two travel as signed routed messages (sync/routed.ts).
 */
export const transfers = sqliteTable(
  'transfers',
  {
    /** UUID made by the receiving node. */
    id: text('id').primaryKey(),
    role: text('role', { enum: ['receiver', 'sender'] }).notNull(),
    kind: text('kind', { enum: ['student', 'child'] }).notNull(),
    /** requested → sent → received → approved → completed; or rejected, withdrawn, expired, not_found, refused. */
    status: text('status').notNull(),
    receiverNode: text('receiver_node').notNull(),
    /** Receiving school (kindergarten) code and its target class (an id at the receiving node). */
    receiverUnitCode: text('receiver_unit_code').notNull(),
    targetClassId: text('target_class_id').notNull(),
    /** How the receiver named the person: ID number and/or 学籍号 (masked in answers). */
    idNumber: text('id_number'),
    studentNo: text('student_no'),
    /** Known once the sending node answered. */
    senderNode: text('sender_node'),
    senderUnitCode: text('sender_unit_code'),
    /** The person's record id (the same at both nodes) and name. */
    subjectId: text('subject_id'),
    name: text('name'),
    /** At the sender: the 转出 application; at the receiver: the 转入 carried out on import. */
    statusChangeId: text('status_change_id'),
    /** The ownership epoch of the handoff. */
    epoch: integer('epoch'),
    /** Why it ended without a handoff (a stable code), and the reason given. */
    code: text('code'),
    reason: text('reason'),
    /** JSON array of { step, at, by } in order. */
    steps: text('steps').notNull(),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
  },
  t => [index('transfers_status').on(t.status, t.createdAt), index('transfers_subject').on(t.subjectId)],
)
