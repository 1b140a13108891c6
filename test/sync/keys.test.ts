import t from 'tap'
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CompactSign, calculateJwkThumbprint } from 'jose'
import {
  checkProtectedHeader,
  generateNodeKeyPair,
  importPrivateKey,
  importPublicJwk,
  KEY_RECORD_TYP,
  readPrivateKeyFile,
  signJws,
  signKeyRecord,
  staticKeyResolver,
  verifyJws,
  verifyKeyRecord,
  writePrivateKeyFile,
  type KeyRecord,
  type KeyResolver,
} from '../../sync/keys.ts'

async function node() {
  const pair = await generateNodeKeyPair()
  return { ...pair, privateKey: await importPrivateKey(pair.privatePem), publicKey: await importPublicJwk(pair.publicJwk) }
}
const b64 = (s: string) => Buffer.from(s).toString('base64url')

t.test('generateNodeKeyPair: Ed25519, kid = SHA-256 JWK thumbprint, PKCS#8 PEM', async (t) => {
  const pair = await generateNodeKeyPair()
  t.same(Object.keys(pair.publicJwk).sort(), ['crv', 'kty', 'x'])
  t.match(pair.publicJwk, { kty: 'OKP', crv: 'Ed25519' })
  t.equal(pair.kid, await calculateJwkThumbprint(pair.publicJwk, 'sha256'))
  t.match(pair.kid, /^[A-Za-z0-9_-]{43}$/)
  t.match(pair.privatePem, /^-----BEGIN PRIVATE KEY-----\n/)
  t.not((await generateNodeKeyPair()).kid, pair.kid, 'fresh key each time')
})

t.test('imported keys sign and verify through the shared gate', async (t) => {
  const n = await node()
  const jws = await signJws({ hello: 'world' }, 'xueji-test+jws', { kid: n.kid, privateKey: n.privateKey })
  const keys = staticKeyResolver([{ node: '330000', kid: n.kid, key: n.publicKey }])
  const out = await verifyJws(jws, { typ: 'xueji-test+jws', keys, signerOf: () => ({ signer: '330000' }) })
  t.same(out, { payload: { hello: 'world' }, kid: n.kid, signer: '330000' })
  // A resolver may also hand out the JWK itself.
  const jwkKeys = staticKeyResolver([{ node: '330000', kid: n.kid, key: n.publicJwk }])
  t.ok(await verifyJws(jws, { typ: 'xueji-test+jws', keys: jwkKeys, signerOf: () => ({ signer: '330000' }) }))
})

t.test('importPublicJwk refuses private, non-Ed25519 and malformed JWKs', async (t) => {
  const n = await node()
  for (const [what, jwk] of [
    ['private', { ...n.publicJwk, d: n.publicJwk.x }],
    ['EC', { kty: 'EC', crv: 'P-256', x: n.publicJwk.x, y: n.publicJwk.x }],
    ['Ed448', { ...n.publicJwk, crv: 'Ed448' }],
    ['short x', { ...n.publicJwk, x: 'AAAA' }],
    ['not an object', 'jwk'],
  ] as const) {
    await t.rejects(importPublicJwk(jwk), { code: 'SYNC_MALFORMED' }, what)
  }
})

t.test('checkProtectedHeader: EdDSA only, no embedded keys, only alg/kid/typ', async (t) => {
  const typ = 'xueji-changeset+jws'
  t.same(checkProtectedHeader({ alg: 'EdDSA', kid: 'k', typ }, typ), { alg: 'EdDSA', kid: 'k', typ })
  t.throws(() => checkProtectedHeader({ alg: 'none', kid: 'k', typ }, typ), { code: 'SYNC_ALG_NOT_ALLOWED' })
  t.throws(() => checkProtectedHeader({ alg: 'Ed25519', kid: 'k', typ }, typ), { code: 'SYNC_ALG_NOT_ALLOWED' })
  t.throws(() => checkProtectedHeader({ alg: ['EdDSA'], kid: 'k', typ }, typ), { code: 'SYNC_ALG_NOT_ALLOWED' })
  for (const p of ['jwk', 'jku', 'x5u', 'x5c']) {
    t.throws(() => checkProtectedHeader({ alg: 'EdDSA', kid: 'k', typ, [p]: null }, typ), { code: 'SYNC_EMBEDDED_KEY_REFUSED' }, p)
  }
  t.throws(() => checkProtectedHeader({ alg: 'EdDSA', kid: 'k', typ, crit: ['exp'] }, typ), { code: 'SYNC_MALFORMED' })
  t.throws(() => checkProtectedHeader({ alg: 'EdDSA', typ }, typ), { code: 'SYNC_MALFORMED' }, 'no kid')
  t.throws(() => checkProtectedHeader({ alg: 'EdDSA', kid: '', typ }, typ), { code: 'SYNC_MALFORMED' }, 'empty kid')
  t.throws(() => checkProtectedHeader({ alg: 'EdDSA', kid: 'k' }, typ), { code: 'SYNC_MALFORMED' }, 'no typ')
  t.throws(() => checkProtectedHeader([], typ), { code: 'SYNC_MALFORMED' })
})

t.test('writePrivateKeyFile writes mode 0600 whatever the umask; readPrivateKeyFile reads it back', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xueji-keys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'node.key')
  const { privatePem } = await generateNodeKeyPair()
  const old = process.umask(0o000)
  try {
    writePrivateKeyFile(path, privatePem)
  } finally {
    process.umask(old)
  }
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(readPrivateKeyFile(path), privatePem)
  t.ok(await importPrivateKey(readPrivateKeyFile(path)))
  // Overwriting a loose file leaves a tight one, and no temporary file behind.
  chmodSync(path, 0o644)
  writePrivateKeyFile(path, privatePem)
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.same(readdirSync(dir), ['node.key'])
})

t.test('readPrivateKeyFile refuses a key file readable by group or others', { skip: process.platform === 'win32' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'xueji-keys-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, 'node.key')
  writePrivateKeyFile(path, (await generateNodeKeyPair()).privatePem)
  for (const mode of [0o644, 0o640, 0o604, 0o620]) {
    chmodSync(path, mode)
    t.throws(() => readPrivateKeyFile(path), { code: 'KEY_FILE_PERMISSIONS', statusCode: 500, details: { mode: mode.toString(8) } }, mode.toString(8))
  }
  chmodSync(path, 0o400)
  t.ok(readPrivateKeyFile(path), '0400 is fine')
})

// Province 330000 → city 330100 (Hangzhou) → county 330106 (Xihu).
const province = await node()
const city = await node()
const county = await node()
const at = '2025-01-01T00:00:00.000Z'
const rec = (n: Awaited<ReturnType<typeof node>>, code: string, tier: KeyRecord['tier'], parent: string | null): KeyRecord => ({
  node: code, tier, parent, kid: n.kid, publicJwk: n.publicJwk, validFromSeq: 1, issuedAt: at,
})
const asSigner = (n: Awaited<ReturnType<typeof node>>) => ({ kid: n.kid, privateKey: n.privateKey })

t.test('R-D.2 key records: the province learns a grandchild key through the city, from its own root of trust', async (t) => {
  const provinceRecord = await signKeyRecord(rec(province, '330000', 'province', null), asSigner(province))
  const cityRecord = await signKeyRecord(rec(city, '330100', 'city', '330000'), asSigner(province))
  const countyRecord = await signKeyRecord(rec(county, '330106', 'county', '330100'), asSigner(city))

  // The province's registry starts with its own key only (configured, the root of trust).
  const registry = [{ node: '330000', kid: province.kid, key: province.publicKey }] as Parameters<typeof staticKeyResolver>[0][number][]
  const keys: KeyResolver = { resolve: (...a) => staticKeyResolver(registry).resolve(...a) }
  t.equal(JSON.parse(Buffer.from(countyRecord.split('.')[0], 'base64url').toString()).typ, KEY_RECORD_TYP)

  const root = await verifyKeyRecord(provinceRecord, keys)
  t.same(root.signer, { node: '330000', kid: province.kid })

  await t.rejects(verifyKeyRecord(countyRecord, keys), { code: 'SYNC_KEY_UNKNOWN' }, 'city key not yet known')
  const c = await verifyKeyRecord(cityRecord, keys)
  t.same(c.signer, { node: '330000', kid: province.kid })
  registry.push({ node: c.record.node, kid: c.record.kid, key: await importPublicJwk(c.record.publicJwk) })

  const g = await verifyKeyRecord(countyRecord, keys)
  t.same(g.signer, { node: '330100', kid: city.kid })
  t.same(g.record, { ...rec(county, '330106', 'county', '330100'), validUntilSeq: null })
})

t.test('R-D.2 a key record not signed by the enrolling parent is refused', async (t) => {
  const keys = staticKeyResolver([
    { node: '330000', kid: province.kid, key: province.publicKey },
    { node: '330100', kid: city.kid, key: city.publicKey },
  ])
  // The county vouches for itself, under its own kid: no such key for the parent.
  const selfSigned = await signKeyRecord(rec(county, '330106', 'county', '330100'), asSigner(county))
  await t.rejects(verifyKeyRecord(selfSigned, keys), { code: 'SYNC_KEY_UNKNOWN' })
  // … or under the parent's kid: the signature does not verify.
  const forged = await signKeyRecord(rec(county, '330106', 'county', '330100'), { kid: city.kid, privateKey: county.privateKey })
  await t.rejects(verifyKeyRecord(forged, keys), { code: 'SYNC_SIGNATURE_INVALID' })
})

t.test('R-D.2 key records go through the same header gate', async (t) => {
  const keys = staticKeyResolver([{ node: '330000', kid: province.kid, key: province.publicKey }])
  const good = await signKeyRecord(rec(city, '330100', 'city', '330000'), asSigner(province))
  const [, payload, sig] = good.split('.')
  const none = `${b64(JSON.stringify({ alg: 'none', kid: province.kid, typ: KEY_RECORD_TYP }))}.${payload}.`
  await t.rejects(verifyKeyRecord(none, keys), { code: 'SYNC_ALG_NOT_ALLOWED' })
  const withJwk = await new CompactSign(Buffer.from(payload, 'base64url'))
    .setProtectedHeader({ alg: 'EdDSA', kid: county.kid, typ: KEY_RECORD_TYP, jwk: county.publicJwk })
    .sign(county.privateKey)
  await t.rejects(verifyKeyRecord(withJwk, keys), { code: 'SYNC_EMBEDDED_KEY_REFUSED' })
  const wrongTyp = `${b64(JSON.stringify({ alg: 'EdDSA', kid: province.kid, typ: 'xueji-changeset+jws' }))}.${payload}.${sig}`
  await t.rejects(verifyKeyRecord(wrongTyp, keys), { code: 'SYNC_MALFORMED' })
})

t.test('signKeyRecord refuses a record that does not hold together', async (t) => {
  const s = asSigner(province)
  const base = rec(city, '330100', 'city', '330000')
  await t.rejects(signKeyRecord({ ...base, kid: county.kid }, s), { code: 'SYNC_MALFORMED' }, 'kid of another key')
  await t.rejects(signKeyRecord({ ...base, parent: null }, s), { code: 'SYNC_MALFORMED' }, 'city without parent')
  await t.rejects(signKeyRecord({ ...base, tier: 'province' }, s), { code: 'SYNC_MALFORMED' }, 'province with parent')
  await t.rejects(signKeyRecord({ ...base, validFromSeq: 0 }, s), { code: 'SYNC_MALFORMED' })
  await t.rejects(signKeyRecord({ ...base, validFromSeq: 5, validUntilSeq: 3 }, s), { code: 'SYNC_MALFORMED' })
  t.ok(await signKeyRecord({ ...base, validFromSeq: 5, validUntilSeq: 4 }, s), 'an empty range (a key revoked before use) is fine')
  await t.rejects(signKeyRecord({ ...base, publicJwk: { ...base.publicJwk, d: 'secret' } as KeyRecord['publicJwk'] }, s), { code: 'SYNC_MALFORMED' }, 'private key')
  t.ok(await signKeyRecord({ ...base, validFromSeq: 5, validUntilSeq: 9 }, s), 'a bounded record is fine')
})

t.test('staticKeyResolver honours validity ranges', async (t) => {
  const r = staticKeyResolver([
    { node: 'a', kid: 'old', key: province.publicKey, validFromSeq: 1, validUntilSeq: 10 },
    { node: 'a', kid: 'new', key: city.publicKey, validFromSeq: 11 },
  ])
  t.equal(r.resolve('a', 'old', { seq: 10 }), province.publicKey)
  t.equal(r.resolve('a', 'old', { seq: 11 }), undefined)
  t.equal(r.resolve('a', 'old'), undefined, 'a retired key is not current')
  t.equal(r.resolve('a', 'new', { seq: 10 }), undefined)
  t.equal(r.resolve('a', 'new'), city.publicKey)
  t.equal(r.resolve('b', 'new'), undefined, 'kid is bound to its node')
})
