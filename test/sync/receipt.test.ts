import t from 'tap'
import { CompactSign } from 'jose'
import { sha256Hex } from '../../sync/canonical.ts'
import { generateNodeKeyPair, importPrivateKey, importPublicJwk, staticKeyResolver } from '../../sync/keys.ts'
import { RECEIPT_TYP, signReceipt, verifyReceipt, type Receipt } from '../../sync/receipt.ts'

async function node() {
  const pair = await generateNodeKeyPair()
  return { ...pair, privateKey: await importPrivateKey(pair.privatePem), publicKey: await importPublicJwk(pair.publicJwk) }
}
const parent = await node()
const stranger = await node()
const keys = staticKeyResolver([{ node: '330100', kid: parent.kid, key: parent.publicKey }])
const signer = { kid: parent.kid, privateKey: parent.privateKey }
const receipt: Receipt = {
  receiver: '330100', origin: '330106', seq: 7, hash: sha256Hex('cs7'), appliedAt: '2025-03-01T02:00:01.000Z', status: 'applied',
}
const sent = { receiver: '330100', origin: '330106', seq: 7, hash: sha256Hex('cs7') }

t.test('R-D.2 round trip: a receipt signed by the parent verifies against what was sent', async (t) => {
  const jws = await signReceipt(receipt, signer)
  t.equal(JSON.parse(Buffer.from(jws.split('.')[0], 'base64url').toString()).typ, RECEIPT_TYP)
  t.same(await verifyReceipt(jws, keys, sent), { receipt, kid: parent.kid })
  const dup = await signReceipt({ ...receipt, status: 'duplicate' }, signer)
  t.equal((await verifyReceipt(dup, keys)).receipt.status, 'duplicate')
})

t.test('R-D.2 a receipt for another change set is refused SYNC_RECEIPT_INVALID', async (t) => {
  const jws = await signReceipt(receipt, signer)
  await t.rejects(verifyReceipt(jws, keys, { ...sent, hash: sha256Hex('other') }), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'mismatch:hash' } })
  await t.rejects(verifyReceipt(jws, keys, { ...sent, seq: 8 }), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'mismatch:seq' } })
})

t.test('R-D.2 forged receipts are refused SYNC_RECEIPT_INVALID with the cause', async (t) => {
  const forged = await signReceipt(receipt, { kid: parent.kid, privateKey: stranger.privateKey })
  await t.rejects(verifyReceipt(forged, keys), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'SYNC_SIGNATURE_INVALID' } })
  const unknown = await signReceipt(receipt, { kid: stranger.kid, privateKey: stranger.privateKey })
  await t.rejects(verifyReceipt(unknown, keys), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'SYNC_KEY_UNKNOWN' } })
  const [, payload] = (await signReceipt(receipt, signer)).split('.')
  const none = `${Buffer.from(JSON.stringify({ alg: 'none', kid: parent.kid, typ: RECEIPT_TYP })).toString('base64url')}.${payload}.`
  await t.rejects(verifyReceipt(none, keys), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'SYNC_ALG_NOT_ALLOWED' } })
  const withJwk = await new CompactSign(Buffer.from(payload, 'base64url'))
    .setProtectedHeader({ alg: 'EdDSA', kid: stranger.kid, typ: RECEIPT_TYP, jwk: stranger.publicJwk })
    .sign(stranger.privateKey)
  await t.rejects(verifyReceipt(withJwk, keys), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'SYNC_EMBEDDED_KEY_REFUSED' } })
})

t.test('signReceipt refuses a malformed receipt and signs no stray fields', async (t) => {
  await t.rejects(signReceipt({ ...receipt, status: 'ok' as Receipt['status'] }, signer), { code: 'SYNC_MALFORMED' })
  await t.rejects(signReceipt({ ...receipt, seq: 0 }, signer), { code: 'SYNC_MALFORMED' })
  const jws = await signReceipt({ ...receipt, note: 'x' } as Receipt, signer)
  t.same((await verifyReceipt(jws, keys)).receipt, receipt)
})
