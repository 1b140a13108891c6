import t from 'tap'
import { join } from 'node:path'
import { initNode } from '../../node/identity.ts'
import { freePort, spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
import { REDIS_URL, uniquePrefix } from '../helper.ts'

t.test('R-D.1 R-5.1 R-4.1 province, city and county run the same software as three real processes', async t => {
  const root = t.testdir()
  const ports = [await freePort(), await freePort(), await freePort()]
  const urls = ports.map(p => `http://127.0.0.1:${p}`)
  const specs = [
    { tier: 'province', code: '330000', name: '浙江省教育厅' },
    { tier: 'city', code: '330100', name: '杭州市教育局' },
    { tier: 'county', code: '330106', name: '西湖区教育局' },
  ] as const
  for (const [i, s] of specs.entries()) {
    await initNode({ dataDir: join(root, s.tier), ...s, parentUrl: i ? urls[i - 1] : null, config: { server: { port: ports[i] }, redis: { url: REDIS_URL, prefix: uniquePrefix() } } })
  }
  const children = specs.map(s => spawnNode(join(root, s.tier), {}, join(root, `${s.tier}.log`)))
  t.teardown(() => Promise.all(children.map(c => stopProcess(c))))
  await Promise.all(urls.map((u, i) => waitReady(u, 60000, children[i])))
  for (const u of urls) {
    const h = await fetch(`${u}/healthz`)
    t.equal(h.status, 200, `${u} healthz`)
    t.same(await (await fetch(`${u}/readyz`)).json(), { status: 'ready', database: 'ok', redis: 'ok' })
  }
  const codes = await Promise.all(children.map(c => stopProcess(c)))
  t.same(codes, [0, 0, 0], 'each node exits 0 on SIGTERM')
})
