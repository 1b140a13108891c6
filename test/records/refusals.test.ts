/**
 * Invalid input is refused with the right code, the field and the rule named, and nothing
 * written: every record table and the outbox keep their row counts.
 */
import t from 'tap'
import * as fx from './fixtures.ts'
import { recordsNode, withSchool, type Json } from './setup.ts'

t.test('R-10.1 refusals write nothing', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const base = { ...fx.student(), schoolId: school.id, classId: klass.id }
  const good = fx.student().idNumber
  const wrongCheck = good.slice(0, 17) + (good[17] === '0' ? '1' : '0')
  await node.call('POST', '/api/v1/students', base) // the first student, for the duplicate case

  const cases: Array<[string, Json, string, string, number?]> = [
    ['wrong ID checksum', { ...base, idNumber: wrongCheck, studentNo: null }, 'RECORD_ID_CHECKSUM', 'idNumber'],
    ['ID whose birth date disagrees', { ...base, idNumber: fx.idNumber('2016-03-16', '1', 2), studentNo: null }, 'RECORD_ID_BIRTHDATE_MISMATCH', 'birthDate'],
    ['ID whose gender disagrees', { ...base, idNumber: fx.idNumber('2016-03-15', '2', 2), studentNo: null }, 'RECORD_ID_GENDER_MISMATCH', 'gender'],
    ['unknown code', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, ethnicity: '77' }, 'RECORD_CODE_UNKNOWN', 'ethnicity'],
    ['code of an unknown edition', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, hmtEdition: 'gb1999' }, 'RECORD_CODE_UNKNOWN', 'hmtEdition'],
    ['enrolment before birth', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, enrolmentYm: '2015-09' }, 'RECORD_DATE_ORDER', 'enrolmentYm'],
    ['duplicate ID', { ...base, studentNo: null, name: '曾晓明' }, 'RECORD_DUPLICATE_ID', 'idNumber', 409],
    ['duplicate 学籍号', { ...base, idNumber: null }, 'RECORD_DUPLICATE_STUDENT_NO', 'studentNo', 409],
    ['missing required field', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, name: '' }, 'RECORD_FIELD_REQUIRED', 'name'],
    ['bad year-month', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, enrolmentYm: '2022-13' }, 'RECORD_FIELD_FORMAT', 'enrolmentYm'],
    ['G 学籍号 that is not G + the ID number', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: `G${fx.idNumber('2016-03-15', '1', 4)}` }, 'RECORD_STUDENT_NO_INVALID', 'studentNo'],
    ['malformed 学籍号', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: 'X12345' }, 'RECORD_STUDENT_NO_INVALID', 'studentNo'],
    ['class of no school of yours', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, classId: 'no-such-class' }, 'RECORD_REFERENCE_INVALID', 'classId'],
    ['photo that is not a JPEG', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 3), studentNo: null, photo: Buffer.from('GIF89a').toString('base64') }, 'RECORD_PHOTO_INVALID', 'photo'],
  ]
  for (const [what, body, code, field, status = 400] of cases) {
    const before = node.counts()
    const r = await node.call('POST', '/api/v1/students', body)
    t.equal(r.status, status, `${what}: status`)
    t.equal(r.body.code, code, `${what}: ${code}`)
    t.equal(r.body.details?.field, field, `${what}: names the field`)
    t.type(r.body.details?.rule, 'string', `${what}: names the rule`)
    t.match(r.body.message, /[\u4e00-\u9fff]/, `${what}: Chinese message`)
    t.strictSame(node.counts(), before, `${what}: nothing written`)
  }
})

t.test('R-10.1 a student whose last sub-record fails writes nothing at all', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const before = node.counts()
  const body = { ...fx.student(), schoolId: school.id, classId: klass.id, ...fx.subRecords, enrolment: { ...fx.subRecords.enrolment, enrolmentYm: '2015-01' } }
  const r = await node.call('POST', '/api/v1/students', body)
  t.equal(r.status, 400)
  t.equal(r.body.code, 'RECORD_DATE_ORDER')
  t.equal(r.body.details.field, 'enrolment.enrolmentYm', 'the field path names the sub-record')
  t.strictSame(node.counts(), before, 'no student, no sub-record, no outbox row')

  const second = { ...body, enrolment: fx.subRecords.enrolment, guardians: [fx.subRecords.guardians[0], { ...fx.subRecords.guardians[0], relationship: '00' }] }
  const r2 = await node.call('POST', '/api/v1/students', second)
  t.equal(r2.body.code, 'RECORD_CODE_UNKNOWN')
  t.equal(r2.body.details.field, 'guardians[1].relationship')
  t.strictSame(node.counts(), before)
})

t.test('R-10.7 R-10.6 R-10.10 R-8.1 date order, term, death and derived-figure rules', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const student = (await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id, classId: klass.id })).body
  const sub = (path: string) => `/api/v1/students/${student.id}/${path}`
  const cases: Array<[string, string, Json, string, string]> = [
    ['punishment revoked before it was given', sub('punishments'), { ...fx.subRecords.punishments[0], revokedOn: '2025-10-01' }, 'RECORD_DATE_ORDER', 'revokedOn'],
    ['résumé ending before it starts', sub('resumes'), { ...fx.subRecords.resumes[0], toYm: '2019-08' }, 'RECORD_DATE_ORDER', 'toYm'],
    ['exam outside its term', sub('exams'), { ...fx.subRecords.exams[0], examDate: '2026-03-01' }, 'RECORD_DATE_ORDER', 'examDate'],
    ['exam with neither score nor grade', sub('exams'), { ...fx.subRecords.exams[0], score: null, gradeLetter: null }, 'RECORD_FIELD_REQUIRED', 'score'],
    ['late registration without a reason', sub('registrations'), { ...fx.subRecords.registrations[0], lateReason: null }, 'RECORD_FIELD_REQUIRED', 'lateReason'],
    ['registration in a class the school has not', sub('registrations'), { ...fx.subRecords.registrations[0], classCode: '9999999' }, 'RECORD_REFERENCE_INVALID', 'classCode'],
    ['death date for a transfer', sub('status-changes'), fx.application({ deathDate: '2026-03-01' }), 'RECORD_FIELD_NOT_ALLOWED', 'deathDate'],
    ['death without its date', sub('status-changes'), fx.application({ changeType: '51' }), 'RECORD_FIELD_REQUIRED', 'deathDate'],
    ['completion before enrolment', sub('completions'), fx.completion({ completionYm: '2021-06' }), 'RECORD_DATE_ORDER', 'completionYm'],
    ['derived student count typed', `/api/v1/schools`, { ...fx.school({ schoolCode: '3301060102' }), studentsTotal: 500 }, 'RECORD_FIELD_DERIVED', 'studentsTotal'],
    ['school outside the node', `/api/v1/schools`, fx.school({ schoolCode: '3301060102', divisionCode: '330108' }), 'RECORD_DIVISION_OUTSIDE_NODE', 'divisionCode'],
    ['unit code that does not exist', `/api/v1/schools`, fx.school({ schoolCode: '3301060102', unitCode: 'nope' }), 'RECORD_REFERENCE_INVALID', 'unitCode'],
  ]
  for (const [what, url, body, code, field] of cases) {
    const before = node.counts()
    const r = await node.call('POST', url, body, url === '/api/v1/schools' ? node.bureau : node.school)
    t.equal(r.body.code, code, `${what}: ${code}`)
    t.equal(r.body.details?.field, field, `${what}: ${field}`)
    t.strictSame(node.counts(), before, `${what}: nothing written`)
  }

  const before = node.counts()
  const stale = await node.call('PATCH', `/api/v1/students/${student.id}`, { version: 7, name: '曾大明' })
  t.equal(stale.status, 409)
  t.equal(stale.body.code, 'RECORD_VERSION_CONFLICT')
  t.equal(stale.body.details.currentVersion, 1)
  t.strictSame(node.counts(), before, 'a stale update writes nothing')

  const inUse = await node.call('DELETE', `/api/v1/classes/${student.classId}`)
  t.equal(inUse.status, 409)
  t.equal(inUse.body.code, 'RECORD_IN_USE')
  t.strictSame(node.counts(), before, 'a class with students is not deleted')
})

t.test('R-25.2 R-10.1 names refuse control, invisible format and lone surrogate characters; the minority middle dot passes', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const base = { ...fx.student(), schoolId: school.id, classId: klass.id, studentNo: null }
  const hostile: Array<[string, string]> = [
    ['NUL', '\u0000'],
    ['U+202E right-to-left override', '\u202e'],
    ['zero-width joiner', '\u200d'],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate', '\udc00'],
    ['newline', '\n'],
    ['tab', '\t'],
  ]
  for (const [what, ch] of hostile) {
    const before = node.counts()
    const r = await node.call('POST', '/api/v1/students', { ...base, name: `张${ch}三` })
    t.equal(r.status, 400, `${what}: 400`)
    t.equal(r.body.code, 'RECORD_NAME_CHARACTER', `${what}: stable code`)
    t.equal(r.body.details?.field, 'name', `${what}: names the field`)
    t.match(r.body.message, /^姓名的第 2 个字符/, `${what}: Chinese message naming the field and the position`)
    t.strictSame(node.counts(), before, `${what}: nothing written`)
  }
  // The same rule on a guardian's name, an address and a school (place) name.
  const guardian = await node.call('POST', '/api/v1/students', { ...base, guardians: [{ ...fx.subRecords.guardians[0], name: '李\u202e四' }] })
  t.equal(guardian.body.code, 'RECORD_NAME_CHARACTER')
  t.equal(guardian.body.details.field, 'guardians[0].name')
  t.match(guardian.body.message, /^监护人姓名/)
  const address = await node.call('POST', '/api/v1/students', { ...base, currentAddress: '杭州市\u0000西湖区' })
  t.equal(address.body.details.field, 'currentAddress')
  const place = await node.call('POST', '/api/v1/schools', fx.school({ schoolCode: '3301060102', name: '西湖\u200b小学' }), node.bureau)
  t.equal(place.body.code, 'RECORD_NAME_CHARACTER')
  t.match(place.body.message, /^学校名称/)
  const patched = await node.call('PATCH', `/api/v1/classes/${klass.id}`, { name: '一\n班', version: klass.version })
  t.equal(patched.body.code, 'RECORD_NAME_CHARACTER', 'an update is checked too')

  const minority = await node.call('POST', '/api/v1/students', { ...base, name: '阿依古丽·买买提', guardians: [{ ...fx.subRecords.guardians[0], name: '买买提·艾力' }] })
  t.equal(minority.status, 201, 'the middle dot of minority names is accepted')
  t.equal(minority.body.name, '阿依古丽·买买提')
  const rare = await node.call('POST', '/api/v1/students', { ...base, idNumber: fx.idNumber('2016-03-15', '1', 5), name: '王\u{20000}' })
  t.equal(rare.status, 201, 'a character outside the BMP (a surrogate pair) is accepted')
})
