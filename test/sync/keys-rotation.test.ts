import t, { type Test } from 'tap'
import { signChangeSet } from '../../sync/changeset.ts'
import { COMMAND_TYP, signCommand } from '../../sync/command.ts'
import { DEATH_REPORT_TYP, recordDeathReport } from '../../sync/death.ts'
import { recordRouted, ROUTED_TYP } from '../../sync/routed.ts'
import { learnParentKeys } from '../../sync/enrolment.ts'
import { syncError } from '../../sync/errors.ts'
import { openCompactJws, signKeyRecord } from '../../sync/keys.ts'
import { signReceipt, verifyReceipt } from '../../sync/receipt.ts'
import { loadSigner, loadSignerByKid } from '../../sync/signers.ts'
import { makeFederation, makeNode, settle, type TestSyncNode } from './lib/nodes.ts'
import { dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

t.test('R-D.2 key rotation: old change sets still verify with the old key, new ones need the new key', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const oldKid = (await loadSigner(county.storage)).kid
  const { kid, validFromSeq } = await county.sync.rotateKey()
  t.equal(validFromSeq, 2)
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await settle(county, city, province)
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'), 'rows signed with the new key arrive')
  t.same(province.storage.sqlite.prepare("select seq, kid from sync_change_sets where origin = '330106' order by seq").all(), [{ seq: 1, kid: oldKid }, { seq: 2, kid }])
  t.match(province.storage.sqlite.prepare("select valid_until_seq from sync_keys where node = '330106' and kid = ?").get(oldKid), { valid_until_seq: 1 }, 'the province knows the old key ends at seq 1')
  for (const n of [city, province]) t.same((await n.sync.verifyStored()).problems, [], `${n.code}: every stored change set verifies`)

  // The retired key can no longer sign new change sets.
  const old = await loadSignerByKid(county.storage, oldKid)
  const head = county.storage.sqlite.prepare("select seq, hash from sync_change_sets where origin = '330106' order by seq desc limit 1").get() as { seq: number; hash: string }
  const forged = await signChangeSet({ format: 1, origin: '330106', seq: head.seq + 1, prev: head.hash, createdAt: new Date().toISOString(), rows: [] }, old)
  await t.rejects(county.sync.transport!.request({ type: 'changeset.push', changeSet: forged }), { code: 'SYNC_KEY_UNKNOWN' })
})

t.test('R-26.1 disaster recovery: a county restored from an old backup fetches its change sets back (xueji sync rebuild)', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await county.sync.pack()
  writeRows(county.storage, 'students', Array.from({ length: 30 }, (_, i) => studentRow('330106', school, i)))
  await settle(county, city, province)
  const before = dump(county.storage, 'students')
  // The "backup": everything after seq 1 lost.
  county.storage.write(() => {
    county.storage.sqlite.prepare('delete from students').run()
    county.storage.sqlite.prepare("delete from sync_change_sets where seq > 1").run()
  })
  const r = await county.sync.rebuild()
  t.match(r, { changeSets: 1, rows: 30 })
  t.same(dump(county.storage, 'students'), before, 'the county has its students back')
  t.same((await county.sync.verifyStored()).problems, [])
})

/** The commands of `issuer` held at `n`, with their results. */
const pings = (n: TestSyncNode, issuer: string) => n.storage.sqlite.prepare('select seq, result from sync_commands where issuer = ? order by seq').all(issuer)
const TWO_PONGS = [{ seq: 1, result: '{"status":"applied","pong":true}' }, { seq: 2, result: '{"status":"applied","pong":true}' }]
/** Pulls `n`'s commands once more from the start, as after a lost cursor. */
async function pullAgain(n: TestSyncNode) {
  n.storage.sqlite.prepare('update sync_link set command_cursor = 0').run()
  return n.sync.pullCommands()
}

t.test('R-D.2 downward commands: relayed hop by hop, applied exactly once, in order', async t => {
  const { province, city, county } = await makeFederation(t)
  await province.sync.downward.issue('330106', 'sync.ping', { n: 1 })
  await province.sync.downward.issue('330106', 'sync.ping', { n: 2 })
  await city.sync.pullCommands()
  const first = await county.sync.pullCommands()
  t.same(first, { pulled: 2, applied: 2 })
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'pulling again applies nothing twice')
  t.same(await pullAgain(county), { pulled: 0, applied: 0 }, 'even when the same commands come again')
  t.same(pings(county, '330000'), TWO_PONGS)
  await t.rejects(city.sync.downward.issue('330200', 'sync.ping', {}), { code: 'SYNC_COMMAND_NOT_FOR_ME' }, 'only to nodes below')
})

t.test('R-D.8 anti-entropy: the parent reports drift of its replica', async t => {
  const { city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', Array.from({ length: 5 }, (_, i) => studentRow('330106', school, i)))
  await settle(county, city)
  t.match(await county.sync.sendDigest(), { result: 'ok' })
  city.storage.sqlite.prepare('update students set version = 9 where rowid = 1').run()
  t.match(await county.sync.sendDigest(), { result: 'drift', drift: [{ unit: `schools:${school.id}` }] })
  t.match((await city.sync.status()).drift, [{ origin: '330106', result: 'drift', driftUnits: 1 }])
})

const keyRange = (n: TestSyncNode, node: string, kid: string) =>
  n.storage.sqlite.prepare('select valid_from_seq "from", valid_until_seq "until" from sync_keys where node = ? and kid = ?').get(node, kid) as { from: number; until: number | null } | undefined
const students = (n: TestSyncNode) => n.storage.sqlite.prepare('select count(*) from students').pluck().get() as number

/** A federation whose county and city each hold a school of their own, settled up to the province. */
async function schoolsOnBothTiers(t: Test, sync?: Record<string, unknown>) {
  const nodes = await makeFederation(t, { sync })
  const school = schoolRow('330106', '330106', 1)
  writeRows(nodes.county.storage, 'schools', [school])
  writeRows(nodes.city.storage, 'schools', [schoolRow('330100', '330100', 1)])
  await settle(nodes.county, nodes.city, nodes.province)
  return { ...nodes, school }
}

t.test('R-D.2 a node that has signed no change set of its own rotates its key: the old key keeps an empty range, its children\'s change sets go on up', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  t.equal(city.storage.sqlite.prepare("select count(*) from sync_change_sets where origin = '330100'").pluck().get(), 0, 'the city has no change set of its own')
  const old = (await loadSigner(city.storage)).kid
  const { kid, validFromSeq } = await city.sync.rotateKey()
  t.equal(validFromSeq, 1)
  await city.sync.pushOrigin('330100')
  t.same(keyRange(province, '330100', old), { from: 1, until: 0 }, 'the old key answers for no seq')
  t.same(keyRange(province, '330100', kid), { from: 1, until: null }, 'the new key starts at seq 1')
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await settle(county, city, province)
  t.equal(students(province), 1, 'the county\'s change set is relayed')
  writeRows(city.storage, 'schools', [schoolRow('330100', '330100', 1)])
  await settle(city, province)
  t.match(province.storage.sqlite.prepare("select seq, kid from sync_change_sets where origin = '330100'").all(), [{ seq: 1, kid }], 'the city\'s first change set is signed with the new key')
})

t.test('R-D.2 a key rotation the parent refuses holds back only the node\'s own change sets: its children\'s are relayed, their receipts signed with the key the parent knows', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const receiver = province.sync.receiver
  const handle = receiver.handle.bind(receiver)
  receiver.handle = async (auth, message) => {
    if (message.type === 'key.rotate') throw syncError('SYNC_ENROLL_REFUSED', 'refused for the test', { reason: 'test' })
    return handle(auth, message)
  }
  const known = (await loadSigner(city.storage)).kid
  await city.sync.rotateKey()
  writeRows(city.storage, 'schools', [schoolRow('330100', '330100', 1)])
  await city.sync.pack()
  await t.rejects(city.sync.pushOrigin('330100'), { code: 'SYNC_ENROLL_REFUSED' }, 'the city\'s own change sets wait for the rotation')
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await county.sync.pack()
  t.match(await county.sync.pushOrigin('330106'), { acked: 1 }, 'the county\'s receipt verifies')
  t.equal(JSON.parse(Buffer.from((county.storage.sqlite.prepare("select receipt from sync_change_sets where seq = 2").pluck().get() as string).split('.')[0], 'base64url').toString()).kid, known, 'signed with the city key the province knows')
  t.match(await city.sync.pushOrigin('330106'), { acked: 1 }, 'relayed to the province')
  t.equal(students(province), 1)
})

t.test('R-D.2 after its parent rotated its key, a county rotates its own key and re-enrols', async t => {
  const { province, city, county, school } = await schoolsOnBothTiers(t)
  await city.sync.rotateKey()
  await city.sync.pushOrigin('330100')
  const { kid } = await county.sync.rotateKey()
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await settle(county, city, province)
  t.equal(students(province), 1, 'the rotation was countersigned and the new key\'s change set arrived')
  for (const n of [city, province]) t.same(keyRange(n, '330106', kid), { from: 2, until: null }, `${n.code} knows the county's new key`)
  const { token } = city.sync.joinToken({ code: '330106', tier: 'county' })
  await t.resolves(county.sync.enrol(token), 're-enrolment closes the county\'s earlier keys, signed before the city\'s rotation')
  writeRows(county.storage, 'students', [studentRow('330106', school, 2)])
  await settle(county, city, province)
  t.equal(students(province), 2)
})

t.test('R-D.2 after a city rotates its key, its counties learn the new key from the city\'s chain: receipts verify, commands are applied, none is skipped meanwhile', async t => {
  const { province, city, county, school } = await schoolsOnBothTiers(t)
  const { kid } = await city.sync.rotateKey()

  // A command signed with the new key before the province vouched for it: the county cannot know
  // the key yet, and the command waits (the cursor stays before it) instead of being skipped.
  const cursor = () => county.storage.sqlite.prepare('select command_cursor from sync_link').pluck().get() as number
  const signed = await signCommand({ format: 1, issuer: '330100', destination: '330106', seq: 1, type: 'sync.ping', createdAt: new Date().toISOString(), payload: { n: 1 } }, await loadSignerByKid(city.storage, kid))
  city.storage.write(() =>
    city.storage.sqlite
      .prepare('insert into sync_commands (issuer, destination, seq, type, hash, body, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, null, ?)')
      .run('330100', '330106', 1, 'sync.ping', signed.hash, signed.body, signed.jws, new Date().toISOString()),
  )
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 })
  t.equal(cursor(), 0, 'not skipped')
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'asked for again')

  await city.sync.pushOrigin('330100')
  t.same(keyRange(province, '330100', kid), { from: 2, until: null }, 'the province vouched for the new key')
  await city.sync.downward.issue('330106', 'sync.ping', { n: 2 })
  t.same(await county.sync.pullCommands(), { pulled: 2, applied: 2 }, 'the county learned the key: both commands applied')
  t.same(keyRange(county, '330100', kid), { from: 2, until: null }, 'as the province vouched for it')
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await county.sync.pack()
  t.match(await county.sync.pushOrigin('330106'), { acked: 1 }, 'the city\'s receipt, signed with its new key, verifies')
})

t.test('R-D.2 R-25.2 a county takes no key of its parent that its chain of trust does not vouch for', async t => {
  const { province, city, county } = await makeFederation(t)
  await settle(county, city, province)
  const old = await loadSigner(city.storage)
  const { kid } = await city.sync.rotateKey()
  const publicJwk = JSON.parse(city.storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').pluck().get(kid) as string)
  const record = { node: '330100', tier: 'city', kid, publicJwk, validFromSeq: 1, validUntilSeq: null, issuedAt: new Date().toISOString() } as const
  // The city hands down its new key vouched for by itself: signed with its old key, as its own parent or as the province's word.
  for (const [what, forged, code] of [
    ['as its own parent', await signKeyRecord({ ...record, parent: '330100' }, old), 'SYNC_KEY_NOT_VOUCHED'],
    ['in the province\'s name', await signKeyRecord({ ...record, parent: '330000' }, old), 'SYNC_KEY_UNKNOWN'],
  ] as const) {
    const receiver = city.sync.receiver
    const handle = receiver.handle.bind(receiver)
    receiver.handle = async (auth, message) => (message.type === 'keys.pull' ? ({ records: [forged] } as never) : handle(auth, message))
    const signed = await signCommand({ format: 1, issuer: '330100', destination: '330106', seq: 1, type: 'sync.ping', createdAt: new Date().toISOString(), payload: {} }, await loadSignerByKid(city.storage, kid))
    city.storage.write(() =>
      city.storage.sqlite
        .prepare('insert or ignore into sync_commands (issuer, destination, seq, type, hash, body, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?, null, ?)')
        .run('330100', '330106', 1, 'sync.ping', signed.hash, signed.body, signed.jws, new Date().toISOString()),
    )
    await t.rejects(county.sync.pullCommands(), { code }, `a record ${what} is refused`)
    t.notOk(keyRange(county, '330100', kid), 'the key is not registered')
    t.equal(county.storage.sqlite.prepare('select count(*) from sync_commands').pluck().get(), 0, 'the command is not taken')
    t.equal(county.storage.sqlite.prepare('select command_cursor from sync_link').pluck().get(), 0, 'nor skipped')
    receiver.handle = handle
  }
})

/** The county pushes a student: the city's receipt, signed with its new key, makes it learn the city's keys. */
async function countyLearnsCityKeys(t: Test, county: TestSyncNode, school: ReturnType<typeof schoolRow>, n: number) {
  writeRows(county.storage, 'students', [studentRow('330106', school, n)])
  await county.sync.pack()
  t.match(await county.sync.pushOrigin('330106'), { acked: 1 }, 'the county\'s change set is acknowledged with the city\'s new key')
}

t.test('R-D.5 after a city rotates its key, its county learns that the old key is closed: commands and receipts signed with it are refused there', async t => {
  const { city, county, school } = await schoolsOnBothTiers(t)
  const old = await loadSigner(city.storage)
  const { kid } = await city.sync.rotateKey()
  await city.sync.pushOrigin('330100')
  t.ok(await county.sync.registry.resolve('330100', old.kid), 'before it learns the new key, the county holds the old one as current')
  await countyLearnsCityKeys(t, county, school, 1)
  t.same(keyRange(county, '330100', kid), { from: 2, until: null }, 'the county learned the new key')
  t.same(keyRange(county, '330100', old.kid), { from: 1, until: 1 }, 'and the closing of the old one, as the province signed it')
  t.equal(await county.sync.registry.resolve('330100', old.kid), undefined, 'the old key is no longer current at the county')
  t.equal(await learnParentKeys(county.sync, county.sync.transport!), 0, 'pulled again, nothing is new')

  const forged = await signCommand({ format: 1, issuer: '330100', destination: '330106', seq: 1, type: 'sync.ping', createdAt: new Date().toISOString(), payload: {} }, old)
  await t.rejects(county.sync.downward.accept(forged, '330100'), { code: 'SYNC_KEY_UNKNOWN' }, 'a command signed with the retired key is refused')
  const cs = county.storage.sqlite.prepare("select seq, hash from sync_change_sets where origin = '330106' order by seq desc limit 1").get() as { seq: number; hash: string }
  const receipt = await signReceipt({ receiver: '330100', origin: '330106', seq: cs.seq, hash: cs.hash, appliedAt: new Date().toISOString(), status: 'applied' }, old)
  await t.rejects(verifyReceipt(receipt, county.sync.registry, { receiver: '330100', origin: '330106' }), { code: 'SYNC_RECEIPT_INVALID', details: { reason: 'SYNC_KEY_UNKNOWN' } }, 'so is a receipt')
  const later = await makeNode(t, { tier: 'county', code: '330108', parent: city })
  t.same(keyRange(later, '330100', old.kid), { from: 1, until: 1 }, 'a county enrolling now gets the closing record with the chain')
})

t.test('R-D.5 commands a city issued before rotating its key are signed again with the new key: its county, which knows the old key is closed, still applies them', async t => {
  const { city, county, school } = await schoolsOnBothTiers(t)
  const old = (await loadSigner(city.storage)).kid
  await city.sync.downward.issue('330106', 'sync.ping', { n: 1 })
  t.same(await county.sync.pullCommands(), { pulled: 1, applied: 1 }, 'the first command is pulled before the rotation')
  await city.sync.downward.issue('330106', 'sync.ping', { n: 2 })
  const issued = () => city.storage.sqlite.prepare("select seq, hash, body, jws from sync_commands where issuer = '330100' order by seq").all() as { seq: number; hash: string; body: string; jws: string }[]
  const before = issued()
  const { kid } = await city.sync.rotateKey()
  await city.sync.pushOrigin('330100')
  const after = issued()
  t.same(after.map(c => [c.seq, c.hash, c.body]), before.map(c => [c.seq, c.hash, c.body]), 'body and hash unchanged')
  t.same(after.map(c => openCompactJws(c.jws, COMMAND_TYP).header.kid), [kid, kid], 'signed with the new key')
  await countyLearnsCityKeys(t, county, school, 1)
  t.equal(await county.sync.registry.resolve('330100', old), undefined, 'the county knows the old key is closed')
  t.same(await county.sync.pullCommands(), { pulled: 1, applied: 1 }, 'the command issued before the rotation is applied')
  t.same(await pullAgain(county), { pulled: 0, applied: 0 }, 'pulled again, the first one (held with the old signature) is a duplicate')
  t.same(pings(county, '330100'), TWO_PONGS, 'each applied once')
})

t.test('R-D.5 a key rotation whose answer was lost is finished at the next sync round: asked again with the new key, the parent answers with the records it made; the node\'s own change sets go on', async t => {
  const { province, city, county, school } = await schoolsOnBothTiers(t)
  const old = (await loadSigner(city.storage)).kid
  const { kid } = await city.sync.rotateKey()
  writeRows(city.storage, 'schools', [schoolRow('330100', '330100', 2)])
  await city.sync.pack()
  const receiver = province.sync.receiver
  const handle = receiver.handle.bind(receiver)
  receiver.handle = async (auth, message) => {
    const answer = await handle(auth, message)
    if (message.type !== 'key.rotate') return answer
    receiver.handle = handle
    throw syncError('SYNC_PARENT_UNAVAILABLE', 'the answer is lost for the test')
  }
  await t.rejects(city.sync.pushOrigin('330100'), { code: 'SYNC_PARENT_UNAVAILABLE' })
  t.same(keyRange(province, '330100', kid), { from: 2, until: null }, 'the province registered the new key')
  t.same(keyRange(province, '330100', old), { from: 1, until: 1 }, 'and closed the old one')
  t.notOk(keyRange(city, '330100', kid), 'the city never heard')
  await new Promise(resolve => setTimeout(resolve, 300)) // the link's backoff after the lost answer
  t.match(await city.sync.pushOrigin('330100'), { acked: 1 }, 'the next round finishes the rotation and the city\'s change set goes')
  t.same(keyRange(city, '330100', kid), { from: 2, until: null }, 'the city holds its new key\'s record')
  t.same(keyRange(city, '330100', old), { from: 1, until: 1 }, 'and the closing of the old one')
  t.equal(province.storage.sqlite.prepare("select count(*) from schools where home_node = '330100'").pluck().get(), 2)
  t.match(province.storage.sqlite.prepare("select seq, kid from sync_change_sets where origin = '330100' order by seq").all(), [{ seq: 1, kid: old }, { seq: 2, kid }])
  await countyLearnsCityKeys(t, county, school, 1)
  t.match(await city.sync.pushOrigin('330106'), { acked: 1 }, 'the county\'s change set is relayed')
  t.equal(students(province), 1)
})

t.test('R-D.5 R-20.2 a death report and a routed message a city signed with its old key but could not deliver are signed again with the new key after its rotation: the province takes both', async t => {
  const { province, city } = await schoolsOnBothTiers(t)
  const unitCode = city.storage.sqlite.prepare("select school_code from schools where home_node = '330100'").pluck().get() as string
  const report = city.storage.write(() => recordDeathReport(city.storage, '330100', {
    event: 'death', kind: 'student', subjectId: crypto.randomUUID(), name: '学生', unitCode, changeId: crypto.randomUUID(), eventDate: '2026-03-02', reverses: null, priorState: 'in_school',
  }))
  const message = city.storage.write(() => recordRouted(city.storage, '330100', { destination: '330200', find: null, type: 'test.note', handoff: null, body: { n: 1 } }))
  await city.sync.routed.routePending()
  // Signed at the first attempt, which the province never answers.
  const receiver = province.sync.receiver
  const handle = receiver.handle.bind(receiver)
  receiver.handle = async (auth, m) => {
    if (m.type === 'routed.push' || m.type === 'death.report') throw syncError('SYNC_PARENT_UNAVAILABLE', 'down for the test')
    return handle(auth, m)
  }
  await t.rejects(city.sync.sendDeathReports(), { code: 'SYNC_PARENT_UNAVAILABLE' }, 'the routed message goes first, and is not answered')
  await t.rejects(city.sync.death.send(city.sync.transport!), { code: 'SYNC_PARENT_UNAVAILABLE' }, 'nor is the report')
  const signedWith = () => [
    openCompactJws(city.storage.sqlite.prepare('select jws from sync_death_reports where id = ?').pluck().get(report.id) as string, DEATH_REPORT_TYP).header.kid,
    openCompactJws(city.storage.sqlite.prepare('select jws from sync_routed where id = ?').pluck().get(message.id) as string, ROUTED_TYP).header.kid,
  ]
  const old = (await loadSigner(city.storage)).kid
  t.same(signedWith(), [old, old], 'both signed with the key of the day')
  receiver.handle = handle
  const { kid } = await city.sync.rotateKey()
  await new Promise(resolve => setTimeout(resolve, 300)) // the link's backoff after the failed attempt
  t.match(await city.sync.sendDeathReports(), { sent: 1, refused: 0 }, 'the report goes after the rotation finished')
  t.same(signedWith(), [kid, kid], 'both signed again with the new key')
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_death_reports where id = ?').pluck().get(report.id), 1, 'the province holds the report')
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_routed where id = ? and origin = ?').pluck().get(message.id, '330100'), 1, 'and the message')
  t.equal(city.storage.sqlite.prepare('select refused_code from sync_routed where id = ?').pluck().get(message.id), null, 'nothing refused')
})

t.test('R-D.5 R-20.2 a county\'s death report the city holds with the county\'s old signature reaches the province after the county rotated its key: the county sends it again signed with the new key, which the city relays', async t => {
  const { province, city, county, school } = await schoolsOnBothTiers(t, { deathResendMs: 100 })
  const report = county.storage.write(() => recordDeathReport(county.storage, '330106', {
    event: 'death', kind: 'student', subjectId: crypto.randomUUID(), name: '学生', unitCode: String(school.school_code), changeId: crypto.randomUUID(), eventDate: '2026-03-02', reverses: null, priorState: 'in_school',
  }))
  const receiver = province.sync.receiver
  const handle = receiver.handle.bind(receiver)
  receiver.handle = async (auth, m) => {
    if (m.type === 'death.report') throw syncError('SYNC_PARENT_UNAVAILABLE', 'down for the test')
    return handle(auth, m)
  }
  t.match(await county.sync.sendDeathReports(), { sent: 1 }, 'the city holds the report')
  await t.rejects(city.sync.sendDeathReports(), { code: 'SYNC_PARENT_UNAVAILABLE' }, 'the province does not answer')
  receiver.handle = handle

  await county.sync.rotateKey()
  await county.sync.pushOrigin('330106')
  await new Promise(resolve => setTimeout(resolve, 300)) // the city's backoff after the failed attempt
  t.match(await city.sync.sendDeathReports(), { sent: 0, refused: 1 }, 'the province, which learned that the county\'s old key is closed, refuses the old signature')
  await new Promise(resolve => setTimeout(resolve, 150)) // the county's resend interval
  t.match(await county.sync.sendDeathReports(), { sent: 1 }, 'the county sends its report again, signed with its new key')
  t.match(await city.sync.sendDeathReports(), { sent: 1, refused: 0 }, 'the city relays it with that signature')
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_death_reports where id = ?').pluck().get(report.id), 1, 'the province holds the report')
})

t.test('R-D.5 R-19.5 a county\'s routed message the city holds with the county\'s old signature reaches the province after the county rotated its key: refused there, the city asks the county to sign it again and relays the new signature', async t => {
  const { province, city, county } = await schoolsOnBothTiers(t)
  const message = county.storage.write(() => recordRouted(county.storage, '330106', { destination: '330200', find: null, type: 'test.note', handoff: null, body: { n: 1 } }))
  await county.sync.routed.routePending()
  const receiver = province.sync.receiver
  const handle = receiver.handle.bind(receiver)
  receiver.handle = async (auth, m) => {
    if (m.type === 'routed.push') throw syncError('SYNC_PARENT_UNAVAILABLE', 'down for the test')
    return handle(auth, m)
  }
  await county.sync.sendDeathReports()
  const signedAtCity = () => openCompactJws(city.storage.sqlite.prepare('select jws from sync_routed where id = ?').pluck().get(message.id) as string, ROUTED_TYP).header.kid
  const old = (await loadSigner(county.storage)).kid
  t.equal(signedAtCity(), old, 'the city holds the message, signed with the county\'s key of the day')
  await t.rejects(city.sync.sendDeathReports(), { code: 'SYNC_PARENT_UNAVAILABLE' }, 'the province does not answer')
  receiver.handle = handle

  const { kid } = await county.sync.rotateKey()
  await county.sync.pushOrigin('330106')
  await new Promise(resolve => setTimeout(resolve, 300)) // the city's backoff after the failed attempt
  await city.sync.sendDeathReports()
  t.equal(city.sync.routed.get(message.id)?.refusedCode, 'SYNC_KEY_UNKNOWN', 'the province, which learned that the county\'s old key is closed, refuses the old signature')
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_routed where id = ?').pluck().get(message.id), 0, 'and holds nothing of it')

  await county.sync.pullCommands()
  t.match(county.storage.sqlite.prepare("select result from sync_commands where type = 'routed.resign'").pluck().all(), [/applied/], 'the city\'s request to sign it again reaches the county')
  await county.sync.sendDeathReports()
  t.equal(signedAtCity(), kid, 'the county sent it again signed with its new key, which the city takes')
  t.equal(city.sync.routed.get(message.id)?.refusedCode, null, 'no longer refused there')
  await city.sync.sendDeathReports()
  t.equal(province.storage.sqlite.prepare('select count(*) from sync_routed where id = ? and origin = ?').pluck().get(message.id, '330106'), 1, 'the province holds the message')
  t.equal(openCompactJws(province.storage.sqlite.prepare('select jws from sync_routed where id = ?').pluck().get(message.id) as string, ROUTED_TYP).header.kid, kid, 'with the new signature')
  t.notOk(city.sync.routed.get(message.id)?.refusedCode, 'relayed, nothing refused')
})
