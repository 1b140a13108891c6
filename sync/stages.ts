/**
 * The time each stage of a change set took at this node (issue 15 (g)): milliseconds measured
 * with `performance.now()` and written as one debug log line per change set and stage group
 * (`STAGE_LOG_MSG`), which `npm run bench:sync` reads back. Nothing else consumes them.
 *
 * Sending side: `pack` (outbox rows read and cut into change sets), `sign` (canonical body,
 * hash, manifest JWS), `enqueue` (stored → this node starts sending it: waiting for the push in progress and any
 * change set ahead of it), `send` (the request to the parent until its answer), `receipt`
 * (receipt verified and recorded). A relay's `relay` is `enqueue` for another origin's change
 * set. Receiving side: `receive` (request start → body read and parsed by HTTP), `parse` (the
 * body text parsed and checked canonical), `verify` (signature and hash), `check` (chain checks,
 * after waiting for this origin's earlier change sets), `apply` (rows checked and written),
 * `commit` (change set recorded and committed), `receipt` (the signed receipt). A large body's
 * hash, canonical parse, field checks and compression on the checking thread (inbox.ts
 * `verifyReceived`) are counted in `verify`, `parse`, `apply` and `check` as if made here, beside
 * this thread's own share.
 */

export const STAGES = ['pack', 'sign', 'enqueue', 'send', 'receive', 'parse', 'verify', 'check', 'apply', 'commit', 'receipt', 'relay'] as const

export type Stage = (typeof STAGES)[number]

/** Milliseconds per stage. */
export type StageTimes = Partial<Record<Stage, number>>

/** The message of the debug log line that carries `{ changeSet, rows, stages }`. */
export const STAGE_LOG_MSG = 'change set stages'

/** Adds the time since `since` to `stage` and returns now. */
export function lap(times: StageTimes, stage: Stage, since: number): number {
  const now = performance.now()
  times[stage] = (times[stage] ?? 0) + (now - since)
  return now
}

/** Rounds every figure to 0.01 ms for the log line. */
export function rounded(times: StageTimes): StageTimes {
  const out: StageTimes = {}
  for (const [k, v] of Object.entries(times) as [Stage, number][]) out[k] = Math.round(v * 100) / 100
  return out
}
