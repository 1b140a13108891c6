import t from 'tap'
import {
  chinaToday,
  checkIdNumber,
  checkStudentNumber,
  crossCheckIdNumber,
  idCheckChar,
  maskIdNumber,
  maskText,
  STUDENT_NUMBER_FORMS,
  STUDENT_NUMBER_LENGTH,
} from '../../schema/ids.ts'

// A fixed "now" keeps the not-in-the-future rule reproducible.
const now = new Date('2025-06-15T12:00:00+08:00')

/** Builds a valid ID number from region, birth date (YYYYMMDD) and 3-digit sequence. */
const makeId = (region: string, birth: string, seq: string) => {
  const first17 = region + birth + seq
  return first17 + idCheckChar(first17)
}

t.test('R-10.1 ID number checksum: the GB 11643 test value is valid', async t => {
  const r = checkIdNumber('11010519491231002X', { now })
  t.same(r, { ok: true, idNumber: '11010519491231002X', birthDate: '1949-12-31', gender: '2', division: '110105' })
})

t.test('R-10.1 ID number checksum: a wrong check character is refused', async t => {
  t.same(checkIdNumber('110105194912310021', { now }), { ok: false, rule: 'ID_CHECKSUM' })
  // One digit changed in the body: the check character no longer fits.
  t.same(checkIdNumber('11010519491231003X', { now }), { ok: false, rule: 'ID_CHECKSUM' })
  const valid = makeId('330106', '20150901', '123')
  const wrong = valid.slice(0, 17) + (valid[17] === '0' ? '1' : '0')
  t.same(checkIdNumber(wrong, { now }), { ok: false, rule: 'ID_CHECKSUM' })
})

t.test('R-10.1 ID number: lower-case x is accepted and normalised to X', async t => {
  const r = checkIdNumber('11010519491231002x', { now })
  t.equal(r.ok, true)
  if (r.ok) t.equal(r.idNumber, '11010519491231002X')
})

t.test('R-10.1 ID number: format errors', async t => {
  for (const bad of ['', '11010519491231002', '11010519491231002XX', '1101051949123100X2', '01010519491231002X', '11010519491231002Y', ' 11010519491231002X']) {
    t.same(checkIdNumber(bad, { now }), { ok: false, rule: 'ID_FORMAT' }, JSON.stringify(bad))
  }
})

t.test('R-10.1 ID number: birth date must be real, from 1900, not in the future', async t => {
  t.same(checkIdNumber(makeId('330106', '20230229', '123'), { now }), { ok: false, rule: 'ID_BIRTHDATE' }, 'no 29 Feb in 2023')
  t.same(checkIdNumber(makeId('330106', '20150431', '123'), { now }), { ok: false, rule: 'ID_BIRTHDATE' }, 'no 31 April')
  t.same(checkIdNumber(makeId('330106', '20151301', '123'), { now }), { ok: false, rule: 'ID_BIRTHDATE' }, 'no month 13')
  t.same(checkIdNumber(makeId('330106', '18991231', '123'), { now }), { ok: false, rule: 'ID_BIRTHDATE' }, 'before 1900')
  t.same(checkIdNumber(makeId('330106', '20250616', '123'), { now }), { ok: false, rule: 'ID_BIRTHDATE' }, 'tomorrow')
  t.equal(checkIdNumber(makeId('330106', '20250615', '123'), { now }).ok, true, 'today is allowed')
  t.equal(checkIdNumber(makeId('330106', '20240229', '123'), { now }).ok, true, 'leap day 2024')
  t.equal(checkIdNumber(makeId('330106', '19000101', '123'), { now }).ok, true, '1900-01-01')
})

t.test('R-10.1 ID number: "today" is China time, not UTC', async t => {
  // 2025-06-15 20:00 UTC is already 16 June in Hangzhou.
  const lateUtc = new Date('2025-06-15T20:00:00Z')
  t.equal(checkIdNumber(makeId('330106', '20250616', '123'), { now: lateUtc }).ok, true)
})

t.test('R-10.1 ID number: gender from the sequence digit', async t => {
  const male = checkIdNumber(makeId('330106', '20150901', '123'), { now })
  const female = checkIdNumber(makeId('330106', '20150901', '124'), { now })
  t.equal(male.ok && male.gender, '1')
  t.equal(female.ok && female.gender, '2')
})

t.test('R-10.1 idCheckChar builds numbers the validator accepts', async t => {
  t.equal(idCheckChar('11010519491231002'), 'X')
  let seed = 12345
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
  for (let i = 0; i < 300; i++) {
    const region = String(110000 + rnd(800000))
    const birth = `${1950 + rnd(70)}${String(1 + rnd(12)).padStart(2, '0')}${String(1 + rnd(28)).padStart(2, '0')}`
    const id = makeId(region, birth, String(rnd(1000)).padStart(3, '0'))
    t.equal(checkIdNumber(id, { now }).ok, true, id)
  }
  t.throws(() => idCheckChar('1234'), { code: 'ID_INPUT_INVALID' })
  t.throws(() => idCheckChar('1101051949123100X'), { code: 'ID_INPUT_INVALID' })
})

t.test('R-10.1 ID number cross-check: birth date and gender must agree with the record', async t => {
  const id = '11010519491231002X'
  t.same(crossCheckIdNumber(id, { birthDate: '1949-12-31', gender: '2' }, { now }), [])
  t.same(crossCheckIdNumber(id, { birthDate: '1949-12' }, { now }), [], 'birth year-month is enough')
  t.same(crossCheckIdNumber(id, { birthDate: '1949-12-30' }, { now }), ['ID_BIRTHDATE_MISMATCH'])
  t.same(crossCheckIdNumber(id, { birthDate: '1949-11' }, { now }), ['ID_BIRTHDATE_MISMATCH'])
  t.same(crossCheckIdNumber(id, { gender: '1' }, { now }), ['ID_GENDER_MISMATCH'])
  t.same(crossCheckIdNumber(id, { birthDate: '1950-01-01', gender: '1' }, { now }), ['ID_BIRTHDATE_MISMATCH', 'ID_GENDER_MISMATCH'])
  t.same(crossCheckIdNumber(id, { gender: '9' }, { now }), [], '9 未说明 is not compared')
  t.same(crossCheckIdNumber('110105194912310021', { gender: '2' }, { now }), ['ID_CHECKSUM'])
})

t.test('R-10.1 student number (学籍号): form constants', async t => {
  t.same([...STUDENT_NUMBER_FORMS], ['G', 'J', 'L'])
  t.equal(STUDENT_NUMBER_LENGTH, 19)
})

t.test('R-10.1 student number (学籍号) form G: G + a valid ID number', async t => {
  const r = checkStudentNumber('G11010519491231002X', { now })
  t.same(r, {
    ok: true, form: 'G', studentNumber: 'G11010519491231002X', division: '110105',
    birthDate: '1949-12-31', idNumber: '11010519491231002X', gender: '2',
  })
  const lower = checkStudentNumber('g11010519491231002x', { now })
  t.equal(lower.ok && lower.studentNumber, 'G11010519491231002X', 'lower case normalised')
  t.same(checkStudentNumber('G110105194912310021', { now }), { ok: false, rule: 'XJH_CHECKSUM' })
  t.same(checkStudentNumber('G' + makeId('330106', '20230229', '001'), { now }), { ok: false, rule: 'XJH_BIRTHDATE' })
  t.same(checkStudentNumber('G1101051949123100A2', { now }), { ok: false, rule: 'XJH_FORMAT' })
})

t.test('R-10.1 student number (学籍号) form J: 18 characters built by the ID rules', async t => {
  const j = 'J' + makeId('330106', '20180305', '001')
  const r = checkStudentNumber(j, { now })
  t.same(r, { ok: true, form: 'J', studentNumber: j, division: '330106', birthDate: '2018-03-05' })
  const bad = j.slice(0, 18) + (j[18] === '0' ? '1' : '0')
  t.same(checkStudentNumber(bad, { now }), { ok: false, rule: 'XJH_CHECKSUM' })
  t.same(checkStudentNumber('J' + makeId('330106', '20300101', '001'), { now }), { ok: false, rule: 'XJH_BIRTHDATE' })
})

t.test('R-10.1 student number (学籍号) form L: region + birth date + 4 digits', async t => {
  t.same(checkStudentNumber('L330106201509011234', { now }), {
    ok: true, form: 'L', studentNumber: 'L330106201509011234', division: '330106', birthDate: '2015-09-01',
  })
  t.same(checkStudentNumber('L330106201502301234', { now }), { ok: false, rule: 'XJH_BIRTHDATE' }, '30 Feb')
  t.same(checkStudentNumber('L33010620150901123X', { now }), { ok: false, rule: 'XJH_FORMAT' }, 'no check character in L')
  t.same(checkStudentNumber('L030106201509011234', { now }), { ok: false, rule: 'XJH_FORMAT' }, 'region cannot start with 0')
})

t.test('R-10.1 student number (学籍号): wrong length or prefix', async t => {
  t.same(checkStudentNumber('', { now }), { ok: false, rule: 'XJH_FORMAT' })
  t.same(checkStudentNumber('11010519491231002X', { now }), { ok: false, rule: 'XJH_FORMAT' }, 'bare ID number')
  t.same(checkStudentNumber('L33010620150901123', { now }), { ok: false, rule: 'XJH_FORMAT' }, '18 characters')
  t.same(checkStudentNumber('X11010519491231002X', { now }), { ok: false, rule: 'XJH_FORM' })
  t.same(checkStudentNumber('111010519491231002X', { now }), { ok: false, rule: 'XJH_FORM' })
})

t.test('R-27.1 masking of sensitive fields', async t => {
  t.equal(maskIdNumber('33010620150901123X'), '330106********123X')
  t.equal(maskIdNumber('11010519491231002X'), '110105********002X')
  t.equal(maskText('13812345678', 3, 4), '138****5678')
  t.equal(maskText('张三', 1), '张*')
  t.equal(maskText('欧阳娜娜', 1, 1), '欧**娜')
  t.equal(maskText('张三', 1, 1), '张*', 'too short for both ends: the start only')
  t.equal(maskText('张', 1, 1), '*', 'never shown in clear')
  t.equal(maskText('', 1, 1), '')
  t.equal(maskText('abc', 0, 0, '#'), '###')
  t.equal(maskText('𠮷野家', 1), '𠮷**', 'a character outside the BMP counts as one')
  t.equal(maskText('杭州市𠮷野路1号', 3, 1), '杭州市****号')
})

t.test("chinaToday: the date in China at an instant, midnight at 16:00 UTC, asked again and in turns", async t => {
  const before = new Date('2026-03-31T15:59:59.999Z')
  const after = new Date('2026-03-31T16:00:00.000Z')
  // It keeps its last answer by instant: asking about two instants in turns must not mix them up.
  for (let i = 0; i < 2; i++) {
    t.equal(chinaToday(before), '2026-03-31')
    t.equal(chinaToday(before), '2026-03-31')
    t.equal(chinaToday(after), '2026-04-01')
  }
  t.throws(() => chinaToday(new Date(Number.NaN)), RangeError, 'an invalid date is no date')
})
