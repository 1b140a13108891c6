import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startPrivateRedis, stopProcess } from '../../scripts/lib/processes.ts'
import { dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { cli, countRows, seqsOnce, startFederation, until, type RealNode } from './lib/federation.ts'

/** The three databases agree: same rows at every tier, every seq of the county applied once. */
async function agree(t: Test, [province, city, county]: RealNode[], students: number) {
  await until(`${students} students at the province`, () => countRows(province.storage, 'students') === students, 120000)
  t.same(dump(city.storage, 'students'), dump(county.storage, 'students'), 'city = county')
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'province = county')
  const own = seqsOnce(county.storage, '330106')
  for (const n of [city, province]) t.same(seqsOnce(n.storage, '330106'), own, `${n.code}: every county seq applied once`)
  t.match(await cli(['sync', 'verify', '--data', province.dir]), /signatures and chains OK/)
}

t.test('R-D.3 fault tests with three real nodes: each ends with the three databases in agreement', async t => {
  // A private Redis: this test flushes it, which must not touch anybody else's keys.
  const redis = await startPrivateRedis()
  if (!redis) {
    t.fail('redis-server is needed for this test (apt-get install redis-server)')
    return
  }
  t.teardown(() => stopProcess(redis.process))
  const nodes = await startFederation(t, { redisUrl: redis.url })
  const [province, city, county] = nodes
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  let n = 0
  const write = (k: number) => writeRows(county.storage, 'students', Array.from({ length: k }, () => studentRow('330106', school, n++)))

  t.test('the city killed with SIGKILL in the middle of 5,000 changes, then restarted', async t => {
    for (let i = 0; i < 50; i++) {
      write(100)
      if (i === 20) {
        await until('changes flowing through the city', () => countRows(city.storage, 'students') > 0)
        await city.kill()
      }
      await new Promise(r => setTimeout(r, 10))
    }
    await new Promise(r => setTimeout(r, 500))
    await city.start()
    await agree(t, nodes, 5000)
  })

  t.test('the parent (province) down for a while, then back', async t => {
    await province.stop()
    write(300)
    await until('the changes wait at the city', () => countRows(city.storage, 'students') === n)
    await new Promise(r => setTimeout(r, 2000))
    t.ok(JSON.parse(await cli(['sync', 'status', '--data', city.dir, '--json'])).upstream[0].lagChangeSets > 0, 'lag shows at the city')
    await province.start()
    await agree(t, nodes, n)
  })

  t.test('Redis FLUSHALL during sync', async t => {
    const admin = new Redis(redis.url)
    t.teardown(() => admin.disconnect())
    for (let i = 0; i < 20; i++) {
      write(50)
      if (i === 5 || i === 12) await admin.flushall()
      await new Promise(r => setTimeout(r, 20))
    }
    await agree(t, nodes, n)
  })
})
