import { parseArgs, type ParseArgsConfig } from 'node:util'
import { statSync, existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { XuejiError } from '../config/errors.ts'
import { TIERS, type Tier } from '../config/schema.ts'
import { openStorage } from '../schema/db.ts'
import { initNode, loadIdentity } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { nodeConfig, startedEnv } from '../node/config.ts'
import { createRedis, checkRedis } from '../node/redis.ts'
import { VERSION } from '../node/version.ts'
import type { CliHelpers } from './sync-commands.ts'

/** A mistake in how the command was called: print usage, exit 2. */
export class UsageError extends Error {}

type Command = (args: string[], io: Out, env: Record<string, string | undefined>) => Promise<number>

/** The other commands' modules (each loaded when one of its commands runs: a CLI call loads only what it needs). */
const helpers: CliHelpers = { parse: (args, options) => parse(args, options) as Record<string, string | boolean | undefined>, usage: message => new UsageError(message) }
export const MODULES: Record<string, () => Promise<{ usage: string; commands: Record<string, Command> }>> = {
  audit: async () => {
    const m = await import('./audit-command.ts')
    return { usage: m.AUDIT_USAGE, commands: { audit: m.auditCommand(helpers) } }
  },
  backup: async () => {
    const m = await import('./backup-command.ts')
    return { usage: m.BACKUP_USAGE, commands: m.backupCommands(helpers) }
  },
  seed: async () => {
    const m = await import('./seed-command.ts')
    return { usage: m.SEED_USAGE, commands: { seed: m.seedCommand(helpers) } }
  },
  rollover: async () => {
    const m = await import('./rollover-command.ts')
    return { usage: m.ROLLOVER_USAGE, commands: { rollover: m.rolloverCommand(helpers) } }
  },
  sync: async () => {
    const m = await import('./sync-commands.ts')
    return { usage: m.SYNC_USAGE, commands: m.syncCommands(helpers) }
  },
}
/** Which module holds each of those commands. */
export const MODULE_OF: Record<string, keyof typeof MODULES> = {
  audit: 'audit',
  backup: 'backup',
  'backup-key': 'backup',
  restore: 'backup',
  seed: 'seed',
  rollover: 'rollover',
  sync: 'sync',
  'join-token': 'sync',
  enroll: 'sync',
}

/** The full usage text (it loads every command module, for their parts of it). */
async function usageText(): Promise<string> {
  const u = Object.fromEntries(await Promise.all(Object.entries(MODULES).map(async ([k, load]) => [k, (await load()).usage] as const)))
  return `xueji ${VERSION}: student electronic registration node (学籍系统节点)

Usage:
  xueji init   --tier province|city|county --code CODE --name NAME [--parent URL] --data DIR [--port N] [--admin-user NAME] [--plain-http]
  xueji start  --data DIR
  xueji status --data DIR
  xueji audit verify --data DIR
  xueji help

  init    create a node in DIR: database, Ed25519 key pair, identity, xueji.json
          (--parent is required for city and county nodes, refused for the province)
  start   run the node in DIR until SIGTERM or Ctrl-C
  status  print identity, versions, database size and Redis state
          init also creates the first bureau administrator (user "admin" unless --admin-user)
          and prints its password once; set XUEJI_INIT_ADMIN_PASSWORD to choose it instead.
          The node's session cookie is Secure (HTTPS only: serve it behind a TLS reverse proxy,
          whose X-Forwarded-For it trusts for client addresses);
          --plain-http only for a node browsers reach over plain HTTP (a trial on one machine)

Audit:${u.audit}
Backups (R-26.2):${u.backup}
Synthetic data:${u.seed}
The school year (R-21.1):${u.rollover}
Federation and sync:${u.sync}
Configuration: DIR/xueji.json, overridden by XUEJI_<SECTION>_<KEY> environment variables
(e.g. XUEJI_SERVER_PORT=8081, XUEJI_REDIS_URL=redis://127.0.0.1:6379). See config/README.md.
`
}

type Out = { out: (s: string) => void; err: (s: string) => void }

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
}

function required(values: Record<string, unknown>, ...names: string[]): void {
  for (const n of names) if (values[n] === undefined || values[n] === '') throw new UsageError(`missing --${n}`)
}

async function init(args: string[], io: Out, env: Record<string, string | undefined>): Promise<number> {
  const v = parse(args, { tier: { type: 'string' }, code: { type: 'string' }, name: { type: 'string' }, parent: { type: 'string' }, data: { type: 'string' }, port: { type: 'string' }, 'admin-user': { type: 'string' }, 'plain-http': { type: 'boolean' } })
  required(v, 'tier', 'code', 'name', 'data')
  if (!TIERS.includes(v.tier as Tier)) throw new UsageError(`--tier must be one of ${TIERS.join(', ')}`)
  if (!/^[0-9]{6}$/.test(v.code!)) throw new UsageError('--code must be a 6-digit GB/T 2260 division code, e.g. 330106')
  // The code's shape is its tier's (a city's area is its first four digits, area.ts): a city
  // initialised with a county's code would claim the whole city's area, and the reverse no parent enrols.
  const { codeFitsTier } = await import('../sync/enrolment.ts')
  if (!codeFitsTier(v.code!, v.tier as Tier)) throw new UsageError(`--code ${v.code} is not a ${v.tier}'s division code (province: ..0000, city: ....00, county: neither, e.g. 330000, 330100, 330106)`)
  if (v.tier !== 'province' && !v.parent) throw new UsageError(`--parent URL is required for a ${v.tier} node`)
  if (v.tier === 'province' && v.parent) throw new UsageError('the province node has no parent; drop --parent')
  if (v.port !== undefined && !/^[0-9]+$/.test(v.port)) throw new UsageError('--port must be a number')
  const dataDir = resolve(v.data!)
  const { identity, paths, admin } = await initNode({
    dataDir,
    tier: v.tier as Tier,
    code: v.code!,
    name: v.name!,
    parentUrl: v.parent ?? null,
    // A deployed node is served over HTTPS (R-25.2): its session cookie is Secure unless told otherwise.
    // Behind its TLS reverse proxy every request comes from the proxy: the client's address (the
    // per-address login throttle, the audit log) is the proxy's X-Forwarded-For, trusted because
    // the node listens on loopback only.
    config: { server: { ...(v.port ? { port: Number(v.port) } : {}), trustProxy: !v['plain-http'] }, security: { cookieSecure: !v['plain-http'] } },
    adminUsername: v['admin-user'],
    // From the environment, not an argument: arguments are visible to every user in `ps`.
    adminPassword: env.XUEJI_INIT_ADMIN_PASSWORD || undefined,
  })
  const password = admin.password
    ? `  password: ${admin.password}\n  (shown only this once: write it down; TOTP enrolment follows at the first login)\n`
    : '  password: as given in XUEJI_INIT_ADMIN_PASSWORD\n'
  const cookie = v['plain-http'] ? 'not Secure (--plain-http: only for plain HTTP on a trusted network)' : 'Secure (serve the node over HTTPS, behind a TLS reverse proxy that sets X-Forwarded-For)'
  io.out(`initialised ${identity.tier} node ${identity.code} ${identity.name}\n  data:   ${paths.dir}\n  key id: ${identity.kid}\n  session cookie: ${cookie}\nfirst bureau administrator (教育行政部门管理员):\n  user:     ${admin.username}\n${password}start it with: xueji start --data ${paths.dir}\n`)
  return 0
}

async function start(args: string[], io: Out, env: Record<string, string | undefined>): Promise<number> {
  const v = parse(args, { data: { type: 'string' } })
  required(v, 'data')
  // The old generation may grow to twice what survived the last full collection before the next
  // one starts. With V8's own factor (about 1.5 for a node's 47 MB heap) the room left stays below
  // the young generation's size, and V8 then marks again as soon as it finishes: on a county of
  // 100,000 students one full collection every 0.4 s, its marking threads taking the cores from
  // the database readers (node/README.md, the bench:search figures before and after).
  setFlagsFromString('--heap-growing-percent=100')
  // Without allocation-site pretenuring, what a request allocates is born in the young generation.
  // With it, V8 allocated some of each request's objects straight into the old generation once such
  // objects had been seen surviving (--trace-pretenuring-statistics: sites of one object a request,
  // all found alive), and the young objects these pointed to then outlived every scavenge until
  // the next full collection. On /healthz at one client: 790 KB kept and promoted at each scavenge,
  // pauses of the main thread 2.5-3.4 ms, against 1 KB and 0.6 ms without (--trace-gc-nvp); a
  // search by ID number 1 MB and 2-5 ms against 7 KB and 0.6-1.3 ms. The city's and province's CPU
  // in bench:sync's (e) did not change (three alternating runs).
  setFlagsFromString('--no-allocation-site-pretenuring')
  const { startNode } = await import('../node/server.ts')
  // The handlers go in before the start: the server answers /readyz as soon as it listens, and a
  // SIGTERM between that and the end of the start (a supervisor, a test that saw it ready) must
  // still shut it down cleanly, not kill it by the signal's default action (a CI run did). A
  // signal during the start stops the node once started; a second one ends the process at once
  // (Ctrl-C twice on a start that hangs).
  let early: string | undefined
  let onSignal = (signal: string): void => {
    if (early) process.exit(1)
    early = signal
  }
  process.on('SIGTERM', () => onSignal('SIGTERM'))
  process.on('SIGINT', () => onSignal('SIGINT'))
  const node = await startNode(resolve(v.data!), env)
  io.out(`${node.identity.tier} node ${node.identity.code} listening on ${node.url}\n`)
  return await new Promise<number>(done => {
    let stopping = false
    const stop = (signal: string) => {
      // Ctrl-C reaches every process of the terminal's group, and a supervisor may follow up
      // with SIGTERM: one shutdown is enough.
      if (stopping) return
      stopping = true
      node.server.log.info({ signal }, 'shutting down')
      const timer = setTimeout(() => {
        node.server.log.error('graceful shutdown timed out')
        done(1)
      }, node.server.config.server.shutdownTimeoutMs)
      node.stop().then(
        () => {
          clearTimeout(timer)
          done(0)
        },
        err => {
          node.server.log.error({ err }, 'shutdown failed')
          done(1)
        },
      )
    }
    onSignal = stop
    if (early) stop(early)
  })
}

async function status(args: string[], io: Out, env: Record<string, string | undefined>): Promise<number> {
  const v = parse(args, { data: { type: 'string' } })
  required(v, 'data')
  const paths = dataPaths(resolve(v.data!))
  const config = nodeConfig(paths, env)
  if (!existsSync(paths.db)) throw new XuejiError('NODE_NOT_INITIALISED', `${paths.dir} has no database; run "xueji init" first`, 500)
  const storage = openStorage(paths.db, { migrate: false })
  try {
    const identity = loadIdentity(storage, config)
    const sqliteVersion = (storage.sqlite.prepare('select sqlite_version() v').get() as { v: string }).v
    const migrations = (storage.sqlite.prepare("select count(*) n from sqlite_master where name = '__drizzle_migrations'").get() as { n: number }).n
      ? (storage.sqlite.prepare('select count(*) n from __drizzle_migrations').get() as { n: number }).n
      : 0
    const size = ['', '-wal'].reduce((sum, s) => sum + (existsSync(paths.db + s) ? statSync(paths.db + s).size : 0), 0)
    const redis = createRedis(config.redis.url)
    let redisState = 'ok (maxmemory-policy noeviction)'
    try {
      await checkRedis(redis, config.redis.url, 2000)
    } catch (err) {
      redisState = `PROBLEM: ${(err as Error).message}`
    } finally {
      redis.disconnect()
    }
    io.out(
      [
        `node:       ${identity.tier} ${identity.code} ${identity.name}`,
        `parent:     ${identity.parentUrl ?? '(none: province)'}`,
        `key id:     ${identity.kid}`,
        `created:    ${identity.createdAt}`,
        `versions:   xueji ${VERSION}, node ${process.version}, sqlite ${sqliteVersion}, ${migrations} migrations applied`,
        `database:   ${paths.db} (${(size / 1024).toFixed(0)} KiB)`,
        // Names only: a value (a Redis URL) may hold a password.
        `config:     ${paths.config}${Object.keys(startedEnv(paths)).length ? ` + overrides of the last start: ${Object.keys(startedEnv(paths)).join(', ')}` : ''}`,
        `listen:     ${config.server.host}:${config.server.port}`,
        `redis:      ${config.redis.url.replace(/\/\/[^@/]*@/, '//***@')} prefix ${config.redis.prefix}: ${redisState}`,
        '',
      ].join('\n'),
    )
  } finally {
    storage.close()
  }
  return 0
}

const COMMANDS: Record<string, Command> = { init, start, status }

/** The command's function: one of this file's, or from its module (loaded now). */
async function commandOf(name: string): Promise<Command | undefined> {
  if (Object.hasOwn(COMMANDS, name)) return COMMANDS[name]
  const module = Object.hasOwn(MODULE_OF, name) ? MODULE_OF[name] : undefined
  return module ? (await MODULES[module]()).commands[name] : undefined
}

/** Runs one CLI invocation; returns the exit code. Never lets a stack trace reach the user. */
export async function main(argv: string[], env: Record<string, string | undefined>, io: Out): Promise<number> {
  const [command, ...rest] = argv
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    ;(command ? io.out : io.err)(await usageText())
    return command ? 0 : 2
  }
  try {
    const run = await commandOf(command)
    if (!run) throw new UsageError(`unknown command "${command}"`)
    return await run(rest, io, env)
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`xueji: ${err.message}\n\n${await usageText()}`)
      return 2
    }
    if (err instanceof XuejiError) {
      io.err(`xueji: error [${err.code}]: ${err.message}\n`)
      return 1
    }
    io.err(`xueji: unexpected error: ${(err as Error).message}\n`)
    return 1
  }
}
