import t from 'tap'
import { buildTestApp } from '../helper.ts'
import { startPrivateRedis, stopProcess } from '../../scripts/lib/processes.ts'

t.test('R-25.1 /healthz and /readyz answer when the database and Redis are up', async t => {
  const app = await buildTestApp(t)
  const h = await app.inject('/healthz')
  t.equal(h.statusCode, 200)
  t.same(h.json(), { status: 'ok' })
  const r = await app.inject('/readyz')
  t.equal(r.statusCode, 200)
  t.same(r.json(), { status: 'ready', database: 'ok', redis: 'ok' })
})

t.test('/readyz fails with 503 when Redis goes down, /healthz stays up', async t => {
  const redis = await startPrivateRedis()
  if (!redis) throw new Error('redis-server is needed for this test')
  t.teardown(() => stopProcess(redis.process))
  const app = await buildTestApp(t, { redisUrl: redis.url })
  t.equal((await app.inject('/readyz')).statusCode, 200)
  await stopProcess(redis.process)
  // ioredis notices the closed socket asynchronously.
  let res = await app.inject('/readyz')
  for (let i = 0; i < 50 && res.statusCode === 200; i++) {
    await new Promise(r => setTimeout(r, 50))
    res = await app.inject('/readyz')
  }
  t.equal(res.statusCode, 503)
  t.same(res.json(), { status: 'not ready', database: 'ok', redis: 'down' })
  t.equal((await app.inject('/healthz')).statusCode, 200)
})

t.test('unknown routes answer a coded 404', async t => {
  const app = await buildTestApp(t)
  const res = await app.inject('/nope')
  t.equal(res.statusCode, 404)
  t.equal(res.json().code, 'NOT_FOUND')
})

t.test('OpenAPI is served at /docs', async t => {
  const app = await buildTestApp(t)
  const res = await app.inject('/docs/json')
  t.equal(res.statusCode, 200)
  t.equal(res.json().openapi.slice(0, 2), '3.')
})
