import { errorFactory, type ErrorSpec } from '../config/errors.ts'

/**
 * Stable error codes of the federation protocol (DESIGN.md §3–6, §10).
 *
 * Codes are part of the wire contract: a child's worker decides retry vs. give-up from the code
 * and status alone (4xx except 429 are not retried), and tests assert codes, never messages.
 * Never rename a code; add a new one instead.
 */
export const syncErrors = {
  // ── Signatures and keys (R-D.2) ───────────────────────────────────────────────────────────
  /** The JWS signature does not verify with the signer's registered key. */
  SYNC_SIGNATURE_INVALID: {
    status: 400,
    doc: 'Signature does not verify with the registered key of the signer: the data was altered or signed with another key; the sender must re-sign with its current key.',
  },
  /** Header `alg` is not on the allow-list (only `EdDSA`); `none` and HMAC are refused outright. */
  SYNC_ALG_NOT_ALLOWED: {
    status: 400,
    doc: 'JWS header alg is not EdDSA (alg none, HS*, ES*, RS* … are refused before any key is looked up); sign with the node Ed25519 key.',
  },
  /** No key registered for (signer, kid), or the registry refuses that key for this seq. */
  SYNC_KEY_UNKNOWN: {
    status: 422,
    doc: 'The kid is not in this node registry for that signer (or was rotated out for this seq); relay the signer key record (signed by its enrolling parent) first, then resend. A child that meets an unknown key of its parent (receipts, commands after the parent rotated its key) fetches the parent chain (keys.pull, with the closing records of keys retired above, which are refused from then on) once and tries again; a command still unknown is asked for again at the next pull, never skipped.',
  },
  /** The header tried to bring its own key (`jwk`, `jku`, `x5u`, `x5c`); keys come only from the registry. */
  SYNC_EMBEDDED_KEY_REFUSED: {
    status: 400,
    doc: 'JWS header carries jwk/jku/x5u/x5c; keys are taken only from this node registry, never from the message; remove the header parameter.',
  },
  /**
   * A key record that trust from above does not cover: self-signed, signed by a node that is
   * not the enrolling parent (its tier and area as recorded at enrolment), claiming another
   * tier or parent than enrolment recorded, reopening a closed key, or a root record sent by a child.
   */
  SYNC_KEY_NOT_VOUCHED: {
    status: 403,
    doc: 'Key record not vouched for from above (self-signed, not by the enrolling parent, another tier/parent than enrolment recorded, or reopening a closed key); a node gets keys only by enrolment or a rotation its parent countersigns.',
  },
  // ── Change-set content ────────────────────────────────────────────────────────────────────
  /** SHA-256 of the body text differs from the signed manifest's `hash`. */
  SYNC_HASH_MISMATCH: {
    status: 400,
    doc: 'Body SHA-256 differs from the hash in the signed manifest: the body was altered or truncated in transit; resend the stored change set unaltered.',
  },
  /** Structurally wrong: not compact JWS, not JSON, not canonical, fields missing or inconsistent. */
  SYNC_MALFORMED: {
    status: 400,
    doc: 'Message is not well formed (not compact JWS, bad JSON, non-canonical body, wrong field types, body and manifest disagree); a sender bug: fix the packer, do not retry.',
  },
  /** Format version outside `SUPPORTED_FORMATS` (this node accepts the current and the previous one). */
  SYNC_FORMAT_UNSUPPORTED: {
    status: 422,
    doc: 'Change-set format version not accepted here (a node accepts current and previous); upgrade the lagging tier, then resend.',
  },
  // ── Chain checks (R-D.2) ──────────────────────────────────────────────────────────────────
  /** `seq` is beyond the next expected one; `details.expectedSeq` says where to resend from. */
  SYNC_SEQ_GAP: {
    status: 409,
    doc: 'seq is not the next one for this origin; resend from details.expectedSeq.',
  },
  /** An already applied `seq` came again with a different hash: possibly a fork; kept for the record. */
  SYNC_SEQ_REPLAY: {
    status: 409,
    doc: 'An already applied seq arrived with a different hash (a same-hash repeat is a duplicate success, not this error); investigate as a possible fork, ops alarm raised.',
  },
  /** Two different change sets signed by one origin for one `seq`: refused, alarmed, both kept. */
  SYNC_FORK: {
    status: 409,
    doc: 'Origin history forked (two signed change sets for one seq); both are kept, the origin is halted until an operator decides which chain is authoritative.',
  },
  /** `prev` is not the hash of the last applied change set of that origin. */
  SYNC_PREV_MISMATCH: {
    status: 409,
    doc: 'prev does not equal the hash of the previous change set of this origin; the sender history diverged: resend from the expected seq or escalate as a fork.',
  },
  // ── Authority ─────────────────────────────────────────────────────────────────────────────
  /** The authenticated sender is not an enrolled child of this node. */
  SYNC_NOT_CHILD: {
    status: 403,
    doc: 'Sender is not an enrolled child of this node; enrol it (xueji enroll) or point it at its real parent.',
  },
  /** The change set's origin is not in the sender's subtree. */
  SYNC_ORIGIN_OUTSIDE_SUBTREE: {
    status: 403,
    doc: 'Change-set origin is not within the sending child subtree; a child may only relay its own and its descendants change sets.',
  },
  /** A row (or a death report) touches a record the origin does not own (one writer per record, DESIGN.md §2). */
  SYNC_ROW_OUTSIDE_OWNERSHIP: {
    status: 403,
    doc: 'A row writes a record whose home is another node (or an outdated ownership epoch), or copies another school code than its own school, or addresses an alert to another node than the parent of the origin (details in the quarantine reason); the row is quarantined, see ops for the reason. A death report about a record homed at another node, or naming another school than the record is at (details.reason home, unit, kind), is refused and not relayed.',
  },
  /** A row cannot be applied at all: unknown table or column, key and row image disagree, a constraint fails. */
  SYNC_ROW_INVALID: {
    status: 422,
    doc: 'A row of the change set cannot be applied (unknown table or column, key and row image disagree, constraint failure); the change set is quarantined with the reason, an operator releases or discards it (xueji sync quarantine).',
  },
  // ── Node-to-node request tokens ───────────────────────────────────────────────────────────
  /** The request token is missing, badly signed, for another audience or otherwise unusable. */
  SYNC_TOKEN_INVALID: {
    status: 401,
    doc: 'Node request token invalid (bad signature, wrong audience, unknown kid, too long-lived …; details.reason says which); sign a fresh token with the node key. A child finishing a key rotation whose answer was lost (the parent has closed the old key: details.reason SYNC_KEY_UNKNOWN) asks again with a token of its new key.',
  },
  /** The request token has expired (beyond a 30 s clock tolerance). */
  SYNC_TOKEN_EXPIRED: {
    status: 401,
    doc: 'Node request token expired; issue a new one per request and check the node clock (NTP).',
  },
  // ── Downward commands ─────────────────────────────────────────────────────────────────────
  /** The command is addressed to a node that is neither this node nor in its subtree. */
  SYNC_COMMAND_NOT_FOR_ME: {
    status: 403,
    doc: 'Command destination is not this node nor in its subtree; the relaying tier routed it wrongly.',
  },
  /** The (issuer, destination, seq) command was already applied with a different hash. */
  SYNC_COMMAND_REPLAY: {
    status: 409,
    doc: 'Command seq for this (issuer, destination) was already used; commands apply exactly once, a different body under an old seq is refused.',
  },
  /** This node was restored from a backup and a child has not yet told it which of its commands it holds. */
  SYNC_ISSUE_HELD: {
    status: 503,
    doc: 'This node was restored from a backup and issues no command to the subtree of the child named in details.child until that child, at its next commands.pull, has reported the highest seq it holds of this node commands; try again once the child has pulled (every sync.commandPollMs while it runs and reaches this node), or, for a child that will not pull again, release the hold (xueji sync release-hold).',
  },
  /** `xueji sync release-hold` for an enrolled child to whose subtree issuing is not held. */
  SYNC_ISSUE_HOLD_NOT_FOUND: {
    status: 404,
    doc: 'Issuing to the subtree of the child named in details.child is not held here: it has pulled since the restore, or the hold was released already; xueji sync status lists the held children.',
  },
  // ── Routed messages and ownership handoffs (sync/routed.ts, DESIGN.md §8) ────────────────
  /** A routed message id already stored here with a different body. */
  SYNC_ROUTED_REPLAY: {
    status: 409,
    doc: 'A routed message id was already used for a different message; a routed message is stored once and never replaced.',
  },
  /** A handoff not sent by the node that holds the record now (per this node's replica). */
  SYNC_HANDOFF_NOT_HOME: {
    status: 409,
    doc: 'An ownership handoff came from a node that is not the home of the record here (details.homeNode); only the current home hands a record over.',
  },
  /** A handoff of a record this node does not hold (yet): its rows have not arrived. */
  SYNC_HANDOFF_UNKNOWN: {
    status: 503,
    doc: 'An ownership handoff names a record this node does not hold yet (its rows from the home node have not arrived); it is refused without being stored and the sender retries it with backoff.',
  },
  /** A handoff whose epoch is not the replica's epoch plus one, or a second handoff of one epoch. */
  SYNC_HANDOFF_STALE: {
    status: 409,
    doc: 'An ownership handoff must raise the record epoch by exactly one (details.epoch, details.expected) and each epoch is handed over once; a replayed or stale handoff is refused.',
  },
  // ── Receipts and enrolment ────────────────────────────────────────────────────────────────
  /** The parent's receipt does not verify or does not match what was sent. */
  SYNC_RECEIPT_INVALID: {
    status: 502,
    doc: 'Parent receipt does not verify or does not match the change set sent (details.reason); the change set stays unacknowledged and is resent.',
  },
  /** The one-time enrolment token is unknown, used or expired. */
  SYNC_ENROLL_TOKEN_INVALID: {
    status: 401,
    doc: 'Enrolment token unknown, already used or expired; ask the parent administrator for a new one.',
  },
  /** The enrolment request does not fit the token or this node's area (code, tier, proof of key). */
  SYNC_ENROLL_REFUSED: {
    status: 403,
    doc: 'Enrolment refused: the node code or tier differs from the join token, lies outside this node area, or the key proof does not verify; ask for a token for the right node. A key rotation is refused when the new key is not endorsed by the current one (details.reason endorsement) or is registered already other than by the same rotation asked again (known key; the same one is answered with its records).',
  },
  /** This node has no parent link yet. */
  SYNC_NOT_ENROLLED: {
    status: 409,
    doc: 'This node is not enrolled under its parent; run xueji enroll --token TOKEN (the token comes from the parent administrator).',
  },
  /** The parent is handling too many federation requests at once. */
  SYNC_BUSY: {
    status: 429,
    doc: 'The parent is handling too many federation requests at once; the child retries with backoff, nothing to do.',
  },
  /** The parent could not be reached or answered with a server error; retried with backoff. */
  SYNC_PARENT_UNAVAILABLE: {
    status: 503,
    doc: 'The parent node is unreachable or failed (network, timeout, 5xx, 429); the request is retried with backoff, check the parent URL and the parent node.',
  },
  /** No handler is registered for a downward command type at its destination. */
  SYNC_COMMAND_UNKNOWN_TYPE: {
    status: 422,
    doc: 'A downward command of an unknown type reached its destination; it waits (later commands of that issuer too) until a software version that knows the type is installed.',
  },
  /** An operator referred to a quarantined change set that is not held. */
  SYNC_QUARANTINE_NOT_FOUND: {
    status: 404,
    doc: 'No held quarantined change set for that origin and seq; list them with xueji sync status.',
  },
  // ── Local key storage (not a wire error; kept here beside the other key errors) ──────────
  /** The node's private key file is readable or writable by group/others. */
  KEY_FILE_PERMISSIONS: {
    status: 500,
    doc: 'Private key file is accessible to group or others; run chmod 600 on it (and check who could have copied it: if in doubt, rotate the key).',
  },
} as const satisfies Record<string, ErrorSpec>

/** A stable sync error code. */
export type SyncErrorCode = keyof typeof syncErrors

/** `syncError(code, message, details?)` → `XuejiError` with the catalogue's HTTP status. */
export const syncError = errorFactory(syncErrors)
