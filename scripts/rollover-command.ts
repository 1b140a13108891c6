/**
 * `xueji rollover`: the 1 August rollover (R-21.1) of the node's schools and kindergartens, or its
 * dry run, on the node's database (running or not). Each school is one transaction and is
 * printed as it commits, so a run stopped anywhere can be started again: schools already rolled
 * are left alone (node/calendar/rollover-service.ts).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { datesFor } from '../config/calendar.ts'
import { XuejiError } from '../config/errors.ts'
import { nodeCodes } from '../schema/codes/index.ts'
import { openStorage } from '../schema/db.ts'
import { createRolloverService, type UnitReport } from '../node/calendar/rollover-service.ts'
import { loadIdentity } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { nodeConfig } from '../node/config.ts'
import { chinaToday } from '../node/records/validate.ts'
import type { CliHelpers } from './sync-commands.ts'

type Out = { out: (s: string) => void; err: (s: string) => void }
type Env = Record<string, string | undefined>

export const ROLLOVER_USAGE = `
  xueji rollover --data DIR [--dry-run] [--school ID] [--as-of YYYY-MM-DD]
          the 1 August rollover (R-21.1) of the node's schools and kindergartens: classes up one
          grade, graduates complete, 大班 children leave for primary school; one transaction per
          school, a school already rolled is left alone, a blocked one is listed and not rolled.
          --dry-run lists what would change and what blocks it; --as-of runs it as on that day
          (not after today), e.g. to finish a year's rollover later; exit 3 when a school is blocked
`

const line = (i: UnitReport) => {
  const what = i.state === 'blocked' ? `blocked: ${i.blockers.map(b => `${b.code}${b.personIds ? ` (${b.personIds.length})` : ''}`).join(', ')}` : `${i.promoted} promoted, ${i.completing} completing, ${i.classes.length} classes`
  return `${i.state.padEnd(7)} ${i.kind === 'school' ? 'school      ' : 'kindergarten'} ${i.unitCode} ${i.unitId}: ${what}\n`
}

export function rolloverCommand(h: CliHelpers) {
  return async (args: string[], io: Out, env: Env): Promise<number> => {
    const v = h.parse(args, { data: { type: 'string' }, 'dry-run': { type: 'boolean' }, school: { type: 'string' }, 'as-of': { type: 'string' } })
    if (typeof v.data !== 'string' || v.data === '') throw h.usage('missing --data')
    const asOfText = v['as-of']
    if (asOfText !== undefined && (typeof asOfText !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asOfText) || Number.isNaN(Date.parse(asOfText)) || asOfText > chinaToday())) throw h.usage('--as-of must be a date YYYY-MM-DD, not after today')
    // Noon China time on that day.
    const asOf = typeof asOfText === 'string' ? new Date(`${asOfText}T04:00:00Z`) : undefined
    const paths = dataPaths(resolve(v.data))
    const config = nodeConfig(paths, env)
    if (!existsSync(paths.db)) throw new XuejiError('NODE_NOT_INITIALISED', `${paths.dir} has no database; run "xueji init" first`, 500)
    const storage = openStorage(paths.db)
    try {
      const identity = loadIdentity(storage, config)
      const svc = createRolloverService({
        storage, identity, codes: nodeCodes(config.codes.localDir),
        dates: datesFor(identity.code, config.calendar.dates, config.calendar.local),
        now: asOf ? () => asOf : undefined,
      })
      const unitId = typeof v.school === 'string' ? v.school : undefined
      if (v['dry-run'] === true) {
        const report = svc.dryRun({ unitId })
        io.out(`dry run of the rollover into ${report.schoolYear} (day ${report.day}, term ${report.term}):\n`)
        for (const i of report.items) {
          io.out(line(i))
          for (const b of i.blockers) io.out(`          ${b.message}\n`)
        }
        return 0
      }
      const report = svc.run({ unitId, onUnit: i => io.out(line(i)) })
      const count = (state: string) => report.items.filter(i => i.state === state).length
      io.out(`rollover into ${report.schoolYear} (term ${report.term}): ${count('done')} done, ${count('blocked')} blocked\n`)
      return count('blocked') > 0 ? 3 : 0
    } finally {
      storage.close()
    }
  }
}
