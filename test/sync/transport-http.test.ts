import t from 'tap'
import { freePort } from '../../scripts/lib/processes.ts'
import { enrolWithParent } from '../../sync/enrolment.ts'
import { loadSigner } from '../../sync/signers.ts'
import { createHttpTransport } from '../../sync/transport-http.ts'
import { createMemoryTransport } from '../../sync/transport.ts'
import { buildTestApp } from '../helper.ts'
import { makeNode, type TestSyncNode } from './lib/nodes.ts'
import { transportSuite } from './transport-suite.ts'

t.test('HTTP transport (undici ↔ Fastify federation routes) passes the transport acceptance suite', t =>
  transportSuite(t, async t => {
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
    const child = await makeNode(t, {
      tier: 'county',
      code: '330106',
      parent: cityAsParent,
      transport: tok => createHttpTransport({ parentUrl: url, token: tok, timeoutMs: 5000 }),
    })
    const dead = await freePort()
    return { parent: cityAsParent, child, unreachable: () => createHttpTransport({ parentUrl: `http://127.0.0.1:${dead}`, token: async () => 'x', timeoutMs: 2000 }) }
  }),
)
