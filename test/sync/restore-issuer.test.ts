/**
 * A restored ISSUER of downward commands (R-26.2, R-D.8): a city that issued commands to its
 * county after its backup was taken is lost, restored from that backup and rebuilt from the
 * province (`xueji restore`, `xueji sync rebuild`). Its `sync_commands` (the seqs it issued, the
 * local ids its county pulls by) are the backup's, while the county holds what the lost city
 * issued and relayed after it. The rebuilt city issues to the county's subtree again only once
 * the county has told it, in its next pull, the highest seq it holds of the city's commands;
 * the county pulls again from the city's restore point, so nothing the restored city stores
 * under a local id the county had already passed is skipped.
 */
import t from 'tap'
import Database from 'better-sqlite3'
import { recordRouted } from '../../sync/routed.ts'
import type { SyncService } from '../../sync/service.ts'
import { backupNode, makeFederation, restoreNode, settle, type TestSyncNode } from './lib/nodes.ts'

const ping = (n: TestSyncNode) => n.sync.downward.issue('330106', 'sync.ping', {})
/** What the county holds of `issuer`'s commands: seq, result, error. */
const held = (county: TestSyncNode, issuer: string) =>
  county.storage.sqlite.prepare("select seq, result, error_code code from sync_commands where issuer = ? and destination = '330106' order by seq").all(issuer) as { seq: number; result: string | null; code: string | null }[]
const pongs = (n: number) => Array.from({ length: n }, (_, i) => ({ seq: i + 1, result: JSON.stringify({ status: 'applied', pong: true }), code: null }))

t.test('R-26.2 R-D.8 a city restored from a backup and rebuilt issues to its county only after the county reported the seqs it holds, then continues after them; a command it relays after the restore is not skipped by the county\'s pull cursor', async t => {
  const { province, city, county } = await makeFederation(t)
  await settle(county, city, province)
  t.same(await ping(city), { seq: 1 })
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  const backup = backupNode(city)

  // After the backup: the city issues a second command, the province one the city relays.
  t.same(await ping(city), { seq: 2 })
  t.same(await ping(province), { seq: 1 })
  await city.sync.pullCommands()
  t.match(await county.sync.pullCommands(), { pulled: 2, applied: 2 })
  await settle(county, city, province)

  // The city is lost, restored from the backup and rebuilt from the province.
  const restored = await restoreNode(t, city, backup, { parent: province })
  t.equal(restored.storage.sqlite.prepare("select max(seq) from sync_commands where issuer = '330100'").pluck().get(), 1, 'the backup holds only the first command')
  t.match(await restored.sync.rebuild(), { issuingHeld: ['330106'] })
  t.match((await restored.sync.status()).commands.issuingHeld, [{ child: '330106', since: String }], 'shown in the sync status')
  await t.rejects(ping(restored), { code: 'SYNC_ISSUE_HELD', details: { child: '330106', destination: '330106' } }, 'no command to the county before it has said what it holds')

  // The county pulls: it reports what it holds, and pulls again from the city's restore point.
  t.match(await county.sync.pullCommands(), { pulled: 0, applied: 0 })
  t.same(await ping(restored), { seq: 3 }, 'the next command continues after the seq the county holds')
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 }, 'and the county takes it, under a local id below its old cursor')
  t.same(held(county, '330100'), pongs(3), 'every command of the city applied once, none refused as a replay')
  t.same((await restored.sync.status()).commands.issuingHeld, [])

  // The province's next command: the restored city pulls it (and the one it had relayed before) and relays it.
  t.same(await ping(province), { seq: 2 })
  await restored.sync.pullCommands()
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.same(held(county, '330000'), pongs(2))
  t.same(await ping(restored), { seq: 4 })
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.same(held(county, '330100'), pongs(4))
  t.match(await county.sync.pullCommands(), { pulled: 0, applied: 0 })
})

t.test('R-26.2 a county that had pulled nothing beyond the city\'s backup releases the rebuilt city at its next pull, without reporting', async t => {
  const { province, city, county } = await makeFederation(t)
  await settle(county, city, province)
  t.same(await ping(city), { seq: 1 })
  const backup = backupNode(city)
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 }, 'pulled after the backup, under an id the backup holds')
  const restored = await restoreNode(t, city, backup, { parent: province })
  await restored.sync.rebuild()
  await t.rejects(ping(restored), { code: 'SYNC_ISSUE_HELD' })
  t.match(await county.sync.pullCommands(), { pulled: 0 })
  t.same(await ping(restored), { seq: 2 })
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.same(held(county, '330100'), pongs(2))
})

t.test('R-26.2 commands.pull at a rebuilt parent: held is optional and checked, the hold is released only at a pull from the restore point, a report keeps the highest seq', async t => {
  const { city } = await makeFederation(t, { secondCounty: true })
  const sync: SyncService = city.sync
  for (let i = 0; i < 3; i++) await ping(city)
  const county = { code: '330106', tier: 'county' as const }
  const pull = (after: number, held?: unknown) => sync.receiver.serve(county, { type: 'commands.pull', after, limit: 10, ...(held === undefined ? {} : { held }) } as never)
  for (const bad of ['', '330106', '330106:-1', '330106:1,330106:2', 'a b:1', 42]) await t.rejects(pull(0, bad), { code: 'SYNC_MALFORMED' }, `refused: ${JSON.stringify(bad)}`)
  t.match(await pull(0, '330106:3'), { commands: [{ id: 1 }, { id: 2 }, { id: 3 }] }, 'taken when nothing is held')

  t.same(sync.downward.holdIssuing(), ['330106', '330108'], 'every child')
  const from = 3
  await t.rejects(sync.downward.issue('330108', 'sync.ping', {}), { code: 'SYNC_ISSUE_HELD', details: { child: '330108' } })
  t.same(await pull(9), { commands: [], restored: { after: from } }, 'a cursor beyond the restore point: report and pull from it')
  await t.rejects(pull(9, '330108:4'), { code: 'SYNC_COMMAND_NOT_FOR_ME' }, 'a destination outside the sender\'s subtree')
  t.same(await pull(9, '330106:7'), { commands: [], restored: { after: from } }, 'reported, still to pull from the restore point')
  await t.rejects(sync.downward.issue('330106', 'sync.ping', {}), { code: 'SYNC_ISSUE_HELD' }, 'held until then')
  t.same(await pull(from), { commands: [] }, 'released')
  t.same(await sync.downward.issue('330106', 'sync.ping', {}), { seq: 8 }, 'after the seq reported')
  t.match(await pull(from, '330106:5'), { commands: [{ id: 4 }] }, 'a lower report later does not lower it')
  t.same(await sync.downward.issue('330106', 'sync.ping', {}), { seq: 9 })
  await t.rejects(sync.downward.issue('330108', 'sync.ping', {}), { code: 'SYNC_ISSUE_HELD' }, 'the other county still holds it')
  t.match(await sync.receiver.serve({ code: '330108', tier: 'county' }, { type: 'commands.pull', after: 0, limit: 10 }), { commands: [] }, 'a cursor at the restore point or before: released without a report')
  t.same(await sync.downward.issue('330108', 'sync.ping', {}), { seq: 1 })
})

t.test('R-26.2 R-19.5 a routed message the city held but had not routed at its backup is delivered again after the restore under a new seq, and not run twice at its destination', async t => {
  const { province, city, county, county2 } = await makeFederation(t, { secondCounty: true })
  const delivered: string[] = []
  county.sync.registerRouted('test.note', { deliver: m => void delivered.push(m.id) })
  await settle(county, county2!, city, province)
  const message = county2!.storage.write(() => recordRouted(county2!.storage, '330108', { destination: '330106', find: null, type: 'test.note', handoff: null, body: { n: 1 } }))
  await county2!.sync.routed.routePending()
  await county2!.sync.pushOrigin('330108')
  t.match(city.storage.sqlite.prepare('select routed from sync_routed where id = ?').pluck().get(message.id), 'down:330106:1', 'the city issued its delivery')
  // A backup taken between the city's storing the message and its routing it (two transactions).
  const backup = backupNode(city)
  const copy = new Database(backup)
  copy.prepare('update sync_routed set routed = null where id = ?').run(message.id)
  copy.prepare("delete from sync_commands where type = 'routed.deliver'").run()
  copy.prepare("update sqlite_sequence set seq = (select coalesce(max(id), 0) from sync_commands) where name = 'sync_commands'").run()
  copy.close()
  t.match(await county.sync.pullCommands(), { pulled: 1, applied: 1 })
  t.same(delivered, [message.id])

  const restored = await restoreNode(t, city, backup, { parent: province })
  await restored.sync.rebuild()
  const routedAt = (id: string) => restored.storage.sqlite.prepare('select routed from sync_routed where id = ?').pluck().get(id)
  await restored.sync.routed.routePending()
  t.equal(routedAt(message.id), null, 'not routed before the county has pulled')
  // A new message to the county reaches the restored city meanwhile: stored, routed later.
  const next = county2!.storage.write(() => recordRouted(county2!.storage, '330108', { destination: '330106', find: null, type: 'test.note', handoff: null, body: { n: 2 } }))
  await county2!.sync.routed.routePending()
  await county2!.sync.pushOrigin('330108')
  t.equal(county2!.storage.sqlite.prepare('select sent_at is not null and refused_code is null from sync_routed where id = ?').pluck().get(next.id), 1, 'taken by the city')
  t.equal(routedAt(next.id), null, 'and held there')

  t.match(await county.sync.pullCommands(), { pulled: 0 })
  await restored.sync.routed.routePending()
  t.equal(routedAt(message.id), 'down:330106:2', 'delivered again under the next seq')
  t.equal(routedAt(next.id), 'down:330106:3')
  t.match(await county.sync.pullCommands(), { pulled: 2, applied: 2 })
  t.same(JSON.parse(county.storage.sqlite.prepare("select result from sync_commands where issuer = '330100' and seq = 2").pluck().get() as string), { status: 'applied', messageId: message.id, duplicate: true }, 'a duplicate at the county')
  t.same(delivered, [message.id, next.id], 'each handler ran once')
})
