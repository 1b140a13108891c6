import type { FastifyInstance } from 'fastify'

/**
 * A node's periodic upkeep (expired imports, abandoned transfers, overdue reviews, expired export
 * files): `task` runs when the node is ready and every `everyMs` after, on a timer that keeps no
 * process alive and stops at close. It answers how many things it did; more than none is logged
 * as `did` (under `key`), and a failure as `failed`, tried again at the next round.
 */
export function housekeeping(
  app: FastifyInstance,
  everyMs: number,
  task: () => number,
  log: { key: string; did: string; failed: string; level?: 'info' | 'warn' },
): () => void {
  const run = () => {
    try {
      const n = task()
      if (n > 0) app.log[log.level ?? 'info']({ [log.key]: n }, log.did)
    } catch (err) {
      app.log.error({ err }, log.failed)
    }
  }
  let timer: NodeJS.Timeout | undefined
  app.addHook('onReady', async () => {
    run()
    timer = setInterval(run, everyMs)
    timer.unref()
  })
  app.addHook('onClose', async () => clearInterval(timer))
  return run
}
