/**
 * The acceptance suite every ParentTransport passes (in-memory and HTTP): enrolment, a change
 * set and its receipt, a duplicate, a refusal with code, status and details intact, the other
 * message types, and an unreachable parent reported as retryable.
 */
import type { Test } from 'tap'
import { verifyReceipt } from '../../sync/receipt.ts'
import { signChangeSet, unpackBody } from '../../sync/changeset.ts'
import { loadSigner } from '../../sync/signers.ts'
import type { ParentTransport } from '../../sync/transport.ts'
import type { TestSyncNode } from './lib/nodes.ts'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

export interface TransportPair {
  parent: TestSyncNode
  /** An enrolled county whose sync service uses the transport under test. */
  child: TestSyncNode
  /** A transport of the same kind to a parent that cannot be reached. */
  unreachable(): ParentTransport
}

export async function transportSuite(t: Test, make: (t: Test) => Promise<TransportPair>): Promise<void> {
  t.test('enrolment stored the child at the parent and the chain at the child', async t => {
    const { parent, child } = await make(t)
    t.match((await parent.sync.status()).children, [{ code: child.code, tier: 'county' }])
    t.equal(child.sync.registry.tierOf(parent.code), 'city')
    t.equal(child.sync.registry.tierOf('330000'), 'province', 'the root of trust came down with the chain')
  })

  t.test('a change set is applied and receipted; the same again is a duplicate', async t => {
    const { parent, child } = await make(t)
    writeRows(child.storage, 'schools', [schoolRow(child.code, child.code, 1)])
    const [seq] = await child.sync.pack()
    const stored = child.storage.sqlite.prepare('select body, jws, hash from sync_change_sets where origin = ? and seq = ?').get(child.code, seq) as { body: Buffer; jws: string; hash: string }
    const cs = { ...stored, body: unpackBody(stored.body) }
    const res = await child.sync.transport!.request({ type: 'changeset.push', changeSet: cs })
    t.equal(res.status, 'applied')
    const { receipt } = await verifyReceipt(res.receipt, child.sync.registry, { receiver: parent.code, origin: child.code, seq, hash: cs.hash })
    t.equal(receipt.status, 'applied')
    t.equal((await child.sync.transport!.request({ type: 'changeset.push', changeSet: cs })).status, 'duplicate')
  })

  t.test('a refusal keeps its code, status and details across the transport', async t => {
    const { child } = await make(t)
    const signed = await signChangeSet({ format: 1, origin: child.code, seq: 5, prev: 'a'.repeat(64), createdAt: new Date().toISOString(), rows: [] }, await loadSigner(child.storage))
    await t.rejects(child.sync.transport!.request({ type: 'changeset.push', changeSet: signed }), { code: 'SYNC_SEQ_GAP', statusCode: 409, details: { expectedSeq: 1 } })
    await t.rejects(child.sync.transport!.request({ type: 'changesets.fetch', origin: '330108', after: 0, limit: 10 }), { code: 'SYNC_ORIGIN_OUTSIDE_SUBTREE', statusCode: 403 })
  })

  t.test('the other messages round-trip', async t => {
    const { parent, child } = await make(t)
    writeRows(child.storage, 'schools', [schoolRow(child.code, child.code, 1)])
    await child.sync.pack()
    await child.sync.pushOrigin(child.code)
    t.match((await child.sync.status()).upstream, [{ origin: child.code, lastSeq: 1, lastSent: 1, lastAcked: 1, lagChangeSets: 0 }], 'stamped sent (after the request left) and acknowledged')
    t.same((await child.sync.transport!.request({ type: 'origins.list' })).origins, [{ origin: child.code, seq: 1 }])
    const fetched = await child.sync.transport!.request({ type: 'changesets.fetch', origin: child.code, after: 0, limit: 10 })
    t.equal(fetched.changeSets.length, 1)
    t.same((await child.sync.transport!.request({ type: 'commands.pull', after: 0, limit: 10 })).commands, [])
    t.same((await child.sync.transport!.request({ type: 'commands.pull', after: 0, limit: 10, applied: `${parent.code}:3` })).commands, [], 'with what the child applied (R-26.2)')
    t.same((await child.sync.transport!.request({ type: 'origins.list' })).commandsApplied, [{ issuer: parent.code, seq: 3 }], 'kept by the parent and answered back')
    t.same((await child.sync.transport!.request({ type: 'commands.pull', after: 0, limit: 10, held: `${child.code}:2` })).commands, [], 'with what the child holds of the parent\'s commands (R-26.2)')
    t.same(parent.sync.downward.holdIssuing(), [child.code])
    t.same(await child.sync.transport!.request({ type: 'commands.pull', after: 5, limit: 10 }), { commands: [], restored: { after: 0 } }, 'a rebuilt parent asks a child beyond its restore point to report and pull again from there')
    t.same(await child.sync.transport!.request({ type: 'commands.pull', after: 0, limit: 10 }), { commands: [] }, 'a pull from there ends the hold')
    t.same(await parent.sync.downward.issue(child.code, 'sync.ping', {}), { seq: 3 }, 'issued after the seq the child holds')
    // Tokens are signed ahead (sync/service.ts `token`): requests at once each still take their own.
    const together = await Promise.all(Array.from({ length: 6 }, () => child.sync.transport!.request({ type: 'origins.list' })))
    t.same(together.map(r => r.origins.length), [1, 1, 1, 1, 1, 1], 'six requests at once, none refused as a replayed token')
    t.same(await child.sync.transport!.request({ type: 'keys.push', records: [] }), { stored: 0 })
    const parentRecord = child.storage.sqlite.prepare('select record from sync_keys where node = ? and valid_until_seq is null').pluck().all(parent.code)
    t.same((await child.sync.transport!.request({ type: 'keys.pull' })).records, parentRecord, 'keys.pull: the parent\'s chain below the root, as enrolment gave it')
    t.match(await child.sync.sendDigest(), { result: 'ok', drift: [] })
  })

  t.test('an unreachable parent is SYNC_PARENT_UNAVAILABLE (503, retried)', async t => {
    const { unreachable } = await make(t)
    const tr = unreachable()
    t.teardown(() => tr.close())
    await t.rejects(tr.request({ type: 'origins.list' }), { code: 'SYNC_PARENT_UNAVAILABLE', statusCode: 503 })
  })
}
