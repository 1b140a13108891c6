import t from 'tap'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { buildTestApp, loginAs, TEST_PASSWORD } from '../../helper.ts'
import { main } from '../../../scripts/cli.ts'
import { openStorage } from '../../../schema/db.ts'
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { startNode } from '../../../node/server.ts'
import { AUDIT_KEY_FILE, appendAudit, auditKeyOf, ensureAuditKey, entryHash, readAudit, verifyAuditChain, verifyAuditLog, type AuditRow } from '../../../node/auth/audit.ts'
import { canonicalJson, sha256Hex } from '../../../sync/canonical.ts'
import { seedWorld } from './fixtures.ts'

async function cli(...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, {}, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

t.test('R-25.2 every write, login (success and failure) and denied request is audited with who, what, when, from where, outcome', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] })
  await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: admin.account.username, password: 'not the password' }, remoteAddress: '10.1.2.3' })
  await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload: { username: 't1', password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] } } })
  await app.inject({ url: '/api/v1/audit', headers: admin.headers })
  await app.inject({ url: '/api/v1/accounts' })
  const log = readAudit(app.storage)
  const find = (pred: (e: (typeof log)[number]) => boolean) => log.find(pred)
  t.ok(find(e => e.action === 'login' && e.outcome === 'ok' && e.actorId === admin.account.id), 'login success')
  t.ok(find(e => e.action === 'login_totp' && e.outcome === 'ok'), 'second factor')
  const failed = find(e => e.action === 'login' && e.status === 401)!
  t.same([failed.actorId, failed.ip, failed.code, failed.outcome], [admin.account.id, '10.1.2.3', 'AUTH_FAILED', 'failed'], 'login failure names the account id and address')
  const created = find(e => e.action === 'POST /api/v1/accounts')!
  t.same([created.outcome, created.targetTable, created.actorRole], ['ok', 'accounts', 'school_admin'])
  t.match(created.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'UTC')
  t.ok(find(e => e.action === 'GET /api/v1/audit' && e.outcome === 'denied' && e.code === 'FORBIDDEN'), 'a denied read')
  t.ok(find(e => e.action === 'GET /api/v1/accounts' && e.outcome === 'denied' && e.code === 'AUTH_REQUIRED' && e.actorId === null), 'an anonymous request')
  t.notOk(find(e => e.action === 'GET /api/v1/auth/me'), 'allowed reads are not audited')
})

t.test('R-25.2 the audit chain detects a changed, a deleted and a reordered entry (API and xueji audit verify)', async t => {
  const app = await buildTestApp(t)
  const bureau = await loginAs(app, 'bureau_admin', { kind: 'bureau', node: '330106' })
  for (let i = 0; i < 4; i++) await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: bureau.account.username, password: 'not the password' } })
  for (let i = 0; i < 6; i++) appendAudit(app.storage, { actorId: 'a', actorRole: 'teacher', ip: '10.0.0.1', action: `test ${i}`, targetTable: null, targetId: null, fields: null, outcome: 'ok', status: 200, code: null })
  const v = await app.inject({ url: '/api/v1/audit/verify', headers: bureau.headers })
  t.equal(v.json().ok, true)
  t.match(v.json(), { anchors: 0, parentError: 'SYNC_NOT_ENROLLED' }, 'says that no parent anchors were checked')
  const dataDir = app.dataDir
  const good = await cli('audit', 'verify', '--data', dataDir)
  t.equal(good.code, 0, good.err)
  t.match(good.out, /audit log OK: \d+ entries/)
  const rows = readAudit(app.storage)
  t.ok(rows.length >= 8)
  const sql = app.storage.sqlite

  const tamper = async (name: string, change: () => void, problem: string, seq: number) => {
    const backup = sql.prepare('select * from audit_log order by seq').all() as Record<string, unknown>[]
    change()
    const check = verifyAuditLog(app.storage)
    t.same(check.ok ? 'ok' : [check.problem, check.seq], [problem, seq], name)
    const r = await cli('audit', 'verify', '--data', dataDir)
    t.equal(r.code, 1, `${name}: CLI exits 1`)
    t.match(r.err, new RegExp(`AUDIT_CHAIN_BROKEN.*entry ${seq}`))
    sql.prepare('delete from audit_log').run()
    const cols = Object.keys(backup[0])
    const ins = sql.prepare(`insert into audit_log (${cols.join(',')}) values (${cols.map(() => '?').join(',')})`)
    for (const b of backup) ins.run(...cols.map(c => b[c]))
    t.ok(verifyAuditLog(app.storage).ok, 'restored')
  }
  await tamper('changed outcome', () => sql.prepare("update audit_log set outcome = 'denied', status = 403 where seq = 3").run(), 'CHANGED', 3)
  await tamper('changed actor', () => sql.prepare("update audit_log set actor_id = 'someone-else' where seq = 5").run(), 'CHANGED', 5)
  await tamper('deleted entry', () => sql.prepare('delete from audit_log where seq = 4').run(), 'MISSING_OR_REORDERED', 5)
  await tamper('deleted and renumbered', () => {
    sql.prepare('delete from audit_log where seq = 4').run()
    sql.prepare('update audit_log set seq = seq - 1 where seq > 4').run()
  }, 'BROKEN_LINK', 4)
  await tamper('reordered (4 and 5 swapped)', () => {
    sql.prepare('update audit_log set seq = -1 where seq = 4').run()
    sql.prepare('update audit_log set seq = 4 where seq = 5').run()
    sql.prepare('update audit_log set seq = 5 where seq = -1').run()
  }, 'BROKEN_LINK', 4)
  t.same(verifyAuditChain([], auditKeyOf(app.storage)), { ok: true, entries: 0, head: '0'.repeat(64) })
})

const testEntry = (i: number) => ({ actorId: 'a', actorRole: 'teacher', ip: '10.0.0.1', action: `test ${i}`, targetTable: null, targetId: null, fields: null, outcome: 'ok' as const, status: 200, code: null })

/** Rewrites the whole log as `rows`, relinking every hash with `hash` (what a tamperer would do). */
function rewriteLog(sql: import('better-sqlite3').Database, rows: AuditRow[], hash: (prev: string, seq: number, e: Omit<AuditRow, 'seq' | 'prevHash' | 'hash'>) => string) {
  sql.prepare('delete from audit_log').run()
  const ins = sql.prepare('insert into audit_log (seq, at, actor_id, actor_role, ip, action, target_table, target_id, fields_json, outcome, status, code, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
  let prev = '0'.repeat(64)
  rows.forEach((r, i) => {
    const { seq: _s, prevHash: _p, hash: _h, ...e } = r
    const h = hash(prev, i + 1, e)
    ins.run(i + 1, e.at, e.actorId, e.actorRole, e.ip, e.action, e.targetTable, e.targetId, e.fields === null ? null : JSON.stringify(e.fields), e.outcome, e.status, e.code, prev, h)
    prev = h
  })
}
const sha256Chain = (prev: string, seq: number, e: object) => sha256Hex(prev + canonicalJson({ seq, ...e }))

t.test('R-25.2 the chain is keyed: deleting an entry and recomputing the later hashes with SHA-256 fails verify; the key file is 0600 in keys/', async t => {
  const app = await buildTestApp(t)
  const keyFile = join(app.dataDir, 'keys', AUDIT_KEY_FILE)
  t.ok(existsSync(keyFile), 'init made keys/audit.key')
  t.equal(statSync(keyFile).mode & 0o777, 0o600)
  t.notOk(JSON.stringify(app.storage.sqlite.prepare('select * from node_keys').all()).includes(auditKeyOf(app.storage).toString('base64url')), 'the key is not in the database')
  for (let i = 0; i < 6; i++) appendAudit(app.storage, testEntry(i))
  t.ok(verifyAuditLog(app.storage).ok)
  const rows = readAudit(app.storage)
  // The attack of issue 8 finding 8: drop entry 3 and rebuild the chain as the old code hashed it.
  rewriteLog(app.storage.sqlite, rows.filter(r => r.seq !== 3), sha256Chain)
  const check = verifyAuditLog(app.storage)
  t.same(check.ok ? 'ok' : [check.problem, check.seq], ['CHANGED', 1], 'the first recomputed entry does not verify under the key')
  const r = await cli('audit', 'verify', '--data', app.dataDir)
  t.equal(r.code, 1)
  t.match(r.err, /AUDIT_CHAIN_BROKEN.*entry 1 was changed/)
  // Without the key a well-formed chain cannot be made; with it (next test file) the parent's anchor decides.
  rewriteLog(app.storage.sqlite, rows.filter(r => r.seq !== 3), (prev, seq, e) => entryHash(Buffer.alloc(32), prev, seq, e as never))
  t.equal(verifyAuditLog(app.storage).ok, false, 'nor with a guessed key')
})

t.test('R-25.2 a node from before the keyed chain: the key is made at start and the chain re-keyed, recording whether it was intact', async t => {
  const app = await buildTestApp(t)
  for (let i = 0; i < 5; i++) appendAudit(app.storage, testEntry(i))
  const keyFile = join(app.dataDir, 'keys', AUDIT_KEY_FILE)
  const oldLog = (tamper: boolean) => {
    // The log as a node of the earlier version left it: plain SHA-256, no keys/audit.key.
    const rows = readAudit(app.storage).filter(r => r.action.startsWith('test'))
    rewriteLog(app.storage.sqlite, rows, sha256Chain)
    if (tamper) app.storage.sqlite.prepare("update audit_log set outcome = 'denied' where seq = 2").run()
    rmSync(keyFile)
  }
  oldLog(false)
  const notYet = await cli('audit', 'verify', '--data', app.dataDir)
  t.not(notYet.code, 0)
  t.match(notYet.err, /AUDIT_KEY_MISSING/, 'verify before the first start says what to do')
  const keyed = ensureAuditKey(app.storage)
  t.same(keyed, { entries: 5, brokenAt: null })
  t.ok(existsSync(keyFile))
  t.equal(statSync(keyFile).mode & 0o777, 0o600)
  t.ok(verifyAuditLog(app.storage).ok, 'the re-keyed chain verifies under the new key')
  const marker = readAudit(app.storage).at(-1)!
  t.same([marker.seq, marker.action, marker.outcome, marker.code], [6, 'audit.chain_keyed', 'ok', null], 'keying is itself in the chain')
  t.equal(ensureAuditKey(app.storage), null, 'once only')

  oldLog(true)
  t.same(ensureAuditKey(app.storage), { entries: 5, brokenAt: 2 }, 'a legacy chain that was already broken is not laundered silently')
  const failed = readAudit(app.storage).at(-1)!
  t.same([failed.action, failed.outcome, failed.code, failed.targetId], ['audit.chain_keyed', 'failed', 'AUDIT_CHAIN_BROKEN', '2'])
  t.ok(verifyAuditLog(app.storage).ok, 'the record of the break is part of the keyed chain, which cannot drop it without the key')
})

t.test('R-27.1 R-25.2 a keyed chain whose key file was deleted is not re-keyed: the node refuses to start (AUDIT_KEY_MISSING) until keys/ is restored', async t => {
  const app = await buildTestApp(t)
  for (let i = 0; i < 3; i++) appendAudit(app.storage, testEntry(i))
  await app.close()
  const keyFile = join(app.dataDir, 'keys', AUDIT_KEY_FILE)
  const key = readFileSync(keyFile)
  const chain = () => {
    const storage = openStorage(join(app.dataDir, 'xueji.db'), { migrate: false })
    try {
      return storage.sqlite.prepare('select seq, hash from audit_log order by seq').all()
    } finally {
      storage.close()
    }
  }
  const before = chain()
  // Someone who can write the database and keys/ deletes the key, for the next start to re-key the log over their edits.
  rmSync(keyFile)
  const refused = await startNode(app.dataDir, {}).then(async node => (await node.stop(), 'started'), (err: Error) => err)
  t.match(refused, { code: 'AUDIT_KEY_MISSING', message: /keys\/audit\.key is missing.*Restore keys\/ from the backup/ }, 'a stable code; the message names the file and what to do')
  t.notOk(existsSync(keyFile), 'no new key was made')
  t.same(chain(), before, 'the chain is as it was')

  writeFileSync(keyFile, key, { mode: 0o600 })
  const node = await startNode(app.dataDir, {})
  t.teardown(() => node.stop())
  t.ok(verifyAuditLog(node.server.storage).ok, 'with keys/ restored the node starts and its chain verifies')
})

t.test('R-27.1 R-25.2 no clear ID number, name or address in the log output or the audit table after a run of writes', async t => {
  let logs = ''
  const logStream = new Writable({ write(chunk, _enc, cb) { logs += chunk.toString(); cb() } })
  const app = await buildTestApp(t, { logStream })
  const w = seedWorld(app)
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [w.A.code] }, {})
  const grade = await loginAs(app, 'grade_admin', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, { grants: ['id_number', 'address', 'family'] })
  // Writes and reveals that carry personal data in the body or answer.
  await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: admin.headers, payload: { username: 'wangxiaoming', password: TEST_PASSWORD, role: 'student', scope: { kind: 'student', school: w.A.code, studentId: w.students.A1 } } })
  await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: w.secrets.name, password: w.secrets.idNumber } })
  await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'wangxiaoming', password: TEST_PASSWORD } })
  await app.inject({ method: 'POST', url: `/api/v1/reveal/students/${w.students.A1}`, headers: grade.headers, payload: { fields: ['idNumber', 'currentAddress'] } })
  await app.inject({ method: 'POST', url: `/api/v1/reveal/student_guardians/${w.guardianA1}`, headers: grade.headers, payload: { fields: ['name'] } })
  await app.inject({ method: 'POST', url: `/api/v1/verification/students/${w.students.A1}/return`, headers: grade.headers, payload: { reason: '地址不全' } })
  await app.inject({ url: `/api/v1/verification/queue?q=${encodeURIComponent(w.secrets.idNumber)}`, headers: grade.headers })
  await app.inject({ url: `/api/v1/audit?actorId=${encodeURIComponent(w.secrets.name)}`, headers: grade.headers })
  await app.close()
  const storage = openStorage(join(app.dataDir, 'xueji.db'), { migrate: false })
  t.teardown(() => storage.close())
  const audit = JSON.stringify(storage.sqlite.prepare('select * from audit_log').all())
  t.ok(logs.length > 0, 'something was logged')
  t.ok(audit.length > 0)
  for (const [what, value] of Object.entries(w.secrets)) {
    t.notOk(logs.includes(value), `no ${what} in the log output`)
    t.notOk(audit.includes(value), `no ${what} in the audit table`)
  }
  t.notOk(audit.includes('wangxiaoming'), 'user names (a student\'s may be their name) are not in the audit table')
})
