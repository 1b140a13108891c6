/**
 * The working-day calendar (config/calendar.ts): official days off and make-up working days of
 * 2026, the provisional answer for a year without data, local overrides.
 */
import t from 'tap'
import { createWorkingCalendar } from '../../config/calendar.ts'
import { loadConfig } from '../../config/load.ts'

const cal = createWorkingCalendar()

t.test('R-19.4 the 2026 Spring Festival is off and its make-up Saturdays are working days', async t => {
  for (const d of ['2026-02-15', '2026-02-16', '2026-02-20', '2026-02-23', '2026-01-01', '2026-10-07']) t.strictSame(cal.isWorkingDay(d), { working: false, provisional: false }, `${d} off`)
  for (const d of ['2026-02-14', '2026-02-28', '2026-01-04', '2026-10-10']) t.strictSame(cal.isWorkingDay(d), { working: true, provisional: false }, `${d} (weekend) works`)
  t.strictSame(cal.isWorkingDay('2026-03-07'), { working: false, provisional: false }, 'an ordinary Saturday is off')
  // Friday 13 Feb: 14 (Sat, make-up) is the 1st working day after, 24–27 Feb the 2nd–5th, 28 (Sat, make-up) the 6th, Monday 2 March the 7th.
  t.strictSame(cal.addWorkingDays('2026-02-13', 7), { date: '2026-03-02', provisional: false })
  t.strictSame(cal.workingDaysBetween('2026-02-13', '2026-03-02'), { days: 7, provisional: false })
  t.strictSame(cal.workingDaysBetween('2026-03-02', '2026-03-02'), { days: 0, provisional: false })
})

t.test('R-19.4 a year without an official calendar is counted on weekdays and marked provisional; configuration supplies it (R-30.1)', async t => {
  t.strictSame(cal.isWorkingDay('2027-01-01'), { working: true, provisional: true }, 'New Year 2027 unknown: a weekday, provisional')
  t.strictSame(cal.addWorkingDays('2026-12-28', 7), { date: '2027-01-06', provisional: true })
  t.strictSame(cal.addWorkingDays('2026-12-14', 7), { date: '2026-12-23', provisional: false }, 'within 2026: official')
  const config = loadConfig({ node: { tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://city.example/' }, calendar: { years: { '2027': { off: ['01-01..01-03'], work: [] } } } })
  const local = createWorkingCalendar(config.calendar.years)
  t.strictSame(local.addWorkingDays('2026-12-28', 7), { date: '2027-01-07', provisional: false }, 'with the year configured the answer is official')
  t.throws(() => loadConfig({ node: { tier: 'county', code: '330106', name: 'x', parentUrl: 'http://city.example/' }, calendar: { years: { '2027': { off: ['1/1'], work: [] } } } }), { code: 'CONFIG_INVALID' }, 'a malformed day is refused at start')
})
