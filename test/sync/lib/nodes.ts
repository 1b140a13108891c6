/**
 * In-process federations for sync tests: real node databases and keys (made by `initNode`),
 * sync services joined by the in-memory transport, no HTTP. Queues are off unless `redis` is
 * given: tests drive packing and pushing directly.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import type { Test } from 'tap'
import type { Redis } from 'ioredis'
import { loadConfig } from '../../../config/load.ts'
import type { Tier } from '../../../config/schema.ts'
import { openStorage, type Storage } from '../../../schema/db.ts'
import { initNode } from '../../../node/identity.ts'
import { createSyncService, type SyncService } from '../../../sync/service.ts'
import { codes } from '../../../schema/codes/index.ts'
import { createReplicaRules } from '../../../node/services/records/replica-rules.ts'
import type { RowRules } from '../../../sync/apply.ts'
import { createMemoryTransport, type ParentTransport } from '../../../sync/transport.ts'
import type { SyncLog } from '../../../sync/upstream.ts'
import type { CommandHandler } from '../../../sync/downward.ts'

export interface TestSyncNode {
  code: string
  tier: Tier
  storage: Storage
  sync: SyncService
  /** The rules its applier has (replica-rules.ts). */
  rules?: RowRules
  dataDir: string
  /** Cut or restore this node's link to its parent (in-memory transport only). */
  link: { up: boolean }
}

export const silentLog: SyncLog = { info() {}, warn() {}, error() {}, debug() {}, child: () => silentLog }

const NAMES: Record<string, string> = { '330000': '浙江省教育厅', '330100': '杭州市教育局', '330106': '西湖区教育局', '330108': '滨江区教育局', '330200': '宁波市教育局' }

export async function makeNode(
  t: Test,
  opts: {
    tier: Tier; code: string; parent?: TestSyncNode; redis?: Redis; prefix?: string; sync?: Record<string, unknown>; transport?: (token: () => Promise<string>) => ParentTransport
    /** Downward command handlers of this node (given the node's storage, which they usually write through). */
    handlers?: (storage: Storage) => ReadonlyMap<string, CommandHandler>
    /** Check large received bodies on a checking thread, as a node does (node/plugins/sync.ts); default true. */
    checkThread?: boolean
    /** An existing node directory (a restored node, `restoreNode`): not initialised, not enrolled again. */
    dataDir?: string
  },
): Promise<TestSyncNode> {
  // Not t.testdir(): a second call empties the directory of the first node.
  const dataDir = opts.dataDir ?? join(mkdtempSync(join(tmpdir(), 'xueji-sync-')), opts.code)
  const parentUrl = opts.tier === 'province' ? null : 'http://127.0.0.1:1'
  if (!opts.dataDir) await initNode({ dataDir, tier: opts.tier, code: opts.code, name: NAMES[opts.code] ?? opts.code, parentUrl })
  const config = loadConfig({ node: { tier: opts.tier, code: opts.code, name: 'n', parentUrl }, sync: { debounceMs: 5, reconcileIntervalMs: 1000, commandPollMs: 200, retryBaseMs: 20, retryMaxMs: 200, ...opts.sync } })
  const storage = openStorage(join(dataDir, 'xueji.db'))
  const link = { up: true }
  const parent = opts.parent
  const rules = createReplicaRules({ storage, self: { code: opts.code, tier: opts.tier }, codes, ...(opts.checkThread !== false ? { checkThread: { codesDir: null } } : {}) })
  const sync = createSyncService({
    storage,
    self: { code: opts.code, tier: opts.tier, name: NAMES[opts.code] ?? opts.code },
    rules,
    parentUrl,
    config: config.sync,
    log: silentLog,
    redis: opts.redis,
    prefix: opts.prefix,
    handlers: opts.handlers?.(storage),
    makeTransport: opts.transport ?? (parent ? token => createMemoryTransport(() => parent.sync.receiver, token, { reachable: () => link.up }) : undefined),
  })
  t.teardown(async () => {
    await sync.close()
    storage.close()
    rmSync(dirname(dataDir), { recursive: true, force: true })
  })
  const node = { code: opts.code, tier: opts.tier, storage, sync, rules, dataDir, link }
  if (parent && !opts.dataDir) {
    const { token } = parent.sync.joinToken({ code: opts.code, tier: opts.tier as 'city' | 'county' })
    await sync.enrol(token)
  }
  return node
}

/**
 * A backup of `node` as `xueji backup` takes it (node/backup/README.md): a consistent copy of its
 * database (`VACUUM INTO`); its keys and configuration do not change, so they stay in its directory.
 */
export function backupNode(node: TestSyncNode): string {
  const file = join(dirname(node.dataDir), `backup-${Date.now()}-${Math.random().toString(36).slice(2)}.db`)
  node.storage.sqlite.prepare('vacuum into ?').run(file)
  return file
}

/**
 * `node` lost and restored from `backup` (`xueji restore`): its sync service and database closed,
 * the backup's database put in their place, a new sync service started over it, not rebuilt yet
 * (`xueji sync rebuild` is the test's next step). `node` itself is the restored node from then on
 * (returned too), so that its children's transports reach the restored one.
 */
export async function restoreNode(
  t: Test,
  node: TestSyncNode,
  backup: string,
  opts: { parent: TestSyncNode; sync?: Record<string, unknown>; handlers?: (storage: Storage) => ReadonlyMap<string, CommandHandler> },
): Promise<TestSyncNode> {
  await node.sync.close()
  node.storage.close()
  const db = join(node.dataDir, 'xueji.db')
  for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(f, { force: true })
  copyFileSync(backup, db)
  const fresh = await makeNode(t, { tier: node.tier, code: node.code, parent: opts.parent, sync: opts.sync, handlers: opts.handlers, dataDir: node.dataDir })
  // Its children reach it through this same object (their transports read `parent.sync`).
  return Object.assign(node, fresh)
}

/** province 330000 ← city 330100 ← county 330106 (+ optional second county 330108). */
export async function makeFederation(t: Test, opts: { secondCounty?: boolean; sync?: Record<string, unknown>; countyHandlers?: (storage: Storage) => ReadonlyMap<string, CommandHandler> } = {}) {
  const province = await makeNode(t, { tier: 'province', code: '330000', sync: opts.sync })
  const city = await makeNode(t, { tier: 'city', code: '330100', parent: province, sync: opts.sync })
  const county = await makeNode(t, { tier: 'county', code: '330106', parent: city, sync: opts.sync, handlers: opts.countyHandlers })
  const county2 = opts.secondCounty ? await makeNode(t, { tier: 'county', code: '330108', parent: city, sync: opts.sync }) : undefined
  return { province, city, county, county2 }
}

/** Packs and pushes until nothing moves: county → city → province. */
export async function settle(...nodes: TestSyncNode[]): Promise<void> {
  for (let round = 0; round < 50; round++) {
    let moved = 0
    for (const n of nodes) {
      moved += (await n.sync.pack()).length
      if (n.tier === 'province') continue
      const origins = n.storage.sqlite.prepare('select distinct origin from sync_change_sets where acked_at is null').pluck().all() as string[]
      for (const o of origins) moved += (await n.sync.pushOrigin(o)).acked
      if (n.sync.registry.pendingRelay().length > 0) {
        await n.sync.pushOrigin(n.code)
        moved++
      }
    }
    if (moved === 0) return
  }
  throw new Error('federation did not settle')
}
