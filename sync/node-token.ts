/**
 * Node-to-node request tokens (DESIGN.md §5): a child authenticates each push to its parent
 * with a short-lived JWT signed by its own node key, audience = the parent's division code.
 * A token is made per request; `jti` lets the receiver refuse a replay within the token's life.
 */
import { randomUUID } from 'node:crypto'
import { SignJWT, errors as joseErrors, jwtVerify, type CryptoKey, type KeyObject } from 'jose'
import { XuejiError } from '../config/errors.ts'
import { syncError } from './errors.ts'
import { ALLOWED_ALGORITHMS, openCompactJws, resolveKey, type KeyLike, type KeyResolver } from './keys.ts'

/** `typ` of a node token (a plain JWT). */
export const NODE_TOKEN_TYP = 'JWT'
/** Default lifetime: long enough for one request on a slow county link. */
export const NODE_TOKEN_DEFAULT_TTL_SECONDS = 60
/** Longest lifetime issued or accepted: a stolen token must be worth little. */
export const NODE_TOKEN_MAX_TTL_SECONDS = 300
/** Clock skew tolerated between nodes. */
export const NODE_TOKEN_CLOCK_TOLERANCE_SECONDS = 30

/** What `issueNodeToken` needs. */
export interface IssueNodeTokenOptions {
  /** The sending node's division code. */
  iss: string
  /** The receiving node's division code. */
  aud: string
  kid: string
  privateKey: CryptoKey | KeyObject
  /** 1 … 300; default 60. */
  ttlSeconds?: number
}

/** The verified identity behind a node token. */
export interface NodeTokenClaims {
  /** The sending node (authenticated). */
  iss: string
  kid: string
  /** Unique token id: record it until `exp` to refuse replays. */
  jti: string
  /** Expiry, seconds since the epoch. */
  exp: number
}

/** Issues a request token: compact JWS JWT, header `{alg: 'EdDSA', kid, typ: 'JWT'}`, random `jti`. */
export async function issueNodeToken(opts: IssueNodeTokenOptions): Promise<string> {
  const ttl = opts.ttlSeconds ?? NODE_TOKEN_DEFAULT_TTL_SECONDS
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > NODE_TOKEN_MAX_TTL_SECONDS) {
    throw new RangeError(`issueNodeToken: ttlSeconds must be 1…${NODE_TOKEN_MAX_TTL_SECONDS}`)
  }
  const now = Math.floor(Date.now() / 1000)
  return new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: opts.kid, typ: NODE_TOKEN_TYP })
    .setIssuer(opts.iss)
    .setAudience(opts.aud)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + ttl)
    .sign(opts.privateKey)
}

/**
 * Verifies a request token addressed to this node (`audience`): the shared header gate
 * (EdDSA only, no embedded keys), the key registered for the claimed `iss`, then jose
 * `jwtVerify` with the allow-list, `aud`, 30 s clock tolerance and required iss/aud/iat/exp/jti;
 * a token living longer than 300 s is refused too.
 *
 * Every failure is `SYNC_TOKEN_INVALID` (401, the cause in `details.reason`, e.g.
 * `SYNC_ALG_NOT_ALLOWED`) or `SYNC_TOKEN_EXPIRED`: the HTTP layer answers 401 either way.
 * Whether `iss` is an enrolled child is the caller's question (`SYNC_NOT_CHILD`).
 *
 * @param opts.currentDate for tests: the time to judge expiry at.
 */
export async function verifyNodeToken(
  token: string,
  opts: { audience: string; keys: KeyResolver; currentDate?: Date },
): Promise<NodeTokenClaims> {
  const invalid = (reason: string, extra?: Record<string, unknown>) =>
    syncError('SYNC_TOKEN_INVALID', `node token refused: ${reason}`, { reason, ...extra })

  let kid: string
  let iss: string
  let key: KeyLike
  try {
    const opened = openCompactJws(token, NODE_TOKEN_TYP)
    kid = opened.header.kid
    const claimed = opened.unverifiedPayload.iss
    if (typeof claimed !== 'string' || claimed === '') throw invalid('iss')
    iss = claimed
    key = await resolveKey(opts.keys, iss, kid)
  } catch (err) {
    // Only our own refusals become 401s; a registry failure stays a (retryable) 5xx.
    if (err instanceof XuejiError && err.code !== 'SYNC_TOKEN_INVALID') throw invalid(err.code)
    throw err
  }

  let payload
  try {
    ;({ payload } = await jwtVerify(token, key, {
      algorithms: [...ALLOWED_ALGORITHMS],
      typ: NODE_TOKEN_TYP,
      audience: opts.audience,
      clockTolerance: NODE_TOKEN_CLOCK_TOLERANCE_SECONDS,
      maxTokenAge: NODE_TOKEN_MAX_TTL_SECONDS,
      requiredClaims: ['iss', 'aud', 'iat', 'exp', 'jti'],
      currentDate: opts.currentDate,
    }))
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) {
      throw syncError('SYNC_TOKEN_EXPIRED', 'node token expired', { iss })
    }
    if (err instanceof joseErrors.JWTClaimValidationFailed) throw invalid(`claim ${err.claim}`, { iss })
    throw invalid('signature', { iss })
  }
  const { exp, iat, jti } = payload as { exp: number; iat: number; jti: unknown }
  if (typeof jti !== 'string' || jti === '') throw invalid('jti', { iss })
  if (exp - iat > NODE_TOKEN_MAX_TTL_SECONDS) throw invalid('lifetime too long', { iss })
  return { iss, kid, jti, exp }
}
