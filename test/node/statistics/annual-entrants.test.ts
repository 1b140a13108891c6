/**
 * The annual table's 招生数 (entrants) by grade: an entrant counts at the grade
 * it entered, for the school year asked, however often its school has rolled over since. A school
 * entered in September 2026 rolls on 1 August of 2027, 2028 and 2029 (the rollover service with a
 * clock the test sets), a second school's rollover is blocked each year; the table of each entry
 * year is asked after every run and stays the same.
 */
import t from 'tap'
import { PROVINCE_DATES } from '../../../config/calendar.ts'
import { createRolloverService } from '../../../node/calendar/rollover-service.ts'
import { createRecordsService, systemActor } from '../../../node/services/records/service.ts'
import { createStatisticsService } from '../../../node/statistics/service.ts'
import { codes as codeRegistry } from '../../../schema/codes/index.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, type Json } from '../../records/setup.ts'
import { makeFederation, settle, type TestSyncNode } from '../../sync/lib/nodes.ts'
import { serviceActor } from '../status-changes/lib.ts'

const noon = (day: string) => new Date(Date.parse(`${day}T12:00:00+08:00`))
const asCounts = (table: { rows: Array<{ key: string; count: number }> }) => Object.fromEntries(table.rows.map(r => [r.key, r.count]))

t.test('R-17.3 R-21.1 entrants are counted by the grade they entered, however often the school has rolled over since', async t => {
  const node = await recordsNode(t)
  const { storage, identity } = node.app
  const codes = node.app.records.codes
  const clock = { now: noon('2026-09-05') }
  const records = createRecordsService({ storage, identity, codes, now: () => clock.now, dates: PROVINCE_DATES })
  const rollover = createRolloverService({ storage, identity, codes, dates: PROVINCE_DATES, now: () => clock.now })
  const stats = createStatisticsService({ storage, identity, codes, dates: PROVINCE_DATES, now: () => clock.now })
  const [bureau, registrar] = [serviceActor(node.bureau), serviceActor(node.school)]

  // September 2026: the school, three classes of 六年制, their pupils.
  records.create(bureau, 'supervising_units', fx.unit())
  const school = records.create(bureau, 'schools', fx.school())
  const klass = (classCode: string, name: string, grade: number) => records.create(registrar, 'school_classes', { ...fx.klass({ classCode, name, grade }), schoolId: school.id })
  const g1 = klass('2026001', '一年级（1）班', 1)
  const g4 = klass('2023001', '四年级（1）班', 4)
  const g6 = klass('2021001', '六年级（1）班', 6)
  let seq = 0
  const pupil = (classId: unknown, enrolmentYm: string) =>
    records.create(registrar, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm }), schoolId: school.id, classId })
  // Entrants of 2026–27: three into grade 1, one transferred into grade 4, one into grade 6.
  for (const ym of ['2026-09', '2026-09', '2026-09']) pupil(g1.id, ym)
  pupil(g4.id, '2026-09')
  pupil(g6.id, '2026-09')
  // Entrants of earlier years, into grade 1: two in 2023 (now in grade 4), one in 2021 (now in grade 6).
  pupil(g4.id, '2023-09')
  pupil(g4.id, '2023-09')
  pupil(g6.id, '2021-09')
  // School B: one entrant of 2026 into grade 1, and a class whose grade does not fit its 学制 (六年制,
  // grade 8), which blocks B's rollover every year: its classes keep their grades.
  const schoolB = records.create(bureau, 'schools', fx.school({ schoolCode: '3301060102', name: '西湖区第二小学' }))
  const b1 = records.create(bureau, 'school_classes', { ...fx.klass({ classCode: '2026101', name: '一年级（1）班', grade: 1 }), schoolId: schoolB.id })
  records.create(bureau, 'school_classes', { ...fx.klass({ classCode: '2025102', name: '初二（1）班', grade: 8 }), schoolId: schoolB.id })
  records.create(bureau, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm: '2026-09' }), schoolId: schoolB.id, classId: b1.id })

  const entrants = (from: string, to: string, unit = fx.school().schoolCode) => asCounts(stats.annual(node.bureau.actor, { from, to, unit }).entrantsByGrade)
  const check = (when: string) => {
    t.strictSame(entrants('2026-08-01', '2027-07-31', '3301060102'), { 1: 1 }, `${when}: school B's 2026–27 entrant, into grade 1`)
    t.strictSame(entrants('2026-08-01', '2027-07-31', '330106'), { 1: 4, 4: 1, 6: 1 }, `${when}: the county's 2026–27 entrants, both schools`)
    t.strictSame(entrants('2026-08-01', '2027-07-31'), { 1: 3, 4: 1, 6: 1 }, `${when}: 2026–27 entrants, into grades 1 (3), 4 (1) and 6 (1)`)
    t.strictSame(entrants('2023-08-01', '2024-07-31'), { 1: 2 }, `${when}: 2023–24 entrants, into grade 1`)
    t.strictSame(entrants('2021-08-01', '2022-07-31'), { 1: 1 }, `${when}: 2021–22 entrants, into grade 1`)
  }
  clock.now = noon('2027-07-01')
  check('before any rollover')

  // 1 August 2027: grade 1 → 2 (3 pupils), grade 4 → 5 (3), the grade 6 class completes (its 2 pupils graduate; the class stays at 6).
  clock.now = noon('2027-08-01')
  t.match(rollover.run().items, [{ unitId: school.id, state: 'done', promoted: 6, completing: 2 }, { unitId: schoolB.id, state: 'blocked', blockers: [{ code: 'schooling_mismatch' }] }])
  t.strictSame([g1, g4, g6].map(c => (storage.sqlite.prepare('select grade from school_classes where id = ?').get(c.id) as Json).grade), [2, 5, 6])
  clock.now = noon('2027-08-10')
  check('after the 2027 rollover')

  // September 2027: a new class of grade 1 and its entrant.
  clock.now = noon('2027-09-05')
  const n1 = klass('2027001', '一年级（2）班', 1)
  pupil(n1.id, '2027-09')
  t.strictSame(entrants('2027-08-01', '2028-07-31'), { 1: 1 }, '2027–28: one entrant into grade 1')

  // 2028: grades 2 → 3, 5 → 6, 1 → 2; 2029: 3 → 4, the grade 6 class completes, 2 → 3.
  for (const year of [2028, 2029]) {
    clock.now = noon(`${year}-08-01`)
    t.match(rollover.run().items, [{ unitId: school.id, state: 'done' }, { unitId: schoolB.id, state: 'blocked' }], `the ${year} rollover: A rolls, B stays blocked`)
    clock.now = noon(`${year}-08-10`)
    check(`after the ${year} rollover`)
    t.strictSame(entrants('2027-08-01', '2028-07-31'), { 1: 1 }, `after the ${year} rollover: 2027–28, into grade 1`)
  }
  t.strictSame([g1, g4, g6, n1, b1].map(c => (storage.sqlite.prepare('select grade from school_classes where id = ?').get(c.id) as Json).grade), [4, 6, 6, 3, 1], 'A\'s classes have moved on, B\'s have not')

  // The route answers the same.
  const res = await node.call('GET', '/api/v1/statistics/annual?from=2026-08-01&to=2027-07-31', undefined, node.bureau)
  t.equal(res.status, 200)
  t.strictSame(asCounts(res.body.entrantsByGrade), { 1: 4, 4: 1, 6: 1 }, 'GET /api/v1/statistics/annual: the county\'s, by the grades entered')
})

t.test('R-17.3 R-21.1 R-20.3 a city counts a rolled school\'s entrants from its replica by the grades entered, as the county does', async t => {
  const { city, county } = await makeFederation(t)
  const clock = { now: noon('2026-09-05') }
  const records = createRecordsService({ storage: county.storage, identity: { code: county.code }, codes: codeRegistry, now: () => clock.now, dates: PROVINCE_DATES })
  const actor = systemActor('test')
  records.create(actor, 'supervising_units', fx.unit())
  const school = records.create(actor, 'schools', fx.school())
  const g1 = records.create(actor, 'school_classes', { ...fx.klass({ classCode: '2026001', name: '一年级（1）班', grade: 1 }), schoolId: school.id })
  const g4 = records.create(actor, 'school_classes', { ...fx.klass({ classCode: '2023001', name: '四年级（1）班', grade: 4 }), schoolId: school.id })
  let seq = 0
  const pupil = (classId: unknown, enrolmentYm: string) =>
    records.create(actor, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', ++seq), studentNo: undefined, name: `学生${seq}`, namePinyin: null, enrolmentYm }), schoolId: school.id, classId })
  // Two entrants of 2026 into grade 1, one of 2023 into grade 1 (in grade 4 in 2026–27).
  pupil(g1.id, '2026-09')
  pupil(g1.id, '2026-09')
  pupil(g4.id, '2023-09')

  const entrants = (node: TestSyncNode, from: string, to: string) => {
    const stats = createStatisticsService({ storage: node.storage, identity: { code: node.code }, codes: codeRegistry, dates: PROVINCE_DATES, now: () => clock.now })
    const bureau = { accountId: 'x', username: 'x', role: 'bureau_user' as const, scope: { kind: 'bureau' as const, node: node.code }, leader: false, grants: [] }
    return asCounts(stats.annual(bureau, { from, to }).entrantsByGrade)
  }
  // 1 August 2027: the county rolls its school (grade 1 → 2, grade 4 → 5); the changes travel up.
  clock.now = noon('2027-08-01')
  const rollover = createRolloverService({ storage: county.storage, identity: { code: county.code }, codes: codeRegistry, dates: PROVINCE_DATES, now: () => clock.now })
  t.match(rollover.run().items, [{ unitId: school.id, state: 'done', promoted: 3 }])
  await settle(county, city)
  const grades = (node: TestSyncNode) => [g1, g4].map(c => (node.storage.sqlite.prepare('select grade from school_classes where id = ?').get(c.id) as Json | undefined)?.grade)
  t.strictSame(grades(city), [2, 5], 'the city holds the promoted classes')

  clock.now = noon('2027-08-10')
  for (const node of [county, city]) {
    t.strictSame(entrants(node, '2026-08-01', '2027-07-31'), { 1: 2 }, `${node.code}: the 2026–27 entrants, into grade 1`)
    t.strictSame(entrants(node, '2023-08-01', '2024-07-31'), { 1: 1 }, `${node.code}: the 2023–24 entrant, into grade 1`)
  }
})
