import t from 'tap'
import { CompactSign, SignJWT } from 'jose'
import { generateNodeKeyPair, importPrivateKey, importPublicJwk, staticKeyResolver, type KeyResolver } from '../../sync/keys.ts'
import { issueNodeToken, verifyNodeToken } from '../../sync/node-token.ts'

async function node() {
  const pair = await generateNodeKeyPair()
  return { ...pair, privateKey: await importPrivateKey(pair.privatePem), publicKey: await importPublicJwk(pair.publicJwk) }
}
const CHILD = '330106'
const PARENT = '330100'
const child = await node()
const stranger = await node()
const keys = staticKeyResolver([{ node: CHILD, kid: child.kid, key: child.publicKey }])
const issue = (over: Partial<Parameters<typeof issueNodeToken>[0]> = {}) =>
  issueNodeToken({ iss: CHILD, aud: PARENT, kid: child.kid, privateKey: child.privateKey, ...over })
const b64 = (s: string) => Buffer.from(s).toString('base64url')

t.test('round trip: the parent learns who is calling', async (t) => {
  const token = await issue()
  const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString())
  t.same(header, { alg: 'EdDSA', kid: child.kid, typ: 'JWT' })
  const claims = await verifyNodeToken(token, { audience: PARENT, keys })
  t.match(claims, { iss: CHILD, kid: child.kid, jti: /^[0-9a-f-]{36}$/ })
  t.ok(claims.exp > Date.now() / 1000 + 50 && claims.exp <= Date.now() / 1000 + 60)
  const again = await verifyNodeToken(await issue(), { audience: PARENT, keys })
  t.not(again.jti, claims.jti, 'jti is random per token')
})

t.test('a token for another audience is refused SYNC_TOKEN_INVALID', async (t) => {
  const token = await issue({ aud: '330200' })
  await t.rejects(verifyNodeToken(token, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID', statusCode: 401, details: { reason: 'claim aud' } })
})

t.test('expiry: refused SYNC_TOKEN_EXPIRED beyond the 30 s clock tolerance', async (t) => {
  const token = await issue({ ttlSeconds: 60 })
  const now = Date.now()
  t.ok(await verifyNodeToken(token, { audience: PARENT, keys, currentDate: new Date(now + 80_000) }), 'within tolerance')
  await t.rejects(verifyNodeToken(token, { audience: PARENT, keys, currentDate: new Date(now + 120_000) }), { code: 'SYNC_TOKEN_EXPIRED', statusCode: 401 })
  const short = await issue({ ttlSeconds: 1 })
  await t.rejects(verifyNodeToken(short, { audience: PARENT, keys, currentDate: new Date(now + 40_000) }), { code: 'SYNC_TOKEN_EXPIRED' })
})

t.test('lifetimes: at most 300 s issued or accepted', async (t) => {
  await t.rejects(issue({ ttlSeconds: 301 }), RangeError)
  await t.rejects(issue({ ttlSeconds: 0 }), RangeError)
  const long = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: child.kid, typ: 'JWT' })
    .setIssuer(CHILD).setAudience(PARENT).setJti('x').setIssuedAt().setExpirationTime('1h')
    .sign(child.privateKey)
  await t.rejects(verifyNodeToken(long, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID', details: { reason: 'lifetime too long' } })
  const noJti = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: child.kid, typ: 'JWT' })
    .setIssuer(CHILD).setAudience(PARENT).setIssuedAt().setExpirationTime('1m')
    .sign(child.privateKey)
  await t.rejects(verifyNodeToken(noJti, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID' })
})

t.test('R-D.2 unknown kid, foreign key and claimed identity are refused SYNC_TOKEN_INVALID', async (t) => {
  await t.rejects(verifyNodeToken(await issue({ kid: stranger.kid, privateKey: stranger.privateKey }), { audience: PARENT, keys }), {
    code: 'SYNC_TOKEN_INVALID', details: { reason: 'SYNC_KEY_UNKNOWN' },
  })
  await t.rejects(verifyNodeToken(await issue({ privateKey: stranger.privateKey }), { audience: PARENT, keys }), {
    code: 'SYNC_TOKEN_INVALID', details: { reason: 'signature' },
  })
  // The child's own key, claiming to be its sibling: that sibling has no such kid.
  await t.rejects(verifyNodeToken(await issue({ iss: '330105' }), { audience: PARENT, keys }), {
    code: 'SYNC_TOKEN_INVALID', details: { reason: 'SYNC_KEY_UNKNOWN' },
  })
})

t.test('R-D.2 alg none, HS256 and an embedded jwk are refused through the shared header gate', async (t) => {
  const token = await issue()
  const [, payload, sig] = token.split('.')
  const none = `${b64(JSON.stringify({ alg: 'none', kid: child.kid, typ: 'JWT' }))}.${payload}.`
  await t.rejects(verifyNodeToken(none, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID', details: { reason: 'SYNC_ALG_NOT_ALLOWED' } })
  const hs = await new CompactSign(Buffer.from(payload, 'base64url'))
    .setProtectedHeader({ alg: 'HS256', kid: child.kid, typ: 'JWT' })
    .sign(Buffer.from(child.publicJwk.x, 'base64url'))
  await t.rejects(verifyNodeToken(hs, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID', details: { reason: 'SYNC_ALG_NOT_ALLOWED' } })
  const withJwk = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: stranger.kid, typ: 'JWT', jwk: stranger.publicJwk })
    .setIssuer(CHILD).setAudience(PARENT).setJti('x').setIssuedAt().setExpirationTime('1m')
    .sign(stranger.privateKey)
  await t.rejects(verifyNodeToken(withJwk, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID', details: { reason: 'SYNC_EMBEDDED_KEY_REFUSED' } })
  const tampered = `${token.split('.')[0]}.${b64(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString()), aud: '330200' }))}.${sig}`
  await t.rejects(verifyNodeToken(tampered, { audience: '330200', keys }), { code: 'SYNC_TOKEN_INVALID', details: { reason: 'signature' } })
  for (const junk of ['', 'abc', 'a.b.c']) {
    await t.rejects(verifyNodeToken(junk, { audience: PARENT, keys }), { code: 'SYNC_TOKEN_INVALID' }, junk)
  }
})

t.test('a failing registry is not turned into a 401', async (t) => {
  const broken: KeyResolver = { resolve: () => Promise.reject(new Error('database is locked')) }
  await t.rejects(verifyNodeToken(await issue(), { audience: PARENT, keys: broken }), { message: 'database is locked' })
})
