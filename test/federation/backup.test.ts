import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { freePort, nodeBundle, spawnNode, stopProcess, waitReady } from '../../scripts/lib/processes.ts'
import { openStorage } from '../../schema/db.ts'
import { dumpAll } from '../node/backup/tables.ts'
import { cli, countRows, startFederation, until } from './lib/federation.ts'

/**
 * Columns the node itself moves on after the moment of a backup without any new write: the
 * packer marks outbox rows packed, receipts mark change sets acknowledged, the link records its
 * last contact and command cursor. Everything else must be identical.
 */
const BOOKKEEPING: Record<string, string[]> = {
  outbox: ['change_set_seq'],
  sync_change_sets: ['sent_at', 'acked_at', 'receipt'],
  sync_link: ['failures', 'next_attempt_at', 'last_error', 'last_error_at', 'last_success_at', 'digest_sent_at', 'command_cursor'],
}

type Row = Record<string, unknown>
const without = (table: string, rows: Row[]) => rows.map(r => Object.fromEntries(Object.entries(r).filter(([c]) => !BOOKKEEPING[table]?.includes(c))))

t.test('R-26.2 a county backed up while writes run, lost, restored into a new directory and rebuilt from its parent comes back whole', async t => {
  const [, city, county] = await startFederation(t)
  const root = mkdtempSync(join(tmpdir(), 'xueji-restore-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const key = join(root, 'backup.key')
  const target = join(root, 'target')
  await cli(['backup-key', '--out', key])

  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  let n = 0
  const write = (count: number) => {
    for (let i = 0; i < count; i++) writeRows(county.storage, 'students', [studentRow('330106', school, n++)])
  }
  write(100)

  // `xueji backup` as its own process while this one keeps writing (and the node packs and sends).
  const backup = spawn(process.execPath, [nodeBundle(), 'backup', '--data', county.dir, '--to', target, '--key', key], { stdio: ['ignore', 'pipe', 'pipe'] })
  let backupOut = ''
  backup.stdout!.on('data', d => (backupOut += d))
  backup.stderr!.on('data', d => (backupOut += d))
  const exited = new Promise<number | null>(r => backup.once('exit', r))
  const started = Date.now()
  let during = 0
  while (backup.exitCode === null) {
    write(1)
    during++
    await new Promise(r => setTimeout(r, 2))
  }
  t.equal(await exited, 0, backupOut)
  write(50)
  t.comment(`${during} students written while xueji backup ran (${Date.now() - started} ms, process start included; ${/[0-9.]+ MiB/.exec(backupOut)?.[0]}); ${n} in all`)
  await until('every student at the city', () => countRows(city.storage, 'students') === n)

  // The county is lost.
  const source = dumpAll(join(county.dir, 'xueji.db'))
  await county.kill()

  const restored = join(root, 'restored')
  const port = await freePort()
  await cli(['restore', '--from', target, '--key', key, '--data', restored, '--port', String(port)])
  const copy = dumpAll(join(restored, 'xueji.db'))
  t.ok(copy.students.length > 100 && copy.students.length < n, `the backup holds ${copy.students.length} of ${n} students: its own moment`)
  // As of the backup's moment: every table of the copy is the source's table up to that moment
  // (a prefix in insertion order), row for row, bookkeeping columns aside.
  t.same(Object.keys(copy), Object.keys(source), 'the same tables')
  for (const [table, rows] of Object.entries(copy)) {
    if (table === 'outbox') continue
    t.same(without(table, rows), without(table, source[table].slice(0, rows.length)), `${table}: ${rows.length} row(s) identical to the source as of the backup`)
  }
  // The outbox loses the rows of acknowledged change sets (sync/service.ts pruneOutbox), the oldest
  // first, in the source after the backup too: every row the source still holds is the copy's row.
  const sourceOutbox = new Map(source.outbox.map(o => [o.id, o]))
  const kept = copy.outbox.filter(o => sourceOutbox.has(o.id))
  t.same(without('outbox', kept), without('outbox', kept.map(o => sourceOutbox.get(o.id)!)), `outbox: ${kept.length} row(s) the source still holds identical to the backup's`)
  // Whole transactions only: the students whose outbox row is gone were pruned as acknowledged, so
  // they are the oldest; every later student has its outbox row in the backup.
  const withRow = new Set(copy.outbox.filter(o => o.table_name === 'students').map(o => JSON.parse(String(o.key_json)).id))
  const firstWithRow = copy.students.findIndex(s => withRow.has(s.id))
  const tail = firstWithRow < 0 ? [] : copy.students.slice(firstWithRow)
  t.ok(tail.every(s => withRow.has(s.id)) && tail.length === withRow.size, `each student with its outbox row (${withRow.size}), the ${copy.students.length - tail.length} before them pruned as acknowledged: whole transactions only`)

  // What the backup missed comes back from the parent, then the node starts on its new port.
  t.match(await cli(['sync', 'rebuild', '--data', restored]), /fetched back \d+ change set/)
  const after = openStorage(join(restored, 'xueji.db'))
  t.teardown(() => after.close())
  t.same(dump(after, 'students'), dump(city.storage, 'students'), 'after rebuild: identical to the parent\'s view')
  t.same(dump(after, 'schools'), dump(city.storage, 'schools'))
  t.same(dump(after, 'students'), [...source.students].sort((a, b) => (String(a.id) < String(b.id) ? -1 : 1)), 'and to the lost county as it was')
  const node = spawnNode(restored, {}, join(root, 'restored.log'))
  t.teardown(() => stopProcess(node).then(() => undefined))
  await waitReady(`http://127.0.0.1:${port}`, 60000, node)
  // It carries on its own chain: a new write reaches the city without a fork.
  writeRows(after, 'students', [studentRow('330106', school, n++)])
  await until('the restored county\'s new student at the city', () => countRows(city.storage, 'students') === n)
  t.equal(countRows(city.storage, 'sync_conflicts'), 0, 'no fork, no replay at the parent')
})
