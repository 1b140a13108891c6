import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { initNode } from '../../node/identity.ts'
import { freePort, nodeBundle, spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
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

  // A SIGTERM while the node starts (here: at its first log line, before it listens) stops it
  // cleanly once started; the signal's default action would kill it (exit code null).
  const starting = spawn(process.execPath, [nodeBundle(), 'start', '--data', join(root, 'province')], { env: { ...process.env, XUEJI_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'inherit'] })
  let log = ''
  starting.stdout!.on('data', d => {
    if (!log) starting.kill('SIGTERM')
    log += d
  })
  const code = await new Promise(resolve => starting.once('exit', resolve))
  t.equal(code, 0, 'a SIGTERM during the start: exit 0')
  t.match(log, /"signal":"SIGTERM".*shutting down/, 'after a shutdown')
})
