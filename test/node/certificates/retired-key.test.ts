/**
 * A 学籍证明 signed with a key its node has retired: the certificates issued before the
 * key was closed still verify at every tier, one signed with it after its closing does not.
 */
import t from 'tap'
import { eq } from 'drizzle-orm'
import { students } from '../../../schema/records/index.ts'
import { createCertificatesService } from '../../../node/certificates/service.ts'
import { CERTIFICATE_TYP, certificateClaims } from '../../../node/certificates/rules.ts'
import { signJws } from '../../../sync/keys.ts'
import { loadSigner, loadSignerByKid } from '../../../sync/signers.ts'
import { makeFederation, settle, type TestSyncNode } from '../../sync/lib/nodes.ts'
import { schoolRow, studentRow, writeRows } from '../../../scripts/lib/sync-fixtures.ts'

const service = (n: TestSyncNode) => createCertificatesService({ storage: n.storage, identity: { code: n.code, name: n.code, tier: n.tier } })

t.test('R-26.1 a certificate signed with a retired key verifies only when it was issued before the key was closed', async t => {
  const { province, city, county } = await makeFederation(t)
  const school = schoolRow('330106', '330106', 1)
  const student: Record<string, string | number | null> = { ...studentRow('330106', school, 1), verify_state: 'verified' }
  writeRows(county.storage, 'schools', [school])
  writeRows(county.storage, 'students', [student])
  await settle(county, city, province)
  const row = county.storage.db.select().from(students).where(eq(students.id, String(student.id))).get()!
  const before = await service(county).issue(row)
  const old = await loadSigner(county.storage)

  await county.sync.rotateKey()
  await county.sync.pushOrigin('330106')
  await settle(county, city, province)
  const after = await service(county).issue(row)
  t.not((await loadSigner(county.storage)).kid, old.kid, 'the county signs with its new key')
  // Whoever still holds the retired key signs a certificate now.
  const late = certificateClaims({ student: { ...row, state: row.state }, school: { schoolCode: row.schoolCode, name: 'x' }, statusChanges: [], completion: null }, { code: '330106', name: 'x' }, new Date(Date.now() + 1000), 'late')
  const forged = await signJws(late, CERTIFICATE_TYP, await loadSignerByKid(county.storage, old.kid))

  for (const n of [county, city, province]) {
    t.match(await service(n).verify(before.token), { ok: true }, `${n.code}: issued before the rotation, it verifies`)
    t.match(await service(n).verify(after.token), { ok: true }, `${n.code}: issued with the new key`)
    t.match(await service(n).verify(forged), { ok: false, code: 'CERT_INVALID', reason: /停用/ }, `${n.code}: signed with the retired key after its closing, refused`)
  }
})
