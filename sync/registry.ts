/**
 * The node's key registry in SQLite (DESIGN.md §4–5): the keys every verifier here uses.
 *
 * - This node's own keys come from `node_keys` (made by `init` and rotation).
 * - Every other node's keys come from `sync_keys`: key records signed by the parent that
 *   enrolled the node, verified when they arrive. The province's self-signed record is trusted
 *   only because enrolment hands it down from a parent already trusted (and `sync.rootKid`,
 *   when configured, pins it).
 * - Rotation: a record carries `validFromSeq`/`validUntilSeq`; a key answers for change sets of
 *   its range only, and for tokens, commands and receipts only while current (as far as this
 *   node knows: a child learns of its parent's retired keys from `keys.pull`, `chainTo`).
 */
import type { Storage } from '../schema/db.ts'
import { childTier, inArea, isBelow } from './area.ts'
import { syncError } from './errors.ts'
import {
  importPublicJwk,
  KEY_RECORD_TYP,
  openCompactJws,
  readHeldKeyRecord,
  staticKeyResolver,
  signKeyRecord,
  verifyKeyRecord,
  type Ed25519PublicJwk,
  type KeyLike,
  type KeyRecord,
  type KeyResolver,
  type Signer,
  type Tier,
} from './keys.ts'

/** This node as the sync layer sees it. */
export interface SelfNode {
  code: string
  tier: Tier
}

/** The registry: a `KeyResolver` plus the bookkeeping of key records. */
export interface KeyRegistry extends KeyResolver {
  /**
   * Verifies key records and stores them. Each must be signed by its `parent` with a key
   * already registered here (or stored earlier in the same call: send parents first), and that
   * parent must be the node's enrolling parent as recorded from above (`SYNC_KEY_NOT_VOUCHED`:
   * no self-signed or root records, no other tier or parent than enrolment recorded, no
   * reopening of a closed key). `scope`: the records must be about nodes within that node's
   * area (the sending child's subtree), signed by a node within it too. `relayed`: whether they
   * still need to go up.
   */
  importRecords(records: readonly string[], opts: { scope: SelfNode; relayed: boolean }): Promise<KeyRecord[]>
  /**
   * Takes the province's self-signed root record on trust (first contact, at enrolment: it comes
   * from the parent being joined, over the channel the join token was given for). Checks the
   * self-signature and, when `pinnedKid` is set (`sync.rootKid`), that it is that key.
   */
  trustRoot(record: string, pinnedKid: string | null): Promise<KeyRecord>
  /** Stores a record this node signed itself (enrolment, rotation of a child). */
  storeOwnSigned(record: KeyRecord, jws: string): void
  /**
   * Signs again with `signer` (this node's new key, now vouched for above) every record this node
   * signed with another key that has not gone up yet: the tiers above know only the new key as
   * current. Returns how many.
   */
  resignPending(signer: Signer): Promise<number>
  /** Records still to deliver to this node's parent, parents before children. */
  pendingRelay(): { node: string; kid: string; record: string }[]
  markRelayed(keys: readonly { node: string; kid: string }[]): void
  /**
   * Records from the root of trust down to `node`, for a child's enrolment and `keys.pull`: each
   * node's current record, its closed records held here just before it (the root's excepted: a
   * root record is taken only at enrolment). The closed ones are how a child learns that a key of
   * its parent's chain was retired, since resolving without a seq answers every key it holds open
   * as current.
   */
  chainTo(node: string): Promise<string[]>
  /** The tier of a registered node (this one included). */
  tierOf(node: string): Tier | undefined
}

interface KeyRow {
  kid: string
  public_jwk: string
  valid_from_seq: number
  valid_until_seq: number | null
}

/** Builds the registry of `self` over `storage`. Imported public keys are cached by kid (a kid names one key). */
export function createKeyRegistry(storage: Storage, self: SelfNode, opts: { signer?: () => Promise<Signer> } = {}): KeyRegistry {
  const db = storage.sqlite
  const own = db.prepare('select kid, public_jwk, valid_from_seq, valid_until_seq from node_keys where kid = ?')
  const registered = db.prepare('select kid, public_jwk, valid_from_seq, valid_until_seq from sync_keys where node = ? and kid = ?')
  const upsert = db.prepare(`insert into sync_keys (node, kid, tier, parent, public_jwk, valid_from_seq, valid_until_seq, record, received_at, relayed_at)
    values (@node, @kid, @tier, @parent, @publicJwk, @validFromSeq, @validUntilSeq, @record, @receivedAt, @relayedAt)
    on conflict (node, kid) do update set tier = excluded.tier, parent = excluded.parent, valid_from_seq = excluded.valid_from_seq,
      valid_until_seq = excluded.valid_until_seq, record = excluded.record, received_at = excluded.received_at, relayed_at = excluded.relayed_at
    where sync_keys.record <> excluded.record`)
  const retired = db.prepare('select record from sync_keys where node = ? and valid_until_seq is not null order by valid_from_seq, valid_until_seq').pluck()
  const cache = new Map<string, KeyLike>()

  const keyOf = async (row: KeyRow): Promise<KeyLike> => {
    let key = cache.get(row.kid)
    if (!key) {
      key = await importPublicJwk(JSON.parse(row.public_jwk))
      cache.set(row.kid, key)
    }
    return key
  }

  const store = (record: KeyRecord, jws: string, relayed: boolean) => {
    const now = new Date().toISOString()
    upsert.run({
      node: record.node,
      kid: record.kid,
      tier: record.tier,
      parent: record.parent,
      publicJwk: JSON.stringify(record.publicJwk),
      validFromSeq: record.validFromSeq,
      validUntilSeq: record.validUntilSeq ?? null,
      record: jws,
      receivedAt: now,
      relayedAt: relayed ? now : null,
    })
  }

  const registry: KeyRegistry = {
    async resolve(signer, kid, at) {
      const row = (signer === self.code ? own.get(kid) : registered.get(signer, kid)) as KeyRow | undefined
      if (!row) return undefined
      if (at === undefined) return row.valid_until_seq === null ? keyOf(row) : undefined
      if (at.seq < row.valid_from_seq || (row.valid_until_seq !== null && at.seq > row.valid_until_seq)) return undefined
      return keyOf(row)
    },

    async importRecords(records, { scope, relayed }) {
      const out: KeyRecord[] = []
      for (const jws of records) {
        // Verified with the current key of the node the record names as its parent.
        const { record } = await verifyKeyRecord(jws, registry)
        // A child vouches only for its own subtree; the root record comes only from our parent.
        const signer = record.parent ?? record.node
        if (!inArea(scope, record.node) || !inArea(scope, signer)) {
          throw syncError('SYNC_ORIGIN_OUTSIDE_SUBTREE', `key record of ${record.node} is outside the subtree of ${scope.code}`, { node: record.node })
        }
        storage.write(() => {
          assertVouched(record)
          // Our own records are kept too (resolve() reads our keys from node_keys): they show which
          // of our keys the parent has vouched for, and start the chain we hand to our children.
          store(record, jws, relayed)
        })
        out.push(record)
      }
      return out
    },

    async trustRoot(jws, pinnedKid) {
      const claimed = openCompactJws(jws, KEY_RECORD_TYP).unverifiedPayload
      const self = staticKeyResolver([{ node: String(claimed.node), kid: String(claimed.kid), key: await importPublicJwk(claimed.publicJwk) }])
      const { record } = await verifyKeyRecord(jws, self)
      if (record.parent !== null || record.tier !== 'province') throw syncError('SYNC_MALFORMED', 'the root key record must be the province own record', { reason: 'root' })
      if (pinnedKid !== null && record.kid !== pinnedKid) {
        throw syncError('SYNC_KEY_UNKNOWN', `the province key ${record.kid} is not the configured root of trust sync.rootKid`, { kid: record.kid })
      }
      storage.write(() => store(record, jws, true))
      return record
    },

    storeOwnSigned(record, jws) {
      storage.write(() => store(record, jws, false))
    },

    async resignPending(signer) {
      const rows = db.prepare('select record from sync_keys where parent = ? and relayed_at is null').pluck().all(self.code) as string[]
      let n = 0
      for (const jws of rows) {
        if (openCompactJws(jws, KEY_RECORD_TYP).header.kid === signer.kid) continue
        const record = await readHeldKeyRecord(jws)
        const again = await signKeyRecord(record, signer)
        storage.write(() => store(record, again, false))
        n++
      }
      return n
    },

    pendingRelay() {
      return db
        .prepare("select node, kid, record from sync_keys where relayed_at is null order by case tier when 'province' then 0 when 'city' then 1 else 2 end, received_at")
        .all() as { node: string; kid: string; record: string }[]
    },

    markRelayed(keys) {
      const mark = db.prepare('update sync_keys set relayed_at = ? where node = ? and kid = ?')
      const now = new Date().toISOString()
      storage.write(() => keys.forEach(k => mark.run(now, k.node, k.kid)))
    },

    async chainTo(node) {
      const chain: string[] = []
      let at: string | null = node
      const seen = new Set<string>()
      while (at !== null && !seen.has(at)) {
        seen.add(at)
        if (at === self.code && self.tier === 'province') {
          chain.unshift(await rootRecord())
          break
        }
        const row = db.prepare('select parent, record from sync_keys where node = ? and valid_until_seq is null order by valid_from_seq desc limit 1').get(at) as
          | { parent: string | null; record: string }
          | undefined
        if (!row) throw syncError('SYNC_NOT_ENROLLED', `no key record of ${at} here: this node is not enrolled under its parent yet`, { node: at })
        chain.unshift(...(row.parent !== null ? (retired.all(at) as string[]) : []), row.record)
        at = row.parent
      }
      return chain
    },

    tierOf(node) {
      if (node === self.code) return self.tier
      // What this node recorded when it enrolled the child, else what the enrolling parent
      // recorded (importRecords lets no record disagree with it; migration 0006 removed the
      // self-vouched records taken before that).
      const child = db.prepare('select tier from sync_children where code = ?').get(node) as { tier: Tier } | undefined
      return child?.tier ?? (db.prepare('select tier from sync_keys where node = ? limit 1').get(node) as { tier: Tier } | undefined)?.tier
    },
  }

  /**
   * Trust comes only from above (DESIGN.md §5). A record, already verified with the key of the
   * node it names as parent, is taken only when that parent is the node's enrolling parent: not
   * the node itself, not a root claim, a parent whose tier is the one ITS parent recorded, the
   * node one tier below it and inside its area; and when it agrees with what is held: the same
   * tier and parent as the node's earlier records, and a known key's seq range only narrowed
   * (a replayed older record must not reopen a closed or revoked key).
   * @throws XuejiError `SYNC_KEY_NOT_VOUCHED` with `details.reason`.
   */
  function assertVouched(record: KeyRecord): void {
    const refuse = (reason: string, message: string) => syncError('SYNC_KEY_NOT_VOUCHED', `节点 ${record.node} 的密钥记录不是其上级登记节点签发的（${message}），不予登记`, { node: record.node, reason })
    if (record.parent === null) throw refuse('root', '根密钥只能在加入时由上级下发')
    if (record.parent === record.node) throw refuse('self', '节点不能为自己的密钥担保')
    const parentTier = registry.tierOf(record.parent)
    if (parentTier === undefined || record.tier !== childTier(parentTier) || !isBelow({ code: record.parent, tier: parentTier }, record.node)) {
      throw refuse('tier', '层级或辖区与上级登记的不符')
    }
    const enrolled = db.prepare('select tier from sync_children where code = ?').get(record.node) as { tier: Tier } | undefined
    const other = db.prepare('select 1 from sync_keys where node = ? and (tier <> ? or parent is not ?) limit 1').get(record.node, record.tier, record.parent)
    if ((enrolled && enrolled.tier !== record.tier) || other) throw refuse('enrolment', '与加入时登记的层级或上级不符')
    // A kid names one key everywhere: two nodes sharing it could sign for each other.
    if (db.prepare('select 1 from sync_keys where kid = ? and node <> ?').get(record.kid, record.node)) throw refuse('kid', '该密钥已登记给其他节点')
    const held = registered.get(record.node, record.kid) as KeyRow | undefined
    if (held) {
      const until = record.validUntilSeq ?? null
      const narrower = record.validFromSeq >= held.valid_from_seq && (held.valid_until_seq === null || (until !== null && until <= held.valid_until_seq))
      if (!narrower) throw refuse('reopen', '不能重新启用已停用的密钥')
    }
  }

  /** The province's self-signed record of its current key, made once and kept. */
  async function rootRecord(): Promise<string> {
    const signer = opts.signer ? await opts.signer() : undefined
    if (!signer) throw new Error('the province registry needs its signer to make its root record')
    const held = db.prepare('select record from sync_keys where node = ? and kid = ?').get(self.code, signer.kid) as { record: string } | undefined
    if (held) return held.record
    const row = own.get(signer.kid) as KeyRow
    const record: KeyRecord = {
      node: self.code,
      tier: 'province',
      parent: null,
      kid: signer.kid,
      publicJwk: JSON.parse(row.public_jwk) as Ed25519PublicJwk,
      validFromSeq: row.valid_from_seq,
      validUntilSeq: null,
      issuedAt: new Date().toISOString(),
    }
    const jws = await signKeyRecord(record, signer)
    // relayed: the province has no parent to relay to.
    storage.write(() => store(record, jws, true))
    return jws
  }

  return registry
}
