import { Redis, type RedisOptions } from 'ioredis'
import { within } from '../config/within.ts'
import { nodeError } from './errors.ts'

/**
 * Options every Xueji connection uses. BullMQ requires maxRetriesPerRequest null; commands wait
 * while Redis is away and the connection retries, so a Redis restart does not crash the node.
 */
export function redisOptions(): RedisOptions {
  return {
    maxRetriesPerRequest: null,
    enableReadyCheck: true,
    lazyConnect: true,
    retryStrategy: times => Math.min(200 * times, 2000),
  }
}

export function createRedis(url: string): Redis {
  const redis = new Redis(url, redisOptions())
  // Connection errors are retried by ioredis and shown by /readyz; the app logs them (app.ts).
  redis.on('error', () => undefined)
  return redis
}

/**
 * Start-up check: Redis answers, and it never evicts keys. An evicted BullMQ key would silently
 * drop scheduled work (the outbox would still hold it, but nobody would know to send it).
 */
export async function checkRedis(redis: Redis, url: string, timeoutMs = 3000): Promise<void> {
  const safeUrl = url.replace(/\/\/[^@/]*@/, '//***@')
  if (redis.status === 'wait') await within(redis.connect().catch(() => undefined), timeoutMs)
  const pong = await within(redis.ping().catch(() => undefined), timeoutMs)
  if (pong !== 'PONG') {
    throw nodeError('REDIS_UNREACHABLE', `Redis does not answer at ${safeUrl}. Start it (e.g. "redis-server --maxmemory-policy noeviction") or set redis.url / XUEJI_REDIS_URL.`)
  }
  let policy: string | undefined
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[]
    policy = reply[1]
  } catch {
    throw nodeError('REDIS_EVICTION_POLICY', `Redis at ${safeUrl} refuses CONFIG GET, so its eviction policy cannot be checked. Use a Redis whose maxmemory-policy is noeviction and that allows CONFIG GET.`)
  }
  if (policy !== 'noeviction') {
    throw nodeError('REDIS_EVICTION_POLICY', `Redis at ${safeUrl} has maxmemory-policy "${policy}"; Xueji needs "noeviction" so queued sync work is never dropped. Fix: redis-cli CONFIG SET maxmemory-policy noeviction (and put "maxmemory-policy noeviction" in redis.conf).`)
  }
}

/** Readiness probe: true when Redis answers a PING within `ms`. Never waits on the offline queue. */
export async function redisAnswers(redis: Redis, ms = 1000): Promise<boolean> {
  if (redis.status !== 'ready') return false
  return (await within(redis.ping().catch(() => undefined), ms)) === 'PONG'
}
