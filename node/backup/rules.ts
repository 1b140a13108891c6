/**
 * Pure rules of backups: backup names, target syntax, the retention policy and the
 * schedule's "is one due". No file, network or database access here.
 */
import { backupError } from './errors.ts'

/** Name of a backup: node code and UTC moment, sortable as text. */
export function backupName(code: string, at: Date): string {
  return `xueji-${code}-${at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`
}

const NAME = /^xueji-([0-9]{6})-([0-9]{8}T[0-9]{6}Z)$/

/** The moment a backup name states, or null for anything else in the target. */
export function backupTime(name: string): Date | null {
  const m = NAME.exec(name)
  if (!m) return null
  const s = m[2]
  return new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`)
}

export type Target = { kind: 'dir'; path: string } | { kind: 'sftp'; user: string; host: string; port: number; path: string }

/** `/abs/or/relative/dir` or `sftp://user@host[:port]/path` (path absolute on the server). */
export function parseTarget(spec: string): Target {
  if (!spec.includes('://')) {
    if (!spec.trim()) throw backupError('BACKUP_TARGET_INVALID', 'the backup target is empty')
    return { kind: 'dir', path: spec }
  }
  let url: URL
  try {
    url = new URL(spec)
  } catch {
    throw backupError('BACKUP_TARGET_INVALID', `${spec} is not a valid target URL`)
  }
  if (url.protocol !== 'sftp:' || !url.username || !url.hostname || url.pathname.length < 2 || url.password) {
    throw backupError('BACKUP_TARGET_INVALID', `${spec}: a remote target is sftp://user@host[:port]/path (no password in the URL: the login is by key)`)
  }
  return { kind: 'sftp', user: decodeURIComponent(url.username), host: url.hostname, port: url.port ? Number(url.port) : 22, path: decodeURIComponent(url.pathname) }
}

export interface RetentionPolicy {
  daily: number
  weekly: number
  monthly: number
}

/** Calendar day, ISO-ish week and month of a moment in `timeZone` (the province's calendar). */
function periods(at: Date, timeZone: string): { day: string; week: string; month: string } {
  const [y, m, d] = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at).split('-')
  const local = Date.UTC(Number(y), Number(m) - 1, Number(d))
  // Weeks start on Monday: the week is named by its Monday's date.
  const monday = new Date(local - ((new Date(local).getUTCDay() + 6) % 7) * 86400000).toISOString().slice(0, 10)
  return { day: `${y}-${m}-${d}`, week: monday, month: `${y}-${m}` }
}

/**
 * Which backups to keep: the newest of each of the last `daily` days, `weekly` weeks and
 * `monthly` months that hold one (grandfather-father-son). Anything that is not a backup name
 * is never selected for deletion. Returns the names to delete.
 */
export function toPrune(names: readonly string[], policy: RetentionPolicy, timeZone: string): string[] {
  const dated = names.map(name => ({ name, at: backupTime(name) })).filter((b): b is { name: string; at: Date } => b.at !== null)
  dated.sort((a, b) => b.at.getTime() - a.at.getTime())
  const keep = new Set<string>()
  for (const [unit, count] of [['day', policy.daily], ['week', policy.weekly], ['month', policy.monthly]] as const) {
    const seen = new Set<string>()
    for (const b of dated) {
      const p = periods(b.at, timeZone)[unit]
      if (seen.has(p)) continue
      if (seen.size >= count) break
      seen.add(p)
      keep.add(b.name)
    }
  }
  return dated.filter(b => !keep.has(b.name)).map(b => b.name)
}

/**
 * Whether the scheduled backup is due: `at` (HH:MM in `timeZone`) has passed today and no backup
 * was made since today's `at`.
 */
export function backupDue(now: Date, at: string, last: Date | null, timeZone: string): boolean {
  const parts = new Intl.DateTimeFormat('en-GB', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).formatToParts(now)
  const get = (t: string) => Number(parts.find(p => p.type === t)!.value)
  const [h, m] = at.split(':').map(Number)
  // Today's `at` as a UTC instant: shift by the zone's offset at this moment.
  const localNow = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'))
  const offset = localNow - Math.floor(now.getTime() / 60000) * 60000
  const dueAt = Date.UTC(get('year'), get('month') - 1, get('day'), h, m) - offset
  return now.getTime() >= dueAt && (last === null || last.getTime() < dueAt)
}
