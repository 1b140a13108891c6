import Type, { type Static } from 'typebox'

/**
 * The one configuration schema of a node: every key has a default and a description.
 * A node reads it from `<data>/xueji.json` plus environment overrides (see `load.ts`).
 */
const obj = <T extends Parameters<typeof Type.Object>[0]>(props: T, description: string) =>
  Type.Object(props, { additionalProperties: false, default: {}, description })

/** A day of the year, MM-DD (a day past the month's end is read as its last day, config/calendar.ts). */
const MonthDay = (dflt?: string, description?: string) =>
  Type.String({ pattern: '^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$', ...(dflt ? { default: dflt } : {}), ...(description ? { description } : {}) })

export const TIERS = ['province', 'city', 'county'] as const
export type Tier = (typeof TIERS)[number]

export const ConfigSchema = Type.Object(
  {
    node: obj(
      {
        tier: Type.Union(TIERS.map(t => Type.Literal(t)), { description: 'Tier of this node: province, city or county.' }),
        code: Type.String({ pattern: '^[0-9]{6}$', description: 'GB/T 2260 division code of the bureau that runs this node, e.g. 330106.' }),
        name: Type.String({ minLength: 1, maxLength: 100, description: 'Name of the bureau, e.g. 西湖区教育局.' }),
        parentUrl: Type.Union([Type.String({ pattern: '^https?://' }), Type.Null()], {
          default: null,
          description: 'Base URL of the parent node (none for the province).',
        }),
      },
      'Identity of this node; must match the identity record made by `xueji init`.',
    ),
    server: obj(
      {
        host: Type.String({ default: '127.0.0.1', description: 'Address to listen on. Use 0.0.0.0 behind a reverse proxy.' }),
        port: Type.Integer({ minimum: 0, maximum: 65535, default: 8080, description: 'TCP port of the web UI, API and federation endpoints (0 = any free port).' }),
        bodyLimitBytes: Type.Integer({ minimum: 1024, default: 1048576, description: 'Largest request body accepted from users.' }),
        federationBodyLimitBytes: Type.Integer({ minimum: 1024, default: 16777216, description: 'Largest change set accepted from a child node.' }),
        trustProxy: Type.Boolean({ default: false, description: 'Trust X-Forwarded-* headers (only behind your own reverse proxy).' }),
        shutdownTimeoutMs: Type.Integer({ minimum: 100, default: 10000, description: 'How long graceful shutdown waits for in-flight work before giving up.' }),
        readWorkers: Type.Integer({ minimum: 0, maximum: 16, default: 2, description: 'Worker threads that run list and search queries on read-only database connections, so a slow search never holds other requests, health probes or sync; 0 runs them on the main thread.' }),
      },
      'HTTP server.',
    ),
    redis: obj(
      {
        url: Type.String({ pattern: '^rediss?://', default: 'redis://127.0.0.1:6379', description: 'Redis used by the sync queues. Its maxmemory-policy must be noeviction.' }),
        prefix: Type.String({ default: '', description: 'Key prefix of this node in Redis. `xueji init` writes "xueji:<node code>:<first 12 characters of its key id>", so nodes of different federations never meet on one Redis; empty = "xueji:<node code>" (nodes initialised before that).' }),
      },
      'Redis (queues only: it never holds the only copy of anything).',
    ),
    log: obj(
      {
        level: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map(l => Type.Literal(l)), {
          default: 'info',
          description: 'pino log level. At info, one line per request (health probes only at warn).',
        }),
        file: Type.Union([Type.String({ minLength: 1 }), Type.Null()], {
          default: null,
          description: 'Log file, absolute or relative to the data directory, rotated by pino-roll (numbered files: node.1.log, node.2.log …). null = standard output, for the journal under systemd.',
        }),
        rotateSize: Type.String({ pattern: '^[0-9]+[kmg]$', default: '100m', description: 'A log file is rotated when it reaches this size (k, m or g).' }),
        rotateFrequency: Type.Union([Type.Literal('daily'), Type.Literal('hourly')], { default: 'daily', description: 'A log file is also rotated this often.' }),
        keep: Type.Integer({ minimum: 1, default: 14, description: 'Rotated log files kept besides the current one; older ones are deleted.' }),
      },
      'Logging. Personal data is always redacted.',
    ),
    sync: obj(
      {
        maxRows: Type.Integer({ minimum: 1, default: 1000, description: 'Most rows in one change set.' }),
        maxBytes: Type.Integer({ minimum: 1024, default: 4194304, description: 'Most bytes of row images in one change set.' }),
        debounceMs: Type.Integer({ minimum: 0, default: 2, description: 'How long the packer waits after a commit to gather more rows.' }),
        reconcileIntervalMs: Type.Integer({ minimum: 1000, default: 15000, description: 'How often jobs missing from Redis are rebuilt from SQLite.' }),
        antiEntropyIntervalMs: Type.Integer({ minimum: 1000, default: 600000, description: 'How often the digest of owned rows is sent to the parent.' }),
        requestTimeoutMs: Type.Integer({ minimum: 100, default: 30000, description: 'Timeout of one HTTP request to the parent.' }),
        commandPollMs: Type.Integer({ minimum: 100, default: 2000, description: 'How often a child asks its parent for downward commands (pull: a county may not be reachable from above).' }),
        retryBaseMs: Type.Integer({ minimum: 10, default: 1000, description: 'First delay after a failed request to the parent; doubles per failure, with jitter.' }),
        retryMaxMs: Type.Integer({ minimum: 100, default: 60000, description: 'Longest delay between attempts while the parent is unreachable.' }),
        deathResendMs: Type.Integer({ minimum: 100, default: 3600000, description: 'How often a death report the parent has not acknowledged is sent again (and its bureau notified again), R-20.2.' }),
        haltedRetryMs: Type.Integer({ minimum: 1000, default: 300000, description: 'How often an origin halted by a refusal (fork, ownership …) is offered to the parent again, in case an operator there decided.' }),
        rootKid: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'kid of the province key, compared at enrolment when set (the root of trust, given out of band).' }),
      },
      'Upward and downward sync.',
    ),
    calendar: obj(
      {
        timezone: Type.Literal('Asia/Shanghai', { default: 'Asia/Shanghai', description: 'All dates and deadlines are judged in this zone.' }),
        years: Type.Record(
          Type.String({ pattern: '^[0-9]{4}$' }),
          Type.Object({
            off: Type.Array(Type.String({ pattern: '^[0-9]{2}-[0-9]{2}(\\.\\.[0-9]{2}-[0-9]{2})?$' }), { description: 'Days off: MM-DD or a range MM-DD..MM-DD.' }),
            work: Type.Array(Type.String({ pattern: '^[0-9]{2}-[0-9]{2}$' }), { description: 'Make-up working days (调休上班): MM-DD.' }),
          }, { additionalProperties: false }),
          { default: {}, description: 'Working-day calendars that replace or add whole years of config/calendar.ts (R-30.1), e.g. a year announced after this release.' },
        ),
        dates: Type.Object(
          {
            newStudentsBy: MonthDay('09-31', 'R-19.2, R-22.1: new students are entered and verified by this day of their first year, and their personal, résumé, guardian, family and enrolment info locks at its end. 09-31 is read as the end of 30 September.'),
            registrationAutumnBy: MonthDay('09-31', 'R-22.2: registration info of a first term locks at the end of this day.'),
            registrationSpringBy: MonthDay('03-31', 'R-22.2: registration info of a second term locks at the end of this day.'),
            completionBy: MonthDay('07-30', 'R-19.6, R-22.4: graduating students\' completion info is entered and verified by this day and locks at its end.'),
            rollover: MonthDay('08-01', 'R-21.1, R-22.3: the rollover day; exams, awards, punishments, status changes and registrations of the past school year lock when it begins.'),
            termTwoStarts: MonthDay('02-01', 'R-19.3: the second term begins on this day (the first on the rollover day); the end-of-term check looks at the term that holds today.'),
          },
          { additionalProperties: false, default: {}, description: 'The province\'s dates of the registration calendar (MM-DD, Asia/Shanghai; a day past the month\'s end is its last day).' },
        ),
        local: Type.Record(
          Type.String({ pattern: '^[0-9]{6}$' }),
          Type.Partial(Type.Object({ newStudentsBy: MonthDay(), registrationAutumnBy: MonthDay(), registrationSpringBy: MonthDay(), completionBy: MonthDay(), rollover: MonthDay(), termTwoStarts: MonthDay() }, { additionalProperties: false })),
          { default: {}, description: 'Local dates by division code (R-30.1): a city\'s (330100) hold for its counties, a county\'s (330106) for itself; e.g. {"330100": {"newStudentsBy": "10-15"}}. The same file may be handed to every node.' },
        ),
        statusChangeApplyDays: Type.Integer({ minimum: 1, default: 7, description: 'Working days from a status change to its application; later ones are accepted and flagged late (R-19.4).' }),
        statusChangeReviewDays: Type.Integer({ minimum: 1, default: 20, description: 'Working days the bureau has to review a status-change application (R-20.1); after that it escalates to the next tier up.' }),
        escalationCheckMs: Type.Integer({ minimum: 1000, default: 3600000, description: 'How often overdue status-change reviews are looked for and escalated.' }),
        rolloverCheckMs: Type.Integer({ minimum: 1000, default: 600000, description: 'How often the node checks whether the rollover (R-21.1) of its schools is due and not yet done (it runs it), and raises the deadline reminders (R-19.2, R-19.6) that are due.' }),
        reminderDaysBefore: Type.Integer({ minimum: 1, maximum: 90, default: 14, description: 'Days before a deadline of new-student entry (R-19.2) or completion info (R-19.6) at which a school that has not finished is reminded, with its bureau.' }),
        transferPause: Type.Object(
          { from: MonthDay('07-15'), to: MonthDay('08-14') },
          { additionalProperties: false, default: {}, description: 'R-19.5: the national system pauses transfers between nodes from `from` to `to` (MM-DD, both included); a transfer request inside the window is refused (TRANSFER_PAUSED).' },
        ),
        transferTimeoutDays: Type.Integer({ minimum: 1, default: 60, description: 'A transfer between nodes not completed this many days after its request is abandoned (expired): the student stays where they were.' }),
      },
      'Calendar rules: working days, the status-change deadlines and the dates of locks, deadlines and the rollover.',
    ),
    security: obj(
      {
        idleTimeoutMinutes: Type.Integer({ minimum: 1, maximum: 240, default: 15, description: 'A session ends after this many minutes without a request (R-25.2).' }),
        absoluteTimeoutHours: Type.Integer({ minimum: 1, maximum: 24, default: 8, description: 'A session ends this many hours after login, however active.' }),
        lockoutWindowMinutes: Type.Integer({ minimum: 1, default: 10, description: 'Window in which failed logins (passwords and TOTP codes) are counted.' }),
        lockoutMaxPerAccount: Type.Integer({ minimum: 1, maximum: 10, default: 10, description: 'Failed guesses allowed per account in the window; further attempts are refused unchecked (AUTH_LOCKED).' }),
        lockoutMaxPerAddress: Type.Integer({ minimum: 1, default: 50, description: 'Failed guesses allowed per client address in the window (slows password spraying across accounts).' }),
        hashMemoryKib: Type.Integer({ minimum: 19456, default: 19456, description: 'argon2id memory cost in KiB (OWASP minimum 19456).' }),
        hashIterations: Type.Integer({ minimum: 2, default: 2, description: 'argon2id iterations.' }),
        hashParallelism: Type.Integer({ minimum: 1, maximum: 16, default: 1, description: 'argon2id lanes.' }),
        demoLoginWithoutTotp: Type.Boolean({
          default: false,
          description: 'Demo only (`npm run demo` sets it, and says so): administrators log in without TOTP. Refused unless server.host is a loopback address; a real node keeps TOTP for administrators.',
        }),
        cookieSecure: Type.Boolean({ default: false, description: 'Mark the session cookie Secure (HTTPS only) and send HSTS. `xueji init` writes true unless given --plain-http; false only for a node browsers reach over plain HTTP (the demo, a trial). A node listening beyond loopback with it false logs a warning at start.' }),
      },
      'Accounts, sessions and login protection.',
    ),
    backup: obj(
      {
        at: Type.Union([Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' }), Type.Null()], {
          default: null,
          description: 'Daily time (HH:MM, calendar.timezone) of the scheduled backup; null = no schedule (it needs a target and a key the operator supplies).',
        }),
        target: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'Where backups go: a directory on another machine\'s disk, or sftp://user@host[:port]/path (异地异机).' }),
        keyFile: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'File of the 32-byte backup key (xueji backup-key); kept outside the data directory, and a copy away from the node: without it no backup can be restored.' }),
        sftpIdentityFile: Type.Union([Type.String({ minLength: 1 }), Type.Null()], { default: null, description: 'OpenSSH private key file that logs in to an SFTP target.' }),
        sftpHostKey: Type.Union([Type.String({ pattern: '^SHA256:' }), Type.Null()], { default: null, description: 'Pinned host-key fingerprint of the SFTP target (ssh-keygen -lf): a server showing another key is refused.' }),
        keepDaily: Type.Integer({ minimum: 1, default: 7, description: 'Scheduled backups keep the newest of each of this many days …' }),
        keepWeekly: Type.Integer({ minimum: 0, default: 4, description: '… of this many weeks (Monday to Sunday) …' }),
        keepMonthly: Type.Integer({ minimum: 0, default: 12, description: '… and of this many months; older ones are deleted after each backup.' }),
      },
      'Scheduled encrypted backups (R-26.2); `xueji backup` and `xueji restore` read their defaults here too.',
    ),
    codes: obj(
      {
        localDir: Type.Union([Type.String(), Type.Null()], { default: null, description: 'Directory of local code-table files (R-30.1) merged into the national tables.' }),
      },
      'Code tables.',
    ),
    exports: obj(
      {
        keepDays: Type.Number({ exclusiveMinimum: 0, default: 7, description: 'Finished export files (CSV, Excel) are deleted this many days after they were finished; a download after that answers EXPORT_EXPIRED.' }),
      },
      'Exports of lists and statistics tables (R-D.7).',
    ),
    imports: obj(
      {
        purgeIntervalMs: Type.Integer({ minimum: 1000, default: 600000, description: 'How often imports past their 24-hour expiry are deleted, with what they kept of the file (also at start): the parsed rows of a preview, the cells of the rows in error of a commit (R-27.1).' }),
      },
      'Excel imports (R-19.1).',
    ),
  },
  { additionalProperties: false },
)

export type Config = Static<typeof ConfigSchema>
