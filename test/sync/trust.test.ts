import t from 'tap'
import { signChangeSet, type ChangeRow } from '../../sync/changeset.ts'
import { KEY_ENDORSEMENT_TYP, KEY_PROOF_TYP } from '../../sync/enrolment.ts'
import { generateNodeKeyPair, importPrivateKey, signJws, signKeyRecord, type KeyRecord, type Signer } from '../../sync/keys.ts'
import { issueNodeToken } from '../../sync/node-token.ts'
import { loadSigner } from '../../sync/signers.ts'
import { NODE_AUTH_SCHEME } from '../../sync/transport.ts'
import { makeFederation, settle, type TestSyncNode } from './lib/nodes.ts'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

const keysPush = (from: TestSyncNode, records: string[]) => from.sync.transport!.request({ type: 'keys.push', records })
const head = (n: TestSyncNode, origin: string) =>
  (n.storage.sqlite.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string } | undefined) ?? { seq: 0, hash: null }
const upsert = (table: string, row: Record<string, unknown>): ChangeRow => ({ table, key: { id: row.id as string }, op: 'upsert', row, version: 1 })
const publicJwkOf = (n: TestSyncNode, kid: string) => JSON.parse(n.storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').pluck().get(kid) as string)
const keyRow = (n: TestSyncNode, node: string, kid: string) =>
  n.storage.sqlite.prepare('select tier, parent, valid_from_seq, valid_until_seq from sync_keys where node = ? and kid = ?').get(node, kid) as
    | { tier: string; parent: string | null; valid_from_seq: number; valid_until_seq: number | null }
    | undefined

/** The next change set of `origin` as seen at `at`, signed with `signer`. */
async function nextSet(at: TestSyncNode, origin: string, rows: ChangeRow[], signer: Signer) {
  const h = head(at, origin)
  return signChangeSet({ format: 1, origin, seq: h.seq + 1, prev: h.hash, createdAt: new Date().toISOString(), rows }, signer)
}

t.test('R-D.2 R-25.2 a county cannot vouch for itself: self-signed and root-claiming key records are refused, its tier and area stay what the city recorded', async t => {
  const { province, city, county } = await makeFederation(t)
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  await settle(county, city, province)
  const own = await loadSigner(county.storage)
  const base = { node: '330106', kid: own.kid, publicJwk: publicJwkOf(county, own.kid), validFromSeq: 1, validUntilSeq: null, issuedAt: new Date().toISOString() }

  const asProvince = await signKeyRecord({ ...base, tier: 'province', parent: null } as KeyRecord, own)
  await t.rejects(keysPush(county, [asProvince]), { code: 'SYNC_KEY_NOT_VOUCHED', details: { reason: 'root' } }, 'a self-declared province (parent null, self-signed)')
  const asOwnParent = await signKeyRecord({ ...base, tier: 'city', parent: '330106' } as KeyRecord, own)
  await t.rejects(keysPush(county, [asOwnParent]), { code: 'SYNC_KEY_NOT_VOUCHED', details: { reason: 'self' } }, 'a county as its own parent')
  const extra = await generateNodeKeyPair()
  const added = await signKeyRecord({ ...base, kid: extra.kid, publicJwk: extra.publicJwk, tier: 'county', parent: '330106' } as KeyRecord, own)
  await t.rejects(keysPush(county, [added]), { code: 'SYNC_KEY_NOT_VOUCHED' }, 'a new key of its own, self-signed')

  t.equal(city.sync.registry.tierOf('330106'), 'county', 'the tier is what enrolment recorded')
  t.notOk(keyRow(city, '330106', extra.kid), 'the self-made key is not registered')
  t.same(city.storage.sqlite.prepare("select distinct tier, parent from sync_keys where node = '330106'").all(), [{ tier: 'county', parent: '330100' }], 'no record claims another tier or parent')

  // And so its change sets keep a county's area: another county's school, another city's school.
  for (const division of ['330108', '330203']) {
    const signed = await nextSet(city, '330106', [upsert('schools', schoolRow('330106', division, 7))], own)
    await t.rejects(county.sync.transport!.request({ type: 'changeset.push', changeSet: signed }), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, `a school in ${division} is refused`)
  }
})

t.test('R-D.2 R-25.2 a parent vouches only for its own children, one tier below, as enrolment recorded them', async t => {
  const { province, city, county } = await makeFederation(t)
  await settle(county, city, province)
  const citySigner = await loadSigner(city.storage)
  const pair = await generateNodeKeyPair()
  const rec = (over: Partial<KeyRecord>): KeyRecord => ({ node: '330106', tier: 'county', parent: '330100', kid: pair.kid, publicJwk: pair.publicJwk, validFromSeq: 1, validUntilSeq: null, issuedAt: new Date().toISOString(), ...over })
  // A compromised city pushing to the province.
  await t.rejects(keysPush(city, [await signKeyRecord(rec({ tier: 'city' }), citySigner)]), { code: 'SYNC_KEY_NOT_VOUCHED', details: { reason: 'tier' } }, 'a child raised to the parent tier')
  await t.rejects(keysPush(city, [await signKeyRecord(rec({ node: '330100', tier: 'city', parent: '330100' }), citySigner)]), { code: 'SYNC_KEY_NOT_VOUCHED', details: { reason: 'self' } }, 'the city itself')
  await t.rejects(keysPush(city, [await signKeyRecord(rec({ node: '330203' }), citySigner)]), { code: 'SYNC_ORIGIN_OUTSIDE_SUBTREE' }, 'a county of another city')
  t.equal(province.sync.registry.tierOf('330106'), 'county')
})

t.test('R-D.2 re-enrolment revokes every earlier key of the node from the next seq on, at every tier; a replayed old record cannot reopen it', async t => {
  const { province, city, county } = await makeFederation(t)
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  await settle(county, city, province)
  const old = await loadSigner(county.storage)
  const oldRecord = city.storage.sqlite.prepare("select record from sync_keys where node = '330106' and kid = ?").pluck().get(old.kid) as string

  // The county is re-enrolled with a fresh key (say after its server was replaced).
  const pair = await generateNodeKeyPair()
  const fresh: Signer = { kid: pair.kid, privateKey: await importPrivateKey(pair.privatePem) }
  const { token } = city.sync.joinToken({ code: '330106', tier: 'county' })
  const proof = await signJws({ node: '330106', kid: pair.kid, aud: '330100' }, KEY_PROOF_TYP, fresh)
  await city.sync.receiver.enroll({ token, node: { code: '330106', tier: 'county', name: '西湖区教育局' }, kid: pair.kid, publicJwk: pair.publicJwk, proof })
  await settle(city, province)
  for (const n of [city, province]) {
    t.match(keyRow(n, '330106', old.kid), { valid_until_seq: 1 }, `${n.code}: the old key ends at the last seq held`)
    t.match(keyRow(n, '330106', pair.kid), { valid_from_seq: 2, valid_until_seq: null }, `${n.code}: the new key starts at the next seq`)
  }
  const withOld = await nextSet(city, '330106', [], old)
  const oldToken = await issueNodeToken({ iss: '330106', aud: '330100', kid: old.kid, privateKey: old.privateKey })
  await t.rejects(city.sync.receiver.handle(`${NODE_AUTH_SCHEME} ${oldToken}`, { type: 'origins.list' }), { code: 'SYNC_TOKEN_INVALID' }, 'the old key no longer authenticates')
  await t.rejects(city.sync.inbox.receive({ code: '330106', tier: 'county' }, withOld), { code: 'SYNC_KEY_UNKNOWN' }, 'the old key no longer signs change sets')
  t.equal((await city.sync.inbox.receive({ code: '330106', tier: 'county' }, await nextSet(city, '330106', [], fresh))).status, 'applied', 'the new key does')

  // The old open record, replayed by the city to the province, does not reopen the key.
  await t.rejects(keysPush(city, [oldRecord]), { code: 'SYNC_KEY_NOT_VOUCHED', details: { reason: 'reopen' } })
  t.match(keyRow(province, '330106', old.kid), { valid_until_seq: 1 })
})

t.test('R-D.2 a rotation needs the current key\'s endorsement and the parent\'s countersignature, may not reach back over seqs the parent holds, nor reuse a registered key', async t => {
  const { province, city, county } = await makeFederation(t)
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  await settle(county, city, province)
  const own = await loadSigner(county.storage)
  const pair = await generateNodeKeyPair()
  const fresh: Signer = { kid: pair.kid, privateKey: await importPrivateKey(pair.privatePem) }
  const proofBy = (s: Signer) => signJws({ node: '330106', kid: s.kid, aud: '330100' }, KEY_PROOF_TYP, s)
  const endorse = (by: Signer, kid: string, validFromSeq: number) => signJws({ node: '330106', kid, validFromSeq, aud: '330100' }, KEY_ENDORSEMENT_TYP, by)
  const rotate = async (validFromSeq: number, endorsement: string, key = pair, signer = fresh) =>
    county.sync.transport!.request({ type: 'key.rotate', kid: key.kid, publicJwk: key.publicJwk, validFromSeq, proof: await proofBy(signer), endorsement })

  await t.rejects(rotate(2, await endorse(fresh, pair.kid, 2)), { code: 'SYNC_ENROLL_REFUSED', details: { reason: 'endorsement' } }, 'a new key endorsed by itself')
  await t.rejects(rotate(2, await endorse(own, pair.kid, 3)), { code: 'SYNC_ENROLL_REFUSED', details: { reason: 'endorsement' } }, 'an endorsement of another range')
  await t.rejects(rotate(1, await endorse(own, pair.kid, 1)), { code: 'SYNC_MALFORMED', details: { reason: 'validFromSeq' } }, 'a range reaching back over seq 1, held at the city')
  const ownKey = { kid: own.kid, publicJwk: publicJwkOf(county, own.kid), privatePem: '' }
  await t.rejects(rotate(5, await endorse(own, own.kid, 5), ownKey, own), { code: 'SYNC_ENROLL_REFUSED', details: { reason: 'known key' } }, 'the current key again')
  t.notOk(keyRow(city, '330106', pair.kid), 'no new key registered')
  t.match(await rotate(2, await endorse(own, pair.kid, 2)), { records: [String, String] }, 'endorsed by the current key and proven by the new one: countersigned')
  t.match(keyRow(city, '330106', own.kid), { valid_until_seq: 1 })
})
