import t from 'tap'
import { dirname } from 'node:path'
import { TEST_PASSWORD, loginAs } from '../../helper.ts'
import { main } from '../../../scripts/cli.ts'
import { auditedWrite, readAudit, runInRequest, verifyAuditLog, type AuditEntry, type RequestAudit } from '../../../node/auth/audit.ts'
import { recordsNode, withSchool, type RecordsNode } from '../../records/setup.ts'
import * as fx from '../../records/fixtures.ts'

/**
 * every write is audited, and its entry commits in the write's own transaction, so no
 * crash can leave a committed write without its entry (nor an entry without its write).
 */

const BUREAU = { kind: 'bureau', node: '330106' } as const

function auditOf(node: RecordsNode) {
  const sql = node.app.storage.sqlite
  const lastSeq = () => (sql.prepare('select coalesce(max(seq), 0) as n from audit_log').get() as { n: number }).n
  return { lastSeq, since: (seq: number) => readAudit(node.app.storage, { afterSeq: seq }) }
}

/** What the writes below change, to compare before and after a write that must leave no trace. */
function snapshot(node: RecordsNode): string {
  const sql = node.app.storage.sqlite
  const rows = (table: string) => sql.prepare(`select * from ${table} order by rowid`).all()
  return JSON.stringify({ counts: node.counts(), accounts: rows('accounts'), sessions: rows('sessions'), units: rows('supervising_units'), attempts: rows('login_attempts') })
}

async function cli(...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, {}, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

t.test('R-25.2 a write and its audit entry commit in one transaction: a rolled-back write leaves no entry of it, a committed write exactly one', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const { lastSeq, since } = auditOf(node)

  // The write's own transaction rolls back: the second guardian fails after the student row was inserted.
  let before = snapshot(node)
  let seq = lastSeq()
  const body = { ...fx.student(), schoolId: school.id, classId: klass.id, guardians: [fx.subRecords.guardians[0], { ...fx.subRecords.guardians[0], relationship: '00' }] }
  const refused = await node.call('POST', '/api/v1/students', body)
  t.equal(refused.status, 400)
  t.equal(snapshot(node), before, 'nothing written')
  t.same(
    since(seq).map(e => [e.action, e.outcome, e.status, e.code, e.targetId]),
    [['POST /api/v1/students', 'failed', 400, 'RECORD_CODE_UNKNOWN', null]],
    'no entry of a write: only the refusal, audited as failed after the answer, naming no record',
  )

  // A crash before COMMIT, simulated: the write's audit insert fails, so the whole transaction
  // rolls back: the write never commits without its entry. One case per kind of write.
  const bureau2 = await loginAs(node.app, 'bureau_admin', BUREAU)
  const teacher = (await node.call('POST', '/api/v1/accounts', { username: 'teacher-a', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU }, node.bureau)).body
  const sql = node.app.storage.sqlite
  sql.exec(`create trigger crash_before_commit before insert on audit_log when new.outcome = 'ok' begin select raise(abort, 'simulated crash before commit'); end`)
  const writes: Array<[string, 'POST' | 'PATCH' | 'DELETE', string, unknown, RecordsNode['bureau']?]> = [
    ['create a record with sub-records', 'POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id, guardians: fx.subRecords.guardians }],
    ['change a record', 'PATCH', `/api/v1/classes/${klass.id}`, { version: klass.version, name: '四年级（2）班' }],
    ['delete a record', 'DELETE', `/api/v1/classes/${klass.id}`, undefined],
    ['verify a record', 'POST', `/api/v1/verification/supervising_units/${(sql.prepare('select id from supervising_units').get() as { id: string }).id}/verify`, undefined, bureau2],
    ['create an account', 'POST', '/api/v1/accounts', { username: 'teacher-b', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU }, node.bureau],
    ['change an account (three changes)', 'PATCH', `/api/v1/accounts/${teacher.id}`, { grants: ['id_number'], resetTotp: true, disabled: true }, node.bureau],
    ['set a password', 'POST', `/api/v1/accounts/${teacher.id}/password`, { password: 'another fine passphrase' }, node.bureau],
    ['scan for duplicates', 'POST', '/api/v1/problems/scan', undefined, node.bureau],
    ['log out', 'POST', '/api/v1/auth/logout', undefined, bureau2],
  ]
  for (const [what, method, url, payload, login] of writes) {
    before = snapshot(node)
    seq = lastSeq()
    const r = await node.call(method, url, payload, login)
    t.equal(r.status, 500, `${what}: the failed audit insert fails the request`)
    t.equal(snapshot(node), before, `${what}: the write rolled back with its entry`)
    const entries = since(seq)
    t.same(entries.map(e => [e.outcome, e.status]), [['failed', 500]], `${what}: no entry of a write, only the failed request`)
    if (what.startsWith('create')) t.equal(entries[0]?.targetId, null, `${what}: naming no record, since none was made`)
  }
  before = snapshot(node)
  const attempts = sql.prepare('select count(*) n from login_attempts where ok = 0').pluck()
  const failedBefore = attempts.get() as number
  const login = await node.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'teacher-a', password: TEST_PASSWORD } })
  t.equal(login.statusCode, 500)
  // The attempt was reserved before the password was checked (R-25.2 throttling); unconfirmed, it counts as failed.
  t.equal(attempts.get(), failedBefore + 1, 'log in: the reserved attempt stays counted as a failure')
  sql.prepare('delete from login_attempts where id = (select max(id) from login_attempts)').run()
  t.equal(snapshot(node), before, 'log in: no session without its entry')
  sql.exec('drop trigger crash_before_commit')

  // Committed: exactly one entry, naming the new record, with the status the route answered.
  seq = lastSeq()
  const ok = await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id, guardians: fx.subRecords.guardians })
  t.equal(ok.status, 201)
  t.same(
    since(seq).map(e => [e.action, e.outcome, e.status, e.code, e.targetTable, e.targetId, e.actorId, e.fields?.includes('guardians')]),
    [['POST /api/v1/students', 'ok', 201, null, 'students', ok.body.id, node.school.account.id, true]],
  )
  t.ok(verifyAuditLog(node.app.storage).ok)
})

t.test('R-25.2 R-27.1 every committed write of a run has exactly one entry, also under concurrent requests; xueji audit verify passes', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const { lastSeq, since } = auditOf(node)
  const bureau2 = await loginAs(node.app, 'bureau_admin', BUREAU)

  // One write at a time: each adds exactly one entry, committed with it.
  const one = async (what: string, method: 'POST' | 'PATCH' | 'DELETE', url: string, payload: unknown, login = node.school, expect: Partial<AuditEntry> = {}) => {
    const seq = lastSeq()
    const r = await node.call(method, url, payload, login)
    t.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)
    const entries = since(seq)
    t.equal(entries.length, 1, `${what}: exactly one entry`)
    t.match(entries[0], { outcome: 'ok', status: r.status, actorId: login.account.id, ...expect }, `${what}: the entry`)
    return r.body
  }
  const student = await one('create a student', 'POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id }, node.school, { targetTable: 'students' })
  await one('change it', 'PATCH', `/api/v1/students/${student.id}`, { version: student.version, formerName: '曾二明' }, node.school, { targetId: student.id, fields: ['formerName'] })
  const guardian = await one('add a guardian', 'POST', `/api/v1/students/${student.id}/guardians`, fx.subRecords.guardians[0])
  await one('delete the guardian', 'DELETE', `/api/v1/students/${student.id}/guardians/${guardian.id}`, undefined, node.school, { targetId: guardian.id })
  const unitId = (node.app.storage.sqlite.prepare('select id from supervising_units').get() as { id: string }).id
  await one('verify a unit', 'POST', `/api/v1/verification/supervising_units/${unitId}/verify`, undefined, bureau2, { targetTable: 'supervising_units', targetId: unitId, fields: ['verify_state'] })
  const account = await one('create an account', 'POST', '/api/v1/accounts', { username: 'clerk-1', password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU }, node.bureau, { targetTable: 'accounts' })
  t.equal(since(0).filter(e => e.targetId === account.id).length, 1, 'the entry names the new account')
  await one('three changes to it, one request', 'PATCH', `/api/v1/accounts/${account.id}`, { grants: ['id_number'], resetTotp: true, disabled: true }, node.bureau, { targetId: account.id })
  await one('set its password', 'POST', `/api/v1/accounts/${account.id}/password`, { password: 'another fine passphrase' }, node.bureau, { targetId: account.id, fields: ['password'] })
  await one('scan for duplicates', 'POST', '/api/v1/problems/scan', undefined, node.bureau, { action: 'duplicate_scan' })
  await one('log out', 'POST', '/api/v1/auth/logout', undefined, bureau2, { action: 'logout' })

  // Many at once: account creations interleave (argon2 hashing is asynchronous), record writes
  // and refused requests between them. Every request gets its entry and the chain stays whole.
  const seq = lastSeq()
  const requests = [
    ...Array.from({ length: 8 }, (_, i) => node.call('POST', '/api/v1/accounts', { username: `clerk-c${i}`, password: TEST_PASSWORD, role: 'bureau_user', scope: BUREAU }, node.bureau)),
    ...Array.from({ length: 8 }, (_, i) => node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: `20210${i}1`, name: `班级${i}` }), schoolId: school.id })),
    ...Array.from({ length: 4 }, () => node.call('POST', '/api/v1/units', fx.unit(), node.bureau)), // refused: the unit exists
  ]
  const answers = await Promise.all(requests)
  t.same(answers.map(a => a.status), [...Array(8).fill(201), ...Array(8).fill(201), ...Array(4).fill(409)])
  const entries = since(seq)
  t.equal(entries.length, requests.length, 'one entry per request')
  for (const a of answers.filter(a => a.status === 201)) t.equal(entries.filter(e => e.targetId === a.body.id && e.outcome === 'ok').length, 1, `exactly one entry for ${a.body.id}`)
  t.equal(entries.filter(e => e.outcome === 'failed' && e.status === 409).length, 4, 'the refused writes, audited as failed')

  t.same(verifyAuditLog(node.app.storage), { ok: true, entries: lastSeq(), head: since(lastSeq() - 1)[0].hash })
  const verify = await cli('audit', 'verify', '--data', dirname(node.app.storage.sqlite.name))
  t.equal(verify.code, 0, verify.err)
  t.match(verify.out, `audit log OK: ${lastSeq()} entries`)
})

t.test('R-25.2 auditedWrite: one entry per request however the writes nest; none outside a request or after the answer', async t => {
  const node = await recordsNode(t)
  const storage = node.app.storage
  const { lastSeq, since } = auditOf(node)
  const ctx = (): RequestAudit => {
    const note = {}
    return {
      note,
      okEntry: () => ({ actorId: 'a', actorRole: 'teacher', ip: '10.0.0.1', action: 'test', targetTable: null, targetId: null, fields: null, outcome: 'ok', status: 200, code: null, ...note }),
      committed: false,
      writeNote: null,
      closed: false,
    }
  }
  const insert = (n: number) => storage.sqlite.prepare("insert into login_attempts (user_key, ip, at, ok) values ('k', 'x', ?, 1)").run(n)

  let seq = lastSeq()
  auditedWrite(storage, () => insert(1))
  t.equal(since(seq).length, 0, 'outside a request (init, seed, sync): a plain write')

  const c = ctx()
  runInRequest(c, () => {
    auditedWrite(storage, () => {
      auditedWrite(storage, () => insert(2), () => ({ targetId: 'inner' }))
      insert(3)
    })
  })
  t.same(since(seq).map(e => [e.action, e.targetId]), [['test', 'inner']], 'nested writes: one entry, with the inner note')
  t.equal(c.committed, true)

  seq = lastSeq()
  const inPlainWrite = ctx()
  runInRequest(inPlainWrite, () => storage.write(() => auditedWrite(storage, () => insert(4))))
  t.equal(inPlainWrite.committed, false, 'inside a plain outer write: not counted as committed (onSend writes it rather than lose it)')

  const late = ctx()
  late.closed = true
  seq = lastSeq()
  runInRequest(late, () => auditedWrite(storage, () => insert(5)))
  t.equal(since(seq).length, 0, 'after the answer: work the request started later is not its write')
  t.ok(verifyAuditLog(storage).ok)
})
