import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify'
import { XuejiError } from '../../config/errors.ts'
import { ENROLL_PATH, FEDERATION_PREFIX, HTTP_ROUTES, type FederationRequest } from '../../sync/messages.ts'

/** Requests handled at once; beyond this a child gets 429 and retries with backoff. */
const MAX_IN_FLIGHT = 32

const Err = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' }, details: { type: 'object', additionalProperties: true } },
  required: ['code', 'message'],
} as const
const errors = { 400: Err, 401: Err, 403: Err, 404: Err, 409: Err, 422: Err, 429: Err, 503: Err }
const loose = { type: 'object', additionalProperties: true } as const
const str = { type: 'string', minLength: 1 } as const
const int = { type: 'integer', minimum: 0 } as const
const signed = { type: 'object', properties: { body: str, jws: str, hash: { type: 'string' } }, required: ['body', 'jws'] } as const

/** Request schemas per message type (the receiver checks shapes again for the in-memory transport). */
const SCHEMAS: Record<FederationRequest['type'], { body?: object; querystring?: object }> = {
  'changeset.push': { body: { type: 'object', properties: { changeSet: signed }, required: ['changeSet'] } },
  'keys.push': { body: { type: 'object', properties: { records: { type: 'array', items: str, maxItems: 1000 } }, required: ['records'] } },
  'key.rotate': {
    body: { type: 'object', properties: { kid: str, publicJwk: loose, validFromSeq: { type: 'integer', minimum: 1 }, proof: str }, required: ['kid', 'publicJwk', 'validFromSeq', 'proof'] },
  },
  'commands.pull': { querystring: { type: 'object', properties: { after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['after', 'limit'] } },
  'changesets.fetch': { querystring: { type: 'object', properties: { origin: str, after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['origin', 'after', 'limit'] } },
  'origins.list': {},
  'audit.anchors': { querystring: { type: 'object', properties: { after: int, limit: { type: 'integer', minimum: 1, maximum: 500 } }, required: ['after', 'limit'] } },
  'digest.push': { body: { type: 'object', properties: { digest: loose }, required: ['digest'] } },
  'person.lookup': {
    body: { type: 'object', properties: { table: { enum: ['students', 'children'] }, idNumber: { type: 'string', maxLength: 30 }, studentNo: { type: 'string', maxLength: 30 } }, required: ['table'], additionalProperties: false },
  },
}

/**
 * Node-to-node routes under `/federation/v1`, in their own encapsulated context: authenticated
 * by node tokens (never by staff sessions), their own body limit
 * (`server.federationBodyLimitBytes`, change sets are large) and their own concurrency limit.
 * Every route hands the message to the sync receiver, which does all the checking.
 */
const federation: FastifyPluginAsync = async app => {
  let inFlight = 0
  app.addHook('onRequest', async (_req: FastifyRequest, reply: FastifyReply) => {
    if (inFlight >= MAX_IN_FLIGHT) {
      return reply.code(429).send({ code: 'SYNC_BUSY', message: 'too many federation requests at once; retry with backoff' })
    }
    inFlight++
    reply.raw.once('close', () => inFlight--)
  })
  const bodyLimit = app.config.server.federationBodyLimitBytes

  for (const [type, route] of Object.entries(HTTP_ROUTES) as [FederationRequest['type'], (typeof HTTP_ROUTES)[keyof typeof HTTP_ROUTES]][]) {
    app.route({
      method: route.method,
      url: route.path,
      bodyLimit,
      schema: { tags: ['federation'], summary: type, ...SCHEMAS[type], response: { 200: loose, ...errors } },
      handler: async req => {
        const fields = (route.method === 'GET' ? req.query : req.body) as Record<string, unknown>
        return app.sync.receiver.handle(req.headers.authorization, { ...fields, type } as FederationRequest)
      },
    })
  }

  app.post(
    ENROLL_PATH,
    {
      schema: {
        tags: ['federation'],
        summary: 'enrol a child node with a one-time join token',
        body: { type: 'object', properties: { token: str, node: loose, kid: str, publicJwk: loose, proof: str }, required: ['token', 'node', 'kid', 'publicJwk', 'proof'] },
        response: { 200: loose, ...errors },
      },
    },
    async req => app.sync.receiver.enroll(req.body as never),
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

export default async function federationRoutes(app: Parameters<FastifyPluginAsync>[0]) {
  await app.register(federation, { prefix: FEDERATION_PREFIX })
}
