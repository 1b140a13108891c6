/**
 * How a child talks to its parent: a narrow interface with two implementations, HTTP over
 * undici (`transport-http.ts`) and in-memory (below, for unit tests). Both pass one acceptance
 * suite (test/sync/transport-suite.ts).
 *
 * Errors: a refusal by the parent arrives as the parent's own `XuejiError` (code, status,
 * details such as `expectedSeq`); a parent that cannot be reached, times out or fails with a
 * 5xx is `SYNC_PARENT_UNAVAILABLE` (503) or the parent's 5xx code — retried with backoff.
 */
import { XuejiError } from '../config/errors.ts'
import type { EnrollRequest, EnrollResponse, FederationRequest, ResponseOf } from './messages.ts'

/** What one request asks of its node token. */
export interface RequestOptions {
  /**
   * Sign the token with this own key instead of the one the parent is known here to vouch for:
   * a rotation the parent registered while its answer was lost (sync/enrolment.ts `finishRotation`).
   */
  tokenKid?: string
}

/** Makes a node token for one request: signed with own key `kid`, else with the one the parent knows. */
export type NodeTokenMaker = (kid?: string) => Promise<string>

/** The child's view of its parent. */
export interface ParentTransport {
  /** Sends one request, authenticated with a fresh node token made by `token()`. */
  request<T extends FederationRequest>(message: T, opts?: RequestOptions): Promise<ResponseOf<T>>
  /** Joins the parent with a one-time token (unauthenticated otherwise). */
  enroll(request: EnrollRequest): Promise<EnrollResponse>
  /** Releases connections. */
  close(): Promise<void>
}

/** The parent's side, as a transport reaches it: the federation receiver (sync/receiver.ts). */
export interface FederationEndpoint {
  /** `authorization`: the raw `Authorization` header value (`XuejiNode <token>`). */
  handle<T extends FederationRequest>(authorization: string | undefined, message: T): Promise<ResponseOf<T>>
  enroll(request: EnrollRequest): Promise<EnrollResponse>
}

/** The `Authorization` scheme of node tokens. */
export const NODE_AUTH_SCHEME = 'XuejiNode'

/**
 * In-memory transport to an endpoint in the same process. Messages go through a JSON round
 * trip so that nothing passes that the wire could not carry, and errors keep code, status and
 * details exactly as the HTTP transport reconstructs them. `reachable()` lets tests cut the link.
 */
export function createMemoryTransport(
  endpoint: () => FederationEndpoint,
  token: NodeTokenMaker,
  opts: { reachable?: () => boolean } = {},
): ParentTransport {
  const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T
  const down = () => new XuejiError('SYNC_PARENT_UNAVAILABLE', 'parent unreachable (in-memory link cut)', 503)
  const call = async <R>(fn: () => Promise<R>): Promise<R> => {
    if (opts.reachable && !opts.reachable()) throw down()
    try {
      return wire(await fn())
    } catch (err) {
      if (err instanceof XuejiError) throw new XuejiError(err.code, err.message, err.statusCode, err.details ? wire(err.details) : undefined)
      // Anything else is a parent-side crash: to the child, a 500 like over HTTP.
      throw Object.assign(new XuejiError('INTERNAL', 'parent failed', 500), { cause: err })
    }
  }
  return {
    async request(message, reqOpts) {
      const auth = `${NODE_AUTH_SCHEME} ${await token(reqOpts?.tokenKid)}`
      return call(() => endpoint().handle(auth, wire(message)))
    },
    enroll: request => call(() => endpoint().enroll(wire(request))),
    close: async () => undefined,
  }
}
