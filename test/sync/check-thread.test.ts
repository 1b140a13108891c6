import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { canonicalJson, sha256Hex } from '../../sync/canonical.ts'
import { CHANGESET_TYP, signChangeSet, unpackBody, type ChangeRow, type ChangeSetBody, type SignedChangeSet } from '../../sync/changeset.ts'
import { createApplier, type BadRow } from '../../sync/apply.ts'
import { CHECK_THREAD_MIN_CHARS } from '../../sync/inbox.ts'
import { signJws } from '../../sync/keys.ts'
import { loadSigner } from '../../sync/signers.ts'
import { createReplicaRules } from '../../node/services/records/replica-rules.ts'
import { codes } from '../../schema/codes/index.ts'
import { makeFederation, settle, type TestSyncNode } from './lib/nodes.ts'
import { fullRow, schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'

type Row = Record<string, unknown>
const upsert = (table: string, row: Row): ChangeRow => ({ table, key: { id: row.id as string }, op: 'upsert', row, version: 1 })
const head = (n: TestSyncNode, origin: string) => n.storage.sqlite.prepare('select seq, hash from sync_change_sets where origin = ? order by seq desc limit 1').get(origin) as { seq: number; hash: string }
const push = (from: TestSyncNode, changeSet: { body: string; jws: string; hash?: string }) => from.sync.transport!.request({ type: 'changeset.push', changeSet: changeSet as SignedChangeSet })
const count = (n: TestSyncNode, sql: string, ...args: unknown[]) => n.storage.sqlite.prepare(sql).pluck().get(...args) as number

/** A federation whose county has a school the city holds; `next(rows)` is the county's next change set at the city. */
async function federation(t: Test) {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  await settle(county, city, province)
  const next = (rows: ChangeRow[]): ChangeSetBody => {
    const h = head(city, '330106')
    return { format: 1, origin: '330106', seq: h.seq + 1, prev: h.hash, createdAt: new Date().toISOString(), rows }
  }
  return { city, county, school, checks: countChecks(city), signer: await loadSigner(county.storage), next }
}

/** Counts the bodies `n`'s inbox hands to its checking thread. */
function countChecks(n: TestSyncNode): { calls: number } {
  const seen = { calls: 0 }
  const rules = n.rules!
  const check = rules.checkBody!
  rules.checkBody = (...args) => {
    seen.calls++
    return check(...args)
  }
  return seen
}

/** What the applying thread alone finds on `rows` (rules without a checking thread), undone afterwards. */
function foundInline(n: TestSyncNode, rows: ChangeRow[]): BadRow[] {
  const applier = createApplier(n.storage, createReplicaRules({ storage: n.storage, self: { code: n.code, tier: n.tier }, codes }))
  let bad: BadRow[] = []
  try {
    n.storage.write(() => {
      bad = applier.apply(rows, { code: '330106', tier: 'county' }).bad
      throw new Error('undo')
    })
  } catch (err) {
    if ((err as Error).message !== 'undo') throw err
  }
  return bad
}

t.test('R-D.2 a large change set is checked on the checking thread: the same refusals, row by row, as on the applying thread', async t => {
  const { city, county, school, checks, signer, next } = await federation(t)

  const students = Array.from({ length: 60 }, (_, i) => upsert('students', studentRow('330106', school, 100 + i)))
  const owner = students[0].row as Row
  const now = new Date().toISOString()
  const award = (values: Row) =>
    upsert('student_awards', fullRow('student_awards', { id: randomUUID(), home_node: '330106', version: 1, epoch: 0, created_at: now, updated_at: now, student_id: owner.id as string, name: '三好学生', level: '5', award_ym: '2024-06', ...values }))
  const student = (values: Row) => upsert('students', { ...studentRow('330106', school, 900), id: randomUUID(), ...values })
  const good = studentRow('330106', school, 901)
  const bad = [
    student({ id_number: `${String(good.id_number).slice(0, 17)}${String(good.id_number).endsWith('0') ? '1' : '0'}` }),
    student({ state: 'flying' }),
    student({ nickname: '小明' }),
    student({ home_node: '330108' }),
    // A sub-record's fields are judged against its student: on the applying thread, which holds it.
    award({ level: '99' }),
  ]
  const rows = [...students, ...bad, award({})]
  const refused = await signChangeSet(next(rows), signer)
  t.ok(refused.body.length >= CHECK_THREAD_MIN_CHARS, `the body (${refused.body.length} characters) is one the checking thread takes`)
  const expected = foundInline(city, rows)
  t.same(expected.map(b => [b.index, b.code]), [[60, 'SYNC_ROW_INVALID'], [61, 'SYNC_ROW_INVALID'], [62, 'SYNC_ROW_INVALID'], [63, 'SYNC_ROW_OUTSIDE_OWNERSHIP'], [64, 'SYNC_ROW_INVALID']], 'on the applying thread alone: the five bad rows')
  t.match(expected, [{ issues: [{ code: 'RECORD_ID_CHECKSUM' }] }, { reason: 'column state: not one of its values' }, { reason: 'unknown column nickname' }, { reason: 'home_node' }, { issues: [{ code: 'RECORD_CODE_UNKNOWN', field: 'level' }] }])

  await t.rejects(push(county, refused), { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' }, 'refused, by the code of its worst row')
  t.equal(checks.calls, 1, 'its body went to the checking thread')
  const held = JSON.parse(city.storage.sqlite.prepare("select bad_rows from sync_quarantine where origin = '330106' and status = 'held'").pluck().get() as string)
  t.same(held, JSON.parse(JSON.stringify(expected)), 'quarantined with the same rows and reasons as the applying thread finds')
  t.equal(count(city, 'select count(*) from students'), 0, 'nothing applied')

  // The operator releases it without its bad rows; then a large valid one goes through the thread and applies.
  await city.sync.releaseQuarantine('330106', head(city, '330106').seq + 1, 'test')
  t.equal(count(city, 'select count(*) from students'), 60, 'released without its bad rows: the 60 students')
  t.equal(count(city, 'select count(*) from student_awards'), 1, 'and the valid award')
  const more = Array.from({ length: 60 }, (_, i) => upsert('students', studentRow('330106', school, 200 + i)))
  const valid = await signChangeSet(next([...more, award({ student_id: (more[0].row as Row).id })]), signer)
  await push(county, valid)
  t.equal(checks.calls, 2, 'the next large body went to the checking thread too')
  const stored = city.storage.sqlite.prepare("select body from sync_change_sets where origin = '330106' order by seq desc limit 1").pluck().get() as Buffer
  t.equal(unpackBody(stored), valid.body, 'stored as compressed there: the exact text comes back')
  t.equal(count(city, 'select count(*) from students'), 120, 'and applied')
  t.equal(count(city, 'select count(*) from student_awards'), 2)
})

t.test('R-D.2 a large body changed in transit or not canonical is refused by the checking thread; without the thread the applying one checks it', async t => {
  const { city, county, school, checks, signer, next } = await federation(t)
  const body = next(Array.from({ length: 60 }, (_, i) => upsert('students', studentRow('330106', school, i))))
  const good = await signChangeSet(body, signer)

  const flipped = Buffer.from(good.body)
  flipped[good.body.length - 40] ^= 1
  await t.rejects(push(county, { ...good, body: flipped.toString() }), { code: 'SYNC_HASH_MISMATCH' }, 'a flipped byte: the hash')
  // Signed, in order, but with whitespace: not the canonical text.
  const spaced = canonicalJson(body).replace('"rows":[', '"rows": [')
  const manifest = { format: 1, origin: '330106', seq: body.seq, prev: body.prev, hash: sha256Hex(spaced), rows: body.rows.length, bytes: Buffer.byteLength(spaced), createdAt: body.createdAt }
  await t.rejects(push(county, { body: spaced, jws: await signJws(manifest, CHANGESET_TYP, signer) }), { code: 'SYNC_MALFORMED', statusCode: 400 }, 'not canonical')
  t.match(city.storage.sqlite.prepare('select status, bad_rows from sync_quarantine where hash = ?').get(manifest.hash), { status: 'held', bad_rows: /not-canonical/ }, 'signed by its origin and in order: quarantined')
  t.equal(checks.calls, 2, 'both went to the checking thread')
  t.equal(count(city, 'select count(*) from students'), 0, 'nothing applied')

  // A checking thread that is gone (closed) fails no change set: the applying thread checks it.
  await city.rules!.close!()
  await t.resolves(push(county, good), 'the intact one applies')
  t.equal(checks.calls, 3)
  t.equal(count(city, 'select count(*) from students'), 60)
})
