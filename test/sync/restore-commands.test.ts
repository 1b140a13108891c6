/**
 * Downward commands across a restore (R-26.2, R-D.8): a node that pulled and applied commands
 * after its backup was taken is lost, restored from that backup and rebuilt from its parent
 * (`xueji restore`, `xueji sync rebuild`), then pulls again. Its pull cursor and its
 * `sync_commands` are the backup's, so those commands come again. Each pull reports what the
 * node applied (per issuer, once the parent holds everything it wrote); the parent keeps it and
 * the rebuild takes it back, so a command applied before the restore is not run again (its writes
 * came back with the rebuild), but for those whose effects were local and lost (sync.feedback …,
 * sync/downward.ts `RERUN_AFTER_RESTORE`), which run again. A command not reported runs.
 */
import t, { type Test } from 'tap'
import { codes } from '../../schema/codes/index.ts'
import { CORRECTION_COMMAND, correctionHandler } from '../../node/services/records/corrections.ts'
import { createRecordsService, systemActor } from '../../node/services/records/service.ts'
import { FEEDBACK_COMMAND } from '../../sync/feedback.ts'
import type { Storage } from '../../schema/db.ts'
import * as fx from '../records/fixtures.ts'
import { backupNode, makeFederation, restoreNode, settle, type TestSyncNode } from './lib/nodes.ts'

const correcting = (storage: Storage) => new Map([[CORRECTION_COMMAND, correctionHandler(createRecordsService({ storage, identity: { code: '330106' }, codes }))]])

/** A federation whose county holds a student, everything settled. */
async function withStudent(t: Test) {
  const fed = await makeFederation(t, { countyHandlers: correcting })
  const records = createRecordsService({ storage: fed.county.storage, identity: { code: '330106' }, codes })
  const me = systemActor('test')
  const unit = records.create(me, 'supervising_units', fx.unit())
  const school = records.create(me, 'schools', { ...fx.school(), unitId: unit.id })
  const klass = records.create(me, 'school_classes', { ...fx.klass(), schoolId: school.id })
  const student = records.create(me, 'students', { ...fx.student(), schoolId: school.id, classId: klass.id })
  await settle(fed.county, fed.city, fed.province)
  return { ...fed, student, v: Number(student.version) }
}

const row = (s: Storage, id: string) => s.sqlite.prepare('select phone, version from students where id = ?').get(id) as { phone: string; version: number }
const result = (n: TestSyncNode, issuer: string, seq: number) =>
  JSON.parse(n.storage.sqlite.prepare("select result from sync_commands where issuer = ? and destination = '330106' and seq = ?").pluck().get(issuer, seq) as string) as Record<string, unknown>
const recorded = (parent: TestSyncNode) => parent.storage.sqlite.prepare("select issuer, seq from sync_commands_applied where node = '330106' order by issuer").all()

t.test('R-26.2 R-D.8 a county restored from a backup and rebuilt does not run again the commands it applied after the backup: the correction is stored as applied before the restore (not a new refusal), the feedback lost with the restore is stored again, later commands run once', async t => {
  const { province, city, county, student, v } = await withStudent(t)
  const id = String(student.id)
  const backup = backupNode(county)

  // After the backup: the province corrects the student, the city tells the county about a record.
  await province.sync.downward.issue('330106', CORRECTION_COMMAND, { table: 'students', id, version: v, patch: { phone: '13800000009' } })
  await city.sync.downward.issue('330106', FEEDBACK_COMMAND, { entries: [{ kind: 'unchecked', table: 'students', recordId: id, code: 'RECORD_UNCHECKED', reason: '查重未完成' }] })
  await city.sync.pullCommands()
  t.match(await county.sync.pullCommands(), { pulled: 2, applied: 2 })
  t.same(recorded(city), [], 'not reported while the correction\'s writes have not reached the city')
  await settle(county, city, province)
  t.same(row(province.storage, id), { phone: '13800000009', version: v + 1 }, 'the correction reached the province')
  t.match(await county.sync.pullCommands(), { pulled: 0 }, 'the next poll')
  t.same(recorded(city), [{ issuer: '330000', seq: 1 }, { issuer: '330100', seq: 1 }], 'the city keeps what the county applied, per issuer')
  const seqAbove = () => city.storage.sqlite.prepare("select max(seq) from sync_change_sets where origin = '330106'").pluck().get() as number
  const sent = seqAbove()

  // The county is lost, restored from the backup and rebuilt from the city.
  const restored = await restoreNode(t, county, backup, { parent: city, handlers: correcting })
  const db = restored.storage.sqlite
  t.same(row(restored.storage, id), { phone: fx.student().phone, version: v }, 'the backup holds the record before the correction')
  t.equal(db.prepare("select count(*) from sync_commands where destination = '330106'").pluck().get(), 0, 'and none of the commands')
  t.equal(db.prepare('select count(*) from sync_feedback').pluck().get(), 0, 'nor the feedback')
  t.match(await restored.sync.rebuild(), { changeSets: 1, commandsApplied: [{ issuer: '330000', seq: 1 }, { issuer: '330100', seq: 1 }] })
  t.same(row(restored.storage, id), { phone: '13800000009', version: v + 1 }, 'the rebuild brought the correction back as the county\'s own change set')

  // It starts again and pulls: both commands come again.
  t.match(await restored.sync.pullCommands(), { pulled: 2, applied: 2 })
  t.same(result(restored, '330000', 1), { status: 'applied', beforeRestore: true }, 'the correction is applied before the restore, not refused')
  t.same(row(restored.storage, id), { phone: '13800000009', version: v + 1 }, 'and not run again')
  t.match(result(restored, '330100', 1), { status: 'applied', stored: 1 }, 'the feedback is run again')
  t.notOk('beforeRestore' in result(restored, '330100', 1))
  t.equal(db.prepare('select count(*) from sync_feedback').pluck().get(), 1, 'the feedback row is back, once')
  t.same(await restored.sync.pack(), [], 'nothing new to send')
  await settle(restored, city, province)
  t.equal(seqAbove(), sent, 'no change set after those fetched back')

  // The channel goes on: later commands run, once, in order.
  await province.sync.downward.issue('330106', CORRECTION_COMMAND, { table: 'students', id, version: v + 1, patch: { phone: '13800000010' } })
  await province.sync.downward.issue('330106', 'sync.ping', {})
  await city.sync.pullCommands()
  t.match(await restored.sync.pullCommands(), { pulled: 2, applied: 2 })
  t.match(result(restored, '330000', 2), { status: 'applied' })
  t.notOk('beforeRestore' in result(restored, '330000', 2), 'the later correction is run')
  t.same(result(restored, '330000', 3), { status: 'applied', pong: true })
  t.same(row(restored.storage, id), { phone: '13800000010', version: v + 2 })
  await settle(restored, city, province)
  t.same(row(province.storage, id), { phone: '13800000010', version: v + 2 }, 'and its write goes up')
  t.match(await restored.sync.pullCommands(), { pulled: 0, applied: 0 })
  t.same(recorded(city), [{ issuer: '330000', seq: 3 }, { issuer: '330100', seq: 1 }])
  t.same((await restored.sync.verifyStored()).problems, [])
})

t.test('R-26.2 a command whose writes had not reached the parent when the node was lost was never reported: after the restore it runs again', async t => {
  const { province, city, county, student, v } = await withStudent(t)
  const id = String(student.id)
  await province.sync.downward.issue('330106', 'sync.ping', {})
  await city.sync.pullCommands()
  await county.sync.pullCommands()
  await county.sync.pullCommands()
  t.same(recorded(city), [{ issuer: '330000', seq: 1 }], 'the ping, reported')
  const backup = backupNode(county)

  await province.sync.downward.issue('330106', CORRECTION_COMMAND, { table: 'students', id, version: v, patch: { phone: '13800000009' } })
  await city.sync.pullCommands()
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.match(await county.sync.pullCommands(), { pulled: 0 }, 'polled again before its change set went up')
  t.same(recorded(city), [{ issuer: '330000', seq: 1 }], 'the correction is not reported')

  // Lost before the change set went up: the restored county never had it, and must run it.
  const restored = await restoreNode(t, county, backup, { parent: city, handlers: correcting })
  t.match(await restored.sync.rebuild(), { changeSets: 0, commandsApplied: [{ issuer: '330000', seq: 1 }] })
  t.match(await restored.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.match(result(restored, '330000', 2), { status: 'applied' })
  t.notOk('beforeRestore' in result(restored, '330000', 2))
  t.same(row(restored.storage, id), { phone: '13800000009', version: v + 1 })
  await settle(restored, city, province)
  t.same(row(province.storage, id), { phone: '13800000009', version: v + 1 }, 'its write goes up')
})

t.test('R-26.2 commands.pull: applied is optional, checked, and the parent keeps the highest reported', async t => {
  const { city } = await makeFederation(t)
  const county = { code: '330106', tier: 'county' as const }
  const pull = (applied?: unknown) => city.sync.receiver.serve(county, { type: 'commands.pull', after: 0, limit: 10, ...(applied === undefined ? {} : { applied }) } as never)
  t.match(await pull(), { commands: [] }, 'without it, as an older child sends')
  for (const bad of ['', '330000', '330000:-1', '330000:1,330000:2', 'a b:1', 42]) await t.rejects(pull(bad), { code: 'SYNC_MALFORMED' }, `refused: ${JSON.stringify(bad)}`)
  await pull('330000:5,330100:2')
  await pull('330000:3,330100:4')
  t.same(recorded(city), [{ issuer: '330000', seq: 5 }, { issuer: '330100', seq: 4 }], 'a lower report (a restored child before its rebuild) does not lower it')
  t.match(await city.sync.receiver.serve(county, { type: 'origins.list' }), { commandsApplied: [{ issuer: '330000', seq: 5 }, { issuer: '330100', seq: 4 }] })
})
