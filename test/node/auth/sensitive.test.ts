import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'
import { maskRecord, SENSITIVE_CLASSES, SENSITIVE_FIELDS, sensitiveClassOf } from '../../../node/auth/sensitive.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import { seedWorld, ID_NUMBER } from './fixtures.ts'

t.test('R-27.1 sensitive fields are classified as data and masked in every read', async t => {
  t.same(new Set(SENSITIVE_CLASSES), new Set(['id_number', 'health', 'photo', 'address', 'phone', 'family', 'punishment', 'death', 'financial_aid']))
  const used = new Set(Object.values(SENSITIVE_FIELDS).flatMap(f => Object.values(f)))
  for (const c of SENSITIVE_CLASSES) t.ok(used.has(c), `${c} classifies at least one field`)
  t.equal(sensitiveClassOf('students', 'idNumber'), 'id_number')
  t.equal(sensitiveClassOf('student_status_changes', 'deathCause'), 'death')
  t.equal(sensitiveClassOf('students', 'name'), undefined)
  const masked = maskRecord('students', { id: 'x', name: '王小明', idNumber: ID_NUMBER, phone: '13812345678', currentAddress: '杭州市西湖区文三路478号', health: '1', photo: 'base64…', email: 'wxm@example.cn' })
  t.equal(masked.idNumber, ID_NUMBER.slice(0, 6) + '********' + ID_NUMBER.slice(14))
  t.equal(masked.phone, '138****5678')
  t.equal(masked.currentAddress, '杭州市西湖区*******')
  t.equal(masked.health, '***')
  t.equal(masked.photo, null)
  t.not(masked.email, 'wxm@example.cn')
  t.equal(masked.name, '王小明', 'names are not a sensitive class (everyone in scope sees them)')
  t.same(maskRecord('student_guardians', { name: '王大海', relationship: '11' }), { name: '***', relationship: '11' })
})

t.test('R-27.1 revealing a field is an explicit action, allowed only with a grant, and audited by field name', async t => {
  const app = await buildTestApp(t)
  const w = seedWorld(app)
  const granted = await loginAs(app, 'class_admin', { kind: 'classes', school: w.A.code, classes: [w.A.classes.A1] }, { grants: ['phone', 'family'] })
  const reveal = (h: Record<string, string>, table: string, id: string, fields: string[]) => app.inject({ method: 'POST', url: `/api/v1/reveal/${table}/${id}`, headers: h, payload: { fields } })

  const ok = await reveal(granted.headers, 'students', w.students.A1, ['phone'])
  t.equal(ok.statusCode, 200)
  t.same(ok.json().values, { phone: '13812345678' })
  t.equal((await reveal(granted.headers, 'student_guardians', w.guardianA1, ['name'])).json().values.name, w.secrets.guardianName)

  const refused = await reveal(granted.headers, 'students', w.students.A1, ['idNumber'])
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'REVEAL_NOT_GRANTED')
  t.equal((await reveal(granted.headers, 'students', w.students.A2, ['phone'])).statusCode, 404, 'a sibling class: not found')
  t.equal((await reveal(granted.headers, 'students', w.students.A1, ['name'])).json().code, 'REVEAL_FIELD_UNKNOWN')

  const bureauUser = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' }, { grants: ['id_number'] })
  t.equal((await reveal(bureauUser.headers, 'students', w.students.A1, ['idNumber'])).json().code, 'FORBIDDEN', 'R-17.3: query only, no reveal function')

  const entries = readAudit(app.storage).filter(e => e.action === 'reveal')
  t.same(
    entries.map(e => [e.actorId, e.targetTable, e.targetId, e.fields, e.outcome]),
    [
      [granted.account.id, 'students', w.students.A1, ['phone'], 'ok'],
      [granted.account.id, 'student_guardians', w.guardianA1, ['name'], 'ok'],
      [granted.account.id, 'students', w.students.A1, ['idNumber'], 'denied'],
      [granted.account.id, 'students', w.students.A2, ['phone'], 'denied'],
      [granted.account.id, 'students', w.students.A1, ['name'], 'failed'],
    ],
    'every reveal and refusal is recorded with the field names',
  )
  t.ok(readAudit(app.storage).some(e => e.actorId === bureauUser.account.id && e.outcome === 'denied' && e.status === 403))
})
