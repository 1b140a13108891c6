import t from 'tap'
import { CompactSign, generateKeyPair } from 'jose'
import { sha256Hex } from '../../sync/canonical.ts'
import { CHANGESET_TYP, signChangeSet, unpackBody, type ChangeRow, type ChangeSetBody, type SignedChangeSet } from '../../sync/changeset.ts'
import { loadSigner } from '../../sync/signers.ts'
import { issueNodeToken } from '../../sync/node-token.ts'
import { NODE_AUTH_SCHEME } from '../../sync/transport.ts'
import { makeFederation, makeNode, settle, type TestSyncNode } from './lib/nodes.ts'
import { createMemoryTransport } from '../../sync/transport.ts'
import { dump, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

/** Signs a body as the county would (its real key), for hand-made change sets. */
async function signAs(node: TestSyncNode, body: ChangeSetBody): Promise<SignedChangeSet> {
  return signChangeSet(body, await loadSigner(node.storage))
}
const push = (from: TestSyncNode, changeSet: SignedChangeSet) => from.sync.transport!.request({ type: 'changeset.push', changeSet })
const head = (n: TestSyncNode, origin: string) =>
  n.storage.sqlite.prepare('select seq, hash, prev from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string; prev: string | null }
const count = (n: TestSyncNode, table: string) => (n.storage.sqlite.prepare(`select count(*) c from "${table}"`).get() as { c: number }).c
function body(origin: string, seq: number, prev: string | null, rows: ChangeRow[]): ChangeSetBody {
  return { format: 1, origin, seq, prev, createdAt: new Date().toISOString(), rows }
}
const upsert = (table: string, row: Record<string, unknown>): ChangeRow => ({ table, key: { id: row.id as string }, op: 'upsert', row, version: 1 })
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url')

t.test('R-D.2 refusals at the parent: none applied, each with its own error code', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await county.sync.pack()
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await settle(county, city, province)
  const at = head(city, '330106')
  t.equal(at.seq, 2, 'two change sets applied at the city')
  const students = count(city, 'students')
  const next = (rows: ChangeRow[]) => body('330106', at.seq + 1, at.hash, rows)
  const fresh = () => upsert('students', studentRow('330106', school, Math.floor(Math.random() * 1e6)))

  const refused = async (what: string, p: Promise<unknown>, code: string) => {
    await t.rejects(p, { code }, what)
    t.equal(head(city, '330106').seq, at.seq, `${what}: nothing recorded`)
    t.equal(count(city, 'students'), students, `${what}: nothing applied`)
  }

  const good = await signAs(county, next([fresh()]))
  // A flipped byte: in the signature (it no longer verifies) and in the body (hash breaks).
  const [h, p, s] = good.jws.split('.')
  const sig = Buffer.from(s, 'base64url')
  sig[10] ^= 1
  await refused('flipped byte in the signature', push(county, { ...good, jws: `${h}.${p}.${sig.toString('base64url')}` }), 'SYNC_SIGNATURE_INVALID')
  const flipped = Buffer.from(good.body)
  flipped[40] ^= 1
  await refused('flipped byte in the body', push(county, { ...good, body: flipped.toString() }), 'SYNC_HASH_MISMATCH')

  const kid = (await loadSigner(county.storage)).kid
  await refused('alg none', push(county, { ...good, jws: `${b64({ alg: 'none', kid, typ: CHANGESET_TYP })}.${p}.` }), 'SYNC_ALG_NOT_ALLOWED')
  await refused('alg HS256', push(county, { ...good, jws: `${b64({ alg: 'HS256', kid, typ: CHANGESET_TYP })}.${p}.${s}` }), 'SYNC_ALG_NOT_ALLOWED')
  await refused('alg ES256', push(county, { ...good, jws: `${b64({ alg: 'ES256', kid, typ: CHANGESET_TYP })}.${p}.${s}` }), 'SYNC_ALG_NOT_ALLOWED')

  const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' })
  await refused('unknown kid', push(county, await signChangeSet(next([fresh()]), { kid: 'not-registered-kid', privateKey: stranger.privateKey })), 'SYNC_KEY_UNKNOWN')

  const jwk = { kty: 'OKP', crv: 'Ed25519', x: 'A'.repeat(43) }
  const withJwk = await new CompactSign(new TextEncoder().encode(Buffer.from(p, 'base64url').toString()))
    .setProtectedHeader({ alg: 'EdDSA', kid, typ: CHANGESET_TYP, jwk } as never)
    .sign(stranger.privateKey)
  await refused('jwk header', push(county, { ...good, jws: withJwk }), 'SYNC_EMBEDDED_KEY_REFUSED')

  // Chain: an applied seq again with other content.
  const first = county.storage.sqlite.prepare("select prev from sync_change_sets where origin = '330106' and seq = 2").get() as { prev: string }
  await refused('fork (same seq, same prev, other rows)', push(county, await signAs(county, body('330106', 2, first.prev, [fresh()]))), 'SYNC_FORK')
  await refused('replayed old seq out of chain', push(county, await signAs(county, body('330106', 2, sha256Hex('elsewhere'), [fresh()]))), 'SYNC_SEQ_REPLAY')
  t.equal((city.storage.sqlite.prepare('select count(*) c from sync_conflicts').get() as { c: number }).c, 2, 'fork and replay kept for the record')
  await refused('gap', push(county, await signAs(county, body('330106', at.seq + 3, at.hash, [fresh()]))), 'SYNC_SEQ_GAP')
  await t.rejects(push(county, await signAs(county, body('330106', at.seq + 3, at.hash, [fresh()]))), { code: 'SYNC_SEQ_GAP', details: { expectedSeq: at.seq + 1 } } as never, 'the gap answer names the expected seq')
  await refused('prev mismatch', push(county, await signAs(county, body('330106', at.seq + 1, sha256Hex('x'), [fresh()]))), 'SYNC_PREV_MISMATCH')

  // Ownership: a county writing another county's school, or a student under it.
  const foreign = schoolRow('330106', '330108', 9)
  await refused('a county writes a school of another county', push(county, await signAs(county, next([upsert('schools', foreign)]))), 'SYNC_ROW_OUTSIDE_OWNERSHIP')
  const held = city.storage.sqlite.prepare("select status, bad_rows from sync_quarantine where origin = '330106'").get() as { status: string; bad_rows: string }
  t.equal(held.status, 'held', 'the change set is quarantined')
  t.match(JSON.parse(held.bad_rows), [{ index: 0, table: 'schools', code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: 'division' }], 'with its reason')
  const otherSchool = schoolRow('330108', '330108', 2)
  writeRows(county2!.storage, 'schools', [otherSchool])
  await settle(county2!, city)
  await refused('a student under another county\'s school', push(county, await signAs(county, next([upsert('students', studentRow('330106', otherSchool, 5))]))), 'SYNC_ROW_OUTSIDE_OWNERSHIP')
  await refused('a row homed elsewhere', push(county, await signAs(county, next([upsert('students', studentRow('330108', otherSchool, 6))]))), 'SYNC_ROW_OUTSIDE_OWNERSHIP')
  await refused('origin outside the sender subtree', push(county, await signAs(county, { ...next([fresh()]), origin: '330108' })), 'SYNC_ORIGIN_OUTSIDE_SUBTREE')

  // Requests from nodes that are not enrolled children.
  const county2Signer = await loadSigner(county2!.storage)
  const asCounty2 = `${NODE_AUTH_SCHEME} ${await issueNodeToken({ iss: '330108', aud: '330000', kid: county2Signer.kid, privateKey: county2Signer.privateKey })}`
  await t.rejects(province.sync.receiver.handle(asCounty2, { type: 'changeset.push', changeSet: good }), { code: 'SYNC_NOT_CHILD' }, 'a grandchild is not a child of the province')
  const strangerToken = await issueNodeToken({ iss: '330109', aud: '330100', kid: 'k', privateKey: stranger.privateKey })
  await t.rejects(city.sync.receiver.handle(`${NODE_AUTH_SCHEME} ${strangerToken}`, { type: 'origins.list' }), { code: 'SYNC_TOKEN_INVALID' }, 'an unknown node')
  await t.rejects(city.sync.receiver.handle(undefined, { type: 'origins.list' }), { code: 'SYNC_TOKEN_INVALID' }, 'no token')

  // After all that, the good change set still applies, and a repeat is a duplicate no-op.
  const ok = await push(county, good)
  t.equal(ok.status, 'applied')
  t.equal((await push(county, good)).status, 'duplicate', 'the same change set twice is applied once')
  t.equal(count(city, 'students'), students + 1)
})

t.test('R-D.2 a quarantined change set goes on only after an operator releases it', async t => {
  const { city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  const foreign = schoolRow('330106', '330108', 2)
  writeRows(county.storage, 'schools', [school, foreign])
  writeRows(county.storage, 'students', [studentRow('330106', school, 1)])
  await county.sync.pack()
  await t.rejects(county.sync.pushOrigin('330106'), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' })
  t.match((await county.sync.status()).upstream[0], { origin: '330106', lastAcked: null, halted: { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' } }, 'the child shows the halt')
  t.match((await city.sync.status()).quarantine, { held: 1, rows: 1 }, 'the parent shows the quarantined row')
  const released = await city.sync.releaseQuarantine('330106', 1, 'ticket 42')
  t.equal(released.skipped, 1)
  const res = await county.sync.pushOrigin('330106')
  t.same(res, { sent: 1, acked: 1 }, 'the child goes on: its seq 1 is a duplicate of the released one')
  writeRows(county.storage, 'students', [studentRow('330106', school, 2)])
  await county.sync.pack()
  t.same(await county.sync.pushOrigin('330106'), { sent: 1, acked: 1 }, 'and seq 2 applies')
  t.equal(dump(city.storage, 'schools').length, 1, 'only the school of its own area')
  t.equal(dump(city.storage, 'students').length, 2)
  t.equal((await county.sync.status()).upstream[0].halted, null)
})

t.test('R-D.3 change sets delivered twice and out of order: applied once, in order; the three databases agree', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await county.sync.pack()
  for (let i = 0; i < 4; i++) {
    writeRows(county.storage, 'students', [studentRow('330106', school, i)])
    await county.sync.pack()
  }
  const sets = (county.storage.sqlite.prepare("select seq, body, jws, hash from sync_change_sets where origin = '330106' order by seq").all() as (SignedChangeSet & { seq: number })[]).map(cs => ({ ...cs, body: unpackBody(cs.body) }))
  t.equal(sets.length, 5)
  for (const i of [2, 0, 0, 4, 1, 1, 3, 2]) {
    await push(county, sets[i]).catch((err: { code: string }) => t.equal(err.code, 'SYNC_SEQ_GAP', `seq ${i + 1} early: gap`))
  }
  await settle(county, city, province)
  t.same(city.storage.sqlite.prepare("select seq from sync_change_sets where origin = '330106' order by seq").pluck().all(), [1, 2, 3, 4, 5], 'each seq once at the city')
  t.same(province.storage.sqlite.prepare("select seq from sync_change_sets where origin = '330106' order by seq").pluck().all(), [1, 2, 3, 4, 5], 'each seq once at the province')
  t.same(dump(city.storage, 'students'), dump(county.storage, 'students'))
  t.same(dump(province.storage, 'students'), dump(county.storage, 'students'))
})

t.test('R-D.2 change sets of one origin in flight together are applied in seq order, whichever arrives first', async t => {
  const { city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await county.sync.pack()
  for (let i = 1; i <= 3; i++) {
    writeRows(county.storage, 'students', [studentRow('330106', school, i)])
    await county.sync.pack()
  }
  const sets = (county.storage.sqlite.prepare('select body, jws, hash from sync_change_sets where origin = ? order by seq').all('330106') as SignedChangeSet[]).map(cs => ({ ...cs, body: unpackBody(cs.body) }))
  t.equal(sets.length, 4, 'four change sets: the school, then one student each')
  // Handed to the city's inbox together, the last first (through a transport, each would first
  // wait its turn for a node token and its check, and one could arrive after the others finished).
  const answers = await Promise.all([...sets].reverse().map(cs => city.sync.inbox.receive({ code: '330106', tier: 'county' }, cs)))
  t.same(answers.map(a => a.status), ['applied', 'applied', 'applied', 'applied'], 'each is applied, none refused as a gap')
  t.equal(head(city, '330106').seq, 4, 'the chain at the parent is complete')
  t.equal(count(city, 'students'), 3)
  const gap = await signAs(county, body('330106', 6, head(city, '330106').hash, [upsert('students', studentRow('330106', school, 9))]))
  await t.rejects(push(county, gap), { code: 'SYNC_SEQ_GAP', details: { expectedSeq: 5 } }, 'with no earlier one in flight, a gap is still refused')
})

t.test('R-D.2 a sender keeps its window full: each receipt sends the next change set, without waiting for the rest of the window', async t => {
  const province = await makeNode(t, { tier: 'province', code: '330000' })
  const city = await makeNode(t, { tier: 'city', code: '330100', parent: province })
  const events: string[] = []
  const sent = new Set<number>()
  let last = 0
  // The parent answers change set s only once s + 2 is on its way: a sender that waits for its
  // whole window before sending more would never send s + 2 while s + 1 is unanswered.
  const sentBy = (seq: number) =>
    new Promise<void>(resolve => {
      const deadline = Date.now() + 3000
      const poll = () => {
        if (sent.has(seq) || seq > last) resolve()
        else if (Date.now() > deadline) (events.push(`waited for ${seq}`), resolve())
        else setTimeout(poll, 5)
      }
      poll()
    })
  const county = await makeNode(t, {
    tier: 'county',
    code: '330106',
    parent: city,
    sync: { maxRows: 1 },
    transport: token => {
      const inner = createMemoryTransport(() => city.sync.receiver, token)
      return {
        ...inner,
        async request(message) {
          if (message.type !== 'changeset.push') return inner.request(message)
          const seq = (JSON.parse(message.changeSet.body) as ChangeSetBody).seq
          sent.add(seq)
          events.push(`send ${seq}`)
          const answer = await inner.request(message)
          await sentBy(seq + 2)
          events.push(`answer ${seq}`)
          return answer
        },
      }
    },
  })
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city)
  const first = head(city, '330106').seq + 1
  last = first + 5
  events.length = 0
  // One commit, packed at once into six change sets of one row each.
  writeRows(county.storage, 'students', Array.from({ length: 6 }, (_, i) => studentRow('330106', school, i)))
  await settle(county, city)
  t.equal(head(city, '330106').seq, last, 'all six applied at the parent')
  t.equal(count(city, 'students'), 6)
  t.same(events.filter(e => e.startsWith('waited')), [], 'no answer waited for a send the window should have made')
  t.ok(events.indexOf(`send ${first + 3}`) < events.indexOf(`answer ${first + 1}`), 'the fourth went before the second was answered')
})
