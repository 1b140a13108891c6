/**
 * Enrolment and key rotation (DESIGN.md §5, R-D.5).
 *
 * 1. The parent's administrator issues a one-time join token for one child (`xueji join-token`):
 *    only its SHA-256 is stored, it expires, it is used once.
 * 2. The child (`xueji enroll --token …`) sends its code, tier, public key and a proof that it
 *    holds the private key. The parent checks token, code, tier and area, signs a key record of
 *    the child's key, and answers with the records from the root of trust down to the child
 *    (with the closing records of its chain's earlier keys, step 5). The record travels upward
 *    (relayed like change sets), so every ancestor can verify the child's change sets; the
 *    province's key is the root of trust.
 * 3. Rotation: the child makes a new key locally (old key valid up to its last packed seq, the
 *    new one from the next), then asks the parent to sign the new record, with an endorsement
 *    signed by the old key and a proof signed by the new one. Until the parent has, its new
 *    change sets wait (`SYNC_KEY_UNKNOWN` is retried), and everything else it signs (receipts,
 *    commands, reports, its children's key records) is signed with the key the parent knows
 *    (service.ts `signer`). A node that signed no change set with the old key yet rotates at
 *    seq 1 like any other: the old key's range becomes empty. Once the parent has, the node signs
 *    again with the new key its children's key records not relayed yet and the commands it issued
 *    (`resignIssued`: same body and hash, a child holding one answers `duplicate`), since its
 *    children learn that the old key is closed (step 5); its own routed messages not sent and its
 *    death reports are signed again at their next send, and a routed message its parent relays
 *    too late (refused above for the old key) is signed again when the parent asks for it
 *    (routed.ts `routed.resign`). A rotation the parent registered whose
 *    answer was lost is asked again at the next round: the old key, closed there, no longer
 *    authenticates the request, so it goes with a token of the new key, and the parent answers
 *    the same rotation (same key and `validFromSeq`, proven by the new key; the old key's
 *    endorsement is not asked again) with the records it made.
 * 4. Re-enrolment (a new join token for an enrolled child) closes every earlier key of the
 *    child at the last seq the parent holds; the closing records relay upward.
 * 5. Key records travel up; a child learns its parent's key (after the parent rotated it) from
 *    the parent's chain (`keys.pull`, `learnParentKeys`), taken only as vouched for by the
 *    chain the child already trusts. The chain brings the closing records of the earlier keys
 *    of its nodes too: a key closed above is no longer current below (commands, receipts and
 *    tokens signed with it are refused there). Records a parent signed for its children are
 *    re-issued from what it holds, not verified again with its current key (`readHeldKeyRecord`).
 */
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Storage } from '../schema/db.ts'
import { childTier, isBelow, parentDivision } from './area.ts'
import { canonicalJson, sha256Hex } from './canonical.ts'
import { syncError } from './errors.ts'
import {
  generateNodeKeyPair,
  importPublicJwk,
  openCompactJws,
  KEY_RECORD_TYP,
  readHeldKeyRecord,
  signJws,
  signKeyRecord,
  staticKeyResolver,
  verifyJws,
  writePrivateKeyFile,
  type Ed25519PublicJwk,
  type KeyRecord,
  type Signer,
  type Tier,
} from './keys.ts'
import type { Downward } from './downward.ts'
import { unsignOwnReports } from './death.ts'
import { unsignUnsent } from './routed.ts'
import type { EnrollRequest, EnrollResponse } from './messages.ts'
import type { KeyRegistry, SelfNode } from './registry.ts'
import type { ParentTransport } from './transport.ts'

/** `typ` of the proof that the enrolling (or rotating) node holds its new private key. */
export const KEY_PROOF_TYP = 'xueji-key-proof+jws'
/** `typ` of a rotating node's endorsement of its new key, signed with its current key. */
export const KEY_ENDORSEMENT_TYP = 'xueji-key-endorsement+jws'

/** The longest a join token may stay valid (`xueji join-token --ttl-hours`): 30 days. */
export const MAX_JOIN_TOKEN_HOURS = 720

/**
 * Whether `code` has the shape of a GB/T 2260 division code of `tier`: a province's ends in 0000,
 * a city's in 00 (not 0000), a county's in neither. A city node coded like a county (or the
 * reverse) would take an area that is not its own (`area.ts`: a city's is its first four digits).
 */
export function codeFitsTier(code: string, tier: Tier): boolean {
  if (!/^[1-9][0-9]{5}$/.test(code)) return false
  return tier === 'province' ? code.endsWith('0000') : tier === 'city' ? code.endsWith('00') && !code.endsWith('0000') : !code.endsWith('00')
}

/** Issues a one-time join token for child `code` of tier `tier`; returns the token (shown once). */
export function issueJoinToken(storage: Storage, self: SelfNode, child: { code: string; tier: 'city' | 'county' }, ttlHours = 72): { token: string; expiresAt: string } {
  if (child.tier !== childTier(self.tier) || !isBelow(self, child.code) || !codeFitsTier(child.code, child.tier)) {
    throw syncError('SYNC_ENROLL_REFUSED', `a ${self.tier} node ${self.code} enrols ${childTier(self.tier) ?? 'no'} nodes of its own area, not ${child.tier} ${child.code}`, { code: child.code })
  }
  if (!Number.isFinite(ttlHours) || ttlHours <= 0 || ttlHours > MAX_JOIN_TOKEN_HOURS) {
    throw syncError('SYNC_ENROLL_REFUSED', `a join token is valid for more than 0 and at most ${MAX_JOIN_TOKEN_HOURS} hours, not ${ttlHours}`, { reason: 'ttl' })
  }
  const token = `xjt_${randomBytes(24).toString('base64url')}`
  const now = new Date()
  const expiresAt = new Date(now.getTime() + ttlHours * 3600_000).toISOString()
  storage.write(() =>
    storage.sqlite
      .prepare('insert into sync_join_tokens (token_hash, child_code, child_tier, created_at, expires_at) values (?, ?, ?, ?, ?)')
      .run(sha256Hex(token), child.code, child.tier, now.toISOString(), expiresAt),
  )
  return { token, expiresAt }
}

/** The proof payload a node signs with its new key. */
function proofPayload(node: string, kid: string, aud: string) {
  return { node, kid, aud }
}

async function checkProof(proof: string, node: string, kid: string, jwk: Ed25519PublicJwk, aud: string): Promise<void> {
  try {
    const keys = staticKeyResolver([{ node, kid, key: await importPublicJwk(jwk) }])
    const { payload } = await verifyJws(proof, { typ: KEY_PROOF_TYP, keys, signerOf: () => ({ signer: node }) })
    if (payload.node !== node || payload.kid !== kid || payload.aud !== aud) throw new Error('payload')
  } catch {
    throw syncError('SYNC_ENROLL_REFUSED', 'the key proof does not verify with the key being registered', { reason: 'proof' })
  }
}

async function checkEndorsement(registry: KeyRegistry, node: string, req: { kid: string; validFromSeq: number; endorsement: string }, aud: string): Promise<void> {
  try {
    const { payload } = await verifyJws(req.endorsement, { typ: KEY_ENDORSEMENT_TYP, keys: registry, signerOf: () => ({ signer: node }) })
    if (canonicalJson(payload) !== canonicalJson(endorsementPayload(node, req.kid, req.validFromSeq, aud))) throw new Error('payload')
  } catch {
    throw syncError('SYNC_ENROLL_REFUSED', '新密钥未经本节点当前密钥签署认可，不予轮换', { reason: 'endorsement' })
  }
}

/** Parent side of enrolment. */
export async function acceptEnrolment(
  deps: { storage: Storage; self: SelfNode & { name: string }; registry: KeyRegistry; signer: () => Promise<Signer>; terminal: boolean },
  req: EnrollRequest,
): Promise<EnrollResponse> {
  const { storage, self } = deps
  const hash = sha256Hex(req.token)
  const row = storage.sqlite.prepare('select child_code, child_tier, expires_at, used_at from sync_join_tokens where token_hash = ?').get(hash) as
    | { child_code: string; child_tier: Tier; expires_at: string; used_at: string | null }
    | undefined
  if (!row || row.used_at !== null || Date.parse(row.expires_at) < Date.now()) {
    throw syncError('SYNC_ENROLL_TOKEN_INVALID', 'join token unknown, used or expired')
  }
  if (row.child_code !== req.node.code || row.child_tier !== req.node.tier || !isBelow(self, req.node.code)) {
    throw syncError('SYNC_ENROLL_REFUSED', `this token is for ${row.child_tier} ${row.child_code}, not ${req.node.tier} ${req.node.code}`, { code: req.node.code })
  }
  // A token issued before `issueJoinToken` checked the code's shape.
  if (!codeFitsTier(req.node.code, req.node.tier)) {
    throw syncError('SYNC_ENROLL_REFUSED', `${req.node.code} is not a ${req.node.tier}'s division code: a ${req.node.tier} node cannot have it`, { code: req.node.code })
  }
  await checkProof(req.proof, req.node.code, req.kid, req.publicJwk, self.code)
  const signer = await deps.signer()
  // Re-enrolment revokes every earlier key of the node from the next seq on: the new key
  // answers from there, the others are closed at the last seq held here (a key that started
  // later gets an empty range). A key closed before is never opened again.
  const db = storage.sqlite
  const last = (db.prepare('select coalesce(max(seq), 0) s from sync_change_sets where origin = ?').get(req.node.code) as { s: number }).s
  const held = db.prepare('select valid_from_seq, valid_until_seq from sync_keys where node = ? and kid = ?').get(req.node.code, req.kid) as
    | { valid_from_seq: number; valid_until_seq: number | null }
    | undefined
  if (held && held.valid_until_seq !== null) throw syncError('SYNC_ENROLL_REFUSED', '该密钥已停用，不能再次登记；请生成新密钥后重新加入', { reason: 'revoked' })
  const issuedAt = new Date().toISOString()
  const closed: { record: KeyRecord; jws: string }[] = []
  const open = db.prepare('select record from sync_keys where node = ? and kid <> ? and (valid_until_seq is null or valid_until_seq > ?)').all(req.node.code, req.kid, last) as { record: string }[]
  for (const o of open) {
    // Signed here (perhaps with a key of ours rotated since): read, not verified again.
    const record = await readHeldKeyRecord(o.record)
    const until = Math.max(record.validFromSeq - 1, Math.min(record.validUntilSeq ?? last, last))
    const c: KeyRecord = { ...record, validUntilSeq: until, issuedAt }
    closed.push({ record: c, jws: await signKeyRecord(c, signer) })
  }
  const record: KeyRecord = { node: req.node.code, tier: req.node.tier, parent: self.code, kid: req.kid, publicJwk: req.publicJwk, validFromSeq: held?.valid_from_seq ?? last + 1, validUntilSeq: null, issuedAt }
  const jws = await signKeyRecord(record, signer)
  // With the closed keys of the chain: a re-enrolling child may still hold one of them open.
  const chain = await deps.registry.chainTo(self.code)
  storage.write(() => {
    // Used once, even if the rest fails after this point the token stays spent: ask for another.
    const used = storage.sqlite.prepare('update sync_join_tokens set used_at = ? where token_hash = ? and used_at is null').run(new Date().toISOString(), hash)
    if (used.changes !== 1) throw syncError('SYNC_ENROLL_TOKEN_INVALID', 'join token already used')
    storage.sqlite
      .prepare('insert into sync_children (code, tier, name, enrolled_at) values (?, ?, ?, ?) on conflict (code) do update set name = excluded.name, enrolled_at = excluded.enrolled_at')
      .run(req.node.code, req.node.tier, req.node.name, new Date().toISOString())
    for (const c of closed) deps.registry.storeOwnSigned(c.record, c.jws)
    deps.registry.storeOwnSigned(record, jws)
    if (deps.terminal) deps.registry.markRelayed([record, ...closed.map(c => c.record)])
  })
  return { parent: { code: self.code, tier: self.tier, name: self.name }, records: [...chain, jws] }
}

/** Child side of enrolment: proves its key, verifies the chain it gets back, records the link. */
export async function enrolWithParent(
  deps: { storage: Storage; self: SelfNode & { name: string }; registry: KeyRegistry; signer: Signer; publicJwk: Ed25519PublicJwk; transport: ParentTransport; rootKid: string | null },
  token: string,
): Promise<EnrollResponse['parent']> {
  const { self } = deps
  // The parent's code is not known yet; the proof's audience is checked by the parent against its own.
  const parentGuess = parentDivision(self.code)
  const proof = await signJws(proofPayload(self.code, deps.signer.kid, parentGuess), KEY_PROOF_TYP, deps.signer)
  const res = await deps.transport.enroll({ token, node: { code: self.code, tier: self.tier as 'city' | 'county', name: self.name }, kid: deps.signer.kid, publicJwk: deps.publicJwk, proof })
  const expectedTier = self.tier === 'county' ? 'city' : 'province'
  if (!isEnrollAnswer(res)) {
    throw syncError('SYNC_ENROLL_REFUSED', `${expectedTier} ${parentGuess} answered something that is not an enrolment answer (check node.parentUrl: is it the parent node's address?)`, { reason: 'answer' })
  }
  if (res.parent.code !== parentGuess || res.parent.tier !== expectedTier || res.records.length < 2) {
    throw syncError('SYNC_ENROLL_REFUSED', `the parent answered as ${res.parent.tier} ${res.parent.code}, expected ${expectedTier} ${parentGuess}`, { parent: res.parent.code })
  }
  // The answer's key records are stored one by one as they verify (each is checked against the
  // ones before it). An answer that fails part way must leave none of them: a root of trust taken
  // from a wrong or hostile parent would otherwise stay trusted beside the real one after the next,
  // good enrolment (the province would then have two current keys here).
  const db = deps.storage.sqlite
  const before = new Map((db.prepare('select * from sync_keys').all() as KeyRow[]).map(r => [`${r.node}\u0000${r.kid}`, r]))
  try {
    const [root, ...rest] = res.records
    await deps.registry.trustRoot(root, deps.rootKid)
    const province = { code: `${self.code.slice(0, 2)}0000`, tier: 'province' as const }
    const stored = await deps.registry.importRecords(rest, { scope: province, relayed: true })
    const mine = stored.at(-1)
    if (!mine || mine.node !== self.code || mine.kid !== deps.signer.kid || mine.parent !== res.parent.code) {
      throw syncError('SYNC_ENROLL_REFUSED', 'the parent did not return a record of this node key', { reason: 'record' })
    }
  } catch (err) {
    const answered = new Set(res.records)
    const restore = db.prepare(`insert or replace into sync_keys (${KEY_COLUMNS.join(', ')}) values (${KEY_COLUMNS.map(c => `@${c}`).join(', ')})`)
    deps.storage.write(() => {
      for (const r of db.prepare('select * from sync_keys').all() as KeyRow[]) {
        if (!answered.has(r.record)) continue
        const was = before.get(`${r.node}\u0000${r.kid}`)
        if (was) restore.run(was)
        else db.prepare('delete from sync_keys where node = ? and kid = ?').run(r.node, r.kid)
      }
    })
    throw err
  }
  deps.storage.write(() =>
    deps.storage.sqlite
      .prepare(`insert into sync_link (id, parent_code, parent_tier, parent_name, enrolled_at) values (1, ?, ?, ?, ?)
        on conflict (id) do update set parent_code = excluded.parent_code, parent_tier = excluded.parent_tier, parent_name = excluded.parent_name, enrolled_at = excluded.enrolled_at, failures = 0, next_attempt_at = 0`)
      .run(res.parent.code, res.parent.tier, res.parent.name, new Date().toISOString()),
  )
  return res.parent
}

/** A row of `sync_keys`, as read and written back by an enrolment that failed part way. */
type KeyRow = { node: string; kid: string; record: string } & Record<string, unknown>
const KEY_COLUMNS = ['node', 'kid', 'tier', 'parent', 'public_jwk', 'valid_from_seq', 'valid_until_seq', 'record', 'received_at', 'relayed_at'] as const

/** Whether a parent's answer to `enroll` has the shape of one (anything else is not a xueji parent). */
function isEnrollAnswer(res: unknown): res is EnrollResponse {
  const r = res as { parent?: { code?: unknown; tier?: unknown; name?: unknown }; records?: unknown } | null
  return (
    typeof r === 'object' && r !== null && typeof r.parent === 'object' && r.parent !== null &&
    typeof r.parent.code === 'string' && typeof r.parent.tier === 'string' && typeof r.parent.name === 'string' &&
    Array.isArray(r.records) && r.records.every(x => typeof x === 'string')
  )
}

/**
 * Child side, step 1 of rotation: a new key pair, valid from the seq after the last packed
 * one; the old key closed at that seq. Local only (see the file comment for step 2).
 */
export async function rotateOwnKey(storage: Storage, self: SelfNode, keysDir: string): Promise<{ kid: string; validFromSeq: number }> {
  if (self.tier === 'province') {
    throw syncError('SYNC_ENROLL_REFUSED', 'the province key is the root of trust: replacing it is an out-of-band procedure (every node re-pins sync.rootKid), not a rotation', { reason: 'root' })
  }
  const pair = await generateNodeKeyPair()
  const file = `node-${pair.kid.slice(0, 16)}.pem`
  writePrivateKeyFile(join(keysDir, file), pair.privatePem)
  return storage.write(() => {
    const last = (storage.sqlite.prepare('select coalesce(max(seq), 0) s from sync_change_sets where origin = ?').get(self.code) as { s: number }).s
    storage.sqlite.prepare('update node_keys set valid_until_seq = ? where valid_until_seq is null').run(last)
    storage.sqlite
      .prepare('insert into node_keys (kid, public_jwk, private_key_file, valid_from_seq, valid_until_seq, created_at) values (?, ?, ?, ?, null, ?)')
      .run(pair.kid, JSON.stringify(pair.publicJwk), file, last + 1, new Date().toISOString())
    return { kid: pair.kid, validFromSeq: last + 1 }
  })
}

/** The own key the parent has not vouched for yet (step 2 of rotation still to do), if any. */
export function unregisteredOwnKey(storage: Storage, self: SelfNode): { kid: string; publicJwk: Ed25519PublicJwk; validFromSeq: number } | undefined {
  const row = storage.sqlite
    .prepare('select k.kid, k.public_jwk, k.valid_from_seq from node_keys k where k.valid_until_seq is null and not exists (select 1 from sync_keys s where s.node = ? and s.kid = k.kid)')
    .get(self.code) as { kid: string; public_jwk: string; valid_from_seq: number } | undefined
  return row && { kid: row.kid, publicJwk: JSON.parse(row.public_jwk), validFromSeq: row.valid_from_seq }
}

/** The newest own key the parent knows as current: the one node tokens must be signed with. */
export function tokenKid(storage: Storage, self: SelfNode): string | undefined {
  return (
    storage.sqlite
      .prepare('select s.kid from sync_keys s join node_keys k on k.kid = s.kid where s.node = ? and s.valid_until_seq is null order by s.valid_from_seq desc limit 1')
      .get(self.code) as { kid: string } | undefined
  )?.kid
}

/** What a rotating node endorses with its current key. */
function endorsementPayload(node: string, kid: string, validFromSeq: number, aud: string) {
  return { node, kid, validFromSeq, aud }
}

/** Whether `err` is the parent refusing a node token because its key is not (or no longer) current there. */
function isTokenKeyClosed(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { reason?: unknown } } | null
  return e?.code === 'SYNC_TOKEN_INVALID' && e.details?.reason === 'SYNC_KEY_UNKNOWN'
}

/** `transport` with every node token signed by own key `kid`. */
function withTokenKid(transport: ParentTransport, kid: string): ParentTransport {
  return { ...transport, request: (message, opts) => transport.request(message, { ...opts, tokenKid: kid }) }
}

/**
 * Child side, step 2: the parent signs the new key's record; both records are stored.
 * `currentSigner`: the key the parent knows as current, which endorses the new one.
 *
 * Asked again until it succeeds (`prepareLink` before every push). When the parent registered the
 * new key but its answer never arrived, the parent has closed the old key, which then no longer
 * authenticates a request there (`SYNC_TOKEN_INVALID`, reason `SYNC_KEY_UNKNOWN`): the request goes
 * again with a token of the new key, and the parent answers the same rotation asked again with the
 * records it made then (`acceptRotation`).
 */
export async function finishRotation(
  deps: { storage: Storage; self: SelfNode; registry: KeyRegistry; downward: Pick<Downward, 'resignIssued'>; transport: ParentTransport; newSigner: Signer; currentSigner: Signer },
  key: { kid: string; publicJwk: Ed25519PublicJwk; validFromSeq: number },
  parentCode: string,
): Promise<void> {
  const proof = await signJws(proofPayload(deps.self.code, key.kid, parentCode), KEY_PROOF_TYP, deps.newSigner)
  const endorsement = await signJws(endorsementPayload(deps.self.code, key.kid, key.validFromSeq, parentCode), KEY_ENDORSEMENT_TYP, deps.currentSigner)
  const rotate = async (transport: ParentTransport) => {
    // The parent signs the records with its current key, which may be newer than the one known
    // here: learned first, since once the parent has closed this node's old key, that key no longer
    // authenticates a request there, and the new one does not until its record is stored here.
    await learnParentKeys(deps, transport)
    return transport.request({ type: 'key.rotate', kid: key.kid, publicJwk: key.publicJwk, validFromSeq: key.validFromSeq, proof, endorsement })
  }
  let res
  try {
    res = await rotate(deps.transport)
  } catch (err) {
    if (!isTokenKeyClosed(err)) throw err
    res = await rotate(withTokenKid(deps.transport, key.kid))
  }
  await deps.registry.importRecords(res.records, { scope: { code: parentCode, tier: deps.registry.tierOf(parentCode) ?? 'city' }, relayed: true })
  // What this node signed for its children with the old key and has not relayed yet would be
  // refused above, where the old key is closed now: signed again with the new one. So are the
  // commands it issued: its children learn that the old key is closed (`keys.pull`).
  await deps.registry.resignPending(deps.newSigner)
  await deps.downward.resignIssued(deps.newSigner)
  // Its own routed messages and death reports not delivered yet too, at their next send.
  unsignUnsent(deps.storage, deps.self.code)
  unsignOwnReports(deps.storage, deps.self.code)
}

/** The province of a city or county code. */
const provinceOf = (code: string): SelfNode => ({ code: `${code.slice(0, 2)}0000`, tier: 'province' })

/** Division codes of the nodes above `self` (province, and for a county its city). */
function ancestorsOf(self: SelfNode): string[] {
  if (self.tier === 'province') return []
  const province = provinceOf(self.code).code
  return self.tier === 'county' ? [province, parentDivision(self.code)] : [province]
}

/**
 * Child side: takes the parent's key records (`keys.pull`: its chain below the root of trust, as
 * `chainTo` builds it), so that a child learns its parent's new key after a rotation (key records
 * otherwise only go up). Trust still comes only from above: only records of this node's
 * ancestors are looked at, and each is taken under the rules of every key record
 * (`importRecords`: signed with the current key of the node's enrolling parent as held here,
 * from the root this node trusts; tier, area, no reopening). The closing records of the chain's
 * retired keys come with it (`chainTo`): a closing record only narrows a key held
 * here. Returns how many were new.
 */
export async function learnParentKeys(deps: { storage: Storage; self: SelfNode; registry: KeyRegistry }, transport: ParentTransport): Promise<number> {
  const { records } = await transport.request({ type: 'keys.pull' })
  const ancestors = ancestorsOf(deps.self)
  const held = deps.storage.sqlite.prepare('select 1 from sync_keys where record = ?')
  const fresh = records.filter(jws => {
    const claimed = openCompactJws(jws, KEY_RECORD_TYP).unverifiedPayload
    return typeof claimed.node === 'string' && ancestors.includes(claimed.node) && claimed.parent !== null && !held.get(jws)
  })
  if (fresh.length > 0) await deps.registry.importRecords(fresh, { scope: provinceOf(deps.self.code), relayed: true })
  return fresh.length
}

/** Whether `err` says a signature's key is not known here (directly, or as a refused receipt's reason). */
export function isKeyUnknown(err: unknown): boolean {
  const e = err as { code?: unknown; details?: { reason?: unknown } } | null
  return e?.code === 'SYNC_KEY_UNKNOWN' || (e?.code === 'SYNC_RECEIPT_INVALID' && e.details?.reason === 'SYNC_KEY_UNKNOWN')
}

/**
 * Runs `fn`, which verifies something the parent signed; when it fails for a key not known here,
 * learns the parent's keys (`learnParentKeys`) and runs it once more.
 */
export async function withParentKeys<T>(deps: { storage: Storage; self: SelfNode; registry: KeyRegistry }, transport: ParentTransport, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn()
  } catch (err) {
    if (!isKeyUnknown(err) || (await learnParentKeys(deps, transport)) === 0) throw err
    return fn()
  }
}

/**
 * Parent side of rotation: close the child's current record, sign the new one. The same rotation
 * asked again (same key, same `validFromSeq`, still current here: the child never got the answer)
 * is answered with the records made then.
 */
export async function acceptRotation(
  deps: { storage: Storage; self: SelfNode; registry: KeyRegistry; signer: () => Promise<Signer>; terminal: boolean },
  child: SelfNode,
  req: { kid: string; publicJwk: Ed25519PublicJwk; validFromSeq: number; proof: string; endorsement: string },
): Promise<{ records: string[] }> {
  // The new key is endorsed by the child's CURRENT key (as registered here), proven by the new
  // key itself, and countersigned by this parent: a child cannot add a key on its own. The new
  // key may not reach back over seqs held here.
  await checkProof(req.proof, child.code, req.kid, req.publicJwk, deps.self.code)
  const db = deps.storage.sqlite
  const known = db.prepare('select public_jwk, parent, valid_from_seq, valid_until_seq, record from sync_keys where node = ? and kid = ?').get(child.code, req.kid) as
    | { public_jwk: string; parent: string | null; valid_from_seq: number; valid_until_seq: number | null; record: string }
    | undefined
  if (known) {
    const again = known.parent === deps.self.code && known.valid_until_seq === null && known.valid_from_seq === req.validFromSeq && canonicalJson(JSON.parse(known.public_jwk)) === canonicalJson(req.publicJwk)
    if (!again) throw syncError('SYNC_ENROLL_REFUSED', '该密钥已登记过，轮换须使用新密钥', { reason: 'known key' })
    // Proven above by the new key, which the old one endorsed when it was registered here: the
    // old key, closed since, is not asked again. The records made then (the closings at
    // validFromSeq - 1 and the new key's), signed again with our current key, which the child
    // learns first (the same signature when it has not changed: Ed25519 is deterministic).
    const closed = db.prepare('select record from sync_keys where node = ? and kid <> ? and valid_until_seq = ? order by valid_from_seq').pluck().all(child.code, req.kid, req.validFromSeq - 1) as string[]
    const signer = await deps.signer()
    const records: string[] = []
    for (const jws of [...closed, known.record]) records.push(await signKeyRecord(await readHeldKeyRecord(jws), signer))
    return { records }
  }
  await checkEndorsement(deps.registry, child.code, req, deps.self.code)
  const last = (db.prepare('select coalesce(max(seq), 0) s from sync_change_sets where origin = ?').get(child.code) as { s: number }).s
  if (req.validFromSeq <= last) throw syncError('SYNC_MALFORMED', `the new key must start after seq ${last}, the last change set held here`, { reason: 'validFromSeq', expectedSeq: last + 1 })
  const current = db.prepare('select record from sync_keys where node = ? and valid_until_seq is null and kid <> ?').all(child.code, req.kid) as { record: string }[]
  const signer = await deps.signer()
  const records: { record: KeyRecord; jws: string }[] = []
  for (const c of current) {
    // Signed here, perhaps with a key of ours rotated since: read, not verified again.
    const record = await readHeldKeyRecord(c.record)
    // The old key may not have signed anything yet (a node with no change sets of its own, or one
    // rotating again before its next change set): starting at its first seq leaves it an empty
    // range (validUntilSeq = validFromSeq - 1). Starting before it would reach over its range.
    if (req.validFromSeq < record.validFromSeq) throw syncError('SYNC_MALFORMED', `the new key must not start before seq ${record.validFromSeq}, the old key's first`, { reason: 'validFromSeq', expectedSeq: record.validFromSeq })
    const closed: KeyRecord = { ...record, validUntilSeq: req.validFromSeq - 1, issuedAt: new Date().toISOString() }
    records.push({ record: closed, jws: await signKeyRecord(closed, signer) })
  }
  const fresh: KeyRecord = { node: child.code, tier: child.tier, parent: deps.self.code, kid: req.kid, publicJwk: req.publicJwk, validFromSeq: req.validFromSeq, validUntilSeq: null, issuedAt: new Date().toISOString() }
  records.push({ record: fresh, jws: await signKeyRecord(fresh, signer) })
  deps.storage.write(() => {
    for (const r of records) deps.registry.storeOwnSigned(r.record, r.jws)
    if (deps.terminal) deps.registry.markRelayed(records.map(r => r.record))
  })
  return { records: records.map(r => r.jws) }
}
