import { sql } from 'drizzle-orm'
import { sqliteTable, text, integer, blob, primaryKey, index, uniqueIndex } from 'drizzle-orm/sqlite-core'

/**
 * The sync table group (DESIGN.md §3–6, §10). SQLite is the record of the federation: every
 * change set, receipt, key, command and refusal is here; Redis only schedules work and can be
 * rebuilt from these tables at any time (sync/reconciler.ts).
 */

/**
 * Every change set this node holds: its own (packed from the outbox) and those it accepted from
 * its children (applied here, relayed upward unaltered). Kept forever: the federation's history,
 * the source of resends, audits and `xueji sync rebuild` below.
 */
export const syncChangeSets = sqliteTable(
  'sync_change_sets',
  {
    /** Division code of the node that wrote the rows (not the relay). */
    origin: text('origin').notNull(),
    seq: integer('seq').notNull(),
    /** sha256 of `body`: the change set's identity. */
    hash: text('hash').notNull(),
    prev: text('prev'),
    /**
     * The canonical JSON body, byte for byte as signed, compressed at rest (sync/changeset.ts
     * `packBody`/`unpackBody`); a change set stored before compression holds the text itself.
     */
    body: blob('body', { mode: 'buffer' }).notNull(),
    /** Compact JWS over the manifest (signed by the origin). */
    jws: text('jws').notNull(),
    kid: text('kid').notNull(),
    rows: integer('rows').notNull(),
    bytes: integer('bytes').notNull(),
    /** createdAt of the body (UTC ISO), when the origin packed it. */
    createdAt: text('created_at').notNull(),
    /** Enrolled child that delivered it; null for this node's own change sets. */
    receivedFrom: text('received_from'),
    /** When this node stored it (packed, or applied from a child). */
    storedAt: text('stored_at').notNull(),
    /** Last time it was sent to this node's parent. */
    sentAt: text('sent_at'),
    /** When the parent's receipt arrived (or the parent said it already holds it); null = still to send. */
    ackedAt: text('acked_at'),
    /** The parent's signed receipt (JWS); null when acknowledged by the parent's expected seq instead. */
    receipt: text('receipt'),
  },
  t => [
    primaryKey({ columns: [t.origin, t.seq] }),
    // The sender's and the reconciler's question: what is still to send, per origin, in order.
    index('sync_change_sets_unacked').on(t.origin, t.seq).where(sql`acked_at is null`),
  ],
)

/**
 * A fork or a replayed seq: a validly signed change set that conflicts with one we hold. Kept
 * for the record, once per distinct (origin, seq, hash): a sender repeating it only counts up.
 */
export const syncConflicts = sqliteTable('sync_conflicts', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  origin: text('origin').notNull(),
  seq: integer('seq').notNull(),
  hash: text('hash').notNull(),
  /** Hash of the change set we hold for (origin, seq). */
  heldHash: text('held_hash').notNull(),
  /** SYNC_FORK or SYNC_SEQ_REPLAY. */
  code: text('code').notNull(),
  body: text('body').notNull(),
  jws: text('jws').notNull(),
  receivedFrom: text('received_from').notNull(),
  /** When it was last received. */
  receivedAt: text('received_at').notNull(),
  /** How many times it was received. */
  count: integer('count').notNull().default(1),
}, t => [uniqueIndex('sync_conflicts_once').on(t.origin, t.seq, t.hash)])

/**
 * Change sets refused because of bad rows (outside the origin's ownership, or not applicable).
 * Held whole, with the reasons per row, until an operator decides (`xueji sync quarantine`):
 * release applies it without the bad rows and lets the origin's chain go on.
 */
export const syncQuarantine = sqliteTable(
  'sync_quarantine',
  {
    origin: text('origin').notNull(),
    seq: integer('seq').notNull(),
    hash: text('hash').notNull(),
    body: text('body').notNull(),
    jws: text('jws').notNull(),
    kid: text('kid').notNull(),
    /** JSON array of { index, table, key, code, reason, issues? }: which rows and why, `issues` with the API's field codes (no row data). */
    badRows: text('bad_rows').notNull(),
    receivedFrom: text('received_from').notNull(),
    receivedAt: text('received_at').notNull(),
    /** held | released | discarded */
    status: text('status', { enum: ['held', 'released', 'discarded'] }).notNull().default('held'),
    decidedAt: text('decided_at'),
    /** Who decided (the operator's note, e.g. a ticket number). */
    decidedBy: text('decided_by'),
  },
  t => [primaryKey({ columns: [t.origin, t.seq, t.hash] })],
)

/** Children enrolled under this node (with a one-time join token). */
export const syncChildren = sqliteTable('sync_children', {
  code: text('code').primaryKey(),
  tier: text('tier', { enum: ['province', 'city', 'county'] }).notNull(),
  name: text('name').notNull(),
  enrolledAt: text('enrolled_at').notNull(),
})

/**
 * The key registry: public keys of other nodes as key records signed by the parent that
 * enrolled them (the province's own record is self-signed and configured as the root of trust).
 * Verifiers take keys from here only, never from a message.
 */
export const syncKeys = sqliteTable(
  'sync_keys',
  {
    node: text('node').notNull(),
    kid: text('kid').notNull(),
    tier: text('tier', { enum: ['province', 'city', 'county'] }).notNull(),
    /** The node that signed the record (the enrolling parent); null for the province root. */
    parent: text('parent'),
    /** JSON of the public Ed25519 JWK. */
    publicJwk: text('public_jwk').notNull(),
    /** First and last of the node's own change-set seqs this key may sign (null: still current). */
    validFromSeq: integer('valid_from_seq').notNull(),
    validUntilSeq: integer('valid_until_seq'),
    /** The signed key record (JWS), relayed upward as is. */
    record: text('record').notNull(),
    receivedAt: text('received_at').notNull(),
    /** When it was delivered to this node's parent; null = still to relay (province: never). */
    relayedAt: text('relayed_at'),
  },
  t => [primaryKey({ columns: [t.node, t.kid] })],
)

/** One-time join tokens issued by this node's administrator (`xueji join-token`). */
export const syncJoinTokens = sqliteTable('sync_join_tokens', {
  /** sha256 of the token; the token itself is shown once and never stored. */
  tokenHash: text('token_hash').primaryKey(),
  /** The child it is for: division code and tier. */
  childCode: text('child_code').notNull(),
  childTier: text('child_tier', { enum: ['city', 'county'] }).notNull(),
  createdAt: text('created_at').notNull(),
  expiresAt: text('expires_at').notNull(),
  usedAt: text('used_at'),
})

/** This node's link to its parent (one row, id 1, written by `xueji enroll`), and its health. */
export const syncLink = sqliteTable('sync_link', {
  id: integer('id').primaryKey(),
  parentCode: text('parent_code').notNull(),
  parentTier: text('parent_tier', { enum: ['province', 'city', 'county'] }).notNull(),
  parentName: text('parent_name').notNull(),
  enrolledAt: text('enrolled_at').notNull(),
  /** Parent-local id of the last downward command pulled. */
  commandCursor: integer('command_cursor').notNull().default(0),
  /** Consecutive failed requests; drives the backoff. */
  failures: integer('failures').notNull().default(0),
  /** Epoch ms before which no request is sent (backoff); 0 = now. */
  nextAttemptAt: integer('next_attempt_at').notNull().default(0),
  lastError: text('last_error'),
  lastErrorAt: text('last_error_at'),
  lastSuccessAt: text('last_success_at'),
  /** When the last anti-entropy digest was accepted by the parent. */
  digestSentAt: text('digest_sent_at'),
})

/** Per origin: why its upward stream is halted (a refusal only an operator can resolve). */
export const syncHalts = sqliteTable('sync_halts', {
  origin: text('origin').primaryKey(),
  seq: integer('seq').notNull(),
  /** The parent's error code (SYNC_FORK, SYNC_ROW_OUTSIDE_OWNERSHIP …). */
  code: text('code').notNull(),
  message: text('message').notNull(),
  haltedAt: text('halted_at').notNull(),
  /** Epoch ms of the last attempt; retried every sync.haltedRetryMs. */
  lastTryAt: integer('last_try_at').notNull(),
})

/**
 * Downward commands this node issued, relays or must apply (DESIGN.md §6). `id` is local: the
 * cursor a child pulls by. Applied exactly once at the destination (`appliedAt`).
 */
export const syncCommands = sqliteTable(
  'sync_commands',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    issuer: text('issuer').notNull(),
    destination: text('destination').notNull(),
    seq: integer('seq').notNull(),
    type: text('type').notNull(),
    hash: text('hash').notNull(),
    body: text('body').notNull(),
    jws: text('jws').notNull(),
    /** Parent it was pulled from; null when issued here. */
    receivedFrom: text('received_from'),
    receivedAt: text('received_at').notNull(),
    /** At the destination only: when it was applied, and the handler's result (JSON). */
    appliedAt: text('applied_at'),
    result: text('result'),
    /** At the destination: why it cannot be applied yet (unknown type, handler refusal). */
    errorCode: text('error_code'),
    errorMessage: text('error_message'),
  },
  t => [uniqueIndex('sync_commands_seq').on(t.issuer, t.destination, t.seq), index('sync_commands_pending').on(t.destination, t.appliedAt)],
)

/**
 * The highest seq of an issuer's commands to `node` that `node` has applied (R-26.2, R-D.8;
 * commands are applied in seq order per issuer, sync/downward.ts). At a parent: as each child
 * reports it in its `commands.pull` (the highest ever reported is kept: a child restored from a
 * backup reports less). At a node restored and rebuilt (`node` = this node): as its parent gave
 * it back (`xueji sync rebuild`); commands at or below it, pulled again, were applied before the
 * restore and are not run again.
 */
export const syncCommandsApplied = sqliteTable(
  'sync_commands_applied',
  {
    node: text('node').notNull(),
    issuer: text('issuer').notNull(),
    seq: integer('seq').notNull(),
    reportedAt: text('reported_at').notNull(),
  },
  t => [primaryKey({ columns: [t.node, t.issuer] })],
)

/**
 * Issuing held after a rebuild (R-26.2, R-D.8; sync/downward.ts): a node rebuilt from its parent
 * (`xueji sync rebuild`, after a restore) holds the backup's `sync_commands`, while its children
 * may hold commands it issued after the backup. Until `child` has told, in a pull, the highest
 * seq it holds of this node's commands per destination (`sync_commands_held`), this node issues
 * nothing to a destination in `child`'s subtree. `fromId`: this node's highest local command id
 * when it was rebuilt. A child whose pull cursor is beyond it pulled commands the backup does not
 * hold: it reports, then pulls again after `fromId` (its cursor counted ids the backup never had).
 * The hold ends at the child's first pull after `fromId` or before.
 */
export const syncIssueHolds = sqliteTable('sync_issue_holds', {
  child: text('child').primaryKey(),
  fromId: integer('from_id').notNull(),
  heldAt: text('held_at').notNull(),
})

/**
 * The highest seq of this node's own commands to `destination` that a child (`reportedBy`) holds,
 * as it reported after this node was rebuilt: the next command to `destination` takes a seq above
 * it and above every one held here (sync/downward.ts `issue`).
 */
export const syncCommandsHeld = sqliteTable('sync_commands_held', {
  destination: text('destination').primaryKey(),
  seq: integer('seq').notNull(),
  reportedBy: text('reported_by').notNull(),
  reportedAt: text('reported_at').notNull(),
})

/** Anti-entropy: the last digest comparison per child origin, and every unit that drifted. */
export const syncDigestChecks = sqliteTable('sync_digest_checks', {
  origin: text('origin').primaryKey(),
  /** The child's last packed seq the digest was taken at. */
  seq: integer('seq').notNull(),
  checkedAt: text('checked_at').notNull(),
  units: integer('units').notNull(),
  /** ok | drift | behind (our replica has not applied that seq yet: not compared) */
  result: text('result', { enum: ['ok', 'drift', 'behind'] }).notNull(),
  /** JSON array of { unit, child: {count, hash} | null, replica: {count, hash} | null } (ids only). */
  drift: text('drift').notNull().default('[]'),
})

/**
 * Death reports on the priority path (R-20.2, R-D.4, DESIGN.md §7): the reporting node's own
 * (written in the transaction that carries the death out, signed when first sent) and those
 * received from below (stored as signed, relayed upward unaltered). A report is re-sent until
 * the parent acknowledges it; acknowledgements are the `death.ack` downward commands in
 * `sync_commands`.
 */
export const syncDeathReports = sqliteTable(
  'sync_death_reports',
  {
    /** UUID made by the reporting node. */
    id: text('id').primaryKey(),
    /** Division code of the reporting (home) node, whose key signs. */
    origin: text('origin').notNull(),
    /** death | reversal (a death recorded in error, reversed through its own approval). */
    event: text('event', { enum: ['death', 'reversal'] }).notNull(),
    /** The report as signed (JSON). */
    report: text('report').notNull(),
    /** Compact JWS by the origin over the report; null at the origin until first sent. */
    jws: text('jws'),
    /** The child it came from; null at the origin. */
    receivedFrom: text('received_from'),
    receivedAt: text('received_at').notNull(),
    /** Sending to the parent: attempts answered, the last one (epoch ms), the first answer. */
    sentCount: integer('sent_count').notNull().default(0),
    lastSentAt: integer('last_sent_at'),
    deliveredAt: text('delivered_at'),
    /** The parent's refusal of the last attempt (stable code); retried only every `sync.deathResendMs`. */
    refusedCode: text('refused_code'),
    /** At a receiving node: how often its bureau was notified (1 + each resend while unacknowledged). */
    notifyCount: integer('notify_count').notNull().default(0),
    lastNotifiedAt: text('last_notified_at'),
    /** At a receiving node: its bureau administrator's acknowledgement. */
    ackedAt: text('acked_at'),
    ackedBy: text('acked_by'),
  },
  t => [index('sync_death_reports_due').on(t.deliveredAt, t.lastSentAt)],
)

/**
 * What the federation reported about this node's own records, for the school that wrote them and
 * its bureau (`GET /api/v1/sync/feedback`): rows of a change set refused at any tier (with the
 * refusing node's codes), persons registered at another node too (查重 across nodes, R-10.1),
 * and persons accepted while the parent could not be asked. Ids and codes only.
 */
export const syncFeedback = sqliteTable(
  'sync_feedback',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** refused | duplicate | unchecked */
    kind: text('kind', { enum: ['refused', 'duplicate', 'unchecked'] }).notNull(),
    /** The node that refused or found it. */
    reportedBy: text('reported_by').notNull(),
    /** The refused change set's seq (0 for the other kinds). */
    seq: integer('seq').notNull().default(0),
    tableName: text('table_name').notNull(),
    recordId: text('record_id').notNull(),
    /** School or kindergarten code of the record (null when the record is not known here). */
    schoolCode: text('school_code'),
    /** A stable code: the sync or record code of the refusal, RECORD_DUPLICATE_ELSEWHERE … */
    code: text('code').notNull(),
    /** The rule or reason (field and rule names, never values). */
    reason: text('reason').notNull(),
    /** Duplicates: the node and school (or kindergarten) holding the other record. */
    otherNode: text('other_node').notNull().default(''),
    otherSchoolCode: text('other_school_code'),
    createdAt: text('created_at').notNull(),
  },
  t => [
    uniqueIndex('sync_feedback_once').on(t.kind, t.reportedBy, t.seq, t.tableName, t.recordId, t.code, t.otherNode),
    index('sync_feedback_school').on(t.schoolCode),
  ],
)

/**
 * Routed messages (sync/routed.ts): signed by their origin, sent up hop by hop to the lowest
 * node whose area holds the destination (or, for a `find` message, whose replica holds the
 * person), which hands them down as a `routed.deliver` command. Stored once per node by id.
 */
export const syncRouted = sqliteTable(
  'sync_routed',
  {
    /** UUID made by the origin. */
    id: text('id').primaryKey(),
    /** Division code of the node whose key signs. */
    origin: text('origin').notNull(),
    /** The node it is for; null while a `find` message has not reached a node that knows the person. */
    destination: text('destination'),
    type: text('type').notNull(),
    /** The message as signed (canonical JSON). */
    body: text('body').notNull(),
    /** Compact JWS by the origin; null at the origin until first sent. */
    jws: text('jws'),
    /** The child it came from; null at the origin (and at a destination it came down to). */
    receivedFrom: text('received_from'),
    receivedAt: text('received_at').notNull(),
    /** 1 while it must still go to the parent. */
    upward: integer('upward').notNull().default(0),
    sentAt: text('sent_at'),
    /** The parent's refusal (stable code); not retried. */
    refusedCode: text('refused_code'),
    /** What this node did with it: `up`, `down:<node>:<seq>`, `here`, `undeliverable`, `held`. */
    routed: text('routed'),
  },
  t => [index('sync_routed_upward').on(t.upward, t.sentAt)],
)

/**
 * Verified ownership handoffs (DESIGN.md §8) seen here: from then on rows of the subject (a
 * student or child and its sub-records) are taken from `to_node` at `epoch` or above, and late
 * rows of `from_node` below that epoch are ignored as stale.
 */
export const syncHandoffs = sqliteTable(
  'sync_handoffs',
  {
    /** The routed message that carried it. */
    id: text('id').primaryKey(),
    subjectTable: text('subject_table').notNull(),
    subjectId: text('subject_id').notNull(),
    fromNode: text('from_node').notNull(),
    toNode: text('to_node').notNull(),
    epoch: integer('epoch').notNull(),
    recordedAt: text('recorded_at').notNull(),
  },
  t => [uniqueIndex('sync_handoffs_subject_epoch').on(t.subjectId, t.epoch)],
)
