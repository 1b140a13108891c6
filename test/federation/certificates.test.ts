import t from 'tap'
import { compactVerify, decodeProtectedHeader, importJWK, type JWK } from 'jose'
import { schoolRow, studentRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { createCertificatesService } from '../../node/certificates/service.ts'
import { students } from '../../schema/records/index.ts'
import { startFederation, until } from './lib/federation.ts'

const b64json = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>

t.test('R-26.1 the province holds the county student\'s history; a certificate issued at a county verifies at the province\'s page and with plain jose given only the province key and the published chain; one altered byte fails', async t => {
  const [province, , county] = await startFederation(t)
  const school = schoolRow('330106', '330106', 1)
  writeRows(county.storage, 'schools', [school])
  const s = studentRow('330106', school, 3)
  writeRows(county.storage, 'students', [s])
  await until('the county key record at the province', () => province.storage.sqlite.prepare("select count(*) from sync_keys where node = '330106'").pluck().get() === 1)
  // The province checks that the certificate's school is the issuer's: it holds the school first.
  await until('the school at the province', () => province.storage.sqlite.prepare('select count(*) from schools where school_code = ?').pluck().get(school.school_code) === 1)

  // Issued by the county node's own service and key (what GET /api/v1/students/:id/certificate runs there).
  const svc = createCertificatesService({ storage: county.storage, identity: { code: '330106', name: '西湖区教育局', tier: 'county' } })
  const { token } = await svc.issue(county.storage.db.select().from(students).get()!)
  const parts = token.split('.')
  const altered = Buffer.from(parts[1], 'base64url')
  altered[altered.indexOf(Buffer.from(String(s.name)))] ^= 0x01
  const forged = `${parts[0]}.${altered.toString('base64url')}.${parts[2]}`

  // The province's public verification page.
  const page = async (tok: string) => (await fetch(`${province.url}/verify?t=${encodeURIComponent(tok)}`)).text()
  const good = await page(token)
  t.match(good, /证明有效/, 'verified at the province')
  t.match(good, /330000 → 330100 → 330106/, 'through the chain province → city → county')
  t.match(await page(forged), /证明无效（CERT_INVALID）/, 'one altered byte fails at the province')

  // Offline, with jose alone: the province key (published out of band) and the key records the province publishes.
  const rootJwk = JSON.parse(province.storage.sqlite.prepare('select public_jwk from node_keys').pluck().get() as string) as JWK
  const rootKid = province.storage.sqlite.prepare('select kid from node_keys').pluck().get() as string
  const published = (await (await fetch(`${province.url}/verify/keys`)).json()) as { root: { kid: string }; records: string[] }
  t.equal(published.root.kid, rootKid, 'the published root is the province key')
  const keys = new Map<string, JWK>([[`330000:${rootKid}`, rootJwk]])
  for (const record of published.records) {
    const claimed = b64json(record.split('.')[1])
    const signer = (claimed.parent ?? claimed.node) as string
    const key = keys.get(`${signer}:${decodeProtectedHeader(record).kid}`)
    if (!key) continue
    const r = JSON.parse(new TextDecoder().decode((await compactVerify(record, await importJWK(key, 'EdDSA'), { algorithms: ['EdDSA'] })).payload))
    keys.set(`${r.node}:${r.kid}`, r.publicJwk)
  }
  const issuerKey = keys.get(`${b64json(parts[1]).iss}:${decodeProtectedHeader(token).kid}`)
  t.ok(issuerKey, 'the county key is reached from the province key through the chain')
  const verified = await compactVerify(token, await importJWK(issuerKey!, 'EdDSA'), { algorithms: ['EdDSA'] })
  t.match(JSON.parse(new TextDecoder().decode(verified.payload)), { iss: '330106', student: { name: s.name } }, 'jose verifies the certificate')
  await t.rejects(compactVerify(forged, await importJWK(issuerKey!, 'EdDSA'), { algorithms: ['EdDSA'] }), 'jose refuses the altered one')

  // Every tier keeps the record: the province's replica answers the same history.
  await until('the student at the province', () => province.storage.sqlite.prepare('select count(*) from students').pluck().get() === 1)
  const atProvince = createCertificatesService({ storage: province.storage, identity: { code: '330000', name: '浙江省教育厅', tier: 'province' } })
  const found = atProvince.find({ idNumber: String(s.id_number) })
  t.equal(found.length, 1, 'found by ID number at the province')
  t.match(atProvince.history(found[0]), { student: { id: s.id }, school: { schoolCode: school.school_code } }, 'with its school')
})
