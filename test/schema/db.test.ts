import t from 'tap'
import { join } from 'node:path'
import { openStorage } from '../../schema/db.ts'
import { newRecordId } from '../../schema/record-ids.ts'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { computeUnits } from '../../sync/digest.ts'
import { fullRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('migrations create every table on an empty database, with durable pragmas', async t => {
  const file = join(t.testdir(), 'empty.db')
  const s = openStorage(file)
  t.teardown(() => s.close())
  const tables = (s.sqlite.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map(r => r.name)
  t.ok(tables.includes('node_identity'))
  t.ok(tables.includes('node_keys'))
  t.equal(s.sqlite.pragma('journal_mode', { simple: true }), 'wal')
  t.equal(s.sqlite.pragma('synchronous', { simple: true }), 2, 'synchronous=FULL')
  t.equal(s.sqlite.pragma('foreign_keys', { simple: true }), 1)
  t.equal(s.sqlite.pragma('busy_timeout', { simple: true }), 5000)
})

t.test('migrations applied twice change nothing (start after start)', async t => {
  const file = join(t.testdir(), 'twice.db')
  openStorage(file).close()
  const s = openStorage(file)
  t.teardown(() => s.close())
  const n = (s.sqlite.prepare('select count(*) n from __drizzle_migrations').get() as { n: number }).n
  t.ok(n >= 1)
})

t.test('write() is an IMMEDIATE transaction that rolls back on error', async t => {
  const s = openStorage(join(t.testdir(), 'tx.db'))
  t.teardown(() => s.close())
  s.sqlite.exec('create table t (x integer)')
  t.throws(() => s.write(() => {
    s.sqlite.prepare('insert into t values (1)').run()
    throw new Error('boom')
  }))
  t.equal((s.sqlite.prepare('select count(*) n from t').get() as { n: number }).n, 0)
})

t.test('R-D.2 the registry of replicated tables names each table once; the anti-entropy digest counts a problem record once', async t => {
  const names = REPLICATED_TABLES.map(r => r.name)
  t.strictSame(names.filter((n, i) => names.indexOf(n) !== i), [], 'no table twice')
  const s = openStorage(join(t.testdir(), 'digest.db'))
  t.teardown(() => s.close())
  const now = new Date().toISOString()
  const problem = fullRow('problem_records', { id: newRecordId(), home_node: '330106', version: 1, epoch: 0, created_at: now, updated_at: now, kind: 'duplicate_id_number', subject_table: 'students', subject_id: newRecordId(), other_id: newRecordId(), school_code: '3301060001', status: 'open' })
  writeRows(s, 'problem_records', [problem])
  t.match(computeUnits(s, '330106'), [{ unit: `problem_records:${problem.id}`, count: 1 }])
})
