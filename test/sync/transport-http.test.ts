import t, { type Test } from 'tap'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { brotliCompressSync, constants } from 'node:zlib'
import { request } from 'undici'
import { CHANGESET_HEADERS, CHANGESET_MEDIA_TYPE, unpackBody } from '../../sync/changeset.ts'
import { NODE_AUTH_SCHEME } from '../../sync/transport.ts'
import { CHECK_THREAD_MIN_CHARS } from '../../sync/inbox.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { freePort } from '../../scripts/lib/processes.ts'
import { enrolWithParent } from '../../sync/enrolment.ts'
import { loadSigner } from '../../sync/signers.ts'
import { createHttpTransport } from '../../sync/transport-http.ts'
import { createMemoryTransport } from '../../sync/transport.ts'
import { buildTestApp } from '../helper.ts'
import { makeNode, type TestSyncNode } from './lib/nodes.ts'
import { transportSuite } from './transport-suite.ts'

/**
 * A city app listening on HTTP, enrolled under an in-process province, and a county enrolled
 * under it whose sync service pushes over HTTP; `nodeToken` makes the county's node tokens.
 */
async function cityOverHttp(t: Test) {
  const province = await makeNode(t, { tier: 'province', code: '330000' })
  const app = await buildTestApp(t, { tier: 'city', code: '330100' })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  const { token } = province.sync.joinToken({ code: '330100', tier: 'city' })
  // The city app enrols under the in-process province through the in-memory transport.
  const cityAsParent: TestSyncNode = { code: '330100', tier: 'city', storage: app.storage, sync: app.sync, dataDir: app.dataDir, link: { up: true } }
  const s = await loadSigner(app.storage)
  const jwk = JSON.parse(app.storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').pluck().get(s.kid) as string)
  await enrolWithParent(
    { storage: app.storage, self: { code: '330100', tier: 'city', name: '杭州市教育局' }, registry: app.sync.registry, signer: s, publicJwk: jwk, transport: createMemoryTransport(() => province.sync.receiver, async () => ''), rootKid: null },
    token,
  )
  let nodeToken: () => Promise<string> = async () => ''
  const child = await makeNode(t, {
    tier: 'county',
    code: '330106',
    parent: cityAsParent,
    transport: tok => ((nodeToken = tok), createHttpTransport({ parentUrl: url, token: tok, timeoutMs: 5000 })),
  })
  return { app, url, parent: cityAsParent, child, nodeToken: () => nodeToken() }
}

t.test('HTTP transport (undici ↔ Fastify federation routes) passes the transport acceptance suite', t =>
  transportSuite(t, async t => {
    const { parent, child } = await cityOverHttp(t)
    const dead = await freePort()
    return { parent, child, unreachable: () => createHttpTransport({ parentUrl: `http://127.0.0.1:${dead}`, token: async () => 'x', timeoutMs: 2000 }) }
  }),
)

t.test('R-D.2 a change set crosses HTTP as its stored Brotli bytes, its JWS and hash in headers; bad bytes are refused SYNC_MALFORMED and change nothing', async t => {
  const { app, url, child, nodeToken } = await cityOverHttp(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(child.storage, 'schools', [school])
  const [seq] = await child.sync.pack()
  const stored = child.storage.sqlite.prepare('select body, jws, hash from sync_change_sets where origin = ? and seq = ?').get('330106', seq) as { body: Buffer; jws: string; hash: string }
  const post = async (body: Uint8Array | string, headers: Record<string, string>) => {
    const res = await request(`${url}/federation/v1/changesets`, { method: 'POST', body, headers: { authorization: `${NODE_AUTH_SCHEME} ${await nodeToken()}`, ...headers } })
    return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> }
  }
  const bytes = (extra: Record<string, string> = {}) => ({ 'content-type': CHANGESET_MEDIA_TYPE, 'content-encoding': 'br', [CHANGESET_HEADERS.jws]: stored.jws, [CHANGESET_HEADERS.hash]: stored.hash, ...extra })
  const held = () => app.storage.sqlite.prepare("select count(*) from sync_change_sets where origin = '330106'").pluck().get()

  const tooLarge = brotliCompressSync(Buffer.alloc(app.config.server.federationBodyLimitBytes + 1, 0x20))
  t.ok(tooLarge.length < 64 * 1024, `${tooLarge.length} bytes on the wire`)
  t.match(await post(tooLarge, bytes()), { status: 400, json: { code: 'SYNC_MALFORMED' } }, 'bytes that decompress beyond the body limit')
  t.match(await post(stored.body, bytes({ 'content-encoding': 'gzip' })), { status: 400, json: { code: 'SYNC_MALFORMED' } }, 'an encoding other than br')
  t.match(await post(Buffer.from('not brotli'), bytes()), { status: 400, json: { code: 'SYNC_MALFORMED' } }, 'bytes that are not Brotli')
  t.match(await post(stored.body, bytes({ [CHANGESET_HEADERS.hash]: 'a'.repeat(64) })), { status: 400, json: { code: 'SYNC_HASH_MISMATCH' } }, 'a hash header that is not the body’s')
  t.equal(held(), 0, 'nothing stored')

  t.match(await post(stored.body, bytes()), { status: 200, json: { status: 'applied' } }, 'the stored bytes as they are')
  const text = unpackBody(stored.body)
  t.match(await post(JSON.stringify({ changeSet: { body: text, jws: stored.jws, hash: stored.hash } }), { 'content-type': 'application/json' }), { status: 200, json: { status: 'duplicate' } }, 'the JSON form of a child not yet upgraded is still taken')
  t.equal(held(), 1)

  // A large one is checked on the checking thread; each is stored as the bytes that came, not compressed again.
  writeRows(child.storage, 'students', Array.from({ length: 60 }, (_, i) => studentRow('330106', school, i)))
  const [large] = await child.sync.pack()
  const big = child.storage.sqlite.prepare('select body, jws, hash from sync_change_sets where origin = ? and seq = ?').get('330106', large) as { body: Buffer; jws: string; hash: string }
  t.ok(unpackBody(big.body).length >= CHECK_THREAD_MIN_CHARS, 'a body the checking thread takes')
  // Compressed otherwise than the county stores it, so that a copy compressed again would differ.
  const sent = brotliCompressSync(unpackBody(big.body), { params: { [constants.BROTLI_PARAM_QUALITY]: 6 } })
  t.not(sent.toString('base64'), big.body.toString('base64'))
  t.match(await post(sent, bytes({ [CHANGESET_HEADERS.jws]: big.jws, [CHANGESET_HEADERS.hash]: big.hash })), { status: 200, json: { status: 'applied' } })
  const kept = app.storage.sqlite.prepare("select body from sync_change_sets where origin = '330106' order by seq").pluck().all() as Buffer[]
  t.same(kept.map(b => b.toString('base64')), [stored.body, sent].map(b => b.toString('base64')), 'the bytes as sent')
  t.equal(app.storage.sqlite.prepare("select count(*) from students where home_node = '330106'").pluck().get(), 60)
})

t.test('R-D.2 a parent that does not take change sets as bytes (415) gets them as JSON, from then on', async t => {
  const seen: { type: string | undefined; body: string }[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', c => (body += c))
    req.on('end', () => {
      seen.push({ type: req.headers['content-type'], body })
      res.setHeader('content-type', 'application/json')
      if (req.headers['content-type'] !== 'application/json') {
        res.statusCode = 415
        res.end(JSON.stringify({ statusCode: 415, code: 'FST_ERR_CTP_INVALID_MEDIA_TYPE', error: 'Unsupported Media Type', message: 'Unsupported Media Type' }))
      } else res.end(JSON.stringify({ receipt: 'r', status: 'applied' }))
    })
  })
  await new Promise<void>(r => server.listen(0, '127.0.0.1', r))
  t.teardown(() => new Promise<void>(r => server.close(() => r())))
  const transport = createHttpTransport({ parentUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: async () => 'token', timeoutMs: 5000 })
  t.teardown(() => transport.close())
  const changeSet = { body: '{"rows":[]}', jws: 'a.b.c', hash: 'h' }
  t.same(await transport.request({ type: 'changeset.push', changeSet }), { receipt: 'r', status: 'applied' })
  t.same(await transport.request({ type: 'changeset.push', changeSet }), { receipt: 'r', status: 'applied' })
  t.same(seen.map(x => x.type), [CHANGESET_MEDIA_TYPE, 'application/json', 'application/json'], 'bytes once, then JSON')
  t.same(JSON.parse(seen[1].body), { changeSet })
})
