import { existsSync, mkdirSync, writeFileSync, chmodSync, readdirSync, renameSync, rmSync, mkdtempSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { loadConfig } from '../config/load.ts'
import type { Config, Tier } from '../config/schema.ts'
import { openStorage, type Storage } from '../schema/db.ts'
import { nodeIdentity, nodeKeys } from '../schema/node.ts'
import { generateNodeKeyPair, writePrivateKeyFile } from '../sync/keys.ts'
import { nodeError } from './errors.ts'
import { dataPaths } from './paths.ts'
import { VERSION } from './version.ts'
import { createAuthService } from './auth/service.ts'
import { checkPasswordPolicy } from './auth/passwords.ts'
import { SENSITIVE_CLASSES } from './auth/sensitive.ts'
import { createSecretsKey } from './auth/secrets.ts'
import { createAuditKey } from './auth/audit.ts'

/** 20 random characters from an alphabet without look-alikes (0/O, 1/l/I): about 116 bits. */
function generatePassword(): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789'
  return Array.from(randomBytes(20), b => alphabet[b % alphabet.length]).join('')
}

export interface NodeIdentity {
  tier: Tier
  code: string
  name: string
  parentUrl: string | null
  createdAt: string
  /** kid of the current signing key. */
  kid: string
}

export interface InitOptions {
  dataDir: string
  tier: Tier
  code: string
  name: string
  parentUrl: string | null
  /** Extra config written into xueji.json (server.port …). */
  config?: Record<string, unknown>
  /** User name of the first bureau administrator (default `admin`). */
  adminUsername?: string
  /** Its password; when absent one is generated and returned once. */
  adminPassword?: string
}

/** The first bureau administrator made by init; `password` only when it was generated. */
export interface InitialAdmin {
  id: string
  username: string
  password?: string
}

/**
 * `xueji init`: makes the data directory, the database, the Ed25519 key pair (private key 0600),
 * the secret key that encrypts secrets at rest (keys/secrets.key, 0600), the audit chain's HMAC key
 * (keys/audit.key, 0600) and the identity record, and writes xueji.json. Refuses a directory that
 * already holds anything.
 *
 * Atomic: everything is made in a temporary directory and moved into place only when complete,
 * so a failed init leaves nothing behind and can simply be run again. A new directory is one
 * rename; an existing empty one (a mount point, say) gets its entries moved in, xueji.json last,
 * so a node is never seen half-made.
 */
export async function initNode(opts: InitOptions): Promise<{ identity: NodeIdentity; paths: ReturnType<typeof dataPaths>; admin: InitialAdmin }> {
  const paths = dataPaths(opts.dataDir)
  if (existsSync(paths.config) || existsSync(paths.db)) {
    throw nodeError('NODE_ALREADY_INITIALISED', `${opts.dataDir} already holds a node (xueji.json or xueji.db exists); use another --data directory`)
  }
  const exists = existsSync(opts.dataDir)
  if (exists && readdirSync(opts.dataDir).length > 0) {
    throw nodeError('NODE_DATA_DIR_NOT_EMPTY', `${opts.dataDir} is not empty; init needs a new or empty directory (use another --data directory)`)
  }
  const fileConfig = { ...opts.config, node: { tier: opts.tier, code: opts.code, name: opts.name, parentUrl: opts.parentUrl } }
  loadConfig(fileConfig) // validate before anything is written
  // Checked before anything is written too: a refused password leaves nothing to clean up.
  if (opts.adminPassword !== undefined) checkPasswordPolicy(opts.adminPassword)

  // Beside the target (same file system, so the final rename is atomic), or inside an existing one.
  if (!exists) mkdirSync(dirname(opts.dataDir), { recursive: true })
  const temp = exists ? mkdtempSync(join(opts.dataDir, '.xueji-init-')) : mkdtempSync(join(dirname(opts.dataDir), `.${basename(opts.dataDir)}.init-`))
  try {
    const made = await makeNode(dataPaths(temp), opts, fileConfig)
    if (!exists) renameSync(temp, opts.dataDir)
    else {
      for (const entry of ['keys', 'xueji.db', 'xueji.json']) renameSync(join(temp, entry), join(opts.dataDir, entry))
      rmSync(temp, { recursive: true, force: true })
    }
    return { ...made, paths }
  } catch (err) {
    rmSync(temp, { recursive: true, force: true })
    throw err
  }
}

/** The node's files, made in `paths.dir` (init's temporary directory); xueji.json is written last. */
async function makeNode(paths: ReturnType<typeof dataPaths>, opts: InitOptions, fileConfig: Record<string, unknown>): Promise<{ identity: NodeIdentity; admin: InitialAdmin }> {
  const config = loadConfig(fileConfig)
  mkdirSync(paths.keys, { mode: 0o700 })
  chmodSync(paths.keys, 0o700)
  const key = await generateNodeKeyPair()
  // The Redis prefix is fixed here, with the node's own key id: two federations whose nodes have
  // the same codes never share queue keys on one Redis, and every command reads it from xueji.json.
  const redis = (fileConfig.redis ?? {}) as Record<string, unknown>
  if (!redis.prefix) fileConfig.redis = { ...redis, prefix: `xueji:${opts.code}:${key.kid.slice(0, 12)}` }
  const keyFile = `node-${key.kid.slice(0, 16)}.pem`
  writePrivateKeyFile(join(paths.keys, keyFile), key.privatePem)
  const secretKey = createSecretsKey(paths.keys)
  createAuditKey(paths.keys)

  const createdAt = new Date().toISOString()
  const storage = openStorage(paths.db)
  let admin: InitialAdmin
  try {
    storage.write(() => {
      storage.db.insert(nodeIdentity).values({ id: 1, tier: opts.tier, code: opts.code, name: opts.name, parentUrl: opts.parentUrl, createdAt, createdByVersion: VERSION }).run()
      storage.db.insert(nodeKeys).values({ kid: key.kid, publicJwk: JSON.stringify(key.publicJwk), privateKeyFile: keyFile, validFromSeq: 1, createdAt }).run()
    })
    // The first bureau administrator: nobody else may create one, so init does. It holds
    // every sensitive-field grant, to pass on to the accounts it creates.
    const password = opts.adminPassword ?? generatePassword()
    const account = await createAuthService({ storage, config, secretKey }).createAccount(
      { username: opts.adminUsername ?? 'admin', password, role: 'bureau_admin', scope: { kind: 'bureau', node: opts.code }, grants: [...SENSITIVE_CLASSES] },
      null,
    )
    admin = { id: account.id, username: account.username, ...(opts.adminPassword === undefined ? { password } : {}) }
  } finally {
    storage.close()
  }
  writeFileSync(paths.config, JSON.stringify(fileConfig, null, 2) + '\n')
  return { identity: { tier: opts.tier, code: opts.code, name: opts.name, parentUrl: opts.parentUrl, createdAt, kid: key.kid }, admin }
}

/** Reads the identity record and checks that the config names the same node. */
export function loadIdentity(storage: Storage, config?: Config): NodeIdentity {
  const row = storage.db.select().from(nodeIdentity).where(eq(nodeIdentity.id, 1)).get()
  if (!row) throw nodeError('NODE_NOT_INITIALISED', 'the database holds no node identity; run "xueji init" first')
  const key = storage.sqlite.prepare('select kid from node_keys where valid_until_seq is null order by created_at desc limit 1').get() as { kid: string } | undefined
  if (!key) throw nodeError('NODE_NOT_INITIALISED', 'the database holds no current signing key; run "xueji init" again in an empty directory')
  if (config && (config.node.code !== row.code || config.node.tier !== row.tier)) {
    throw nodeError('NODE_IDENTITY_MISMATCH', `xueji.json names ${config.node.tier} ${config.node.code} but the database belongs to ${row.tier} ${row.code}`)
  }
  return { tier: row.tier, code: row.code, name: row.name, parentUrl: config?.node.parentUrl ?? row.parentUrl, createdAt: row.createdAt, kid: key.kid }
}
