import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fp from 'fastify-plugin'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

/** The built single-page app (`npm run build:web` writes it; node/web/README.md). */
export const WEB_ROOT = fileURLToPath(new URL('../web/dist/', import.meta.url))

/** Paths the app never answers: the API, node-to-node routes, documentation, probes and /verify. */
const NOT_APP = /^\/(api|federation|docs|verify|healthz|readyz)(\/|$)/

/**
 * Serves the web UI from the node's own origin: the built files under `/`, and `index.html` for
 * every other GET that asks for HTML outside the API (the app's own routes, e.g. /students/…).
 * Without a build the node serves no page and says so once in its log.
 */
const web: FastifyPluginAsync = async app => {
  if (!existsSync(`${WEB_ROOT}index.html`)) {
    app.log.warn('web UI not built (npm run build:web): / is not served')
    return
  }
  // Hashed assets never change under their name; index.html is always asked again.
  await app.register(fastifyStatic, {
    root: WEB_ROOT,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    setHeaders: (reply, path) => reply.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  })
  // The app's own paths (/students/…) are answered with index.html; anything else not found
  // answers as every unknown route does.
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    if (!NOT_APP.test(req.url) && (req.headers.accept ?? '').includes('text/html')) {
      return reply.header('cache-control', 'no-cache').sendFile('index.html')
    }
    return reply.code(404).send({ code: 'NOT_FOUND', message: '未找到该资源' })
  })
}

export default fp(web, { name: 'web' })
