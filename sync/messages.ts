/**
 * The federation wire messages: a `type`-discriminated union, the responses per type, the guard
 * every receiver runs, and where each type lives over HTTP. One list, so the HTTP transport,
 * the Fastify routes and the in-memory transport cannot drift apart.
 */
import type { AuditAnchor, SignedChangeSet } from './changeset.ts'
import type { SignedCommand } from './command.ts'
import type { Digest, DigestResult } from './digest.ts'
import { syncError } from './errors.ts'
import { isPlainObject, type Ed25519PublicJwk, type Tier } from './keys.ts'
import type { Receipt } from './receipt.ts'

/** A request from a child to its parent, authenticated by a node token. */
export type FederationRequest =
  /** One signed change set (its origin's, relayed unaltered). */
  | { type: 'changeset.push'; changeSet: SignedChangeSet }
  /** Key records of nodes in the sender's subtree, signed by their enrolling parents. */
  | { type: 'keys.push'; records: string[] }
  /**
   * The sender's new key: the parent signs its record (and closes the old one at
   * `validFromSeq - 1`). `proof`: signed by the new key; `endorsement`: signed by the current one.
   */
  | { type: 'key.rotate'; kid: string; publicJwk: Ed25519PublicJwk; validFromSeq: number; proof: string; endorsement: string }
  /**
   * Downward commands for the sender's subtree after the parent-local id `after`. `applied`
   * (optional; older children omit it, older parents ignore it): per issuer, the highest seq of
   * the commands to the sender it has applied, `issuer:seq` pairs joined by commas
   * (`formatApplied`), kept by the parent for the sender's rebuild after a restore (downward.ts).
   * `held` (optional, sent when the parent answered `restored`): per destination in the sender's
   * subtree, the highest seq it holds of the parent's own commands, `destination:seq` pairs in the
   * same form; the rebuilt parent issues after them (downward.ts `issue`).
   */
  | { type: 'commands.pull'; after: number; limit: number; applied?: string; held?: string }
  /**
   * The parent's own key records below the root of trust (its chain: current keys, each node's
   * closed ones before them): how a child learns its parent's new key after a rotation, and that
   * the old one is closed (sync/enrolment.ts `learnParentKeys`).
   */
  | { type: 'keys.pull' }
  /** Change sets of one origin of the sender's subtree (disaster recovery: `xueji sync rebuild`). */
  | { type: 'changesets.fetch'; origin: string; after: number; limit: number }
  /** Origins of the sender's subtree the parent holds change sets of, with their last seq. */
  | { type: 'origins.list' }
  /** Anti-entropy digest of what the sender owns. */
  | { type: 'digest.push'; digest: Digest }
  /** The audit anchors of the sender itself in the change sets after seq `after` (`xueji audit verify`). */
  | { type: 'audit.anchors'; after: number; limit: number }
  /** A death report of a node in the sender's subtree: compact JWS by its origin (sync/death.ts). */
  | { type: 'death.report'; report: string }
  /** A routed message (sync/routed.ts) of a node in the sender's subtree: compact JWS by its origin. */
  | { type: 'routed.push'; message: string }
  /** 查重 across the federation (sync/lookup.ts): is this person registered outside the sender's subtree? */
  | ({ type: 'person.lookup' } & PersonQuery)

/** A person to look up among students or children: by ID number, 学籍号, or both. */
export interface PersonQuery {
  /** A kindergarten child who becomes a pupil is registered anew, so each table is asked alone. */
  table: 'students' | 'children'
  /** As stored (ASCII, no blanks, upper case), under any document type. */
  idNumber?: string
  /** The document type `idNumber` is filed under (CNSSMS code); absent: 1, a resident ID (lookup.ts `sameIdNumberSql`). */
  idDocType?: string
  studentNo?: string
}

/** Where a person is registered: no personal data, only the record's place. */
export interface PersonHolder {
  table: 'students' | 'children'
  homeNode: string
  /** School or kindergarten code and name. */
  unitCode: string
  unitName: string | null
}

/** The answer to each request type. */
export interface FederationResponses {
  'changeset.push': { receipt: string; status: Receipt['status'] }
  'keys.push': { stored: number }
  'key.rotate': { records: string[] }
  /**
   * `restored` (instead of commands): the parent was rebuilt after a restore and the sender's
   * cursor is beyond the parent's restore point; the sender reports `held` and pulls again after
   * `restored.after` (downward.ts `pullFor`).
   */
  'commands.pull': { commands: { id: number; command: SignedCommand }[]; restored?: { after: number } }
  'keys.pull': { records: string[] }
  'changesets.fetch': { changeSets: (SignedChangeSet & { seq: number })[] }
  /**
   * `commandsApplied`: what the sender reported it applied of the commands to it, per issuer (the
   * highest seq reported); taken back by its rebuild. Older parents omit it.
   */
  'origins.list': { origins: { origin: string; seq: number }[]; commandsApplied?: { issuer: string; seq: number }[] }
  'digest.push': DigestResult
  /** `scannedTo`: the last change-set seq read, to ask `after` next; null when there is no more. */
  'audit.anchors': { anchors: (AuditAnchor & { changeSetSeq: number })[]; scannedTo: number | null }
  /** `acknowledged`: this node's bureau has acknowledged the report already. */
  'death.report': { status: 'stored' | 'duplicate'; acknowledged: boolean }
  'routed.push': { status: 'stored' | 'duplicate' }
  'person.lookup': { holder: PersonHolder | null }
}

/** The response type of request `T`. */
export type ResponseOf<T extends FederationRequest> = FederationResponses[T['type']]

/** Joining a parent with a one-time token (no node token: the parent does not know the key yet). */
export interface EnrollRequest {
  token: string
  node: { code: string; tier: Tier; name: string }
  kid: string
  publicJwk: Ed25519PublicJwk
  /** JWS (typ `xueji-enroll+jws`) by the new key over { node, kid, aud: parent code }: proof of possession. */
  proof: string
}

/** The parent's answer: who it is and the key records from the root of trust down to the new child (its chain's closing records included, `chainTo`). */
export interface EnrollResponse {
  parent: { code: string; tier: Tier; name: string }
  records: string[]
}

/** HTTP placement of each message under `/federation/v1`. */
export const HTTP_ROUTES = {
  'changeset.push': { method: 'POST', path: '/changesets' },
  'keys.push': { method: 'POST', path: '/keys' },
  'key.rotate': { method: 'POST', path: '/keys/rotate' },
  'commands.pull': { method: 'GET', path: '/commands' },
  'keys.pull': { method: 'GET', path: '/keys' },
  'changesets.fetch': { method: 'GET', path: '/changesets' },
  'origins.list': { method: 'GET', path: '/origins' },
  'digest.push': { method: 'POST', path: '/digests' },
  'audit.anchors': { method: 'GET', path: '/audit-anchors' },
  'death.report': { method: 'POST', path: '/death-reports' },
  'routed.push': { method: 'POST', path: '/routed' },
  // POST: an ID number never goes into a URL (access logs).
  'person.lookup': { method: 'POST', path: '/persons/lookup' },
} as const satisfies Record<FederationRequest['type'], { method: 'GET' | 'POST'; path: string }>

/** Path prefix of the federation routes. */
export const FEDERATION_PREFIX = '/federation/v1'
/** Path of the enrolment route (under the prefix). */
export const ENROLL_PATH = '/enroll'

const int = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min
const str = (v: unknown) => typeof v === 'string' && v !== ''

/** The wire form of `commands.pull`'s `applied` (`issuer:seq` pairs joined by commas) and `held` (`destination:seq`). */
export const formatApplied = (applied: readonly { issuer: string; seq: number }[]): string => applied.map(a => `${a.issuer}:${a.seq}`).join(',')

const APPLIED_PAIR = /^([0-9A-Za-z]{1,20}):(0|[1-9][0-9]{0,14})$/

/** Reads `formatApplied`'s form; undefined when it is not that (at most 100 codes). */
export function parseApplied(v: string): { issuer: string; seq: number }[] | undefined {
  const pairs = v.split(',')
  if (pairs.length > 100) return undefined
  const out: { issuer: string; seq: number }[] = []
  for (const p of pairs) {
    const m = APPLIED_PAIR.exec(p)
    if (!m || out.some(a => a.issuer === m[1])) return undefined
    out.push({ issuer: m[1], seq: Number(m[2]) })
  }
  return out
}

const isUnitDigest = (u: unknown) => isPlainObject(u) && str(u.unit) && int(u.count, 0) && typeof u.hash === 'string'

/**
 * Checks a request's shape (the HTTP routes check schemas too; the in-memory transport relies
 * on this alone). @throws XuejiError `SYNC_MALFORMED`.
 */
export function assertRequest(m: unknown): FederationRequest {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `federation request: ${why}`, { reason: why })
  if (!isPlainObject(m) || typeof m.type !== 'string') throw bad('type')
  switch (m.type) {
    case 'changeset.push':
      if (!isPlainObject(m.changeSet) || !str(m.changeSet.body) || !str(m.changeSet.jws)) throw bad('changeSet')
      break
    case 'keys.push':
      if (!Array.isArray(m.records) || !m.records.every(str)) throw bad('records')
      break
    case 'key.rotate':
      if (!str(m.kid) || !isPlainObject(m.publicJwk) || !int(m.validFromSeq, 1) || !str(m.proof) || !str(m.endorsement)) throw bad('key.rotate')
      break
    case 'commands.pull':
      if (!int(m.after, 0) || !int(m.limit, 1)) throw bad('commands.pull')
      if (m.applied !== undefined && (typeof m.applied !== 'string' || parseApplied(m.applied) === undefined)) throw bad('commands.pull applied')
      if (m.held !== undefined && (typeof m.held !== 'string' || parseApplied(m.held) === undefined)) throw bad('commands.pull held')
      break
    case 'changesets.fetch':
      if (!str(m.origin) || !int(m.after, 0) || !int(m.limit, 1)) throw bad('changesets.fetch')
      break
    case 'origins.list':
    case 'keys.pull':
      break
    case 'audit.anchors':
      if (!int(m.after, 0) || !int(m.limit, 1)) throw bad('audit.anchors')
      break
    case 'death.report':
      if (!str(m.report)) throw bad('report')
      break
    case 'routed.push':
      if (!str(m.message)) throw bad('message')
      break
    case 'digest.push':
      if (!isPlainObject(m.digest) || !str(m.digest.origin) || !int(m.digest.seq, 0) || !Array.isArray(m.digest.units) || !m.digest.units.every(isUnitDigest)) throw bad('digest')
      break
    case 'person.lookup': {
      const ok = (v: unknown) => v === undefined || (typeof v === 'string' && /^[0-9A-Za-z]{1,30}$/.test(v))
      // A number of another document type may hold other characters (a Hong Kong ID's brackets), never blanks or control ones.
      const okId = (v: unknown) => v === undefined || (typeof v === 'string' && /^[^\p{C}\p{Z}]{1,30}$/u.test(v))
      const okDoc = m.idDocType === undefined || (typeof m.idDocType === 'string' && /^[0-9A-Z]{1,2}$/.test(m.idDocType))
      if (!okId(m.idNumber) || !okDoc || !ok(m.studentNo) || (m.idNumber === undefined && m.studentNo === undefined) || (m.table !== 'students' && m.table !== 'children')) throw bad('person.lookup')
      break
    }
    default:
      throw bad(`unknown type ${m.type}`)
  }
  return m as unknown as FederationRequest
}

/** Checks an enrolment request's shape. @throws XuejiError `SYNC_MALFORMED`. */
export function assertEnrollRequest(m: unknown): EnrollRequest {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `enrolment request: ${why}`, { reason: why })
  if (!isPlainObject(m) || !str(m.token) || !str(m.kid) || !str(m.proof) || !isPlainObject(m.publicJwk)) throw bad('fields')
  const n = m.node
  if (!isPlainObject(n) || !str(n.code) || !str(n.name) || !['city', 'county'].includes(n.tier as string)) throw bad('node')
  return m as unknown as EnrollRequest
}
