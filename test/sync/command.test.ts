import t from 'tap'
import { CompactSign } from 'jose'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'
import { signChangeSet } from '../../sync/changeset.ts'
import { COMMAND_TYP, signCommand, verifyCommand, type Command, type CommandManifest } from '../../sync/command.ts'
import { generateNodeKeyPair, importPrivateKey, importPublicJwk, signJws, staticKeyResolver } from '../../sync/keys.ts'

async function node() {
  const pair = await generateNodeKeyPair()
  return { ...pair, privateKey: await importPrivateKey(pair.privatePem), publicKey: await importPublicJwk(pair.publicJwk) }
}
const province = await node()
const stranger = await node()
const keys = staticKeyResolver([{ node: '330000', kid: province.kid, key: province.publicKey }])
const signer = { kid: province.kid, privateKey: province.privateKey }
const cmd: Command = {
  format: 1, issuer: '330000', destination: '330106', seq: 3, type: 'approval',
  createdAt: '2025-03-01T02:00:00.000Z', payload: { application: 'A-2025-0001', decision: 'approved' },
}
const manifestOf = (text: string, over: Partial<CommandManifest> = {}): CommandManifest => ({
  format: 1, issuer: cmd.issuer, destination: cmd.destination, seq: cmd.seq, type: cmd.type,
  hash: sha256Hex(text), bytes: Buffer.byteLength(text), createdAt: cmd.createdAt, ...over,
})

t.test('R-D.2 round trip: a signed command verifies', async (t) => {
  const signed = await signCommand(cmd, signer)
  t.equal(signed.body, canonicalJson(cmd))
  t.equal(signed.hash, sha256Hex(signed.body))
  const out = await verifyCommand(signed, keys)
  t.same(out.command, cmd)
  t.equal(out.kid, province.kid)
  t.match(out.manifest, { issuer: '330000', destination: '330106', seq: 3, type: 'approval', hash: signed.hash })
})

t.test('R-D.2 tampering is refused with its own code', async (t) => {
  const signed = await signCommand(cmd, signer)
  await t.rejects(verifyCommand({ ...signed, body: signed.body.replace('approved', 'rejected') }, keys), { code: 'SYNC_HASH_MISMATCH' })
  const [h, p, s] = signed.jws.split('.')
  const redirected = Buffer.from(Buffer.from(p, 'base64url').toString().replace('330106', '330105')).toString('base64url')
  await t.rejects(verifyCommand({ ...signed, jws: `${h}.${redirected}.${s}` }, keys), { code: 'SYNC_SIGNATURE_INVALID' })
  const sig = s.slice(0, 20) + (s[20] === 'A' ? 'B' : 'A') + s.slice(21)
  await t.rejects(verifyCommand({ ...signed, jws: `${h}.${p}.${sig}` }, keys), { code: 'SYNC_SIGNATURE_INVALID' })
})

t.test('R-D.2 keys: unknown kid, alg none and embedded jwk', async (t) => {
  const signed = await signCommand(cmd, signer)
  await t.rejects(verifyCommand(await signCommand(cmd, { kid: stranger.kid, privateKey: stranger.privateKey }), keys), { code: 'SYNC_KEY_UNKNOWN' })
  const [, p] = signed.jws.split('.')
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: province.kid, typ: COMMAND_TYP })).toString('base64url')}.${p}.`
  await t.rejects(verifyCommand({ ...signed, jws: none }, keys), { code: 'SYNC_ALG_NOT_ALLOWED' })
  const withJwk = await new CompactSign(Buffer.from(p, 'base64url'))
    .setProtectedHeader({ alg: 'EdDSA', kid: stranger.kid, typ: COMMAND_TYP, jwk: stranger.publicJwk })
    .sign(stranger.privateKey)
  await t.rejects(verifyCommand({ ...signed, jws: withJwk }, keys), { code: 'SYNC_EMBEDDED_KEY_REFUSED' })
})

t.test('R-D.2 a change set signed by the same node cannot pass as a command (typ)', async (t) => {
  const cs = await signChangeSet({ format: 1, origin: '330000', seq: 1, prev: null, createdAt: cmd.createdAt, rows: [] }, signer)
  await t.rejects(verifyCommand(cs, keys), { code: 'SYNC_MALFORMED', details: { expectedTyp: COMMAND_TYP } })
})

t.test('format, canonical form and body/manifest agreement', async (t) => {
  const v2 = canonicalJson({ ...cmd, format: 2 })
  const jws2 = await signJws(manifestOf(v2, { format: 2 }), COMMAND_TYP, signer)
  await t.rejects(verifyCommand({ body: v2, jws: jws2, hash: sha256Hex(v2) }, keys), { code: 'SYNC_FORMAT_UNSUPPORTED' })

  const pretty = JSON.stringify(cmd, null, 1)
  const jwsPretty = await signJws(manifestOf(pretty), COMMAND_TYP, signer)
  await t.rejects(verifyCommand({ body: pretty, jws: jwsPretty, hash: sha256Hex(pretty) }, keys), { code: 'SYNC_MALFORMED' })

  const text = canonicalJson(cmd)
  for (const over of [{ destination: '330105' }, { seq: 4 }, { type: 'correction' }]) {
    const jws = await signJws(manifestOf(text, over), COMMAND_TYP, signer)
    await t.rejects(verifyCommand({ body: text, jws, hash: sha256Hex(text) }, keys), { code: 'SYNC_MALFORMED' }, Object.keys(over)[0])
  }
})

t.test('signCommand refuses a malformed command', async (t) => {
  await t.rejects(signCommand({ ...cmd, seq: 0 }, signer), { code: 'SYNC_MALFORMED' })
  await t.rejects(signCommand({ ...cmd, destination: '' }, signer), { code: 'SYNC_MALFORMED' })
  await t.rejects(signCommand({ ...cmd, payload: [] as unknown as Command['payload'] }, signer), { code: 'SYNC_MALFORMED' })
  await t.rejects(signCommand({ ...cmd, payload: { at: new Date() } }, signer), { code: 'SYNC_MALFORMED' })
})
