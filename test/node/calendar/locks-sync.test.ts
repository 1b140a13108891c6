/**
 * Locks on expiry for a write that arrives by sync. The home node judges locks
 * (DESIGN.md §5, §9): upper tiers apply their children's rows without judging time, and what
 * reaches the home node by sync is a command from above. Here the province corrects a county's
 * records by a signed `records.correct` command, relayed by the city and pulled by the county,
 * whose records service (clock set by the test) applies or refuses it on each side of each lock
 * day; the applied correction reaches the province as an ordinary change set.
 */
import t from 'tap'
import { nextDay } from '../../../config/calendar.ts'
import { codes } from '../../../schema/codes/index.ts'
import { CORRECTION_COMMAND, correctionHandler } from '../../../node/services/records/corrections.ts'
import { createRecordsService, systemActor, type RecordsService } from '../../../node/services/records/service.ts'
import * as fx from '../../records/fixtures.ts'
import { makeFederation, settle } from '../../sync/lib/nodes.ts'

const lastSecond = (day: string) => new Date(Date.parse(`${day}T23:59:59+08:00`))
const firstSecond = (day: string) => new Date(Date.parse(`${day}T00:00:00+08:00`))

t.test('R-22.1 R-22.2 R-22.3 R-22.4 a correction arriving by sync is judged by the home node on both sides of each lock day', async t => {
  const clock = { now: new Date('2026-07-10T02:00:00Z') }
  let records!: RecordsService
  const { province, city, county } = await makeFederation(t, {
    countyHandlers: storage => {
      records = createRecordsService({ storage, identity: { code: '330106' }, codes, now: () => clock.now })
      return new Map([[CORRECTION_COMMAND, correctionHandler(records)]])
    },
  })
  const me = systemActor('test')
  const unit = records.create(me, 'supervising_units', fx.unit())
  const school = records.create(me, 'schools', { ...fx.school(), unitId: unit.id })
  const klass = records.create(me, 'school_classes', { ...fx.klass(), schoolId: school.id })
  const student = records.create(me, 'students', {
    ...fx.student({ enrolmentYm: '2025-09' }), schoolId: school.id, classId: klass.id, exams: fx.subRecords.exams,
    registrations: [{ ...fx.subRecords.registrations[0], term: '2025-1' }, { ...fx.subRecords.registrations[0], term: '2025-2', dueDate: '2026-02-25', actualDate: '2026-02-25', lateReason: null }],
  })
  const graduate = records.create(me, 'students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 2), studentNo: undefined, name: '曾小军', namePinyin: 'zeng xiao jun', enrolmentYm: '2020-09' }), schoolId: school.id, classId: klass.id })
  const completion = records.create(me, 'student_completions', fx.completion({ completionYm: '2026-07' }), String(graduate.id))
  const db = county.storage.sqlite
  // Verification has its own routes and roles; here only its mark matters (the locks hold verified data).
  db.prepare(`update students set first_verified_at = '2025-09-20T02:00:00.000Z'`).run()
  db.prepare(`update student_completions set first_verified_at = '2026-07-10T02:00:00.000Z'`).run()
  const idOf = (sql: string, ...p: unknown[]) => (db.prepare(sql).get(...p) as { id: string }).id
  await settle(county, city, province)

  const cases: Array<{ rule: string; table: string; id: string; patch: Record<string, string> | null; lastOpenDay: string }> = [
    { rule: 'R-22.1', table: 'students', id: String(student.id), patch: { phone: '13800000009' }, lastOpenDay: '2025-09-30' },
    { rule: 'R-22.2', table: 'student_registrations', id: idOf(`select id from student_registrations where term = '2025-2'`), patch: { lateReason: '事假' }, lastOpenDay: '2026-03-31' },
    { rule: 'R-22.3', table: 'student_exams', id: idOf('select id from student_exams'), patch: { termComment: '稳步提高' }, lastOpenDay: '2026-07-31' },
    { rule: 'R-22.4', table: 'student_completions', id: String(completion.id), patch: { comment: '品学兼优' }, lastOpenDay: '2026-07-30' },
  ]
  const resultOf = async (when: Date, c: (typeof cases)[number]) => {
    const version = (db.prepare(`select version from ${c.table} where id = ?`).get(c.id) as { version: number }).version
    const { seq } = await province.sync.downward.issue('330106', CORRECTION_COMMAND, { table: c.table, id: c.id, version, patch: c.patch })
    clock.now = when
    await city.sync.pullCommands()
    await county.sync.pullCommands()
    const row = db.prepare('select result from sync_commands where issuer = ? and destination = ? and seq = ?').get('330000', '330106', seq) as { result: string | null }
    return JSON.parse(row.result ?? 'null') as { status: string; code?: string; version?: number }
  }
  for (const c of cases) {
    const outbox = (db.prepare('select count(*) n from outbox').get() as { n: number }).n
    t.match(await resultOf(firstSecond(nextDay(c.lastOpenDay)), c), { status: 'refused', code: 'CALENDAR_RECORD_LOCKED' }, `${c.rule} ${c.table}: refused from 00:00 after ${c.lastOpenDay}`)
    t.equal((db.prepare('select count(*) n from outbox').get() as { n: number }).n, outbox, 'the refused command changed nothing')
    t.match(await resultOf(lastSecond(c.lastOpenDay), c), { status: 'applied' }, `${c.rule} ${c.table}: applied at 23:59:59 of ${c.lastOpenDay}`)
  }

  const bad = await resultOf(lastSecond('2026-07-30'), { rule: '', table: 'students', id: String(student.id), patch: null, lastOpenDay: '' })
  t.match(bad, { status: 'refused', code: 'RECORD_FIELD_FORMAT' }, 'a malformed correction is refused with a code, and the issuer\'s chain goes on')
  t.match(await resultOf(lastSecond('2025-09-30'), { ...cases[0], patch: { phone: '13800000010' } }), { status: 'applied' }, 'the next command applies')

  await settle(county, city, province)
  const replica = province.storage.sqlite.prepare('select phone, version from students where id = ?').get(String(student.id)) as { phone: string; version: number }
  t.equal(replica.phone, '13800000010', 'the applied correction reached the province as a change set')
  const exam = province.storage.sqlite.prepare('select term_comment from student_exams where id = ?').get(cases[2].id) as { term_comment: string }
  t.equal(exam.term_comment, '稳步提高')
})
