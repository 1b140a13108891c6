import t from 'tap'
import { backupDue, backupName, backupTime, parseTarget, toPrune } from '../../../node/backup/rules.ts'

const TZ = 'Asia/Shanghai'

t.test('R-26.2 retention keeps the newest of 7 days, 4 weeks and 12 months, and deletes the rest', async t => {
  // One backup at 02:00 Beijing time every day for 400 days, plus a second one on the last day.
  const end = Date.parse('2026-11-30T18:00:00Z') // 2026-12-01 02:00 in Beijing
  const names = Array.from({ length: 400 }, (_, i) => backupName('330106', new Date(end - i * 86400000)))
  names.push(backupName('330106', new Date(end + 3600000)), 'notes.txt')
  const gone = new Set(toPrune(names, { daily: 7, weekly: 4, monthly: 12 }, TZ))
  const kept = names.filter(n => !gone.has(n) && n !== 'notes.txt')
  t.notOk(gone.has('notes.txt'), 'foreign files are never deleted')
  t.notOk(gone.has(names.at(-1)!), 'the newest backup is kept')
  t.ok(gone.has(names[0]), 'an older backup of the same day goes')
  const days = new Set(kept.map(n => new Intl.DateTimeFormat('en-CA', { timeZone: TZ }).format(backupTime(n)!)))
  t.equal(days.size, kept.length, 'at most one backup per kept day')
  t.ok(kept.length <= 7 + 4 + 12 && kept.length >= 12, `kept ${kept.length}`)
  const months = new Set(kept.map(n => new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit' }).format(backupTime(n)!)))
  t.equal(months.size, 12, 'twelve months covered')
  const newest7 = [...names.slice(0, 400)].sort().reverse().slice(1, 7)
  for (const n of newest7) t.notOk(gone.has(n), `${n}: one of the last 7 days`)
})

t.test('R-26.2 the schedule is due once a day after backup.at, judged in Beijing time', async t => {
  const at = '02:30'
  t.notOk(backupDue(new Date('2026-11-30T18:29:00Z'), at, null, TZ), '02:29 Beijing: not yet')
  t.ok(backupDue(new Date('2026-11-30T18:31:00Z'), at, null, TZ), '02:31 Beijing: due')
  t.notOk(backupDue(new Date('2026-11-30T20:00:00Z'), at, new Date('2026-11-30T18:31:00Z'), TZ), 'made today already')
  t.ok(backupDue(new Date('2026-12-01T18:31:00Z'), at, new Date('2026-11-30T18:31:00Z'), TZ), 'due again the next day')
})

t.test('R-26.2 targets: a directory or sftp://user@host[:port]/path, nothing else', async t => {
  t.same(parseTarget('/mnt/backup'), { kind: 'dir', path: '/mnt/backup' })
  t.same(parseTarget('sftp://xueji@10.0.0.5:2222/srv/backup'), { kind: 'sftp', user: 'xueji', host: '10.0.0.5', port: 2222, path: '/srv/backup' })
  for (const bad of ['ftp://a@b/c', 'sftp://host/path', 'sftp://u:secret@host/p', 'sftp://u@host/']) {
    t.throws(() => parseTarget(bad), { code: 'BACKUP_TARGET_INVALID' }, bad)
  }
  t.equal(backupTime('xueji-330106-20261130T044828Z')?.toISOString(), '2026-11-30T04:48:28.000Z')
  t.equal(backupTime('xueji-330106-20261130T044828Z.partial'), null)
})
