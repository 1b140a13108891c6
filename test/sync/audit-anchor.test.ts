/**
 * The audit head travels up in the signed manifests (issue 8, finding 8): with the rows, and in
 * an empty change set when a node only logged; the parent answers the anchors to the node itself.
 */
import t from 'tap'
import { appendAudit, readAudit } from '../../node/auth/audit.ts'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { CHANGESET_TYP, type AuditAnchor } from '../../sync/changeset.ts'
import { openCompactJws } from '../../sync/keys.ts'
import type { Storage } from '../../schema/db.ts'
import { makeFederation, settle } from './lib/nodes.ts'

const entry = (i: number) => ({ actorId: 'a', actorRole: 'teacher', ip: '10.0.0.1', action: `reveal ${i}`, targetTable: null, targetId: null, fields: null, outcome: 'ok' as const, status: 200, code: null })
const held = (s: Storage, origin: string) =>
  (s.sqlite.prepare('select rows, jws from sync_change_sets where origin = ? order by seq').all(origin) as { rows: number; jws: string }[]).map(r => ({ rows: r.rows, audit: openCompactJws(r.jws, CHANGESET_TYP).unverifiedPayload.audit as AuditAnchor }))

t.test('R-25.2 R-D.2 an idle county that only logs still anchors its audit head at the parent, at most once per interval; the province anchors nothing', async t => {
  const { province, city, county } = await makeFederation(t, { sync: { antiEntropyIntervalMs: 1000 } })
  t.same(await county.sync.anchorAudit(), [], 'an empty audit log: nothing to anchor')
  for (let i = 0; i < 3; i++) appendAudit(county.storage, entry(i))
  const head = readAudit(county.storage).at(-1)!
  const [seq] = await county.sync.anchorAudit()
  t.ok(seq, 'an anchor-only change set')
  t.same(await county.sync.anchorAudit(), [], 'not again while the log stands still')
  await settle(county, city, province)
  t.same(held(city.storage, '330106'), [{ rows: 0, audit: { seq: 3, hash: head.hash } }], 'the city holds it')
  t.same(held(province.storage, '330106'), held(city.storage, '330106'), 'relayed unaltered')

  appendAudit(county.storage, entry(3))
  t.same(await county.sync.anchorAudit(), [], 'the last change set is younger than the interval: wait')
  await new Promise(r => setTimeout(r, 1100))
  t.equal((await county.sync.anchorAudit()).length, 1, 'an interval later it goes')
  await settle(county, city, province)
  t.same(held(city.storage, '330106').map(h => h.audit.seq), [3, 4])

  // With rows, the change set carries the head anyway.
  appendAudit(county.storage, entry(4))
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  await settle(county, city, province)
  t.match(held(city.storage, '330106').at(-1), { rows: 1, audit: { seq: 5 } })
  await new Promise(r => setTimeout(r, 1100))
  t.same(await county.sync.anchorAudit(), [], 'the row change set already anchored seq 5')

  t.same(
    (await county.sync.auditAnchors()).map(a => a.seq),
    [3, 4, 5],
    'the city answers every anchor to the county itself',
  )
  appendAudit(province.storage, entry(0))
  t.same(await province.sync.anchorAudit(), [], 'the province has no parent to anchor at')
})
