import t from 'tap'
import { makeFederation, settle } from './lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

const outboxRows = (db: { prepare(sql: string): { pluck(): { get(): unknown } } }) => db.prepare('select count(*) from outbox').pluck().get() as number

t.test('R-D.3 outbox rows are pruned only once their change set is acknowledged, and a resend still works from the stored change sets', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', [studentRow('330106', school, 1), studentRow('330106', school, 2)])
  await county.sync.pack()
  t.equal(county.sync.pruneOutbox(), 0, 'packed but not acknowledged: nothing pruned')
  t.equal(outboxRows(county.storage.sqlite), 3)

  await settle(county, city, province)
  writeRows(county.storage, 'students', [studentRow('330106', school, 3)])
  t.equal(county.sync.pruneOutbox(), 3, 'the acknowledged rows are pruned')
  t.equal(outboxRows(county.storage.sqlite), 1, 'the row not yet packed stays')

  t.equal(county.sync.resendFrom(1), 1, 'resend from seq 1')
  await settle(county, city, province)
  const acked = county.storage.sqlite.prepare('select count(*) from sync_change_sets where origin = ? and acked_at is null').pluck().get('330106')
  t.equal(acked, 0, 'every change set acknowledged again, the resent one as a duplicate')
  t.equal(province.storage.sqlite.prepare('select count(*) from students').pluck().get(), 3, 'the province holds every student')
  await county.sync.reconcile()
  t.equal(outboxRows(county.storage.sqlite), 0, 'the reconciler prunes what was acknowledged since')
})

t.test('R-D.3 pruning hands freed pages back to the file system once the outbox is empty, not while rows still wait', async t => {
  const { province, city, county } = await makeFederation(t)
  const db = county.storage.sqlite
  const free = () => db.pragma('freelist_count', { simple: true }) as number
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  for (let i = 0; i < 3000; i += 500) writeRows(county.storage, 'students', Array.from({ length: 500 }, (_, j) => studentRow('330106', school, i + j)))
  await settle(county, city, province)
  writeRows(county.storage, 'students', [studentRow('330106', school, 3000)])
  t.equal(county.sync.pruneOutbox(), 3001, 'the acknowledged rows are pruned')
  const kept = free()
  t.ok(kept * 4 > (db.pragma('page_count', { simple: true }) as number), `a row still waits: the ${kept} freed pages stay in the file for the next rows`)
  await settle(county, city, province)
  t.equal(county.sync.pruneOutbox(), 1)
  t.ok(free() < kept / 10, `the outbox empty: the freed pages are handed back (${free()} left)`)
})
