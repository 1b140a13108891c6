import { join } from 'node:path'

/** Layout of a node's data directory. */
export function dataPaths(dataDir: string) {
  return {
    dir: dataDir,
    config: join(dataDir, 'xueji.json'),
    db: join(dataDir, 'xueji.db'),
    keys: join(dataDir, 'keys'),
    /** The configuration overrides of the last `xueji start` (node/config.ts). */
    started: join(dataDir, 'xueji.started.json'),
    /** Left by `xueji restore` in a child node's directory until `xueji sync rebuild` ran (node/backup/). */
    restorePending: join(dataDir, 'restore-pending-rebuild.json'),
  }
}
