import t from 'tap'
import { CompactSign, generateKeyPair, generateSecret } from 'jose'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'
import {
  CHANGESET_TYP,
  SUPPORTED_FORMATS,
  hashBody,
  isSupportedFormat,
  signChangeSet,
  splitIntoChangeSets,
  verifyChangeSet,
  type ChangeRow,
  type ChangeSetBody,
  type KeyResolver,
  type Manifest,
} from '../../sync/changeset.ts'
import { generateNodeKeyPair, importPrivateKey, importPublicJwk, signJws, staticKeyResolver } from '../../sync/keys.ts'

const ORIGIN = '330106' // Xihu District

async function nodeKeys() {
  const pair = await generateNodeKeyPair()
  return {
    kid: pair.kid,
    privateKey: await importPrivateKey(pair.privatePem),
    publicKey: await importPublicJwk(pair.publicJwk),
    publicJwk: pair.publicJwk,
  }
}

const origin = await nodeKeys()
const other = await nodeKeys()
const keys = staticKeyResolver([{ node: ORIGIN, kid: origin.kid, key: origin.publicKey }])
const signer = { kid: origin.kid, privateKey: origin.privateKey }

const rows: ChangeRow[] = [
  { table: 'student', key: { xjh: 'L330106201500001' }, op: 'upsert', row: { name: '张三', grade: 3 }, version: 1, epoch: 0, actor: 'u1' },
  { table: 'student', key: { xjh: 'G330106201500001' }, op: 'upsert', row: { name: '张三' }, version: 2, epoch: 0, rekey: { from: { xjh: 'L330106201500001' } } },
  { table: 'class', key: { school: '3301060001', code: '301' }, op: 'delete', version: 4 },
]
const body: ChangeSetBody = { format: 1, origin: ORIGIN, seq: 1, prev: null, createdAt: '2025-03-01T02:00:00.000Z', rows }

const b64 = (s: string) => Buffer.from(s).toString('base64url')
const unb64 = (s: string) => Buffer.from(s, 'base64url').toString('utf8')
const setPart = (jws: string, i: number, part: string) => jws.split('.').map((p, j) => (j === i ? part : p)).join('.')
/** Replaces one character of a base64url string by a different valid one. */
const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1)

function manifestOf(text: string, b: ChangeSetBody, over: Partial<Manifest> = {}): Manifest {
  return {
    format: b.format, origin: b.origin, seq: b.seq, prev: b.prev, hash: sha256Hex(text),
    rows: b.rows.length, bytes: Buffer.byteLength(text), createdAt: b.createdAt, ...over,
  }
}

t.test('R-D.2 round trip: a signed change set verifies and yields body, manifest and kid', async (t) => {
  const signed = await signChangeSet(body, signer)
  t.equal(signed.body, canonicalJson(body))
  t.equal(signed.hash, hashBody(body))
  const header = JSON.parse(unb64(signed.jws.split('.')[0]))
  t.same(header, { alg: 'EdDSA', kid: origin.kid, typ: CHANGESET_TYP })
  const out = await verifyChangeSet(signed, keys)
  t.same(out.body, body)
  t.equal(out.kid, origin.kid)
  t.match(out.manifest, { format: 1, origin: ORIGIN, seq: 1, prev: null, hash: signed.hash, rows: 3, bytes: Buffer.byteLength(signed.body) })
  t.ok(signed.jws.length < 600, 'the signed payload is the small manifest, not the body')
})

t.test('R-D.2 a chain: seq 2 carries the hash of seq 1 as prev', async (t) => {
  const first = await signChangeSet(body, signer)
  const second = await signChangeSet({ ...body, seq: 2, prev: first.hash, rows: rows.slice(0, 1) }, signer)
  const out = await verifyChangeSet(second, keys)
  t.equal(out.manifest.prev, first.hash)
})

t.test('R-D.2 a flipped byte in the body is refused SYNC_HASH_MISMATCH', async (t) => {
  const signed = await signChangeSet(body, signer)
  const tampered = signed.body.replace('"grade":3', '"grade":4')
  t.not(tampered, signed.body)
  await t.rejects(verifyChangeSet({ ...signed, body: tampered }, keys), { code: 'SYNC_HASH_MISMATCH' })
  // Even when the sender's own `hash` field is updated to match, the signed manifest decides.
  await t.rejects(verifyChangeSet({ ...signed, body: tampered, hash: sha256Hex(tampered) }, keys), { code: 'SYNC_HASH_MISMATCH' })
})

t.test('R-D.2 a changed byte in the JWS payload is refused SYNC_SIGNATURE_INVALID', async (t) => {
  const signed = await signChangeSet(body, signer)
  const payload = unb64(signed.jws.split('.')[1])
  const h = JSON.parse(payload).hash as string
  const forged = payload.replace(h, (h[0] === 'a' ? 'b' : 'a') + h.slice(1))
  t.equal(forged.length, payload.length, 'one byte changed')
  await t.rejects(verifyChangeSet({ ...signed, jws: setPart(signed.jws, 1, b64(forged)) }, keys), { code: 'SYNC_SIGNATURE_INVALID' })
})

t.test('R-D.2 a flipped byte in the signature is refused SYNC_SIGNATURE_INVALID', async (t) => {
  const signed = await signChangeSet(body, signer)
  const sig = signed.jws.split('.')[2]
  await t.rejects(verifyChangeSet({ ...signed, jws: setPart(signed.jws, 2, flipChar(sig, 10)) }, keys), { code: 'SYNC_SIGNATURE_INVALID' })
})

t.test('R-D.2 alg none is refused SYNC_ALG_NOT_ALLOWED before any key lookup', async (t) => {
  const signed = await signChangeSet(body, signer)
  const payload = signed.jws.split('.')[1]
  let lookups = 0
  const spy: KeyResolver = { resolve: (o, k, at) => (lookups++, keys.resolve(o, k, at)) }
  for (const alg of ['none', 'None', 'NONE']) {
    const header = b64(JSON.stringify({ alg, kid: origin.kid, typ: CHANGESET_TYP }))
    await t.rejects(verifyChangeSet({ ...signed, jws: `${header}.${payload}.` }, spy), { code: 'SYNC_ALG_NOT_ALLOWED' }, alg)
  }
  const noAlg = b64(JSON.stringify({ kid: origin.kid, typ: CHANGESET_TYP }))
  await t.rejects(verifyChangeSet({ ...signed, jws: `${noAlg}.${payload}.${signed.jws.split('.')[2]}` }, spy), { code: 'SYNC_ALG_NOT_ALLOWED' }, 'missing alg')
  t.equal(lookups, 0)
})

t.test('R-D.2 HS256 and ES256 signatures are refused SYNC_ALG_NOT_ALLOWED', async (t) => {
  const signed = await signChangeSet(body, signer)
  const manifestBytes = Buffer.from(signed.jws.split('.')[1], 'base64url')
  // HS256 keyed with the origin's PUBLIC key bytes: the classic key-confusion attack.
  const secret = Buffer.from(origin.publicJwk.x, 'base64url')
  const hs = await new CompactSign(manifestBytes).setProtectedHeader({ alg: 'HS256', kid: origin.kid, typ: CHANGESET_TYP }).sign(secret)
  await t.rejects(verifyChangeSet({ ...signed, jws: hs }, keys), { code: 'SYNC_ALG_NOT_ALLOWED', details: { alg: 'HS256' } })
  const hs2 = await new CompactSign(manifestBytes).setProtectedHeader({ alg: 'HS256', kid: origin.kid, typ: CHANGESET_TYP }).sign(await generateSecret('HS256'))
  await t.rejects(verifyChangeSet({ ...signed, jws: hs2 }, keys), { code: 'SYNC_ALG_NOT_ALLOWED' })
  const ec = await generateKeyPair('ES256')
  const es = await new CompactSign(manifestBytes).setProtectedHeader({ alg: 'ES256', kid: origin.kid, typ: CHANGESET_TYP }).sign(ec.privateKey)
  await t.rejects(verifyChangeSet({ ...signed, jws: es }, keys), { code: 'SYNC_ALG_NOT_ALLOWED', details: { alg: 'ES256' } })
})

t.test('R-D.2 an unknown kid is refused SYNC_KEY_UNKNOWN', async (t) => {
  const signed = await signChangeSet(body, { kid: other.kid, privateKey: other.privateKey })
  await t.rejects(verifyChangeSet(signed, keys), { code: 'SYNC_KEY_UNKNOWN', details: { signer: ORIGIN, kid: other.kid } })
})

t.test('R-D.2 a node cannot sign for another origin with its own registered key', async (t) => {
  // `other` is registered for 330105; it signs a change set claiming origin 330106.
  const both = staticKeyResolver([
    { node: ORIGIN, kid: origin.kid, key: origin.publicKey },
    { node: '330105', kid: other.kid, key: other.publicKey },
  ])
  const signed = await signChangeSet(body, { kid: other.kid, privateKey: other.privateKey })
  await t.rejects(verifyChangeSet(signed, both), { code: 'SYNC_KEY_UNKNOWN' })
})

t.test('R-D.2 another key presented under the registered kid is refused SYNC_SIGNATURE_INVALID', async (t) => {
  const signed = await signChangeSet(body, { kid: origin.kid, privateKey: other.privateKey })
  await t.rejects(verifyChangeSet(signed, keys), { code: 'SYNC_SIGNATURE_INVALID' })
})

t.test('R-D.2 a validly signed JWS carrying its own key (jwk header) is refused SYNC_EMBEDDED_KEY_REFUSED', async (t) => {
  const signed = await signChangeSet(body, signer)
  const manifestBytes = Buffer.from(signed.jws.split('.')[1], 'base64url')
  const withJwk = await new CompactSign(manifestBytes)
    .setProtectedHeader({ alg: 'EdDSA', kid: other.kid, typ: CHANGESET_TYP, jwk: { ...other.publicJwk } })
    .sign(other.privateKey)
  await t.rejects(verifyChangeSet({ ...signed, jws: withJwk }, keys), { code: 'SYNC_EMBEDDED_KEY_REFUSED', details: { params: ['jwk'] } })
  // Even when the embedded key is the registered one: the message never chooses its key.
  const sameKey = await new CompactSign(manifestBytes)
    .setProtectedHeader({ alg: 'EdDSA', kid: origin.kid, typ: CHANGESET_TYP, jwk: { ...origin.publicJwk } })
    .sign(origin.privateKey)
  await t.rejects(verifyChangeSet({ ...signed, jws: sameKey }, keys), { code: 'SYNC_EMBEDDED_KEY_REFUSED' })
  for (const [param, value] of [['jku', 'https://evil.example/jwks'], ['x5u', 'https://evil.example/cert'], ['x5c', ['MIIB']]] as const) {
    const header = b64(JSON.stringify({ alg: 'EdDSA', kid: origin.kid, typ: CHANGESET_TYP, [param]: value }))
    const [, p, s] = signed.jws.split('.')
    await t.rejects(verifyChangeSet({ ...signed, jws: `${header}.${p}.${s}` }, keys), { code: 'SYNC_EMBEDDED_KEY_REFUSED' }, param)
  }
})

t.test('R-D.2 other header parameters and a wrong typ are refused SYNC_MALFORMED', async (t) => {
  const signed = await signChangeSet(body, signer)
  const [, p] = signed.jws.split('.')
  const bytes = Buffer.from(p, 'base64url')
  const crit = await new CompactSign(bytes).setProtectedHeader({ alg: 'EdDSA', kid: origin.kid, typ: CHANGESET_TYP, crit: ['b64'], b64: true }).sign(origin.privateKey)
  await t.rejects(verifyChangeSet({ ...signed, jws: crit }, keys), { code: 'SYNC_MALFORMED' })
  const asReceipt = await new CompactSign(bytes).setProtectedHeader({ alg: 'EdDSA', kid: origin.kid, typ: 'xueji-receipt+jws' }).sign(origin.privateKey)
  await t.rejects(verifyChangeSet({ ...signed, jws: asReceipt }, keys), { code: 'SYNC_MALFORMED', details: { expectedTyp: CHANGESET_TYP } })
  for (const jws of ['', 'a.b', 'a.b.c.d', '!!.x.y', `${signed.jws}.`]) {
    await t.rejects(verifyChangeSet({ ...signed, jws }, keys), { code: 'SYNC_MALFORMED' }, JSON.stringify(jws))
  }
})

t.test('R-D.2 a non-canonical body is refused SYNC_MALFORMED even with a valid signature and hash', async (t) => {
  const pretty = JSON.stringify(body, null, 2)
  const jws = await signJws(manifestOf(pretty, body), CHANGESET_TYP, signer)
  await t.rejects(verifyChangeSet({ body: pretty, jws, hash: sha256Hex(pretty) }, keys), { code: 'SYNC_MALFORMED', details: { reason: 'not-canonical' } })
})

t.test('R-D.2 a body that disagrees with its manifest is refused SYNC_MALFORMED', async (t) => {
  const text = canonicalJson(body)
  for (const over of [{ seq: 2, prev: sha256Hex('x') }, { origin: '330105' }, { rows: 2 }, { createdAt: '2025-03-02T00:00:00.000Z' }, { bytes: 1 }]) {
    const signer2 = over.origin ? { kid: other.kid, privateKey: other.privateKey } : signer
    const reg = over.origin ? staticKeyResolver([{ node: '330105', kid: other.kid, key: other.publicKey }]) : keys
    const jws = await signJws(manifestOf(text, body, over), CHANGESET_TYP, signer2)
    await t.rejects(verifyChangeSet({ body: text, jws, hash: sha256Hex(text) }, reg), { code: 'SYNC_MALFORMED' }, Object.keys(over).join())
  }
})

t.test('a format outside SUPPORTED_FORMATS is refused SYNC_FORMAT_UNSUPPORTED', async (t) => {
  t.same(SUPPORTED_FORMATS, [1])
  t.ok(isSupportedFormat(1))
  t.notOk(isSupportedFormat(2))
  t.notOk(isSupportedFormat('1'))
  const text = canonicalJson({ ...body, format: 2 })
  const jws = await signJws(manifestOf(text, body, { format: 2 }), CHANGESET_TYP, signer)
  await t.rejects(verifyChangeSet({ body: text, jws, hash: sha256Hex(text) }, keys), { code: 'SYNC_FORMAT_UNSUPPORTED', details: { format: 2 } })
})

t.test('R-D.2 key rotation: a retired key verifies its old seqs but not new ones', async (t) => {
  const next = await nodeKeys()
  const rotated = staticKeyResolver([
    { node: ORIGIN, kid: origin.kid, key: origin.publicKey, validFromSeq: 1, validUntilSeq: 5 },
    { node: ORIGIN, kid: next.kid, key: next.publicKey, validFromSeq: 6 },
  ])
  const at = (seq: number) => ({ ...body, seq, prev: seq === 1 ? null : sha256Hex(String(seq - 1)) })
  t.ok(await verifyChangeSet(await signChangeSet(at(5), signer), rotated), 'old key, old seq')
  await t.rejects(verifyChangeSet(await signChangeSet(at(6), signer), rotated), { code: 'SYNC_KEY_UNKNOWN', details: { seq: 6 } })
  t.ok(await verifyChangeSet(await signChangeSet(at(6), { kid: next.kid, privateKey: next.privateKey }), rotated), 'new key, new seq')
  await t.rejects(verifyChangeSet(await signChangeSet(at(5), { kid: next.kid, privateKey: next.privateKey }), rotated), { code: 'SYNC_KEY_UNKNOWN' })
})

t.test('signChangeSet refuses to sign a malformed body', async (t) => {
  const bad: [string, unknown][] = [
    ['seq 2 without prev', { ...body, seq: 2, prev: null }],
    ['seq 1 with prev', { ...body, prev: sha256Hex('x') }],
    ['seq 0', { ...body, seq: 0 }],
    ['tombstone with a row image', { ...body, rows: [{ table: 't', key: { k: '1' }, op: 'delete', row: { a: 1 }, version: 1 }] }],
    ['upsert without row', { ...body, rows: [{ table: 't', key: { k: '1' }, op: 'upsert', version: 1 }] }],
    ['non-string key', { ...body, rows: [{ table: 't', key: { k: 1 }, op: 'upsert', row: {}, version: 1 }] }],
    ['bad op', { ...body, rows: [{ table: 't', key: { k: '1' }, op: 'merge', row: {}, version: 1 }] }],
    ['bad rekey', { ...body, rows: [{ ...rows[1], rekey: { from: 'L1' } }] }],
    ['unknown row field', { ...body, rows: [{ ...rows[0], extra: 1 }] }],
    ['unknown body field', { ...body, note: 'x' }],
    ['undefined value', { ...body, rows: [{ ...rows[0], actor: undefined }] }],
    ['bad createdAt', { ...body, createdAt: 'yesterday' }],
  ]
  for (const [what, b] of bad) await t.rejects(signChangeSet(b as ChangeSetBody, signer), { code: 'SYNC_MALFORMED' }, what)
})

t.test('a change set with no rows is valid (a heartbeat of the chain)', async (t) => {
  const out = await verifyChangeSet(await signChangeSet({ ...body, rows: [] }, signer), keys)
  t.equal(out.manifest.rows, 0)
})

t.test('splitIntoChangeSets respects maxRows and maxBytes, keeps order, puts an oversize row alone', async (t) => {
  const mk = (i: number, size = 10): ChangeRow => ({ table: 't', key: { k: String(i) }, op: 'upsert', row: { v: 'x'.repeat(size) }, version: 1 })
  const many = Array.from({ length: 25 }, (_, i) => mk(i))
  const byRows = splitIntoChangeSets(many, { maxRows: 10, maxBytes: 1e9 })
  t.same(byRows.map((c) => c.length), [10, 10, 5])
  t.same(byRows.flat(), many, 'order and content kept')

  const rowBytes = Buffer.byteLength(canonicalJson(mk(0))) + 1
  const byBytes = splitIntoChangeSets(many.slice(0, 10), { maxRows: 100, maxBytes: rowBytes * 3 })
  t.same(byBytes.map((c) => c.length), [3, 3, 3, 1])
  for (const c of byBytes) t.ok(c.reduce((n, r) => n + Buffer.byteLength(canonicalJson(r)) + 1, 0) <= rowBytes * 3)

  const big = mk(99, 5000)
  const mixed = splitIntoChangeSets([mk(1), big, mk(2)], { maxRows: 100, maxBytes: 1000 })
  t.same(mixed, [[mk(1)], [big], [mk(2)]], 'oversize row goes alone')

  t.same(splitIntoChangeSets([], { maxRows: 1, maxBytes: 1 }), [])
  t.throws(() => splitIntoChangeSets(many, { maxRows: 0, maxBytes: 10 }), RangeError)
  t.throws(() => splitIntoChangeSets(many, { maxRows: 1, maxBytes: 1.5 }), RangeError)
})

t.test('R-25.2 R-D.2 the audit anchor: signed in the manifest, optional (older senders), malformed refused SYNC_MALFORMED', async (t) => {
  const text = canonicalJson(body)
  const anchor = { seq: 7, hash: sha256Hex('entry 7') }
  const signed = await signChangeSet(body, signer, anchor)
  t.same((await verifyChangeSet(signed, keys)).manifest.audit, anchor, 'carried and verified')
  t.notOk('audit' in (await verifyChangeSet(await signChangeSet(body, signer), keys)).manifest, 'absent: accepted as from an older sender')
  // Changing the anchor breaks the signature: it is covered like the rest of the manifest.
  const [h, p, s] = signed.jws.split('.')
  const forged = JSON.parse(unb64(p))
  forged.audit.seq = 8
  await t.rejects(verifyChangeSet({ ...signed, jws: [h, b64(JSON.stringify(forged)), s].join('.') }, keys), { code: 'SYNC_SIGNATURE_INVALID' })
  for (const audit of [{ seq: 0, hash: anchor.hash }, { seq: 1.5, hash: anchor.hash }, { seq: 1, hash: 'x' }, { seq: 1 }, { seq: 1, hash: anchor.hash, extra: 1 }, 'head', null]) {
    const jws = await signJws({ ...manifestOf(text, body), audit } as unknown as Manifest, CHANGESET_TYP, signer)
    await t.rejects(verifyChangeSet({ body: text, jws, hash: sha256Hex(text) }, keys), { code: 'SYNC_MALFORMED' }, JSON.stringify(audit))
  }
})
