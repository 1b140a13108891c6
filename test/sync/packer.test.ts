import t from 'tap'
import { canonicalJson } from '../../sync/canonical.ts'
import { unpackBody, type ChangeSetBody } from '../../sync/changeset.ts'
import { makeFederation, makeNode, settle } from './lib/nodes.ts'
import { changeStudentNo, deleteRow, dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-D.2 the packer writes each body as the canonical JSON of its rows: actor, epoch, key change and tombstone included', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  const a = studentRow('330106', school, 1)
  const b = studentRow('330106', school, 2)
  writeRows(county.storage, 'students', [a, b], { actor: 'registrar-1' })
  writeRows(county.storage, 'students', [{ ...b, version: 2, epoch: 3 }], { epoch: 3 })
  changeStudentNo(county.storage, a, `G${a.id_number as string}`)
  deleteRow(county.storage, 'students', b.id as string, 3)
  await county.sync.pack()

  const stored = county.storage.sqlite.prepare('select body, hash from sync_change_sets where origin = ? order by seq').all('330106') as { body: Buffer; hash: string }[]
  const rows = stored.flatMap(s => {
    const text = unpackBody(s.body)
    t.equal(text, canonicalJson(JSON.parse(text)), 'the body text is canonical')
    return (JSON.parse(text) as ChangeSetBody).rows
  })
  t.same(rows.map(r => [r.table, r.op, r.version, r.actor, r.epoch, r.rekey]), [
    ['schools', 'upsert', 1, undefined, undefined, undefined],
    ['students', 'upsert', 1, 'registrar-1', undefined, undefined],
    ['students', 'upsert', 1, 'registrar-1', undefined, undefined],
    ['students', 'upsert', 2, undefined, 3, undefined],
    ['students', 'upsert', 2, undefined, undefined, { from: { student_no: a.student_no } }],
    ['students', 'delete', 3, undefined, undefined, undefined],
  ])
  t.notOk('row' in rows[5], 'a tombstone carries no row image')

  await settle(county, city, province)
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'every tier verified and applied them')
})

t.test('R-D.2 the packer refuses an outbox row of the wrong shape: SYNC_MALFORMED, nothing stored, the row left for an operator', async t => {
  const county = await makeNode(t, { tier: 'county', code: '330106' })
  const db = county.storage.sqlite
  const insert = db.prepare("insert into outbox (table_name, key_json, op, row_json, version, epoch, actor, rekey_json, created_at) values ('students', ?, ?, ?, 1, 0, null, null, '2026-12-01T00:00:00.000Z')")
  for (const [what, key, op, row] of [
    ['an upsert without its row image', '{"id":"s1"}', 'upsert', null],
    ['a row image that is not an object', '{"id":"s1"}', 'upsert', '[1]'],
    ['a tombstone with a row image', '{"id":"s1"}', 'delete', '{"id":"s1"}'],
    ['an empty key', '{}', 'upsert', '{"id":"s1"}'],
    ['an unknown operation', '{"id":"s1"}', 'merge', '{"id":"s1"}'],
  ] as const) {
    county.storage.write(() => insert.run(key, op, row))
    await t.rejects(county.sync.pack(), { code: 'SYNC_MALFORMED' }, what)
    t.equal(db.prepare('select count(*) from sync_change_sets').pluck().get(), 0, `${what}: no change set stored`)
    t.equal(db.prepare('select count(*) from outbox where change_set_seq is null').pluck().get(), 1, `${what}: the outbox row stays`)
    db.prepare('delete from outbox').run()
  }
})
