/**
 * `xueji backup-key`, `xueji backup` and `xueji restore`. They work beside a running node
 * (the snapshot is one read transaction of a connection of their own) or on a stopped one.
 * Defaults for target, key and SFTP come from the node's `backup` configuration section.
 */
import { resolve } from 'node:path'
import { existsSync } from 'node:fs'
import { XuejiError } from '../config/errors.ts'
import { loadConfigFile } from '../config/load.ts'
import { openStorage } from '../schema/db.ts'
import { loadIdentity } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { createBackup, createBackupKey, loadBackupKey, restoreBackup } from '../node/backup/service.ts'
import { parseTarget } from '../node/backup/rules.ts'
import { openStore } from '../node/backup/targets.ts'
import type { CliHelpers } from './sync-commands.ts'

type Out = { out: (s: string) => void; err: (s: string) => void }
type Env = Record<string, string | undefined>

export const BACKUP_USAGE = `
  xueji backup-key --out FILE
          make a backup key (32 random bytes, 0600); keep it outside the data directory and a
          copy away from the node: without it no backup can be restored
  xueji backup  --data DIR [--to TARGET] [--key FILE] [--identity FILE] [--host-key SHA256:…] [--prune]
          write an encrypted backup (database, keys, xueji.json, manifest of hashes) to TARGET:
          a directory or sftp://user@host[:port]/path; --prune applies backup.keep* afterwards
  xueji backup list --data DIR [--to TARGET] [--identity FILE] [--host-key SHA256:…]
  xueji restore --from TARGET [--backup NAME] --key FILE --data NEWDIR [--port N] [--identity FILE] [--host-key SHA256:…]
          check the backup (manifest MAC, every hash) and restore it into the new directory NEWDIR;
          without --backup the newest one (a target holding several nodes' backups needs --backup);
          then, for a city or county node: xueji sync rebuild --data NEWDIR, and xueji start; a
          restored node with children issues commands to each child's subtree again once that
          child has pulled and reported what it holds (xueji sync status, xueji sync release-hold)
`

const sftpOptions = { identity: { type: 'string' }, 'host-key': { type: 'string' } } as const

export function backupCommands(h: CliHelpers): Record<string, (args: string[], io: Out, env: Env) => Promise<number>> {
  const need = (v: Record<string, unknown>, ...names: string[]) => {
    for (const n of names) if (v[n] === undefined || v[n] === '') throw h.usage(`missing --${n}`)
  }
  const str = (x: unknown) => (typeof x === 'string' && x !== '' ? x : null)
  return {
    'backup-key': async (args, io) => {
      const v = h.parse(args, { out: { type: 'string' } })
      need(v, 'out')
      createBackupKey(String(v.out))
      io.out(`backup key written to ${v.out} (mode 0600)\nkeep it outside the data directory, and a copy away from the node: without it no backup can be restored\n`)
      return 0
    },
    backup: async (args, io, env) => {
      const list = args[0] === 'list'
      const v = h.parse(list ? args.slice(1) : args, { data: { type: 'string' }, to: { type: 'string' }, key: { type: 'string' }, prune: { type: 'boolean' }, ...sftpOptions })
      need(v, 'data')
      const paths = dataPaths(resolve(String(v.data)))
      const config = loadConfigFile(paths.config, env)
      if (!existsSync(paths.db)) throw new XuejiError('NODE_NOT_INITIALISED', `${paths.dir} has no database; run "xueji init" first`, 500)
      const target = str(v.to) ?? config.backup.target
      if (!target) throw h.usage('missing --to (or backup.target in xueji.json)')
      const store = await openStore(parseTarget(target), { identityFile: str(v.identity) ?? config.backup.sftpIdentityFile, hostKey: str(v['host-key']) ?? config.backup.sftpHostKey })
      try {
        if (list) {
          const names = (await store.list()).filter(n => n.startsWith(`xueji-${config.node.code}-`))
          io.out(names.length ? names.join('\n') + '\n' : 'no backup of this node in the target\n')
          return 0
        }
        const key = loadBackupKey(str(v.key) ?? config.backup.keyFile, paths.dir)
        const storage = openStorage(paths.db, { migrate: false })
        let node: { code: string; tier: string }
        try {
          const identity = loadIdentity(storage, config)
          node = { code: identity.code, tier: identity.tier }
        } finally {
          storage.close()
        }
        const { keepDaily: daily, keepWeekly: weekly, keepMonthly: monthly } = config.backup
        const r = await createBackup({ dataDir: paths.dir, store, key, node, retention: v.prune ? { daily, weekly, monthly, timeZone: config.calendar.timezone } : undefined })
        io.out(`backup ${r.name}: ${r.files} file(s), ${(r.bytes / 1048576).toFixed(1)} MiB, written to ${target}\n`)
        if (r.pruned.length) io.out(`pruned: ${r.pruned.join(', ')}\n`)
        return 0
      } finally {
        await store.close()
      }
    },
    restore: async (args, io) => {
      const v = h.parse(args, { from: { type: 'string' }, backup: { type: 'string' }, key: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' }, ...sftpOptions })
      need(v, 'from', 'key', 'data')
      if (v.port !== undefined && !/^[0-9]+$/.test(String(v.port))) throw h.usage('--port must be a number')
      const key = loadBackupKey(String(v.key))
      const store = await openStore(parseTarget(String(v.from)), { identityFile: str(v.identity), hostKey: str(v['host-key']) })
      try {
        // Without --backup: the newest of the one node the target holds (several: refused, BACKUP_NAME_REQUIRED).
        const name = str(v.backup) ?? undefined
        const dataDir = resolve(String(v.data))
        const r = await restoreBackup({ store, name, key, dataDir, port: v.port !== undefined ? Number(v.port) : undefined })
        io.out(`restored ${r.name} (${r.node.tier} ${r.node.code}, taken ${r.createdAt}): ${r.files} file(s) checked against the manifest into ${dataDir}\n`)
        // The children may hold commands this node issued after its backup (sync/downward.ts `holdIssuing`).
        if (r.issuingHeld.length) io.out(`commands to ${r.issuingHeld.join(', ')} (and below) are issued again once each has pulled and reported what it holds; xueji sync status lists who has not\n`)
        io.out(r.rebuildPending ? `next: xueji sync rebuild --data ${dataDir}   (fetches back from the parent what the backup missed), then xueji start --data ${dataDir}\n` : `next: xueji start --data ${dataDir}\n`)
        return 0
      } finally {
        await store.close()
      }
    },
  }
}
