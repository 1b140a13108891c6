import { existsSync, statSync } from 'node:fs'
import { resolve } from 'node:path'
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
 * every other GET that asks for HTML outside the API (the app's own routes, e.g. /students/…);
 * other unknown paths answer 404 NOT_FOUND as before.
 * Without a build the node serves no page and says so once in its log.
 */
const web: FastifyPluginAsync = async app => {
  if (!existsSync(`${WEB_ROOT}index.html`)) {
    app.log.warn('web UI not built (npm run build:web): / is not served')
    return
  }
  // reply.sendFile (with its own path checks) only: the one route below decides what is served, so a
  // rebuild is served without a restart.
  await app.register(fastifyStatic, { root: WEB_ROOT, serve: false })
  app.get('/*', { schema: { hide: true } }, async (req, reply) => {
    const path = decodeURIComponent(req.url.split('?')[0])
    if (!NOT_APP.test(path)) {
      const file = resolve(WEB_ROOT, `.${path}`)
      if (path !== '/' && file.startsWith(WEB_ROOT) && existsSync(file) && statSync(file).isFile()) {
        // Built assets carry their content hash in their name: they never change under it.
        // (cacheControl: false, else @fastify/static puts its own max-age=0 over it.)
        return reply.header('cache-control', path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache').sendFile(file.slice(WEB_ROOT.length), { cacheControl: false })
      }
      // The app's own paths (/students/…) are index.html, for a browser asking for a page.
      if (path === '/' || (!path.startsWith('/assets/') && (req.headers.accept ?? '').includes('text/html'))) return reply.header('cache-control', 'no-cache').sendFile('index.html', { cacheControl: false })
    }
    return reply.code(404).send({ code: 'NOT_FOUND', message: '未找到该资源' })
  })
}

export default fp(web, { name: 'web' })
