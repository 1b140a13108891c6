import t from 'tap'
import { Writable } from 'node:stream'
import { join } from 'node:path'
import { readdirSync, readFileSync } from 'node:fs'
import { buildTestApp, REDIS_URL, uniquePrefix } from '../helper.ts'
import { main } from '../../scripts/cli.ts'
import { startNode } from '../../node/server.ts'
import { freePort } from '../../scripts/lib/processes.ts'

t.test('R-25.2 one log line per request at info, health probes not at all, no query values', async t => {
  let text = ''
  const logStream = new Writable({ write(chunk, _enc, cb) { text += chunk.toString(); cb() } })
  const app = await buildTestApp(t, { logStream })
  const before = text.split('\n').filter(Boolean).length
  await app.inject({ method: 'GET', url: '/api/v1/students?q=330106201603150034' })
  await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'nobody', password: 'wrong password' } })
  for (let i = 0; i < 3; i++) await app.inject({ method: 'GET', url: '/healthz' })
  const lines = text.split('\n').filter(Boolean).slice(before).map(l => JSON.parse(l) as { msg: string; req?: { url: string }; res?: { statusCode: number }; responseTime?: number })
  const requests = lines.filter(l => l.msg === 'request')
  t.equal(requests.length, 2, 'one line for each of the two API requests')
  t.equal(lines.filter(l => /incoming request|request completed/.test(l.msg)).length, 0, "Fastify's own two lines are off")
  t.same(requests.map(l => [l.req!.url, l.res!.statusCode]), [['/api/v1/students?q=[Redacted]', 401], ['/api/v1/auth/login', 401]])
  t.ok(requests.every(l => typeof l.responseTime === 'number'))
  // The request id is bound to the request's logger without pino's redaction (logger.ts requestLogger).
  const ids = lines.filter(l => l.msg === 'request').map(l => (l as { reqId?: unknown }).reqId)
  t.ok(ids.every(id => typeof id === 'string' && id !== ''), `each line carries its request id: ${ids.join(', ')}`)
  t.equal(new Set(ids).size, ids.length, 'one id a request')
  t.notMatch(text, /330106201603150034/, 'no ID number in the log')
  t.comment(`bytes per request line: ${Math.round(requests.reduce((n, l) => n + JSON.stringify(l).length, 0) / requests.length)}`)
})

t.test('R-25.2 log.file writes through pino-roll: rotated by size, old files removed beyond log.keep', async t => {
  const dir = join(t.testdir(), 'node')
  let err = ''
  const code = await main(['init', '--tier', 'province', '--code', '330000', '--name', '浙江省教育厅', '--data', dir], {}, { out: () => {}, err: s => (err += s) })
  t.equal(code, 0, err)
  const port = await freePort()
  // A prefix of the test's own (removed with the file's), not the one `init` wrote, which no test removes.
  const node = await startNode(dir, { XUEJI_REDIS_URL: REDIS_URL, XUEJI_REDIS_PREFIX: uniquePrefix(), XUEJI_SERVER_PORT: String(port), XUEJI_LOG_FILE: 'logs/node.log', XUEJI_LOG_ROTATE_SIZE: '1k', XUEJI_LOG_KEEP: '2' })
  // Flushed every few requests, so the file grows past the size between writes as it would
  // over a day (one burst is written as one write, and a file is rotated at the write after it is full).
  const flushed = () => new Promise<void>(resolve => (node.server.log as unknown as { flush(cb: () => void): void }).flush(() => resolve()))
  for (let i = 0; i < 60; i++) {
    await fetch(`${node.url}/api/v1/auth/me`)
    if (i % 5 === 4) await flushed()
  }
  await node.stop()
  const files = readdirSync(join(dir, 'logs')).sort()
  t.comment(`log files: ${files.join(' ')}`)
  const numbered = files.filter(f => /^node\.\d+\.log$/.test(f))
  t.ok(numbered.length >= 2 && numbered.length <= 3, `rotated, at most keep + 1 files: ${numbered.join(' ')}`)
  const last = readFileSync(join(dir, 'logs', numbered.at(-1)!), 'utf8').split('\n').filter(Boolean)
  t.ok(last.every(l => JSON.parse(l).msg !== undefined), 'JSON lines')
})

t.test('R-27.1 R-25.2 the request log keeps no ID number, 学籍号, phone or name a client put in the path or as a query key', async t => {
  let text = ''
  const logStream = new Writable({ write(chunk, _enc, cb) { text += chunk.toString(); cb() } })
  const app = await buildTestApp(t, { logStream })
  const id = '330106201603150034'
  const urls = [
    `/api/v1/students/${id}`,
    `/api/v1/students/G${id}`,
    `/api/v1/students?${id}`,
    `/api/v1/students?q=x&${encodeURIComponent('王小明')}=1`,
    `/api/v1/students/${encodeURIComponent('王小明')}/guardians`,
    '/api/v1/students?13812345678',
    '/api/v1/no-such-route/13812345678',
  ]
  for (const url of urls) await app.inject({ method: 'GET', url })
  const logged = text.split('\n').filter(Boolean).map(l => JSON.parse(l) as { msg: string; req?: { url: string } }).filter(l => l.msg === 'request').map(l => l.req!.url)
  t.equal(logged.length, urls.length, 'one line a request')
  for (const secret of [id, '王小明', encodeURIComponent('王小明'), '13812345678']) t.notOk(text.includes(secret), `not in the log: ${secret}`)
  t.same(logged.slice(0, 3), ['/api/v1/students/[Redacted]', '/api/v1/students/[Redacted]', '/api/v1/students?[Redacted]'])
  // What is not personal stays readable: record ids, school codes, parameter names.
  const uuid = '0192f0c4-7a3b-7cde-8f01-123456789012'
  await app.inject({ method: 'GET', url: `/api/v1/students/${uuid}/guardians?limit=20&schoolCode=3301060001` })
  t.match(text.trim().split('\n').at(-1), `"url":"/api/v1/students/${uuid}/guardians?limit=[Redacted]&schoolCode=[Redacted]"`)
})
