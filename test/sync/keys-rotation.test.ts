import t, { type Test } from 'tap'
import { signChangeSet } from '../../sync/changeset.ts'
import { signCommand } from '../../sync/command.ts'
import { syncError } from '../../sync/errors.ts'
import { signKeyRecord } from '../../sync/keys.ts'
import { loadSigner, loadSignerByKid } from '../../sync/signers.ts'
import { makeFederation, settle, type TestSyncNode } from './lib/nodes.ts'
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

t.test('R-D.2 downward commands: relayed hop by hop, applied exactly once, in order', async t => {
  const { province, city, county } = await makeFederation(t)
  await province.sync.downward.issue('330106', 'sync.ping', { n: 1 })
  await province.sync.downward.issue('330106', 'sync.ping', { n: 2 })
  await city.sync.pullCommands()
  const first = await county.sync.pullCommands()
  t.same(first, { pulled: 2, applied: 2 })
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'pulling again applies nothing twice')
  county.storage.sqlite.prepare('update sync_link set command_cursor = 0').run()
  t.same(await county.sync.pullCommands(), { pulled: 0, applied: 0 }, 'even when the same commands come again')
  t.same(county.storage.sqlite.prepare('select seq, result from sync_commands order by seq').all(), [
    { seq: 1, result: '{"status":"applied","pong":true}' },
    { seq: 2, result: '{"status":"applied","pong":true}' },
  ])
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
async function schoolsOnBothTiers(t: Test) {
  const nodes = await makeFederation(t)
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
