import t from 'tap'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'
import { CHANGESET_TYP, signChangeSet, type ChangeRow, type ChangeSetBody, type SignedChangeSet } from '../../sync/changeset.ts'
import { signJws } from '../../sync/keys.ts'
import { loadSigner } from '../../sync/signers.ts'
import { makeFederation, settle, type TestSyncNode } from './lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

const head = (n: TestSyncNode, origin: string) => n.storage.sqlite.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string }
const push = (from: TestSyncNode, changeSet: { body: string; jws: string; hash?: string }) => from.sync.transport!.request({ type: 'changeset.push', changeSet: changeSet as SignedChangeSet })

t.test('R-D.2 malformed change sets are refusals with a code, never a 500 (issue 8 finding 7)', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  const [a, b] = [studentRow('330106', school, 1), studentRow('330106', school, 2)]
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', [a, b])
  await settle(county, city, province)
  const signer = await loadSigner(county.storage)
  const next = (rows: ChangeRow[]): ChangeSetBody => {
    const h = head(city, '330106')
    return { format: 1, origin: '330106', seq: h.seq + 1, prev: h.hash, createdAt: new Date().toISOString(), rows }
  }

  // A rekey moving student b onto a's id, which is taken.
  const rekey: ChangeRow = { table: 'students', key: { id: a.id as string }, op: 'upsert', row: { ...b, id: a.id, version: 2 }, version: 2, rekey: { from: { id: b.id as string } } }
  await t.rejects(push(county, await signChangeSet(next([rekey]), signer)), { code: 'SYNC_ROW_INVALID', statusCode: 422 }, 'a rekey onto an existing id')
  t.match(city.storage.sqlite.prepare("select status, bad_rows from sync_quarantine where origin = '330106'").get(), { status: 'held', bad_rows: /rekey/ }, 'signed and in order: quarantined with the reason')

  // A value nested 20,000 deep, in a body that is otherwise canonical and validly signed.
  const body = next([{ table: 'students', key: { id: a.id as string }, op: 'upsert', row: { ...a, name: 'DEEP', version: 3 }, version: 3 }])
  const text = canonicalJson(body).replace('"DEEP"', `${'['.repeat(20000)}${']'.repeat(20000)}`)
  const manifest = { format: 1, origin: '330106', seq: body.seq, prev: body.prev, hash: sha256Hex(text), rows: 1, bytes: Buffer.byteLength(text), createdAt: body.createdAt }
  await t.rejects(push(county, { body: text, jws: await signJws(manifest, CHANGESET_TYP, signer) }), { code: 'SYNC_MALFORMED', statusCode: 400 }, 'a value nested 20,000 deep')
  t.match(city.storage.sqlite.prepare("select status, bad_rows from sync_quarantine where hash = ?").get(manifest.hash), { status: 'held', bad_rows: /SYNC_MALFORMED/ }, 'signed by its origin and in order: quarantined too, so ops see why the chain stopped')
  await t.rejects(push(county, { body: text, jws: await signJws({ ...manifest, seq: manifest.seq + 1, prev: manifest.prev ?? sha256Hex('x') }, CHANGESET_TYP, signer) }), { code: 'SYNC_MALFORMED' })
  t.equal(city.storage.sqlite.prepare("select count(*) from sync_quarantine where seq = ?").pluck().get(manifest.seq + 1), 0, 'out of order: refused, not kept')
  t.throws(() => canonicalJson({ v: JSON.parse(`${'['.repeat(65)}${']'.repeat(65)}`) }), { code: 'SYNC_MALFORMED' }, 'nothing nested deeper than 64 is written either')

  // The same fork of seq 1 five times, and a second one: two rows, counted.
  const fork = (version: number) => signChangeSet({ format: 1, origin: '330106', seq: 1, prev: null, createdAt: '2026-01-01T00:00:00.000Z', rows: [{ table: 'students', key: { id: a.id as string }, op: 'upsert', row: { ...a, version }, version }] }, signer)
  const [f1, f2] = [await fork(8), await fork(9)]
  for (let i = 0; i < 5; i++) await t.rejects(push(county, f1), { code: 'SYNC_FORK' })
  await t.rejects(push(county, f2), { code: 'SYNC_FORK' })
  t.same(city.storage.sqlite.prepare("select hash, count from sync_conflicts where origin = '330106' order by count desc").all(), [{ hash: f1.hash, count: 5 }, { hash: f2.hash, count: 1 }], 'stored once per distinct hash, with a count')
})
