/**
 * The clock of the growth service in a running node: the real one. Only for a node process that a
 * test starts, which can only run the 公示 of and the reports behind it by waiting whole days,
 * it may run whole days ahead: `XUEJI_TEST_CLOCK_OFFSET_DAYS=N` (an integer, 0–366) in the
 * environment of a process started from the test bundle of the sources
 * (`scripts/lib/node-bundle.mjs`, which esbuild builds with `XUEJI_TEST_BUNDLE` defined as true).
 * A node run from `dist/` (tsc) or through tsx never has that constant, so it ignores the variable
 * (and logs that it did): a production node cannot run on a shifted clock by accident. The offset
 * moves this service's dates only (its "today", deadlines and timestamps), nothing else of the node.
 */

/** Replaced by `true` in the bundle that node-bundle.mjs builds; undeclared (typeof: 'undefined') anywhere else. */
declare const XUEJI_TEST_BUNDLE: boolean | undefined

export const TEST_CLOCK_ENV = 'XUEJI_TEST_CLOCK_OFFSET_DAYS'

export interface GrowthClock {
  now: () => Date
  /** Days ahead of the real clock (0: the real clock). */
  offsetDays: number
  /** Why the environment's offset was not used, if one was set. */
  ignored?: string
}

const DAY_MS = 86400000

/** The growth service's clock for this process from its environment (see above). */
export function growthClock(env: Record<string, string | undefined> = process.env, testBundle = typeof XUEJI_TEST_BUNDLE !== 'undefined' && XUEJI_TEST_BUNDLE === true): GrowthClock {
  const real: GrowthClock = { now: () => new Date(), offsetDays: 0 }
  const raw = env[TEST_CLOCK_ENV]
  if (raw === undefined || raw === '') return real
  if (!testBundle) return { ...real, ignored: `${TEST_CLOCK_ENV} is honoured only by node processes that tests start from the test bundle; this node uses the real clock` }
  if (!/^\d{1,3}$/.test(raw) || Number(raw) > 366) return { ...real, ignored: `${TEST_CLOCK_ENV} must be a whole number of days 0–366; the real clock is used` }
  const offsetDays = Number(raw)
  return { now: () => new Date(Date.now() + offsetDays * DAY_MS), offsetDays }
}
