import { brotliDecompressSync } from 'node:zlib'
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { XuejiError } from '../../config/errors.ts'
import { CHANGESET_HEADERS, CHANGESET_MEDIA_TYPE, type SignedChangeSet } from '../../sync/changeset.ts'
import { syncError } from '../../sync/errors.ts'
import { ENROLL_PATH, FEDERATION_PREFIX, HTTP_ROUTES, type FederationRequest } from '../../sync/messages.ts'
import type { SelfNode } from '../../sync/registry.ts'
import { STAGE_LOG_MSG } from '../../sync/stages.ts'

/** Requests handled at once; beyond this a child gets 429 and retries with backoff. */
const MAX_IN_FLIGHT = 32
/** Requests of one child handled at once: one child cannot take every slot (its queues send one thing at a time each). */
const MAX_IN_FLIGHT_PER_CHILD = 4
/** Body limit of the one route a node reaches without a node token (enrolment: a key and a proof). */
const ENROL_BODY_LIMIT = 64 * 1024

const Err = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
  required: ['code', 'message'],
} as const
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err, 422: Err, 429: Err, 503: Err }
const loose = { type: 'object', additionalProperties: true } as const
const str = { type: 'string', minLength: 1 } as const
const int = { type: 'integer', minimum: 0 } as const
// A change set's body is checked by the receiver (hash, canonical JSON): no minLength here, which
// counts every character of a body of megabytes (about 8 µs a row in a CPU profile of the city).
const signed = { type: 'object', properties: { body: { type: 'string' }, jws: str, hash: { type: 'string' } }, required: ['body', 'jws'] } as const

/** Request schemas per message type (the receiver checks shapes again for the in-memory transport). */
const SCHEMAS: Record<FederationRequest['type'], { body?: object; querystring?: object }> = {
  'changeset.push': { body: { type: 'object', properties: { changeSet: signed }, required: ['changeSet'] } },
  'keys.push': { body: { type: 'object', properties: { records: { type: 'array', items: str, maxItems: 1000 } }, required: ['records'] } },
  'key.rotate': {
    body: {
      type: 'object',
      properties: { kid: str, publicJwk: loose, validFromSeq: { type: 'integer', minimum: 1 }, proof: str, endorsement: str },
      required: ['kid', 'publicJwk', 'validFromSeq', 'proof', 'endorsement'],
    },
  },
  'commands.pull': { querystring: { type: 'object', properties: { after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['after', 'limit'] } },
  'changesets.fetch': { querystring: { type: 'object', properties: { origin: str, after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['origin', 'after', 'limit'] } },
  'origins.list': {},
  'keys.pull': {},
  'audit.anchors': { querystring: { type: 'object', properties: { after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['after', 'limit'] } },
  'digest.push': { body: { type: 'object', properties: { digest: loose }, required: ['digest'] } },
  'death.report': { body: { type: 'object', properties: { report: { type: 'string', minLength: 1, maxLength: 20000 } }, required: ['report'] } },
  'routed.push': { body: { type: 'object', properties: { message: { type: 'string', minLength: 1, maxLength: 8_000_000 } }, required: ['message'] } },
  'person.lookup': {
    body: { type: 'object', properties: { table: { enum: ['students', 'children'] }, idNumber: { type: 'string', maxLength: 30 }, idDocType: { type: 'string', maxLength: 2 }, studentNo: { type: 'string', maxLength: 30 } }, required: ['table'], additionalProperties: false },
  },
}

/**
 * Node-to-node routes under `/federation/v1`, in their own encapsulated context: authenticated
 * by node tokens (never by staff sessions) in `onRequest`, BEFORE the body is read, so an
 * unauthenticated request costs a header check and never a parse; its connection is closed
 * rather than drained. Then concurrency limits, per child and in all; then the body limit
 * (`server.federationBodyLimitBytes`, change sets are large; enrolment, the one route without a
 * node token, gets a small one). Every route hands the message to the sync receiver.
 */
const federation: FastifyPluginAsync = async app => {
  const receiver = app.sync.receiver
  const senders = new WeakMap<FastifyRequest, SelfNode>()
  const perChild = new Map<string, number>()
  const startedAt = new WeakMap<FastifyRequest, number>()
  let inFlight = 0
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    startedAt.set(req, performance.now())
    let child: string | undefined
    if (req.routeOptions.url !== `${FEDERATION_PREFIX}${ENROLL_PATH}`) {
      try {
        const sender = await receiver.authenticate(req.headers.authorization)
        senders.set(req, sender)
        child = sender.code
      } catch (err) {
        reply.header('connection', 'close')
        throw err
      }
    }
    if (inFlight >= MAX_IN_FLIGHT || (child !== undefined && (perChild.get(child) ?? 0) >= MAX_IN_FLIGHT_PER_CHILD)) {
      reply.header('connection', 'close')
      return reply.code(429).send({ code: 'SYNC_BUSY', message: '上级节点同时处理的同步请求过多，请稍后重试' })
    }
    inFlight++
    if (child !== undefined) perChild.set(child, (perChild.get(child) ?? 0) + 1)
    reply.raw.once('close', () => {
      inFlight--
      if (child === undefined) return
      const n = (perChild.get(child) ?? 1) - 1
      if (n > 0) perChild.set(child, n)
      else perChild.delete(child)
    })
  })
  const bodyLimit = app.config.server.federationBodyLimitBytes
  // A change set as its body's bytes (the HTTP transport's push, sync/changeset.ts): read as the
  // JSON form would be, `{ changeSet }`, and checked by the same schema. The text is held to the
  // same limit as a JSON body, however well it compresses.
  app.addContentTypeParser(CHANGESET_MEDIA_TYPE, { parseAs: 'buffer', bodyLimit }, (req, bytes, done) => {
    try {
      done(null, { changeSet: changeSetFromBytes(bytes as Buffer, req.headers, bodyLimit) })
    } catch (err) {
      done(err as Error, undefined)
    }
  })
  // The `receive` stage of a change set (sync/stages.ts): request start to its body read and parsed.
  app.addHook('preHandler', async (req: FastifyRequest) => {
    const t0 = startedAt.get(req)
    if (t0 !== undefined && req.routeOptions.url === `${FEDERATION_PREFIX}${HTTP_ROUTES['changeset.push'].path}` && (req.log.level === 'debug' || req.log.level === 'trace')) {
      req.log.debug({ stages: { receive: Math.round((performance.now() - t0) * 100) / 100 } }, STAGE_LOG_MSG)
    }
  })

  for (const [type, route] of Object.entries(HTTP_ROUTES) as [FederationRequest['type'], (typeof HTTP_ROUTES)[keyof typeof HTTP_ROUTES]][]) {
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit,
      schema: { tags: ['federation'], summary: type, ...SCHEMAS[type], response: { 200: loose, ...errors } },
      handler: async req => {
        const fields = (route.method === 'GET' ? req.query : req.body) as Record<string, unknown>
        return receiver.serve(senders.get(req)!, { ...fields, type } as FederationRequest)
      },
    })
  }

  app.post(
    ENROLL_PATH,
    {
      bodyLimit: ENROL_BODY_LIMIT,
      schema: {
        tags: ['federation'],
        summary: 'enrol a child node with a one-time join token',
        body: { type: 'object', properties: { token: str, node: loose, kid: str, publicJwk: loose, proof: str }, required: ['token', 'node', 'kid', 'publicJwk', 'proof'] },
        response: { 200: loose, ...errors },
      },
    },
    async req => receiver.enroll(req.body as never),
  )

  // Refusals are the protocol's answers: log them at info, not as server errors.
  app.setErrorHandler((err, req, reply) => {
    if (err instanceof XuejiError) {
      if (err.statusCode >= 500) req.log.error({ err }, 'federation request failed')
      else req.log.info({ code: err.code }, 'federation request refused')
      return reply.code(err.statusCode).send({ code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) })
    }
    throw err
  })
}

/** A change set pushed as `CHANGESET_MEDIA_TYPE`: its text at most `limit` bytes, its JWS and hash from the headers. */
function changeSetFromBytes(bytes: Buffer, headers: FastifyRequest['headers'], limit: number): SignedChangeSet {
  const bad = (why: string) => syncError('SYNC_MALFORMED', `change set: ${why}`, { reason: why })
  const header = (name: string) => (typeof headers[name] === 'string' ? (headers[name] as string) : undefined)
  const encoding = header('content-encoding') ?? 'identity'
  let text: string
  if (encoding === 'br') {
    try {
      text = brotliDecompressSync(bytes, { maxOutputLength: limit }).toString('utf8')
    } catch {
      throw bad('body not Brotli or larger than the limit once decompressed')
    }
  } else if (encoding === 'identity') text = bytes.toString('utf8')
  else throw bad(`content-encoding ${encoding}`)
  const jws = header(CHANGESET_HEADERS.jws)
  const hash = header(CHANGESET_HEADERS.hash)
  const cs = { body: text, ...(jws !== undefined ? { jws } : {}), ...(hash !== undefined ? { hash } : {}) } as SignedChangeSet
  // The bytes as received give back this very text: stored as they came, not compressed again.
  if (encoding === 'br') Object.defineProperty(cs, 'packed', { value: bytes, enumerable: false })
  return cs
}

export default async function federationRoutes(app: Parameters<FastifyPluginAsync>[0]) {
  await app.register(federation, { prefix: FEDERATION_PREFIX })
}
