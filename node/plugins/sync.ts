import fp from 'fastify-plugin'
import { within } from '../../config/within.ts'
import { createSyncService, type SyncService } from '../../sync/service.ts'
import { CORRECTION_COMMAND, correctionHandler } from '../services/records/corrections.ts'
import { PROVINCE_DECISION_COMMAND } from '../change-requests/rules.ts'
import { createReplicaRules } from '../services/records/replica-rules.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The node's sync service (sync/service.ts): packer, inbox, queues, reconciler, status. */
    sync: SyncService
  }
}

/**
 * Exposes the sync service. Its queues, workers and reconciler start once the app is ready
 * and stop before the database and Redis close.
 */
export default fp(
  async app => {
    const self = { code: app.identity.code, tier: app.identity.tier, name: app.identity.name }
    const sync = createSyncService({
      storage: app.storage,
      self,
      rules: createReplicaRules({ storage: app.storage, self, codes: app.records.codes, checkThread: { codesDir: app.config.codes.localDir ?? null } }),
      parentUrl: app.identity.parentUrl,
      config: app.config.sync,
      log: app.log.child({ component: 'sync' }),
      redis: app.redis,
      prefix: app.config.redis.prefix,
      handlers: new Map([
        [CORRECTION_COMMAND, correctionHandler(app.records)],
        // The change-requests plugin registers after this one; the handler runs only once the node is up.
        [PROVINCE_DECISION_COMMAND, command => app.changeRequests.applyProvinceDecision(command)],
      ]),
    })
    app.decorate('sync', sync)
    // The first reconcile packs whatever the outbox holds, perhaps a backlog of a million rows: it
    // begins once the server listens, so that start-up and /readyz never wait on it. An app that
    // never listens (tests through inject) is reconciled by the timer and by its writes.
    app.addHook('onReady', () => sync.start({ reconcile: false }))
    app.addHook('onListen', () => sync.reconcileInBackground())
    // Bounded: with Redis gone, BullMQ may never confirm its shutdown, and the node must still
    // stop (SQLite holds everything; the next start reconciles).
    app.addHook('onClose', async () => {
      const stopped = await within(sync.close().then(() => true), app.config.server.shutdownTimeoutMs / 2)
      if (!stopped) app.log.warn('sync did not stop in time; closing anyway')
    })
  },
  { name: 'xueji-sync', dependencies: ['records'] },
)
