/**
 * The HTTP transport to a parent (undici). One connection pool per parent; every request has a
 * fresh node token and the configured timeout. See `transport.ts` for the error contract.
 */
import { Agent, request as undiciRequest } from 'undici'
import { XuejiError } from '../config/errors.ts'
import { CHANGESET_HEADERS, CHANGESET_MEDIA_TYPE, packBody, type SignedChangeSet } from './changeset.ts'
import { syncError } from './errors.ts'
import { ENROLL_PATH, FEDERATION_PREFIX, HTTP_ROUTES, type EnrollRequest, type EnrollResponse, type FederationRequest, type ResponseOf } from './messages.ts'
import { NODE_AUTH_SCHEME, type NodeTokenMaker, type ParentTransport, type RequestOptions } from './transport.ts'

/** Options of `createHttpTransport`. */
export interface HttpTransportOptions {
  /** Base URL of the parent node, e.g. `http://127.0.0.1:8301`. */
  parentUrl: string
  token: NodeTokenMaker
  timeoutMs: number
}

export function createHttpTransport(opts: HttpTransportOptions): ParentTransport {
  const base = opts.parentUrl.replace(/\/+$/, '') + FEDERATION_PREFIX
  const agent = new Agent({ keepAliveTimeout: 10_000, connections: 4, headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs, connectTimeout: Math.min(opts.timeoutMs, 10_000) })

  /** Sends `body` as JSON, or as it is when it is bytes (`headers` then give its type). */
  async function send(method: 'GET' | 'POST', path: string, body: unknown, auth?: string, headers: Record<string, string> = {}): Promise<unknown> {
    const raw = body instanceof Uint8Array
    let res
    try {
      res = await undiciRequest(base + path, {
        method,
        dispatcher: agent,
        headers: { accept: 'application/json', ...(body !== undefined && !raw ? { 'content-type': 'application/json' } : {}), ...(auth ? { authorization: auth } : {}), ...headers },
        body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
        signal: AbortSignal.timeout(opts.timeoutMs),
      })
    } catch (err) {
      throw syncError('SYNC_PARENT_UNAVAILABLE', `parent ${opts.parentUrl} unreachable: ${(err as Error).message}`, { cause: (err as { code?: string }).code ?? (err as Error).name })
    }
    let json: unknown
    try {
      json = await res.body.json()
    } catch {
      json = undefined
    }
    if (res.statusCode >= 200 && res.statusCode < 300) return json
    const e = json as { code?: unknown; message?: unknown; details?: unknown } | undefined
    if (res.statusCode === 429 || res.statusCode >= 500 || typeof e?.code !== 'string') {
      throw syncError('SYNC_PARENT_UNAVAILABLE', `parent ${opts.parentUrl} answered ${res.statusCode}${typeof e?.code === 'string' ? ` ${e.code}` : ''}`, {
        status: res.statusCode,
        parentCode: typeof e?.code === 'string' ? e.code : null,
      })
    }
    throw new XuejiError(e.code, typeof e.message === 'string' ? e.message : e.code, res.statusCode, (e.details as Record<string, unknown>) ?? undefined)
  }

  /** Set when the parent answered 415 to a change set as bytes (a parent not yet upgraded): JSON from then on. */
  let changeSetsAsJson = false
  /** A change set as its stored bytes; false when the parent does not take them. */
  async function pushBytes(cs: SignedChangeSet, path: string, tokenKid?: string): Promise<unknown> {
    const headers = { 'content-type': CHANGESET_MEDIA_TYPE, 'content-encoding': 'br', [CHANGESET_HEADERS.jws]: cs.jws, [CHANGESET_HEADERS.hash]: cs.hash }
    try {
      return await send('POST', path, cs.packed ?? packBody(cs.body), `${NODE_AUTH_SCHEME} ${await opts.token(tokenKid)}`, headers)
    } catch (err) {
      if (!(err instanceof XuejiError) || err.statusCode !== 415) throw err
      changeSetsAsJson = true
      return false
    }
  }

  return {
    async request<T extends FederationRequest>(message: T, reqOpts?: RequestOptions): Promise<ResponseOf<T>> {
      const route = HTTP_ROUTES[message.type]
      if (message.type === 'changeset.push' && !changeSetsAsJson) {
        const answer = await pushBytes(message.changeSet, route.path, reqOpts?.tokenKid)
        if (answer !== false) return answer as ResponseOf<T>
      }
      const auth = `${NODE_AUTH_SCHEME} ${await opts.token(reqOpts?.tokenKid)}`
      const { type: _type, ...fields } = message
      if (route.method === 'GET') {
        const query = new URLSearchParams(Object.entries(fields).map(([k, v]) => [k, String(v)])).toString()
        return (await send('GET', route.path + (query ? `?${query}` : ''), undefined, auth)) as ResponseOf<T>
      }
      return (await send('POST', route.path, fields, auth)) as ResponseOf<T>
    },
    enroll: async (request: EnrollRequest) => (await send('POST', ENROLL_PATH, request)) as EnrollResponse,
    close: () => agent.close(),
  }
}
