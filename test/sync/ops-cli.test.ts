/**
 * The ops command line over real node directories (R-D.5, R-D.8): `xueji join-token`, `enroll`,
 * `sync resend|quarantine|release-hold|command|push` called in-process (`main`), with what they must refuse
 * and what they must leave untouched when they do.
 */
import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { Writable } from 'node:stream'
import { main } from '../../scripts/cli.ts'
import { initNode } from '../../node/identity.ts'
import { openStorage } from '../../schema/db.ts'
import { readAudit, verifyAuditLog } from '../../node/auth/audit.ts'
import { sha256Hex } from '../../sync/canonical.ts'
import { generateNodeKeyPair, importPrivateKey, signJws, signKeyRecord } from '../../sync/keys.ts'
import { ENROLL_PATH, FEDERATION_PREFIX } from '../../sync/messages.ts'
import { KEY_PROOF_TYP } from '../../sync/enrolment.ts'
import { makeFederation } from './lib/nodes.ts'
import { makeActor } from './lib/actors.ts'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { REDIS_URL, buildTestApp, uniquePrefix } from '../helper.ts'
import { loadConfigFile } from '../../config/load.ts'
import { deleteRedisPrefix } from '../../scripts/lib/processes.ts'

const xueji = (...argv: string[]) => xuejiWith({}, ...argv)
async function xuejiWith(env: Record<string, string>, ...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { XUEJI_REDIS_URL: REDIS_URL, ...env }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err, error: /error \[([A-Z_]+)\]/.exec(err)?.[1], first: err.split('\n')[0] }
}

t.test('R-D.5 join-token: an odd --ttl-hours is a usage error (exit 2) and issues nothing; a child code of the wrong shape for its tier is refused', async t => {
  const { province, city } = await makeFederation(t)
  const tokens = (n: typeof province) => n.storage.sqlite.prepare('select count(*) from sync_join_tokens').pluck().get() as number
  const before = tokens(province)
  for (const ttl of ['abc', '0', '1e9', '1.5', '', '100000', '721']) {
    const r = await xueji('join-token', '--data', province.dataDir, '--child', '330200', '--ttl-hours', ttl)
    t.equal(r.code, 2, `--ttl-hours "${ttl}": exit 2`)
    t.match(r.first, /--ttl-hours must be a whole number of hours from 1 to 720/)
  }
  t.equal(tokens(province), before, 'no token issued for any of them')
  const ok = await xueji('join-token', '--data', province.dataDir, '--child', '330200', '--ttl-hours', '720')
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, /join token for city 330200/)

  // A province enrols cities (....00), a city counties (not ..00): never a county's code as a city.
  for (const [node, child] of [[province, '330106'], [province, '330000'], [city, '330100'], [city, '330200']] as const) {
    const r = await xueji('join-token', '--data', node.dataDir, '--child', child)
    t.equal(r.code, 1, `${node.code} --child ${child}: refused`)
    t.equal(r.error, 'SYNC_ENROLL_REFUSED')
  }
  t.equal(tokens(province), before + 1, 'nothing more issued')
})

t.test('R-D.5 a join token stored for a child code of the wrong shape (issued before the check) does not enrol that node', async t => {
  const app = await buildTestApp(t, { tier: 'province' })
  const token = 'xjt_issued-for-a-city-coded-like-a-county'
  app.sync.storage.sqlite.prepare('insert into sync_join_tokens (token_hash, child_code, child_tier, created_at, expires_at) values (?, ?, ?, ?, ?)').run(sha256Hex(token), '330106', 'city', new Date().toISOString(), new Date(Date.now() + 3600_000).toISOString())
  const actor = await makeActor('330106')
  const proof = await signJws({ node: actor.code, kid: actor.kid, aud: '330000' }, KEY_PROOF_TYP, actor.signer)
  const res = await app.inject({ method: 'POST', url: `${FEDERATION_PREFIX}${ENROLL_PATH}`, payload: { token, node: { code: '330106', tier: 'city', name: 'x' }, kid: actor.kid, publicJwk: actor.publicJwk, proof } })
  t.equal(res.statusCode, 403, res.body)
  t.equal(res.json().code, 'SYNC_ENROLL_REFUSED')
  t.equal(app.sync.storage.sqlite.prepare('select count(*) from sync_children').pluck().get(), 0, 'not enrolled')
})

t.test('R-D.5 a join token enrols once (even two at the same moment), only the child code and tier it names, and not after it expires', async t => {
  const app = await buildTestApp(t, { tier: 'province' })
  const enrol = async (token: string, code: string, tier: 'city' | 'county') => {
    const actor = await makeActor(code)
    const proof = await signJws({ node: code, kid: actor.kid, aud: '330000' }, KEY_PROOF_TYP, actor.signer)
    const res = await app.inject({ method: 'POST', url: `${FEDERATION_PREFIX}${ENROLL_PATH}`, payload: { token, node: { code, tier, name: 'x' }, kid: actor.kid, publicJwk: actor.publicJwk, proof } })
    return res.statusCode === 200 ? 'enrolled' : (res.json() as { code: string }).code
  }
  const { token } = app.sync.joinToken({ code: '330100', tier: 'city' })
  t.equal(await enrol(token, '330200', 'city'), 'SYNC_ENROLL_REFUSED', 'another city\'s code')
  t.equal(await enrol(token, '330100', 'county'), 'SYNC_ENROLL_REFUSED', 'another tier')
  t.same((await Promise.all([enrol(token, '330100', 'city'), enrol(token, '330100', 'city')])).sort(), ['SYNC_ENROLL_TOKEN_INVALID', 'enrolled'], 'two at once: one enrols')
  t.equal(await enrol(token, '330100', 'city'), 'SYNC_ENROLL_TOKEN_INVALID', 'used')
  const late = app.sync.joinToken({ code: '330200', tier: 'city' }, 1)
  app.sync.storage.sqlite.prepare('update sync_join_tokens set expires_at = ? where token_hash = ?').run(new Date(Date.now() - 1000).toISOString(), sha256Hex(late.token))
  t.equal(await enrol(late.token, '330200', 'city'), 'SYNC_ENROLL_TOKEN_INVALID', 'expired')
  t.same(app.sync.storage.sqlite.prepare('select code from sync_children').pluck().all(), ['330100'])
  t.notOk(JSON.stringify(app.sync.storage.sqlite.prepare('select * from sync_join_tokens').all()).includes(token), 'only the token\'s hash is stored')
})

/** An HTTP server standing in for a parent: `answer` decides each reply (or forwards it). */
async function fakeParent(t: Test) {
  const state: { answer: (req: IncomingMessage, body: string, res: ServerResponse) => void | Promise<void> } = { answer: (_req, _body, res) => void res.end() }
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', d => (body += d))
    req.on('end', () => void state.answer(req, body, res))
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, state }
}

t.test('R-D.5 enroll to a parent that answers garbage fails with a coded error, and keeps no key record of the answer: a later good enrolment (its token from XUEJI_JOIN_TOKEN) trusts one province key', async t => {
  const parent = await fakeParent(t)
  // Not t.testdir(): buildTestApp below takes (and empties) it.
  const dataDir = join(mkdtempSync(join(tmpdir(), 'xueji-enrol-')), 'city')
  t.teardown(() => rmSync(dirname(dataDir), { recursive: true, force: true }))
  await initNode({ dataDir, tier: 'city', code: '330100', name: '杭州市教育局', parentUrl: parent.url, config: { redis: { url: REDIS_URL, prefix: uniquePrefix() } } })
  const json = (status: number, body: unknown) => (_req: IncomingMessage, _body: string, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(typeof body === 'string' ? body : JSON.stringify(body))
  }
  // A rogue "province": a key of its own, a root record it signs itself, then nothing usable.
  const rogue = await generateNodeKeyPair()
  const rootJws = await signKeyRecord({ node: '330000', tier: 'province', parent: null, kid: rogue.kid, publicJwk: rogue.publicJwk, validFromSeq: 1, validUntilSeq: null, issuedAt: new Date().toISOString() }, { kid: rogue.kid, privateKey: await importPrivateKey(rogue.privatePem) })
  const province = { code: '330000', tier: 'province', name: '浙江省教育厅' }
  const answers: [string, unknown][] = [
    ['an HTML page', '<html>it works</html>'],
    ['null', 'null'],
    ['an empty object', {}],
    ['records not a list', { parent: province, records: 'abc' }],
    ['records not strings', { parent: province, records: [1, 2] }],
    ['a county as the parent of a city', { parent: { ...province, tier: 'county' }, records: [rootJws, rootJws] }],
    ['a root, then garbage', { parent: province, records: [rootJws, 'not.a.jws'] }],
    ['a root, then no record of this node', { parent: province, records: [rootJws, rootJws] }],
  ]
  for (const [what, body] of answers) {
    parent.state.answer = json(200, body)
    const r = await xueji('enroll', '--data', dataDir, '--token', 'xjt_whatever')
    t.equal(r.code, 1, `${what}: exit 1`)
    t.ok(r.error, `${what}: a coded error (${r.first})`)
    t.notMatch(r.err, /unexpected error/, `${what}: not an unexpected error`)
  }
  const storage = openStorage(join(dataDir, 'xueji.db'))
  t.teardown(() => storage.close())
  t.same(storage.sqlite.prepare('select node, kid from sync_keys').all(), [], 'no key record kept from the failed answers (the rogue root is not trusted)')
  t.equal(storage.sqlite.prepare('select count(*) from sync_link').pluck().get(), 0, 'not enrolled')

  // Now the real province answers (the fake parent forwards to it): one province key, its own.
  const logs: string[] = []
  const real = await buildTestApp(t, { tier: 'province', logStream: new Writable({ write: (chunk, _enc, cb) => (logs.push(chunk.toString()), cb()) }) })
  parent.state.answer = async (req, body, res) => {
    const answer = await real.inject({ method: req.method as 'POST', url: req.url!, headers: { 'content-type': 'application/json' }, payload: body })
    res.writeHead(answer.statusCode, { 'content-type': 'application/json' })
    res.end(answer.body)
  }
  const wrong = await xueji('enroll', '--data', dataDir, '--token', 'xjt_not-issued-by-the-province')
  t.equal(wrong.error, 'SYNC_ENROLL_TOKEN_INVALID', `an unknown token: refused by the parent (${wrong.first})`)
  const { token } = real.sync.joinToken({ code: '330100', tier: 'city' })
  t.equal((await xueji('enroll', '--data', dataDir)).code, 2, 'no token: a usage error')
  // From the environment: a token on the command line is visible to every user in ps.
  const ok = await xuejiWith({ XUEJI_JOIN_TOKEN: token }, 'enroll', '--data', dataDir)
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, /enrolled under province 330000/)
  const provinceKid = real.sync.storage.sqlite.prepare("select kid from node_keys where valid_until_seq is null").pluck().get()
  t.same(storage.sqlite.prepare("select kid from sync_keys where node = '330000'").pluck().all(), [provinceKid], 'the province key of the real parent only')
  const again = await xueji('enroll', '--data', dataDir, '--token', token)
  t.equal(again.error, 'SYNC_ENROLL_TOKEN_INVALID', 'the token is spent')
  t.match(logs.join(''), /enroll/, 'the parent logged the requests')
  t.notOk(logs.join('').includes(token) || logs.join('').includes('xjt_not-issued'), 'the parent logs no join token')
})

t.test('R-D.8 sync resend --from: a value that is not a seq, or beyond the last one, or an origin not held is a usage error and marks nothing', async t => {
  const { city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await county.sync.pack()
  await county.sync.pushOrigin('330106')
  const acked = () => county.storage.sqlite.prepare("select seq, acked_at is not null acked from sync_change_sets where origin = '330106' order by seq").all()
  const before = acked()
  t.match(before, [{ seq: 1, acked: 1 }], 'one change set, acknowledged by the city')
  for (const [from, message] of [
    ['0', /--from must be a seq/],
    ['0x1', /--from must be a seq/],
    ['1e0', /--from must be a seq/],
    [' 1', /--from must be a seq/],
    ['1.0', /--from must be a seq/],
    ['abc', /--from must be a seq/],
    ['99999999999999999999', /--from must be a seq/],
    ['2', /--from 2 is beyond the last change set of 330106 held here \(seq 1\)/],
  ] as const) {
    const r = await xueji('sync', 'resend', '--data', county.dataDir, '--from', from)
    t.equal(r.code, 2, `--from "${from}": exit 2`)
    t.match(r.first, message)
  }
  const other = await xueji('sync', 'resend', '--data', county.dataDir, '--from', '1', '--origin', '330108')
  t.equal(other.code, 2)
  t.match(other.first, /no change set of origin 330108 is held here/)
  t.same(acked(), before, 'nothing marked to send again')
  // A good one marks and sends; this process cannot reach the parent (its URL is a dead port): exit 1, said.
  const good = await xueji('sync', 'resend', '--data', county.dataDir, '--from', '1')
  t.equal(good.code, 1)
  t.match(good.out, /1 change set\(s\) of 330106 \(seq 1 … 1\) marked to send again\n330106: SYNC_PARENT_UNAVAILABLE/)
  county.storage.sqlite.prepare('update sync_link set next_attempt_at = 0').run() // the failed push's backoff
  t.same(await county.sync.pushOrigin('330106'), { sent: 1, acked: 1 }, 'sent again, the parent answers it as a duplicate')
  t.same(acked(), before)
  t.equal(city.storage.sqlite.prepare('select count(*) from sync_conflicts').pluck().get(), 0)
})

t.test('R-D.8 sync resend and push on the province: refused before anything is marked (its change sets stay acknowledged, its outbox prunable)', async t => {
  const { province } = await makeFederation(t)
  writeRows(province.storage, 'schools', [schoolRow('330000', '330000', 1)])
  t.same(await province.sync.pack(), [1])
  const unacked = () => province.storage.sqlite.prepare('select count(*) from sync_change_sets where acked_at is null').pluck().get()
  t.equal(unacked(), 0, 'born acknowledged at the province')
  for (const argv of [['sync', 'resend', '--data', province.dataDir, '--from', '1'], ['sync', 'push', '--data', province.dataDir]]) {
    const r = await xueji(...argv)
    t.equal(r.code, 1, argv.join(' '))
    t.match(r.first, /SYNC_NOT_ENROLLED.*the province has no parent/)
  }
  t.equal(unacked(), 0, 'still acknowledged')
  t.equal(province.sync.pruneOutbox(), 1, 'and its outbox row still pruned')
})

t.test('R-D.8 sync quarantine --release: a malformed ORIGIN:SEQ is a usage error; releasing twice or what is not held says which', async t => {
  const { city, county } = await makeFederation(t)
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1), schoolRow('330106', '330108', 2)])
  await county.sync.pack()
  await t.rejects(county.sync.pushOrigin('330106'), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' })
  const list = await xueji('sync', 'quarantine', '--data', city.dataDir)
  t.match(list.out, /^330106\/1 \(1 row\(s\)\)/)
  for (const release of ['330106', '330106:', ':1', '330106:0', '330106:1:2', '330106:x', 'abc:1', '330106/1']) {
    const r = await xueji('sync', 'quarantine', '--data', city.dataDir, '--release', release, '--by', 'ticket 7')
    t.equal(r.code, 2, `--release "${release}": exit 2`)
    t.match(r.first, /--release must be ORIGIN:SEQ/)
  }
  const none = await xueji('sync', 'quarantine', '--data', city.dataDir, '--release', '330106:2', '--by', 'ticket 7')
  t.equal(none.code, 1)
  t.match(none.first, /SYNC_QUARANTINE_NOT_FOUND.*330106\/2 is not quarantined here/)
  const first = await xueji('sync', 'quarantine', '--data', city.dataDir, '--release', '330106:1', '--by', 'ticket 7')
  t.equal(first.code, 0, first.err)
  t.match(first.out, /released 330106\/1: applied without 1 row\(s\)/)
  const twice = await xueji('sync', 'quarantine', '--data', city.dataDir, '--release', '330106:1', '--by', 'ticket 8')
  t.equal(twice.code, 1)
  t.match(twice.first, /SYNC_QUARANTINE_NOT_FOUND.*330106\/1 was already released by ticket 7 at /)
  t.equal(city.storage.sqlite.prepare("select count(*) from sync_change_sets where origin = '330106'").pluck().get(), 1, 'applied once')
})

t.test('R-D.8 R-26.2 sync release-hold: lifts the hold a restore put on a child\'s subtree, with the operator\'s note in the audit log; an unknown child, a malformed code or a child not held is refused and nothing is released', async t => {
  const { city } = await makeFederation(t)
  // The commands below run against the node's own Redis prefix (its xueji.json): removed after.
  const { prefix } = loadConfigFile(join(city.dataDir, 'xueji.json')).redis
  t.teardown(() => deleteRedisPrefix(REDIS_URL, prefix))
  const holds = () => city.storage.sqlite.prepare('select child from sync_issue_holds order by child').pluck().all()
  const releases = () => readAudit(city.storage).filter(e => e.action === 'sync.release_hold')
  const notHeld = await xueji('sync', 'release-hold', '--data', city.dataDir, '--child', '330106', '--by', 'ticket 9')
  t.equal(notHeld.code, 1)
  t.match(notHeld.first, /SYNC_ISSUE_HOLD_NOT_FOUND.*issuing to 330106's subtree is not held here/)

  // As after a restore (node/backup/ restoreBackup): issuing to the county's subtree is held.
  t.same(city.sync.downward.holdIssuing(), ['330106'])
  t.match((await xueji('sync', 'status', '--data', city.dataDir)).out, /issuing held since the restore until each has pulled: 330106 \(since [^)]+\) \(xueji sync release-hold/)
  t.match((await xueji('sync', 'command', '--data', city.dataDir, '--to', '330106', '--type', 'sync.ping')).first, /SYNC_ISSUE_HELD/)

  for (const argv of [['--child', '330106'], ['--by', 'ticket 9'], ['--child', '330106', '--by', ' '], ['--child', '3301', '--by', 'ticket 9'], ['--child', '330106:1', '--by', 'ticket 9']]) {
    const r = await xueji('sync', 'release-hold', '--data', city.dataDir, ...argv)
    t.equal(r.code, 2, `${argv.join(' ')}: exit 2`)
    t.match(r.first, /missing --(child|by)|--child must be a child's 6-digit code/)
  }
  const unknown = await xueji('sync', 'release-hold', '--data', city.dataDir, '--child', '330108', '--by', 'ticket 9')
  t.equal(unknown.code, 1)
  t.match(unknown.first, /SYNC_NOT_CHILD.*330108 is not an enrolled child of 330100 \(its children: 330106\)/)
  t.same(holds(), ['330106'], 'nothing released')
  t.same(releases(), [], 'nor audited')

  const ok = await xueji('sync', 'release-hold', '--data', city.dataDir, '--child', '330106', '--by', 'ticket 9: county decommissioned')
  t.equal(ok.code, 0, ok.err)
  t.match(ok.out, /released the hold on 330106 \(held since .+, restore point: local command id 0\) by ticket 9: county decommissioned: commands to 330106 and below are issued now without its report, so it may refuse one under a seq it already holds \(SYNC_COMMAND_REPLAY\)/)
  t.same(holds(), [])
  t.match(releases(), [{ actorId: 'ticket 9: county decommissioned', actorRole: 'operator', targetTable: 'sync_issue_holds', targetId: '330106', outcome: 'ok' }])
  t.equal(releases().length, 1)
  t.match(verifyAuditLog(city.storage), { ok: true }, 'the audit chain holds')
  t.notMatch((await xueji('sync', 'status', '--data', city.dataDir)).out, /issuing held/)
  t.match((await xueji('sync', 'command', '--data', city.dataDir, '--to', '330106', '--type', 'sync.ping')).out, /issued as seq 1/, 'issued again')
  const twice = await xueji('sync', 'release-hold', '--data', city.dataDir, '--child', '330106', '--by', 'ticket 10')
  t.equal(twice.code, 1)
  t.match(twice.first, /SYNC_ISSUE_HOLD_NOT_FOUND/)
  t.equal(releases().length, 1, 'audited once')
})

t.test('R-D.8 sync command --payload that is not a JSON object is a usage error (exit 2), and nothing is issued', async t => {
  const { city } = await makeFederation(t)
  for (const payload of ['{bad', '[1]', '"x"', 'null']) {
    const r = await xueji('sync', 'command', '--data', city.dataDir, '--to', '330106', '--type', 'sync.ping', '--payload', payload)
    t.equal(r.code, 2, `--payload ${payload}: exit 2`)
    t.match(r.first, /--payload must be a JSON object/)
    t.notMatch(r.err, /unexpected error/)
  }
  t.equal(city.storage.sqlite.prepare('select count(*) from sync_commands').pluck().get(), 0)
  const ok = await xueji('sync', 'command', '--data', city.dataDir, '--to', '330106', '--type', 'sync.ping', '--payload', '{"n":1}')
  t.equal(ok.code, 0, ok.err)
})
