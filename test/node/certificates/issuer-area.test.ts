/**
 * A 学籍证明 certifies a student of the issuer's own area only: the certificate carries
 * the school's code, and verification refuses one whose school is not owned by a node in the
 * issuing node's area, whatever key signed it.
 */
import t from 'tap'
import { eq } from 'drizzle-orm'
import { students } from '../../../schema/records/index.ts'
import { createCertificatesService } from '../../../node/certificates/service.ts'
import { CERTIFICATE_TYP, certificateClaims, verifyPage } from '../../../node/certificates/rules.ts'
import { signJws } from '../../../sync/keys.ts'
import { loadSigner } from '../../../sync/signers.ts'
import { makeFederation, settle, type TestSyncNode } from '../../sync/lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../../scripts/lib/sync-fixtures.ts'

const service = (n: TestSyncNode) => createCertificatesService({ storage: n.storage, identity: { code: n.code, name: n.code, tier: n.tier } })

t.test('R-26.1 a certificate naming a school outside its issuer\'s area is refused at verification, though its signature is good', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const own = schoolRow('330106', '330106', 1)
  const student: Record<string, string | number | null> = { ...studentRow('330106', own, 1), verify_state: 'verified' }
  writeRows(county.storage, 'schools', [own])
  writeRows(county.storage, 'students', [student])
  const neighbour = schoolRow('330108', '330108', 1)
  writeRows(county2!.storage, 'schools', [neighbour])
  // A city-run school in the county's district: its division is the county's, its home the city.
  const cityRun = schoolRow('330100', '330106', 5)
  writeRows(city.storage, 'schools', [cityRun])
  await settle(county, county2!, city, province)

  const row = county.storage.db.select().from(students).where(eq(students.id, String(student.id))).get()!
  const genuine = await service(county).issue(row)
  // The county's own key certifies the same student as if at another node's school.
  const signer = await loadSigner(county.storage)
  const claiming = async (school: Record<string, unknown>) =>
    signJws(
      certificateClaims({ student: row, school: { schoolCode: String(school.school_code), name: String(school.name) }, statusChanges: [], completion: null }, { code: '330106', name: '西湖区教育局' }, new Date(), crypto.randomUUID()),
      CERTIFICATE_TYP,
      signer,
    )
  const [ofNeighbour, ofCity] = [await claiming(neighbour), await claiming(cityRun)]

  for (const n of [county, city, province]) t.match(await service(n).verify(genuine.token), { ok: true }, `${n.code}: the county's certificate of its own school verifies`)
  for (const n of [city, province]) {
    t.match(await service(n).verify(ofNeighbour), { ok: false, code: 'CERT_SCHOOL_OUTSIDE_ISSUER', reason: /不在签发单位 330106 的管辖范围/ }, `${n.code}: a school of another county is refused`)
    t.match(await service(n).verify(ofCity), { ok: false, code: 'CERT_SCHOOL_OUTSIDE_ISSUER' }, `${n.code}: so is the city's school in the county's district`)
  }
  t.match(await service(county).verify(ofNeighbour), { ok: false, code: 'CERT_SCHOOL_UNKNOWN', reason: /省级节点/ }, 'the county, which holds no such school, cannot confirm it and says where to verify')
  t.match(verifyPage(await service(province).verify(ofNeighbour)), /证明无效（CERT_SCHOOL_OUTSIDE_ISSUER）/, 'the public page shows the refusal with its code')
})
