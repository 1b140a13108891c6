/**
 * The parent's federation endpoint: authenticates the child, then dispatches a wire message.
 * The HTTP routes (node/routes/federation.ts) and the in-memory transport both call this, so
 * every check happens in one place whatever the transport.
 */
import type { Storage } from '../schema/db.ts'
import { CHANGESET_TYP, unpackBody, type AuditAnchor } from './changeset.ts'
import { inArea } from './area.ts'
import { compareUnits, computeUnits, type DigestResult } from './digest.ts'
import type { DeathReports } from './death.ts'
import type { Downward } from './downward.ts'
import { acceptEnrolment, acceptRotation } from './enrolment.ts'
import { syncError } from './errors.ts'
import type { Inbox } from './inbox.ts'
import type { Routed } from './routed.ts'
import { KEY_RECORD_TYP, openCompactJws, type Signer, type Tier } from './keys.ts'
import { assertEnrollRequest, assertRequest, parseApplied, type EnrollRequest, type EnrollResponse, type FederationRequest, type FederationResponses, type PersonHolder, type PersonQuery, type ResponseOf } from './messages.ts'
import { verifyNodeToken } from './node-token.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import { NODE_AUTH_SCHEME, type FederationEndpoint } from './transport.ts'

export interface ReceiverDeps {
  storage: Storage
  self: SelfNode & { name: string }
  registry: KeyRegistry
  inbox: Inbox
  downward: Downward
  death: DeathReports
  routed: Routed
  signer(): Promise<Signer>
  terminal: boolean
  /** Key records arrived from a child: relay them upward. */
  onKeys?(): void
  /** A new death report arrived from a child: relay it upward at once. */
  onDeathReport?(): void
  /** A routed message arrived from a child (new, or signed again): send on what must go upward. */
  onRouted?(): void
  /** 查重 across the federation: this node's replica, then its parent (sync/lookup.ts). */
  lookup(q: PersonQuery, except: SelfNode): Promise<PersonHolder | null>
}

/** Most items one pull or fetch answers with. */
const PAGE_MAX = 500

/**
 * The federation endpoint with its two halves apart, so that HTTP can authenticate a request
 * from its headers before it reads the body (`node/routes/federation.ts`).
 */
export interface Receiver extends FederationEndpoint {
  /** Checks the node token and that its issuer is an enrolled child; returns that child. */
  authenticate(authorization: string | undefined): Promise<SelfNode>
  /** Checks the shape of a request from an authenticated child and answers it. */
  serve<T extends FederationRequest>(sender: SelfNode, message: T): Promise<ResponseOf<T>>
}

export function createReceiver(deps: ReceiverDeps): Receiver {
  const { storage, self } = deps
  const db = storage.sqlite
  // jti → exp (s): a token is good for one request. Per process, which is all a node is.
  const seenJti = new Map<string, number>()

  async function authenticate(authorization: string | undefined): Promise<SelfNode> {
    const [scheme, token] = (authorization ?? '').split(' ')
    if (scheme !== NODE_AUTH_SCHEME || !token) throw syncError('SYNC_TOKEN_INVALID', 'node token missing', { reason: 'missing' })
    const claims = await verifyNodeToken(token, { audience: self.code, keys: deps.registry })
    const now = Date.now() / 1000
    if (seenJti.size > 10_000) for (const [j, exp] of seenJti) if (exp + 60 < now) seenJti.delete(j)
    if (seenJti.has(claims.jti)) throw syncError('SYNC_TOKEN_INVALID', 'node token already used', { reason: 'replay' })
    seenJti.set(claims.jti, claims.exp)
    const child = db.prepare('select code, tier from sync_children where code = ?').get(claims.iss) as { code: string; tier: Tier } | undefined
    if (!child) throw syncError('SYNC_NOT_CHILD', `${claims.iss} is not an enrolled child of ${self.code}`, { node: claims.iss })
    return child
  }

  async function dispatch(sender: SelfNode, m: FederationRequest): Promise<unknown> {
    switch (m.type) {
      case 'changeset.push': {
        const { receipt, status } = await deps.inbox.receive(sender, m.changeSet)
        return { receipt, status }
      }
      case 'keys.push': {
        const stored = await deps.registry.importRecords(m.records, { scope: sender, relayed: deps.terminal })
        if (stored.length > 0) deps.onKeys?.()
        return { stored: stored.length }
      }
      case 'key.rotate': {
        const out = await acceptRotation(deps, sender, m)
        deps.onKeys?.()
        return out
      }
      case 'commands.pull':
        // What the child applied of the commands to it, kept for its rebuild after a restore.
        if (m.applied) deps.downward.recordApplied(sender.code, parseApplied(m.applied) ?? [])
        // What it holds of this node's commands (asked after a rebuild), and the commands, unless held (downward.ts `pullFor`).
        return deps.downward.pullFor(sender, m.after, Math.min(m.limit, PAGE_MAX), m.held === undefined ? undefined : (parseApplied(m.held) ?? []).map(h => ({ destination: h.issuer, seq: h.seq })))
      case 'keys.pull': {
        // This node's chain without the root record, which a child takes only at enrolment; with
        // the closed records of its nodes, so that a child stops taking a key retired above.
        const chain = await deps.registry.chainTo(self.code)
        return { records: chain.filter(jws => openCompactJws(jws, KEY_RECORD_TYP).unverifiedPayload.parent !== null) }
      }
      case 'changesets.fetch': {
        if (!inArea(sender, m.origin)) throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', `${m.origin} is not in the subtree of ${sender.code}`, { origin: m.origin })
        const rows = db
          .prepare('select seq, body, jws, hash from sync_change_sets where origin = ? and seq > ? order by seq limit ?')
          .all(m.origin, m.after, Math.min(m.limit, PAGE_MAX)) as { seq: number; body: Buffer | string; jws: string; hash: string }[]
        return { changeSets: rows.map(r => ({ ...r, body: unpackBody(r.body) })) }
      }
      case 'origins.list': {
        const rows = db.prepare('select origin, max(seq) seq from sync_change_sets group by origin').all() as { origin: string; seq: number }[]
        return { origins: rows.filter(r => inArea(sender, r.origin)), commandsApplied: deps.downward.reportedApplied(sender.code) }
      }
      case 'digest.push':
        return checkDigest(sender, m.digest)
      case 'audit.anchors':
        return auditAnchors(sender, m.after, Math.min(m.limit, PAGE_MAX))
      case 'death.report': {
        const out = await deps.death.receive(sender, m.report)
        if (out.status === 'stored') deps.onDeathReport?.()
        return out
      }
      case 'routed.push': {
        const out = await deps.routed.receive(sender, m.message)
        // A new message, or one signed again that was waiting here (routed.ts `receive`).
        deps.onRouted?.()
        return out
      }
      case 'person.lookup':
        return { holder: await deps.lookup({ table: m.table, idNumber: m.idNumber, idDocType: m.idDocType, studentNo: m.studentNo }, sender) }
    }
  }

  /**
   * The audit anchors the sender signed into its own change sets, as stored here with them in the
   * apply transaction: every one, not the latest, since a node that rewrote its log sends anchors
   * of the rewritten chain afterwards. Only to the node itself (its log is nobody else's concern).
   */
  function auditAnchors(sender: SelfNode, after: number, limit: number): FederationResponses['audit.anchors'] {
    const rows = db.prepare('select seq, jws from sync_change_sets where origin = ? and seq > ? order by seq limit ?').all(sender.code, after, limit) as { seq: number; jws: string }[]
    const anchors = rows.flatMap(r => {
      const audit = openCompactJws(r.jws, CHANGESET_TYP).unverifiedPayload.audit as AuditAnchor | undefined
      return audit ? [{ changeSetSeq: r.seq, seq: audit.seq, hash: audit.hash }] : []
    })
    return { anchors, scannedTo: rows.length === limit ? rows[rows.length - 1].seq : null }
  }

  /** Anti-entropy at the parent: compare the child's digest with the replica, if the replica has caught up. */
  function checkDigest(sender: SelfNode, digest: { origin: string; seq: number; units: unknown[] }): DigestResult {
    if (digest.origin !== sender.code) throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', 'a digest is sent by the node it describes', { origin: digest.origin })
    const applied = (db.prepare('select coalesce(max(seq), 0) s from sync_change_sets where origin = ?').get(sender.code) as { s: number }).s
    const now = new Date().toISOString()
    let out: DigestResult
    if (applied !== digest.seq) out = { result: 'behind', drift: [] }
    else {
      const drift = compareUnits(digest.units as never, computeUnits(storage, sender.code))
      out = { result: drift.length ? 'drift' : 'ok', drift }
    }
    storage.write(() =>
      db
        .prepare(`insert into sync_digest_checks (origin, seq, checked_at, units, result, drift) values (?, ?, ?, ?, ?, ?)
          on conflict (origin) do update set seq = excluded.seq, checked_at = excluded.checked_at, units = excluded.units, result = excluded.result, drift = excluded.drift`)
        .run(sender.code, digest.seq, now, digest.units.length, out.result, JSON.stringify(out.drift.slice(0, 1000))),
    )
    return out
  }

  const serve = async <T extends FederationRequest>(sender: SelfNode, message: T): Promise<ResponseOf<T>> => (await dispatch(sender, assertRequest(message))) as ResponseOf<T>
  return {
    authenticate,
    serve,
    async handle<T extends FederationRequest>(authorization: string | undefined, message: T): Promise<ResponseOf<T>> {
      return serve(await authenticate(authorization), message)
    },
    async enroll(request: EnrollRequest): Promise<EnrollResponse> {
      return acceptEnrolment(deps, assertEnrollRequest(request))
    },
  }
}
