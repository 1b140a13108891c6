/**
 * Downward commands across a restore (R-26.2, R-D.8): a node that pulled and applied commands
 * after its backup was taken is lost, restored from that backup and rebuilt from its parent
 * (`xueji restore`, `xueji sync rebuild`), then pulls again. Its pull cursor and its
 * `sync_commands` are the backup's, and nobody above records what it had pulled or applied: it
 * pulls those commands again and runs their handlers a second time. What keeps an effect from
 * doubling is each handler's own guard (a correction names the version it read); this file pins
 * that down for the handlers that have one.
 */
import t from 'tap'
import { codes } from '../../schema/codes/index.ts'
import { CORRECTION_COMMAND, correctionHandler } from '../../node/services/records/corrections.ts'
import { createRecordsService, systemActor } from '../../node/services/records/service.ts'
import { FEEDBACK_COMMAND } from '../../sync/feedback.ts'
import type { Storage } from '../../schema/db.ts'
import * as fx from '../records/fixtures.ts'
import { backupNode, makeFederation, restoreNode, settle } from './lib/nodes.ts'

const correcting = (storage: Storage) => new Map([[CORRECTION_COMMAND, correctionHandler(createRecordsService({ storage, identity: { code: '330106' }, codes }))]])

t.test('R-26.2 R-D.8 a county restored from a backup and rebuilt pulls again the commands it applied after the backup without doubling their effects here: the correction stays made once, feedback is stored once, nothing goes up twice, the channel goes on', async t => {
  const { province, city, county } = await makeFederation(t, { countyHandlers: correcting })
  const records = createRecordsService({ storage: county.storage, identity: { code: '330106' }, codes })
  const me = systemActor('test')
  const unit = records.create(me, 'supervising_units', fx.unit())
  const school = records.create(me, 'schools', { ...fx.school(), unitId: unit.id })
  const klass = records.create(me, 'school_classes', { ...fx.klass(), schoolId: school.id })
  const student = records.create(me, 'students', { ...fx.student(), schoolId: school.id, classId: klass.id })
  await settle(county, city, province)
  const backup = backupNode(county)

  // After the backup: the province corrects the student, the city tells the county about a record.
  const v = Number(student.version)
  await province.sync.downward.issue('330106', CORRECTION_COMMAND, { table: 'students', id: String(student.id), version: v, patch: { phone: '13800000009' } })
  await city.sync.downward.issue('330106', FEEDBACK_COMMAND, { entries: [{ kind: 'unchecked', table: 'students', recordId: String(student.id), code: 'RECORD_UNCHECKED', reason: '查重未完成' }] })
  await city.sync.pullCommands()
  t.match(await county.sync.pullCommands(), { pulled: 2, applied: 2 })
  await settle(county, city, province)
  const row = (s: Storage) => s.sqlite.prepare('select phone, version from students where id = ?').get(String(student.id)) as { phone: string; version: number }
  t.same(row(province.storage), { phone: '13800000009', version: v + 1 }, 'the correction reached the province')
  const seqAbove = () => city.storage.sqlite.prepare("select max(seq) from sync_change_sets where origin = '330106'").pluck().get() as number
  const sent = seqAbove()

  // The county is lost, restored from the backup and rebuilt from the city.
  const restored = await restoreNode(t, county, backup, { parent: city, handlers: correcting })
  const db = restored.storage.sqlite
  t.same(row(restored.storage), { phone: fx.student().phone, version: v }, 'the backup holds the record before the correction')
  t.equal(db.prepare("select count(*) from sync_commands where destination = '330106'").pluck().get(), 0, 'and none of the commands')
  t.match(await restored.sync.rebuild(), { changeSets: 1 })
  t.same(row(restored.storage), { phone: '13800000009', version: v + 1 }, 'the rebuild brought the correction back as the county\'s own change set')

  // It starts again and pulls: both commands come again (sync/README.md: nothing above records
  // what a child applied, so their handlers run a second time; their own guards hold here).
  t.match(await restored.sync.pullCommands(), { pulled: 2 })
  t.same(row(restored.storage), { phone: '13800000009', version: v + 1 }, 'the record is corrected once')
  t.equal(db.prepare('select count(*) from sync_feedback').pluck().get(), 1, 'one feedback row')
  t.same(await restored.sync.pack(), [], 'nothing new to send')
  await settle(restored, city, province)
  t.equal(seqAbove(), sent, 'no change set after those fetched back')
  t.same(row(province.storage), { phone: '13800000009', version: v + 1 })

  // The channel goes on: the next command is applied once, in order.
  await province.sync.downward.issue('330106', 'sync.ping', {})
  await city.sync.pullCommands()
  t.match(await restored.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.match(JSON.parse(db.prepare("select result from sync_commands where issuer = '330000' and seq = 2").pluck().get() as string), { status: 'applied', pong: true })
  t.same((await restored.sync.verifyStored()).problems, [])
})
