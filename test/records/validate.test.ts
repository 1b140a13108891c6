/**
 * The pure rules of node/records: what imports, the seed generator and the sync applier share.
 */
import t from 'tap'
import { codes, createCodeRegistry } from '../../schema/codes/index.ts'
import { FIELDS, checkDerived, namePinyin, normaliseRecord, prepareRecord, termWindow, validateRecord, temporaryStudentNo } from '../../node/records/index.ts'
import { RESOURCES } from '../../node/services/records/resources.ts'
import * as fx from './fixtures.ts'

const ctx = { codes, now: new Date('2026-06-01T00:00:00Z'), nodeCode: '330106' }
const rules = (table: string, input: Record<string, unknown>, parent?: Record<string, unknown>) =>
  validateRecord(table, normaliseRecord(table, input, codes), { ...ctx, parent }).map(i => `${i.code}:${i.field}:${i.rule}`)

t.test('every column a registrar fills is a validated field (R-7.1 … R-12.5)', async t => {
  const system = new Set(['id', 'homeNode', 'version', 'epoch', 'createdAt', 'updatedAt', 'verifyState', 'enteredBy', 'enteredAt', 'verifiedBy', 'verifiedAt', 'returnReason', 'state', 'pinyinInitials',
    // written by the verification and status-change workflows
    'firstVerifiedAt', 'appliedOn', 'late', 'reviewedBy', 'reviewedAt', 'carriedOutBy', 'carriedOutAt', 'escalatedAt', 'unitCode'])
  for (const spec of RESOURCES) {
    const fields = new Set(FIELDS[spec.table].map(f => f.key))
    const copied = new Set(spec.owner ? [spec.owner.key, ...(spec.table === 'school_classes' || spec.table === 'students' ? ['schoolCode'] : []), ...(spec.table === 'kindergarten_classes' || spec.table === 'children' ? ['kindergartenCode'] : [])] : [])
    const missing = spec.columns.map(c => c.key).filter(k => !fields.has(k) && !system.has(k) && !copied.has(k))
    t.strictSame(missing, [], `${spec.table}: no column without a field`)
    const unknown = [...fields].filter(k => !spec.columns.some(c => c.key === k))
    t.strictSame(unknown, [], `${spec.table}: no field without a column`)
  }
})

t.test('R-10.1 ID number checksum and its agreement with birth date and gender', async t => {
  const student = { ...fx.student(), schoolId: 'x', studentNo: null }
  t.strictSame(rules('students', student).filter(r => !r.includes('studentNo')), [])
  const id = fx.student().idNumber
  t.strictSame(rules('students', { ...student, idNumber: id.slice(0, 17) + (id[17] === '0' ? '1' : '0') }), ['RECORD_FIELD_REQUIRED:studentNo:required', 'RECORD_ID_CHECKSUM:idNumber:id_checksum'])
  t.ok(rules('students', { ...student, birthDate: '2016-03-16' }).includes('RECORD_ID_BIRTHDATE_MISMATCH:birthDate:id_birthdate_mismatch'))
  t.ok(rules('students', { ...student, gender: '2' }).includes('RECORD_ID_GENDER_MISMATCH:gender:id_gender_mismatch'))
  t.ok(rules('students', { ...student, idNumber: '12345' }).includes('RECORD_ID_FORMAT:idNumber:id_format'))
  t.notOk(rules('students', { ...student, idDocType: 'A', idNumber: 'E12345678' }).some(r => r.includes('idNumber')), 'a passport number is not checked as a citizen ID')
  t.equal(normaliseRecord('students', { ...student, idNumber: id.toLowerCase() }, codes).idNumber, id.toUpperCase(), 'x is stored as X')
})

t.test('R-8.1 a length limit counts characters, not UTF-16 units; a date must be a day of the calendar', async t => {
  const base = { ...fx.student(), schoolId: 'x' }
  // 𠀀 (U+20000, CJK Extension B) is one character in two UTF-16 units: 50 of them fill the 50 of 姓名.
  t.strictSame(rules('students', { ...base, name: '𠀀'.repeat(50) }), [], '50 characters of a supplementary plane (100 units)')
  t.strictSame(rules('students', { ...base, name: '𠀀'.repeat(51) }), ['RECORD_FIELD_FORMAT:name:max_length'], '51 are refused')
  t.strictSame(rules('students', { ...base, name: '张'.repeat(51) }), ['RECORD_FIELD_FORMAT:name:max_length'])
  const refusal = (date: string) => rules('student_registrations', { actualDate: date }).filter(r => r.includes(':actualDate:'))
  for (const date of ['2024-02-29', '2000-02-29', '2023-12-31', '2023-04-30']) t.strictSame(refusal(date), [], `${date} is a day`)
  for (const date of ['2023-02-29', '1900-02-29', '2023-04-31', '2023-13-01', '2023-00-10', '2023-01-00', '2023-1-10']) t.strictSame(refusal(date), ['RECORD_FIELD_FORMAT:actualDate:date'], `${date} is not`)
})

t.test('R-10.1 the three 学籍号 forms', async t => {
  const base = { ...fx.student(), schoolId: 'x' }
  t.strictSame(rules('students', base), [], 'G + the ID number')
  t.ok(rules('students', { ...base, studentNo: `G${fx.idNumber('2016-03-15', '1', 9)}` }).includes('RECORD_STUDENT_NO_INVALID:studentNo:g_equals_id_number'))
  const j = `J${fx.idNumber('2016-03-15', '1', 9, '330106')}`
  t.strictSame(rules('students', { ...base, idNumber: null, studentNo: j }), [], 'J: ID layout from the school region')
  t.strictSame(rules('students', { ...base, idNumber: null, studentNo: temporaryStudentNo('330106', '2016-03-15', '0042') }), [], 'L: region + birth date + 4 digits')
  t.ok(rules('students', { ...base, idNumber: null, studentNo: temporaryStudentNo('330106', '2016-03-14', '0042') }).includes('RECORD_STUDENT_NO_INVALID:studentNo:birth_date_agrees'))
  t.ok(rules('students', { ...base, studentNo: 'Q330106201603150042' }).includes('RECORD_STUDENT_NO_INVALID:studentNo:XJH_FORM'))
})

t.test('R-10.10 R-12.5 death details only for change type 51, and required then', async t => {
  const parent = { birthDate: '2016-03-15' }
  t.strictSame(rules('student_status_changes', fx.statusChange(), parent), [])
  t.strictSame(rules('student_status_changes', fx.statusChange({ deathCause: '疾病' }), parent), ['RECORD_FIELD_NOT_ALLOWED:deathCause:death_details_only_for_death'])
  t.strictSame(rules('child_status_changes', { changeType: '51', changeDate: '2026-04-01', processingStatus: '1' }, parent), ['RECORD_FIELD_REQUIRED:deathDate:death_date_for_death'])
  t.strictSame(rules('child_status_changes', { changeType: '51', changeDate: '2026-04-01', processingStatus: '1', deathDate: '2026-04-02' }, parent), ['RECORD_DATE_ORDER:changeDate:death_before_change'])
  t.strictSame(rules('child_status_changes', { changeType: '51', changeDate: '2026-04-01', processingStatus: '1', deathDate: '2015-04-02' }, parent), ['RECORD_DATE_ORDER:deathDate:after_birth'])
})

t.test('R-10.6 an exam falls in its term; R-12.4 leaving follows entry; R-8.4 work starts after birth', async t => {
  t.strictSame(termWindow('2025-1'), ['2025-08-01', '2026-02-01'])
  t.strictSame(termWindow('2025-2'), ['2026-02-01', '2026-08-01'])
  t.strictSame(rules('student_exams', { ...fx.subRecords.exams[0], term: '2025-2' }), ['RECORD_DATE_ORDER:examDate:exam_date_in_term'])
  t.strictSame(rules('child_attendances', { kindergartenCode: 'k', entryYm: '2025-09', attendanceWay: '1', leaveYm: '2025-08' }), ['RECORD_DATE_ORDER:leaveYm:leave_after_entry'])
  t.strictSame(rules('kindergarten_teachers', { ...fx.teacher(), kindergartenId: 'k', workStartYm: '1980-05' }), ['RECORD_DATE_ORDER:workStartYm:work_after_birth'])
})

t.test('R-8.1 codes in their edition: the 2007 and JY/T editions side by side, the edition recorded', async t => {
  const school = { ...fx.school(), runType: '1', runTypeEdition: 'moe2007' }
  t.strictSame(rules('schools', school), [], '2007 code with its edition')
  t.strictSame(rules('schools', { ...school, runTypeEdition: 'jyt1001-2012' }), ['RECORD_CODE_UNKNOWN:runType:code_table'], '2007 code is not a JY/T code')
  const normalised = normaliseRecord('schools', { ...fx.school(), runTypeEdition: undefined, areaCategory: '3', areaCategoryEdition: undefined }, codes)
  t.equal(normalised.runTypeEdition, 'jyt1001-2012', 'the default edition is recorded')
  t.equal(normalised.areaCategoryEdition, 'area_category/moe2007')
  t.strictSame(rules('schools', { ...fx.school(), areaCategory: '3', areaCategoryEdition: 'urban_rural_type/jyt1001-2012' }), ['RECORD_CODE_UNKNOWN:areaCategory:code_table'])
  t.strictSame(rules('schools', { ...fx.school(), areaCategoryEdition: 'gender/gb2261.1-2003', areaCategory: '1' }), ['RECORD_CODE_UNKNOWN:areaCategoryEdition:edition'])
  t.strictSame(checkDerived('schools', { studentsByGrade: [] }).map(i => i.code), ['RECORD_FIELD_DERIVED'])
})

t.test('R-30.1 a local code joins the table only where configured', async t => {
  const local = createCodeRegistry([{ table: 'student_category', title: '学生类别（浙江扩充）', standard: 'local (Zhejiang)', edition: 'zj-local', extends: 'student_category', codes: [{ code: '31', name: '进城务工人员随迁子女' }] }])
  const input = { ...fx.student(), schoolId: 'x', studentCategory: '31' }
  t.throws(() => prepareRecord('students', input, ctx), { code: 'RECORD_CODE_UNKNOWN' })
  t.equal(prepareRecord('students', input, { ...ctx, codes: local }).studentCategory, '31')
})

t.test('R-10.1 pinyin of names in surname mode, with initials', async t => {
  t.equal(namePinyin('曾小明'), 'zeng xiao ming')
  t.equal(namePinyin('单田芳'), 'shan tian fang')
  t.equal(namePinyin('解晓东'), 'xie xiao dong')
  t.equal(namePinyin('尉迟恭'), 'yu chi gong')
  t.equal(namePinyin('吕布'), 'lv bu')
  const r = prepareRecord('students', { ...fx.student({ name: '区志强', namePinyin: null }), schoolId: 'x', idNumber: null, studentNo: temporaryStudentNo('330106', '2016-03-15', '1') }, ctx)
  t.equal(r.namePinyin, 'ou zhi qiang')
  t.equal(r.pinyinInitials, 'ozq')
})
