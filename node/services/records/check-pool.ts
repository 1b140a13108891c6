import type { CheckedBody } from '../../../sync/apply.ts'
import { syncError, syncErrors, type SyncErrorCode } from '../../../sync/errors.ts'
import type { SelfNode } from '../../../sync/registry.ts'
import { createWorkerPool, workerScript, type WorkerError } from '../../worker-pool.ts'

/** A body to check (check-worker.ts). */
export interface CheckRequest {
  body: string
  hash?: string
  manifest: { hash: string; bytes: number; origin: string; seq: number }
  origin: SelfNode
  /** The validation's "now" (ISO): the applying node's clock at arrival. */
  now: string
  /** Whether to compress the body as stored: not when it came so (`SignedChangeSet.packed`). */
  pack: boolean
}

/** The checker's answer. */
export interface CheckReply extends Partial<CheckedBody> {
  id: number
  error?: WorkerError
}

/**
 * The checking thread of received change sets (`RowRules.checkBody`): one worker, started on the
 * first large body, beside the thread that applies. While the node writes one change set, the
 * next ones of a sender's window are hashed, parsed, validated and compressed there. A refusal comes back as
 * the same `SYNC_…` error the inline checks throw.
 */
export function createCheckPool(codesDir: string | null) {
  const pool = createWorkerPool<CheckRequest, CheckReply>(() => workerScript(import.meta.url, 'node/services/records/check-worker.ts'), { codesDir }, 1, 'change-set checker')
  return {
    async check(signed: { body: string; hash?: string; packed?: Uint8Array }, manifest: CheckRequest['manifest'], origin: SelfNode, now: Date): Promise<CheckedBody> {
      let reply: CheckReply
      try {
        reply = await pool.send({ body: signed.body, ...(signed.hash !== undefined ? { hash: signed.hash } : {}), manifest, origin, now: now.toISOString(), pack: signed.packed === undefined })
      } catch (err) {
        const e = err as Error & { code?: string; details?: Record<string, unknown> }
        if (e.code !== undefined && e.code in syncErrors) throw syncError(e.code as SyncErrorCode, e.message, e.details ?? {})
        throw err
      }
      return { prechecked: reply.prechecked!, ...(reply.stored ? { stored: reply.stored } : {}), ms: reply.ms! }
    },
    close: () => pool.close(),
  }
}
