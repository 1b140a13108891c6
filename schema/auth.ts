import { sqliteTable, text, integer, index } from 'drizzle-orm/sqlite-core'

/**
 * Accounts, sessions, login throttling and the audit log.
 * Accounts live on the node where the user works and never travel upward: they are not
 * replicated tables.
 */
export const accounts = sqliteTable(
  'accounts',
  {
    /** UUID made here; the actor id stamped on records (`entered_by`, `verified_by`) and outbox rows. */
    id: text('id').primaryKey(),
    /** Login name, stored lower-cased; unique on the node. A student's is given by the school. */
    username: text('username').notNull().unique(),
    /** argon2id PHC string (m, t, p and salt inside). */
    passwordHash: text('password_hash').notNull(),
    /** One of ROLES in node/auth/access.ts. */
    role: text('role').notNull(),
    /** JSON of the account's Scope (node/auth/access.ts): bureau, schools, classes or one student. */
    scopeJson: text('scope_json').notNull(),
    /** 1 = 校领导: may verify school info, status changes and growth records. */
    leader: integer('leader', { mode: 'boolean' }).notNull().default(false),
    /** JSON array of sensitive field classes this account may reveal (node/auth/sensitive.ts). */
    grantsJson: text('grants_json').notNull().default('[]'),
    /** TOTP secret once enrolment is confirmed, encrypted (`v1:…`, node/auth/secrets.ts); null before. */
    totpSecret: text('totp_secret'),
    /** Secret offered at enrolment, waiting for the first valid code; encrypted likewise. */
    totpPendingSecret: text('totp_pending_secret'),
    /** Last accepted TOTP time step: a code is accepted once (RFC 6238 §5.2). */
    totpLastStep: integer('totp_last_step'),
    /** Account id of the creator; null for the first bureau administrator made by `xueji init`. */
    createdBy: text('created_by'),
    createdAt: text('created_at').notNull(),
    passwordChangedAt: text('password_changed_at').notNull(),
    /** Set when disabled; a disabled account cannot log in and has no sessions. */
    disabledAt: text('disabled_at'),
  },
  t => [index('accounts_role').on(t.role)],
)

/**
 * Server-side sessions, so that logout and disabling end them at once. The cookie carries a
 * random token; only its SHA-256 is stored, so a copy of the database opens no session.
 */
export const sessions = sqliteTable(
  'sessions',
  {
    /** SHA-256 hex of the session token. */
    id: text('id').primaryKey(),
    accountId: text('account_id').notNull().references(() => accounts.id, { onDelete: 'cascade' }),
    /** Per-session CSRF token, echoed by the client in the x-csrf-token header. */
    csrfToken: text('csrf_token').notNull(),
    /** totp: password accepted, code awaited; totp_enrol: code enrolment awaited; ok: signed in. */
    stage: text('stage', { enum: ['totp', 'totp_enrol', 'ok'] }).notNull(),
    /** Epoch milliseconds; the absolute timeout counts from here. */
    createdAt: integer('created_at').notNull(),
    /** Epoch milliseconds of the last request; the idle timeout counts from here. */
    lastSeenAt: integer('last_seen_at').notNull(),
    ip: text('ip'),
  },
  t => [index('sessions_account').on(t.accountId)],
)

/** Login attempts for throttling (≤ N failures per account and per address in a window). */
export const loginAttempts = sqliteTable(
  'login_attempts',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** SHA-256 hex of the lower-cased user name: a student's user name may be their name. */
    userKey: text('user_key').notNull(),
    ip: text('ip').notNull(),
    /** Epoch milliseconds. */
    at: integer('at').notNull(),
    ok: integer('ok', { mode: 'boolean' }).notNull(),
  },
  t => [index('login_attempts_user').on(t.userKey, t.at), index('login_attempts_ip').on(t.ip, t.at)],
)

/**
 * The audit log: every write, login, denied request and reveal. Hash-chained
 * under a key kept outside the database: `hash = hmacSha256(keys/audit.key, prevHash +
 * canonicalJson(entry))` (node/auth/audit.ts), so an edit, deletion or reordering shows in
 * `xueji audit verify`. Ids and field names only, never personal values.
 */
export const auditLog = sqliteTable(
  'audit_log',
  {
    /** 1, 2, 3 … without gaps. */
    seq: integer('seq').primaryKey(),
    /** UTC ISO time. */
    at: text('at').notNull(),
    /** Account id, or null when nobody is signed in (a failed login, an anonymous request). */
    actorId: text('actor_id'),
    actorRole: text('actor_role'),
    /** Client address as Fastify sees it (trustProxy decides). */
    ip: text('ip'),
    /** What was done: `login`, `logout`, `reveal`, `verify`, or `METHOD /route/pattern`. */
    action: text('action').notNull(),
    /** Table or resource concerned, and the record id (never a name or ID number). */
    targetTable: text('target_table'),
    targetId: text('target_id'),
    /** JSON array of field names touched or revealed. */
    fieldsJson: text('fields_json'),
    /** ok | denied | failed */
    outcome: text('outcome', { enum: ['ok', 'denied', 'failed'] }).notNull(),
    /** HTTP status and error code when not ok. */
    status: integer('status'),
    code: text('code'),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  t => [index('audit_actor').on(t.actorId, t.seq)],
)
