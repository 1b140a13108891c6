/**
 * The BullMQ wiring of the sync layer: queue names in one place, thin workers around the
 * processors of sync/upstream.ts and the packer. Jobs carry ids only (an origin's division code
 * and a seq, never row data); SQLite holds everything else, so a lost job is rebuilt by the
 * reconciler (sync/service.ts) and a duplicated one finds nothing left to do.
 *
 * Failure policy: a refusal by the parent (4xx except 429, bad signatures) is unrecoverable;
 * anything else is retried with exponential backoff and jitter; while the parent link is in
 * backoff, a job is moved to "delayed" until then rather than failed.
 */
import { DelayedError, Queue, UnrecoverableError, Worker, type Job } from 'bullmq'
import type { Redis } from 'ioredis'
import { XuejiError } from '../config/errors.ts'
import { isRefusal } from './inbox.ts'
import { backoffDelay, LinkBackoff, type SyncLog } from './upstream.ts'
import { within } from '../config/within.ts'

/** Every sync queue. */
export const SYNC_QUEUES = {
  /** Send an origin's unacknowledged change sets to the parent. Data `{ origin }`. */
  push: 'sync-push',
  /** Pack the outbox into change sets (also run in-process after each commit). */
  pack: 'sync-pack',
  /** Pull downward commands from the parent and apply ours. */
  pull: 'sync-pull',
  /** Send the anti-entropy digest. */
  digest: 'sync-digest',
  /** Send (or relay, or re-send) death reports: the priority path of, never behind `push`. */
  death: 'sync-death',
} as const

export type SyncQueueName = keyof typeof SYNC_QUEUES

/** Processors per queue; each gets the job's data only. */
export type SyncProcessors = Record<SyncQueueName, (data: Record<string, string>) => Promise<unknown>>

/** Queues for adding jobs (the node, and `xueji sync push` from another process). */
export interface SyncQueues {
  /** Adds a job; `id` dedupes (a job with that id waiting or delayed is not added twice). */
  add(queue: SyncQueueName, id: string, data?: Record<string, string>): Promise<void>
  counts(): Promise<Record<SyncQueueName, Record<string, number>>>
  close(): Promise<void>
}

/** Longest wait for queues and workers to close; Redis may be down at shutdown. */
const CLOSE_WAIT_MS = 5000

const JOB_OPTIONS = {
  attempts: 25,
  backoff: { type: 'xueji' },
  removeOnComplete: true,
  // SQLite records failures (sync_halts, sync_link); keeping failed jobs would only block the
  // reconciler from re-adding the same job id later.
  removeOnFail: true,
}

/** Opens the queues on a connection of their own (duplicated from `redis`). */
export function openSyncQueues(redis: Redis, prefix: string): SyncQueues {
  const connection = redis.duplicate()
  const queues = Object.fromEntries(
    Object.entries(SYNC_QUEUES).map(([k, name]) => [k, new Queue(name, { connection, prefix, defaultJobOptions: JOB_OPTIONS })]),
  ) as Record<SyncQueueName, Queue>
  for (const q of Object.values(queues)) q.on('error', () => undefined) // reported by /readyz and the reconciler
  return {
    async add(queue, id, data = {}) {
      await queues[queue].add(queue, data, { jobId: id.replaceAll(':', '-') })
    },
    async counts() {
      const out = {} as Record<SyncQueueName, Record<string, number>>
      for (const [k, q] of Object.entries(queues)) out[k as SyncQueueName] = await q.getJobCounts('waiting', 'active', 'delayed', 'failed')
      return out
    },
    async close() {
      await within(Promise.all(Object.values(queues).map(q => q.close().catch(() => undefined))), CLOSE_WAIT_MS)
      connection.disconnect()
    },
  }
}

/** Starts one worker per queue (concurrency 1: a link sends in order, one thing at a time). */
export function startSyncWorkers(redis: Redis, prefix: string, processors: SyncProcessors, log: SyncLog, retry: { baseMs: number; maxMs: number }): { close(): Promise<void> } {
  const connection = redis.duplicate()
  const workers = Object.entries(SYNC_QUEUES).map(([key, name]) => {
    const run = processors[key as SyncQueueName]
    const worker = new Worker(
      name,
      async (job: Job, token?: string) => {
        try {
          return await run(job.data as Record<string, string>)
        } catch (err) {
          if (err instanceof LinkBackoff) {
            await job.moveToDelayed(err.until, token)
            throw new DelayedError()
          }
          if (err instanceof XuejiError && (err.code === 'SYNC_NOT_ENROLLED' || isRefusal(err))) {
            throw new UnrecoverableError(`${err.code}: ${err.message}`)
          }
          log.child({ job: job.id, queue: name }).warn({ err: (err as Error).message, attempt: job.attemptsMade + 1 }, 'sync job failed, will retry')
          throw err
        }
      },
      { connection, prefix, concurrency: 1, settings: { backoffStrategy: (attempts: number) => backoffDelay(attempts, retry.baseMs, retry.maxMs) } },
    )
    worker.on('error', () => undefined) // connection errors: Redis away; the reconciler catches up
    return worker
  })
  return {
    async close() {
      // A job in flight is finished when Redis answers; when it does not (it is down), waiting
      // would hang the shutdown, and SQLite already holds everything the job would have done.
      const force = connection.status !== 'ready'
      await within(Promise.all(workers.map(w => w.close(force).catch(() => undefined))), force ? 0 : CLOSE_WAIT_MS)
      void Promise.all(workers.map(w => w.disconnect().catch(() => undefined)))
      connection.disconnect()
    },
  }
}
