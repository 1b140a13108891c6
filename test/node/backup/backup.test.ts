import t, { type Test } from 'tap'
import { readFileSync, writeFileSync, existsSync, readdirSync, renameSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initNode } from '../../../node/identity.ts'
import { openStorage } from '../../../schema/db.ts'
import { main } from '../../../scripts/cli.ts'
import { schoolRow, studentRow, writeRows } from '../../../scripts/lib/sync-fixtures.ts'
import { REDIS_URL, buildTestApp, uniquePrefix } from '../../helper.ts'
import { dumpAll } from './tables.ts'
import { startSshd } from './sshd.ts'
import { backupName } from '../../../node/backup/rules.ts'

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const code = await main(args, { XUEJI_INIT_ADMIN_PASSWORD: undefined }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

/** A county node with a school and 50 students (rows and outbox), and a backup key beside it. */
async function countyWithData(t: Test) {
  const root = t.testdir()
  const dataDir = join(root, 'node')
  await initNode({ dataDir, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:1', config: { redis: { url: REDIS_URL, prefix: uniquePrefix() } } })
  const storage = openStorage(join(dataDir, 'xueji.db'))
  const school = schoolRow('330106', '330106', 1)
  writeRows(storage, 'schools', [school])
  writeRows(storage, 'students', Array.from({ length: 50 }, (_, i) => studentRow('330106', school, i)))
  storage.close()
  const key = join(root, 'backup.key')
  t.equal((await run(['backup-key', '--out', key])).code, 0)
  return { root, dataDir, key }
}

const codeOf = (r: { err: string }) => /error \[([A-Z_]+)\]/.exec(r.err)?.[1]

t.test('R-26.2 a backup to a directory restores into a new directory with every table row-identical, keys and configuration included', async t => {
  const { root, dataDir, key } = await countyWithData(t)
  const target = join(root, 'target')
  const b = await run(['backup', '--data', dataDir, '--to', target, '--key', key])
  t.equal(b.code, 0, b.err)
  const [name] = readdirSync(target)
  t.match(name, /^xueji-330106-\d{8}T\d{6}Z$/)
  const manifest = JSON.parse(readFileSync(join(target, name, 'manifest.json'), 'utf8'))
  t.equal(manifest.files.find((f: { path: string }) => f.path === 'xueji.json').size, readFileSync(join(dataDir, 'xueji.json')).length, 'the manifest states each clear size')
  t.same(manifest.files.map((f: { path: string }) => f.path).sort(), ['keys/audit.key', `keys/${readdirSync(join(dataDir, 'keys')).find(f => f.endsWith('.pem'))}`, 'keys/secrets.key', 'xueji.db', 'xueji.json'].sort(), 'database, every key and the configuration')
  // Encrypted: no student name and no key appears in clear in any blob.
  const secrets = readFileSync(join(dataDir, 'keys', 'secrets.key'), 'utf8').trim()
  for (const f of readdirSync(join(target, name))) {
    const bytes = readFileSync(join(target, name, f))
    t.notOk(bytes.includes(Buffer.from('学生1')) || bytes.includes(Buffer.from(secrets)) || bytes.includes(Buffer.from('SQLite format')), `${f} holds no clear content`)
  }

  const restored = join(root, 'restored')
  const r = await run(['restore', '--from', target, '--key', key, '--data', restored, '--port', '18099'])
  t.equal(r.code, 0, r.err)
  t.match(r.out, /xueji sync rebuild --data/, 'tells the operator to rebuild from the parent next')
  t.same(dumpAll(join(restored, 'xueji.db')), dumpAll(join(dataDir, 'xueji.db')), 'every table row-identical')
  for (const f of readdirSync(join(dataDir, 'keys'))) t.same(readFileSync(join(restored, 'keys', f)), readFileSync(join(dataDir, 'keys', f)), `keys/${f} restored`)
  t.equal(JSON.parse(readFileSync(join(restored, 'xueji.json'), 'utf8')).server.port, 18099, '--port rewrites server.port')

  // A restored child may not start before it fetched back what the backup missed.
  const start = await run(['start', '--data', restored])
  t.equal(codeOf(start), 'NODE_RESTORE_PENDING')
  t.equal(codeOf(await run(['sync', 'push', '--data', restored])), 'NODE_RESTORE_PENDING', 'nor push')
  // Restoring over a node is refused.
  t.equal(codeOf(await run(['restore', '--from', target, '--key', key, '--data', dataDir])), 'BACKUP_RESTORE_TARGET_EXISTS')
})

t.test('R-26.2 a tampered or foreign backup is refused by restore with a stable code, and nothing is written', async t => {
  const { root, dataDir, key } = await countyWithData(t)
  const target = join(root, 'target')
  t.equal((await run(['backup', '--data', dataDir, '--to', target, '--key', key])).code, 0)
  const [name] = readdirSync(target)
  const dir = join(target, name)
  const original = new Map(readdirSync(dir).map(f => [f, readFileSync(join(dir, f))]))
  const reset = () => original.forEach((bytes, f) => writeFileSync(join(dir, f), bytes))
  const refused = async (what: string, code: string, k = key) => {
    const into = join(root, `r-${what.replace(/\W+/g, '-')}`)
    const r = await run(['restore', '--from', target, '--key', k, '--data', into])
    t.equal(codeOf(r), code, what)
    t.notOk(existsSync(into), `${what}: nothing written`)
    reset()
  }
  const flip = (file: string, at: number) => {
    const b = Buffer.from(original.get(file)!)
    b[at] ^= 0x01
    writeFileSync(join(dir, file), b)
  }
  flip('0.bin', 4000)
  await refused('one altered byte of the database blob', 'BACKUP_TAMPERED')
  flip('0.bin', original.get('0.bin')!.length - 1)
  await refused('an altered GCM tag', 'BACKUP_TAMPERED')
  const m = JSON.parse(original.get('manifest.json')!.toString())
  // Replace a blob and fix its hash in the manifest: the MAC no longer matches.
  writeFileSync(join(dir, '1.bin'), original.get('2.bin')!)
  m.files[1].blobSha256 = m.files[2].blobSha256
  writeFileSync(join(dir, 'manifest.json'), JSON.stringify(m))
  await refused('a swapped blob with a forged manifest hash', 'BACKUP_MANIFEST_INVALID')
  writeFileSync(join(dir, '1.bin'), original.get('2.bin')!)
  await refused('a swapped blob', 'BACKUP_TAMPERED')
  renameSync(join(dir, '3.bin'), join(root, 'gone.bin'))
  await refused('a missing blob', 'BACKUP_TAMPERED')
  writeFileSync(join(dir, 'manifest.json'), 'not json')
  await refused('a damaged manifest', 'BACKUP_MANIFEST_INVALID')
  const other = join(root, 'other.key')
  await run(['backup-key', '--out', other])
  await refused('another backup key', 'BACKUP_MANIFEST_INVALID', other)
  // The untouched backup still restores.
  t.equal((await run(['restore', '--from', target, '--key', key, '--data', join(root, 'ok')])).code, 0)
})

t.test('R-26.2 the backup key must exist and lie outside the data directory; a bad target is refused', async t => {
  const { root, dataDir } = await countyWithData(t)
  t.equal(codeOf(await run(['backup', '--data', dataDir, '--to', join(root, 't'), '--key', join(root, 'nope.key')])), 'BACKUP_KEY_MISSING')
  t.equal(codeOf(await run(['backup', '--data', dataDir, '--to', join(root, 't'), '--key', join(dataDir, 'keys', 'secrets.key')])), 'BACKUP_KEY_INSIDE_DATA')
  t.equal(codeOf(await run(['backup', '--data', dataDir, '--to', 'ftp://x@host/p', '--key', join(root, 'backup.key')])), 'BACKUP_TARGET_INVALID')
  t.equal(codeOf(await run(['restore', '--from', join(root, 'empty'), '--key', join(root, 'backup.key'), '--data', join(root, 'r')])), 'BACKUP_NOT_FOUND')
  t.notOk(existsSync(join(root, 'r')))
  t.notOk(existsSync(join(root, 'empty')), 'a restore does not make the target it reads from')
  t.equal(codeOf(await run(['restore', '--from', root, '--backup', '../node', '--key', join(root, 'backup.key'), '--data', join(root, 'r')])), 'BACKUP_NOT_FOUND', 'a name that is a path is refused')
})

t.test('R-26.2 SFTP target (异地异机): backup, list and restore round trip through OpenSSH on loopback; a server with another host key is refused', async t => {
  const { root, dataDir, key } = await countyWithData(t)
  const sshd = await startSshd(t, join(root, 'sshd'))
  if (typeof sshd === 'string') {
    t.fail(`no SFTP server: ${sshd}`)
    return
  }
  const remoteDir = join(root, 'remote', 'backups')
  mkdirSync(join(root, 'remote'))
  const target = `sftp://${sshd.user}@127.0.0.1:${sshd.port}${remoteDir}`
  const ssh = ['--identity', sshd.identityFile, '--host-key', sshd.hostKey]
  const b = await run(['backup', '--data', dataDir, '--to', target, '--key', key, ...ssh])
  t.equal(b.code, 0, b.err)
  const [name] = readdirSync(remoteDir)
  t.match(name, /^xueji-330106-/, 'the backup lies on the server')
  t.match((await run(['backup', 'list', '--data', dataDir, '--to', target, ...ssh])).out, name)
  const restored = join(root, 'restored')
  const r = await run(['restore', '--from', target, '--key', key, '--data', restored, ...ssh])
  t.equal(r.code, 0, r.err)
  t.same(dumpAll(join(restored, 'xueji.db')), dumpAll(join(dataDir, 'xueji.db')), 'every table row-identical after the round trip')

  const wrong = await run(['backup', '--data', dataDir, '--to', target, '--key', key, '--identity', sshd.identityFile, '--host-key', sshd.otherHostKey])
  t.equal(codeOf(wrong), 'BACKUP_SFTP_FAILED', 'a server showing another host key gets no backup')
  t.match(wrong.err, /host key/)
  t.equal(codeOf(await run(['backup', '--data', dataDir, '--to', target, '--key', key, '--identity', sshd.identityFile])), 'BACKUP_SFTP_FAILED', 'no pinned host key: refused')
  t.equal(readdirSync(remoteDir).length, 1)
})

t.test('R-26.2 the node backs itself up on its schedule while writes go on, and the copy is consistent', async t => {
  const outside = mkdtempSync(join(tmpdir(), 'xueji-backup-key-'))
  t.teardown(() => rmSync(outside, { recursive: true, force: true }))
  const key = join(outside, 'backup.key')
  await run(['backup-key', '--out', key])
  const target = join(outside, 'target')
  // '00:00' Beijing time has always passed today: the first tick finds the backup due, so it may
  // start as soon as the app does. The school and its first students are written before that, so
  // the copy holds some whatever the timing; the writes go on while the backup runs.
  const school = schoolRow('330106', '330106', 1)
  const BEFORE = 20
  const app = await buildTestApp(t, {
    config: { backup: { at: '00:00', target, keyFile: key } },
    prepare: storage => {
      writeRows(storage, 'schools', [school])
      writeRows(storage, 'students', Array.from({ length: BEFORE }, (_, i) => studentRow('330106', school, i)))
    },
  })
  let written = BEFORE
  while (!(existsSync(target) && readdirSync(target).some(n => !n.endsWith('.partial')))) {
    writeRows(app.storage, 'students', [studentRow('330106', school, written++)])
    await new Promise(r => setImmediate(r))
  }
  t.comment(`${written - BEFORE} students written while the scheduled backup ran`)
  const restored = join(outside, 'restored')
  const r = await run(['restore', '--from', target, '--key', key, '--data', restored])
  t.equal(r.code, 0, r.err)
  const copy = dumpAll(join(restored, 'xueji.db'))
  const live = dumpAll(join(app.dataDir, 'xueji.db'))
  const ids = (rows: Record<string, unknown>[]) => rows.map(r => r.id as string)
  t.ok(copy.students.length >= BEFORE, `the copy holds ${copy.students.length} students, at least the ${BEFORE} written before the node started`)
  t.same(copy.students, live.students.slice(0, copy.students.length), 'the copy is the live table as of one moment: a prefix, row-identical')
  const outboxKeys = new Set(copy.outbox.map(o => JSON.parse(o.key_json as string).id))
  t.ok(ids(copy.students).every(id => outboxKeys.has(id)) && copy.outbox.filter(o => o.table_name === 'students').length === copy.students.length, 'every student with its outbox row and no outbox row without its student (whole transactions)')
})

t.test('R-26.2 xueji backup --prune keeps the newest of 7 days, 4 weeks and 12 months of this node and deletes older ones', async t => {
  const { root, dataDir, key } = await countyWithData(t)
  const target = join(root, 'target')
  const day = 86400000
  // Forty daily backups of this node at 12:00 Beijing time (04:00 UTC) before today, a second one at
  // 11:00 on the tenth of those days, and one of another node that shares the target.
  const noon = (daysAgo: number, hourUtc = 4) => new Date(Math.floor(Date.now() / day) * day - daysAgo * day + hourUtc * 3600000)
  const old = Array.from({ length: 40 }, (_, i) => backupName('330106', noon(i + 1)))
  const earlier = backupName('330106', noon(10, 3))
  for (const n of [...old, earlier, backupName('330108', noon(400))]) mkdirSync(join(target, n), { recursive: true })
  const r = await run(['backup', '--data', dataDir, '--to', target, '--key', key, '--prune'])
  t.equal(r.code, 0, r.err)
  const left = readdirSync(target)
  t.ok(left.includes(backupName('330108', noon(400))), "another node's backups are not touched")
  const mine = left.filter(n => n.startsWith('xueji-330106-'))
  t.ok(old.slice(0, 6).every(n => mine.includes(n)), 'the six days before today that hold one are kept (today is the seventh)')
  t.notOk(mine.includes(earlier), 'an older backup of a day that has a newer one is gone')
  t.ok(mine.length <= 7 + 4 + 12 && mine.length >= 9, `${mine.length} of 42 kept`)
  t.match(r.out, /pruned: /)
})
