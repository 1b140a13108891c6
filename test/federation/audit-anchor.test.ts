/**
 * The parent holds anchors of a child's audit chain that the child cannot rewrite (issue 8,
 * finding 8): real county, city and province processes.
 */
import t from 'tap'
import { main } from '../../scripts/cli.ts'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { auditKeyOf, entryHash, readAudit, verifyAuditLog, type AuditRow } from '../../node/auth/audit.ts'
import type { Storage } from '../../schema/db.ts'
import { cli, startFederation, until } from './lib/federation.ts'

const anchorsAt = (s: Storage, origin: string) =>
  (s.sqlite.prepare('select jws from sync_change_sets where origin = ? order by seq').pluck().all(origin) as string[])
    .map(jws => JSON.parse(Buffer.from(jws.split('.')[1], 'base64url').toString()).audit as { seq: number; hash: string } | undefined)

async function verify(dir: string) {
  let out = ''
  let err = ''
  const code = await main(['audit', 'verify', '--data', dir], process.env, { out: s => (out += s), err: s => (err += s) })
  return { code, text: out + err }
}

/** Writes `rows` as the whole log, chained under `key`: what an attacker holding keys/audit.key can do. */
function rewriteWithKey(s: Storage, rows: AuditRow[], key: Buffer) {
  const sql = s.sqlite
  sql.transaction(() => {
    sql.prepare('delete from audit_log').run()
    const ins = sql.prepare('insert into audit_log (seq, at, actor_id, actor_role, ip, action, target_table, target_id, fields_json, outcome, status, code, prev_hash, hash) values (?,?,?,?,?,?,?,?,?,?,?,?,?,?)')
    let prev = '0'.repeat(64)
    rows.forEach((r, i) => {
      const { seq: _s, prevHash: _p, hash: _h, ...e } = r
      const h = entryHash(key, prev, i + 1, e)
      ins.run(i + 1, e.at, e.actorId, e.actorRole, e.ip, e.action, e.targetTable, e.targetId, e.fields === null ? null : JSON.stringify(e.fields), e.outcome, e.status, e.code, prev, h)
      prev = h
    })
  })()
}

t.test('R-25.2 R-D.2 a county that holds its audit key and rewrites its chain is caught by the anchors its parent holds', async t => {
  const [province, city, county] = await startFederation(t)
  // Audited events at the running county: failed logins.
  for (let i = 0; i < 4; i++) {
    const r = await fetch(`${county.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `nobody${i}`, password: 'wrong password' }) })
    t.equal(r.status, 401)
  }
  const head = readAudit(county.storage).at(-1)!
  t.equal(head.seq, 4)
  // A write, so the county packs and sends a change set, which carries the audit head.
  writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
  const schoolAt = (st: Storage) => st.sqlite.prepare("select count(*) from schools where home_node = '330106'").pluck().get() === 1
  await until('the school at the province', () => schoolAt(province.storage))
  t.same(anchorsAt(city.storage, '330106').at(-1), { seq: 4, hash: head.hash }, 'the city holds the anchor in the signed manifest')
  t.same(anchorsAt(province.storage, '330106'), anchorsAt(city.storage, '330106'), 'relayed to the province unaltered')

  const good = await verify(county.dir)
  t.equal(good.code, 0, good.text)
  t.match(good.text, /audit log OK: 4 entries.*\d+ anchors of the parent/)
  t.comment(good.text.trim())

  // Life goes on (entries 5 and 6); then the attacker, who has the key, drops entry 2 and
  // rebuilds a chain that is valid under it.
  const fail = `${county.url}/api/v1/auth/login`
  for (let i = 0; i < 2; i++) await fetch(fail, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: `later${i}`, password: 'wrong password' }) })
  const original = readAudit(county.storage)
  t.equal(original.length, 6)
  rewriteWithKey(county.storage, original.filter(r => r.seq !== 2), auditKeyOf(county.storage))
  t.ok(verifyAuditLog(county.storage).ok, 'locally, with the key, the rewritten chain verifies')
  const caught = await verify(county.dir)
  t.equal(caught.code, 1)
  t.match(caught.text, /AUDIT_CHAIN_BROKEN.*differs from the anchor the parent holds/, 'the parent anchor catches it')
  t.comment(caught.text.trim())

  // Or cuts the newest entries off: a shorter chain, still valid under the key.
  rewriteWithKey(county.storage, original.slice(0, 2), auditKeyOf(county.storage))
  t.ok(verifyAuditLog(county.storage).ok)
  const cut = await verify(county.dir)
  t.equal(cut.code, 1)
  t.match(cut.text, /entry [34] was anchored at the parent but is gone here/)

  // The anchors are the child's own: the city answers them to that child only (node token).
  const anon = await fetch(`${city.url}/federation/v1/audit-anchors?after=0&limit=10`)
  t.equal(anon.status, 401)
  rewriteWithKey(county.storage, original, auditKeyOf(county.storage))
  t.match(await cli(['audit', 'verify', '--data', county.dir]), /audit log OK/, 'the original chain verifies again')
})
