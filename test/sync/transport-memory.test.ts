import t from 'tap'
import { createMemoryTransport } from '../../sync/transport.ts'
import { makeNode } from './lib/nodes.ts'
import { transportSuite } from './transport-suite.ts'

t.test('in-memory transport passes the transport acceptance suite', t =>
  transportSuite(t, async t => {
    const province = await makeNode(t, { tier: 'province', code: '330000' })
    const parent = await makeNode(t, { tier: 'city', code: '330100', parent: province })
    const child = await makeNode(t, { tier: 'county', code: '330106', parent })
    return { parent, child, unreachable: () => createMemoryTransport(() => parent.sync.receiver, async () => 'x', { reachable: () => false }) }
  }),
)
