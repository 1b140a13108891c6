import t from 'tap'
import { makeFederation } from './lib/nodes.ts'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-D.2 a change set refused above the relay is reported back to its origin, once', async t => {
  const { province, city, county } = await makeFederation(t)
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  await county.sync.pack()
  await county.sync.pushOrigin('330106')
  // The province already holds another seq 1 of the county (a forged or forked history).
  province.storage.write(() =>
    province.storage.sqlite
      .prepare(`insert into sync_change_sets (origin, seq, hash, prev, body, jws, kid, rows, bytes, created_at, received_from, stored_at, acked_at)
        values ('330106', 1, 'other', null, '{}', 'x.y.z', 'k', 0, 2, ?, '330100', ?, ?)`)
      .run(new Date().toISOString(), new Date().toISOString(), new Date().toISOString()),
  )
  await t.rejects(city.sync.pushOrigin('330106'), { code: 'SYNC_FORK' }, 'the province refuses the relayed change set')
  await t.rejects(city.sync.pushOrigin('330106'), { code: 'SYNC_FORK' }, 'and again on the next try')
  const issued = () => city.storage.sqlite.prepare("select count(*) from sync_commands where issuer = '330100' and destination = '330106' and type = 'sync.feedback'").pluck().get() as number
  for (let i = 0; i < 100 && issued() < 1; i++) await new Promise(r => setTimeout(r, 20))
  t.equal(issued(), 1, 'the relay tells the origin once, not on every retry')
  await county.sync.pullCommands()
  t.same(
    county.storage.sqlite.prepare('select kind, reported_by, seq, table_name, record_id, code from sync_feedback').all(),
    [{ kind: 'refused', reported_by: '330100', seq: 1, table_name: 'sync_change_sets', record_id: '330106/1', code: 'SYNC_FORK' }],
    'the county stores which change set was refused and why',
  )
})
