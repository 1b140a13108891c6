import t from 'tap'
import { checkRedis, createRedis } from '../../node/redis.ts'
import { XuejiError } from '../../config/errors.ts'
import { freePort, startPrivateRedis, stopProcess } from '../../scripts/lib/processes.ts'
import { REDIS_URL } from '../helper.ts'

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p
  } catch (err) {
    return err instanceof XuejiError ? err.code : `not coded: ${(err as Error).message}`
  }
  return undefined
}

t.test('R-D.3 a Redis that may evict keys is refused with a message saying how to fix it', async t => {
  const redis = await startPrivateRedis(['--maxmemory-policy', 'allkeys-lru'])
  if (!redis) throw new Error('redis-server is needed for this test')
  t.teardown(() => stopProcess(redis.process))
  const conn = createRedis(redis.url)
  t.teardown(() => conn.disconnect())
  try {
    await checkRedis(conn, redis.url)
    t.fail('accepted an evicting Redis')
  } catch (err) {
    t.equal((err as XuejiError).code, 'REDIS_EVICTION_POLICY')
    t.match((err as Error).message, /allkeys-lru/)
    t.match((err as Error).message, /CONFIG SET maxmemory-policy noeviction/)
  }
})

t.test('a Redis that does not answer is refused with REDIS_UNREACHABLE', async t => {
  const url = `redis://127.0.0.1:${await freePort()}`
  const conn = createRedis(url)
  t.teardown(() => conn.disconnect())
  t.equal(await codeOf(checkRedis(conn, url, 500)), 'REDIS_UNREACHABLE')
})

t.test('the machine Redis with noeviction is accepted', async t => {
  const conn = createRedis(REDIS_URL)
  t.teardown(() => conn.disconnect())
  t.equal(await codeOf(checkRedis(conn, REDIS_URL)), undefined)
})
