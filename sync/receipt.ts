/**
 * Receipts (DESIGN.md §5): after applying a change set and recording `(origin, seq, hash)` in
 * the same transaction, the parent answers with a receipt signed by its own key. The child
 * marks the change set acknowledged only on a receipt that verifies and names what it sent,
 * so a proxy or a confused parent cannot make it drop unacknowledged history.
 */
import { XuejiError } from '../config/errors.ts'
import { syncError } from './errors.ts'
import { isPlainObject, isPositiveInt, signJws, verifyJws, type KeyResolver, type Signer } from './keys.ts'

/** `typ` of a receipt JWS. */
export const RECEIPT_TYP = 'xueji-receipt+jws'

/** The parent's word that a change set is applied (`duplicate`: it already was, same hash). */
export interface Receipt {
  /** The node that applied it and signs the receipt. */
  receiver: string
  origin: string
  seq: number
  hash: string
  /** ISO 8601 UTC. */
  appliedAt: string
  status: 'applied' | 'duplicate'
}

/** Signs a receipt with the receiver's key: compact JWS of canonicalJson(receipt), typ `xueji-receipt+jws`. */
export async function signReceipt(receipt: Receipt, signer: Signer): Promise<string> {
  // assertReceipt also copies only the known fields: nothing stray gets signed.
  return signJws(assertReceipt(receipt), RECEIPT_TYP, signer)
}

/**
 * Verifies a receipt with the registered key of its `receiver` (shared header gate, EdDSA
 * only) and, when `expect` is given, that it names exactly that change set.
 *
 * Every refusal is `SYNC_RECEIPT_INVALID` with the cause in `details.reason`
 * (`SYNC_SIGNATURE_INVALID`, `SYNC_ALG_NOT_ALLOWED`, `mismatch:hash` …): to the child all of
 * them mean the same thing, "not acknowledged, keep and resend".
 */
export async function verifyReceipt(
  jws: string,
  keys: KeyResolver,
  expect?: Partial<Pick<Receipt, 'receiver' | 'origin' | 'seq' | 'hash'>>,
): Promise<{ receipt: Receipt; kid: string }> {
  let receipt: Receipt
  let kid: string
  try {
    const v = await verifyJws(jws, {
      typ: RECEIPT_TYP,
      keys,
      signerOf: (p) => {
        if (typeof p.receiver !== 'string' || p.receiver === '') throw syncError('SYNC_MALFORMED', 'receipt names no receiver')
        return { signer: p.receiver }
      },
    })
    receipt = assertReceipt(v.payload)
    kid = v.kid
  } catch (err) {
    if (err instanceof XuejiError) {
      throw syncError('SYNC_RECEIPT_INVALID', `receipt refused: ${err.code}`, { reason: err.code })
    }
    throw err
  }
  for (const f of ['receiver', 'origin', 'seq', 'hash'] as const) {
    if (expect?.[f] !== undefined && expect[f] !== receipt[f]) {
      throw syncError('SYNC_RECEIPT_INVALID', `receipt is for another change set (${f})`, { reason: `mismatch:${f}` })
    }
  }
  return { receipt, kid }
}

function assertReceipt(r: unknown): Receipt {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `receipt: ${why}`, { reason: why })
  if (!isPlainObject(r)) throw bad('not an object')
  for (const f of ['receiver', 'origin', 'hash', 'appliedAt'] as const) {
    if (typeof r[f] !== 'string' || r[f] === '') throw bad(f)
  }
  if (!isPositiveInt(r.seq)) throw bad('seq')
  if (r.status !== 'applied' && r.status !== 'duplicate') throw bad('status')
  const { receiver, origin, seq, hash, appliedAt, status } = r as unknown as Receipt
  return { receiver, origin, seq, hash, appliedAt, status }
}
