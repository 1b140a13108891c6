import Fastify, { type FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { Redis } from 'ioredis'
import { loadConfigFile } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { openStorage, type Storage } from '../schema/db.ts'
import app from './app.ts'
import { loadIdentity, type NodeIdentity } from './identity.ts'
import { OneLinePerRequest, loggerOptions, requestLogger } from './logger.ts'
import { dataPaths } from './paths.ts'
import { checkRedis, createRedis } from './redis.ts'
import { nodeError } from './errors.ts'
import { existsSync } from 'node:fs'
import { loadSecretsKey } from './auth/secrets.ts'
import { recordStartEnv } from './config.ts'
import { lazyCompilers } from './lazy-compilers.ts'

/** Builds the Fastify server of a node from ready parts (used by `start` and by tests). */
export async function createServer(deps: { config: Config; storage: Storage; redis: Redis; identity: NodeIdentity; secretKey: Buffer; logger?: boolean | object; dataDir?: string }): Promise<FastifyInstance> {
  const server = Fastify({
    logger: deps.logger ?? loggerOptions(deps.config.log, deps.dataDir),
    logController: new OneLinePerRequest(),
    childLoggerFactory: requestLogger,
    bodyLimit: deps.config.server.bodyLimitBytes,
    trustProxy: deps.config.server.trustProxy,
    // Idle keep-alive sockets are closed at shutdown; requests in flight are finished.
    forceCloseConnections: 'idle',
    pluginTimeout: 30000,
    schemaController: { compilersFactory: lazyCompilers() },
  })
  await server.register(app, deps)
  return server
}

export interface RunningNode {
  server: FastifyInstance
  url: string
  identity: NodeIdentity
  /** Graceful stop: no new requests, in-flight work finished, queues, Redis and database closed. */
  stop(): Promise<void>
}

/**
 * `xueji start`: load config (file + env), open and migrate the database, check the identity and
 * Redis, then listen. Any failure before listening closes what was opened and rethrows.
 */
export async function startNode(dataDir: string, env: Record<string, string | undefined>): Promise<RunningNode> {
  const paths = dataPaths(dataDir)
  if (!existsSync(paths.config)) throw nodeError('NODE_NOT_INITIALISED', `${dataDir} holds no node (no xueji.json); run "xueji init --data ${dataDir} …" first`)
  // The start's own environment only (not nodeConfig): overrides of an earlier start do not carry over.
  const config = loadConfigFile(paths.config, env)
  // A restored child that started before fetching back its own newer change sets would sign a
  // different change set under a seq its parent already holds: a fork of its own chain.
  if (existsSync(paths.restorePending)) throw nodeError('NODE_RESTORE_PENDING', `${dataDir} was restored from a backup; run "xueji sync rebuild --data ${dataDir}" before starting it`)
  if (!existsSync(paths.db)) throw nodeError('NODE_NOT_INITIALISED', `${dataDir} has xueji.json but no xueji.db; run "xueji init" in an empty directory`)
  const storage = openStorage(paths.db)
  const redis = createRedis(config.redis.url)
  let server: FastifyInstance | undefined
  try {
    const identity = loadIdentity(storage, config)
    // A node initialised before secrets were encrypted at rest gets its key now; one holding
    // secrets encrypted under it does not start without it (a new key would orphan them all).
    const encrypted = storage.sqlite.prepare("select 1 from accounts where totp_secret like 'v1:%' or totp_pending_secret like 'v1:%' limit 1").get()
    const secretKey = loadSecretsKey(paths.keys, { create: !encrypted })
    await checkRedis(redis, config.redis.url)
    server = await createServer({ config, storage, redis, identity, secretKey, dataDir })
    recordStartEnv(paths, env)
    const url = await server.listen({ host: config.server.host, port: config.server.port })
    server.log.info({ node: identity.code, tier: identity.tier, url }, 'node started')
    if (config.security.demoLoginWithoutTotp) server.log.warn('DEMO: administrators log in without TOTP (security.demoLoginWithoutTotp); never on a real node')
    let stopping: Promise<void> | undefined
    const s = server
    return {
      server: s,
      url,
      identity,
      // Then a log file's transport: pino-roll writes in a worker thread, which is ended and
      // waited for, so every line is in the file when the stop resolves.
      stop: () => (stopping ??= s.close().then(() => (config.log.file ? endTransport(s.log) : undefined))),
    }
  } catch (err) {
    if (server) await server.close().catch(() => undefined)
    else {
      redis.disconnect()
      storage.close()
    }
    throw err
  }
}

/** Ends the logger's transport (a worker thread's stream) and waits until its worker has written everything. */
function endTransport(log: FastifyInstance['log']): Promise<void> {
  const stream = (log as unknown as Record<symbol, NodeJS.WritableStream & NodeJS.EventEmitter>)[pino.symbols.streamSym]
  if (!stream || typeof stream.end !== 'function') return Promise.resolve()
  return new Promise(resolve => {
    // thread-stream says 'finish' once its worker has written everything, 'close' if it had to end it.
    stream.once('finish', () => resolve())
    stream.once('close', () => resolve())
    stream.end()
  })
}
