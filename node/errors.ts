import { errorFactory } from '../config/errors.ts'

/**
 * Stable error codes of the node (HTTP API, start-up, CLI). Messages a registrar may see are
 * Chinese; start-up and ops messages are English for the IT staff reading a terminal.
 */
export const nodeErrors = {
  NOT_FOUND: { status: 404, doc: 'No such record or route within your scope.' },
  VALIDATION_FAILED: { status: 400, doc: 'The request does not match the route schema; details.field names the field.' },
  QUERY_EMPTY: { status: 400, doc: 'A list was asked with q= empty or only spaces, which would list every record; leave q out to list all, or type a name, ID number or 学籍号.' },
  QUERY_FIELD_UNKNOWN: { status: 400, doc: 'A list was asked for fields= naming a field its records do not have; details.unknown lists them, details.known the fields it has.' },
  BAD_REQUEST: { status: 400, doc: 'The HTTP request itself is malformed (bad JSON, wrong content type, empty body …); details.reason names what Fastify found.' },
  BODY_TOO_LARGE: { status: 413, doc: 'The request body is over server.bodyLimitBytes.' },
  INTERNAL: { status: 500, doc: 'An unexpected failure; the log has the details under the request id.' },
  NOT_READY: { status: 503, doc: 'The database or Redis does not answer; see /readyz.' },
  REDIS_UNREACHABLE: { status: 500, doc: 'Redis does not answer at redis.url; start it or fix the URL.' },
  REDIS_EVICTION_POLICY: { status: 500, doc: 'Redis may evict keys; set maxmemory-policy noeviction.' },
  NODE_NOT_INITIALISED: { status: 500, doc: 'The data directory has no node; run `xueji init` first.' },
  NODE_ALREADY_INITIALISED: { status: 500, doc: '`xueji init` found an existing node in the data directory.' },
  NODE_DATA_DIR_NOT_EMPTY: { status: 500, doc: '`xueji init` was given a directory that holds other files; give it a new or empty directory.' },
  NODE_START_RECORD_INVALID: { status: 500, doc: 'xueji.started.json (the overrides of the last start) is damaged; delete it, the next start writes it again.' },
  NODE_RESTORE_PENDING: { status: 500, doc: 'The node was restored from a backup and has not fetched back from its parent what the backup missed; run `xueji sync rebuild --data DIR` first.' },
  NODE_IDENTITY_MISMATCH: { status: 500, doc: 'xueji.json names another node than the database identity.' },
} as const

export const nodeError = errorFactory(nodeErrors)
