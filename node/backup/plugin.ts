import fp from 'fastify-plugin'
import { dirname } from 'node:path'
import { backupDue, backupTime, parseTarget } from './rules.ts'
import { createBackup, latestBackup, loadBackupKey } from './service.ts'
import { openStore } from './targets.ts'

/** How often the scheduler looks at the clock, and how long it waits after a failed backup. */
const TICK_MS = 60_000
const RETRY_MS = 15 * 60_000

/**
 * The backup schedule: when `backup.at` is set, once a day after that time the node
 * backs itself up to `backup.target` with the online backup API on its own writer connection
 * (requests keep being served and writes keep committing), then prunes by `backup.keep*`.
 * A failure is logged and tried again after RETRY_MS.
 */
export default fp(
  async app => {
    const c = app.config.backup
    if (!c.at) return
    if (!c.target || !c.keyFile) {
      app.log.warn('backup.at is set but backup.target or backup.keyFile is not: no scheduled backup')
      return
    }
    const { at, target, keyFile } = c
    const sftp = { identityFile: c.sftpIdentityFile, hostKey: c.sftpHostKey }
    const timeZone = app.config.calendar.timezone
    const log = app.log.child({ component: 'backup' })
    let last: Date | null | undefined
    let notBefore = 0
    let running: Promise<void> | null = null
    const run = async () => {
      const store = await openStore(parseTarget(target), sftp)
      try {
        if (last === undefined) {
          const newest = await latestBackup(store, app.identity.code)
          last = newest ? backupTime(newest) : null
          if (!backupDue(new Date(), at, last, timeZone)) return
        }
        const r = await createBackup({
          dataDir: dirname(app.storage.sqlite.name),
          store,
          key: loadBackupKey(keyFile, dirname(app.storage.sqlite.name)),
          node: { code: app.identity.code, tier: app.identity.tier },
          storage: app.storage,
          retention: { daily: c.keepDaily, weekly: c.keepWeekly, monthly: c.keepMonthly, timeZone },
        })
        last = backupTime(r.name)
        log.info({ backup: r.name, files: r.files, bytes: r.bytes, pruned: r.pruned.length }, 'scheduled backup written')
      } finally {
        await store.close()
      }
    }
    const tick = () => {
      if (running || Date.now() < notBefore || (last !== undefined && !backupDue(new Date(), at, last, timeZone))) return
      running = run()
        .catch(err => {
          notBefore = Date.now() + RETRY_MS
          log.error({ code: (err as { code?: string }).code, err: (err as Error).message }, 'scheduled backup failed')
        })
        .finally(() => {
          running = null
        })
    }
    let timer: NodeJS.Timeout | undefined
    app.addHook('onReady', async () => {
      timer = setInterval(tick, TICK_MS)
      timer.unref()
      tick()
    })
    // Before the database closes: a backup under way finishes first.
    app.addHook('onClose', async () => {
      clearInterval(timer)
      await running
    })
  },
  { name: 'xueji-backup', dependencies: ['xueji-sync'] },
)
