import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { loadConfigFile } from '../config/load.ts'
import type { Tier } from '../config/schema.ts'
import { openStorage } from '../schema/db.ts'
import { initNode, loadIdentity } from '../node/identity.ts'
import { createRedis } from '../node/redis.ts'
import { createServer } from '../node/server.ts'

/** The machine's Redis; every test uses its own key prefix so tests never see each other's data. */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export function uniquePrefix(): string {
  return `xueji-test:${randomBytes(6).toString('hex')}`
}

export interface TestNodeOptions {
  tier?: Tier
  code?: string
  name?: string
  parentUrl?: string | null
  redisUrl?: string
  /** A pino destination stream to capture logs; logs are off otherwise. */
  logStream?: NodeJS.WritableStream
}

/**
 * Builds a real node app (real SQLite file in a fresh temp dir, real Redis with a fresh prefix)
 * for `app.inject` tests, and closes it on teardown.
 */
export async function buildTestApp(t: Test, opts: TestNodeOptions = {}): Promise<FastifyInstance & { dataDir: string }> {
  const dataDir = join(t.testdir(), 'node')
  const tier = opts.tier ?? 'county'
  await initNode({
    dataDir,
    tier,
    code: opts.code ?? (tier === 'province' ? '330000' : tier === 'city' ? '330100' : '330106'),
    name: opts.name ?? '测试教育局',
    parentUrl: opts.parentUrl !== undefined ? opts.parentUrl : tier === 'province' ? null : 'http://127.0.0.1:1',
    config: { redis: { url: opts.redisUrl ?? REDIS_URL, prefix: uniquePrefix() }, server: { port: 0 } },
  })
  const config = loadConfigFile(join(dataDir, 'xueji.json'))
  const storage = openStorage(join(dataDir, 'xueji.db'))
  const redis = createRedis(config.redis.url)
  await redis.connect()
  const identity = loadIdentity(storage, config)
  const logger = opts.logStream ? { level: 'info', stream: opts.logStream } : false
  const app = await createServer({ config, storage, redis, identity, logger })
  await app.ready()
  t.teardown(() => app.close())
  return Object.assign(app, { dataDir })
}
