/**
 * Backups and restores of a node (R-26.2).
 *
 * A backup holds everything a node needs to come back: the database (a consistent snapshot),
 * `keys/` (signing keys, `secrets.key`, `audit.key`) and `xueji.json`. Each file is encrypted
 * with AES-256-GCM under a key derived (HKDF) from the operator's backup key and the backup's
 * name, the file's path bound in as associated data, so a blob moved to another path or backup
 * does not decrypt. `manifest.json` lists every file with the SHA-256 of its clear content and of
 * its blob and carries an HMAC under the same backup key: restore checks all of it before it
 * writes a byte into the new directory.
 *
 * The snapshot: the CLI (its own process, beside a running node) uses `VACUUM INTO` on its own
 * read-only connection — one read transaction, so a consistent moment, while the node's writes
 * go on in the WAL. The node's scheduler uses better-sqlite3's online backup on the node's own
 * writer connection: it copies in steps between the node's work (the event loop keeps serving),
 * and writes made meanwhile on that same connection are carried into the copy by SQLite, so it
 * never restarts and ends consistent.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { closeSync, createReadStream, createWriteStream, existsSync, openSync, readFileSync, readSync, statSync, readdirSync, writeFileSync, chmodSync, mkdirSync, renameSync, rmSync, mkdtempSync, realpathSync } from 'node:fs'
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import Database from 'better-sqlite3'
import { openStorage, type Storage } from '../../schema/db.ts'
import { canonicalJson } from '../../sync/canonical.ts'
import { holdIssuing } from '../../sync/downward.ts'
import { dataPaths } from '../paths.ts'
import { createKeyFile, readKeyFile } from '../auth/secrets.ts'
import { backupError } from './errors.ts'
import { backupName, backupTime, toPrune, type RetentionPolicy } from './rules.ts'
import type { BackupStore } from './targets.ts'

export const MANIFEST_FORMAT = 'xueji-backup-1'
const MANIFEST = 'manifest.json'
const IV_BYTES = 12
const TAG_BYTES = 16

/** One file of a backup, as the manifest lists it. */
export interface ManifestFile {
  /** Path inside the data directory: `xueji.db`, `xueji.json` or `keys/<name>`. */
  path: string
  /** Name of its encrypted blob in the backup: `<n>.bin`. */
  blob: string
  /** Bytes and SHA-256 (hex) of the clear content. */
  size: number
  sha256: string
  /** SHA-256 (hex) of the blob as stored (IV, ciphertext, GCM tag). */
  blobSha256: string
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT
  name: string
  node: { code: string; tier: string }
  createdAt: string
  snapshot: 'vacuum-into' | 'online-backup'
  files: ManifestFile[]
  /** HMAC-SHA256 (hex) of the canonical JSON of every other field, under the backup key. */
  mac: string
}

const derive = (key: Buffer, name: string, use: string) => Buffer.from(hkdfSync('sha256', key, name, `xueji-backup-${use}`, 32))
const macOf = (key: Buffer, m: Omit<Manifest, 'mac'>) => createHmac('sha256', derive(key, m.name, 'mac')).update(canonicalJson(m)).digest('hex')
const aad = (name: string, path: string) => Buffer.from(`${name}\0${path}`)

/** Paths a manifest may name: nothing outside the data directory's known files. */
const SAFE_PATH = /^(xueji\.db|xueji\.json|keys\/[A-Za-z0-9._-]+)$/
const SAFE_BLOB = /^[0-9]{1,4}\.bin$/

/** A pass-through stream that hashes what flows and counts bytes. */
function hashing(): Transform & { digest(): string; bytes: number } {
  const h = createHash('sha256')
  const counter = { bytes: 0 }
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      h.update(chunk)
      counter.bytes += chunk.length
      done(null, chunk)
    },
  })
  // A getter, not a copied value: the count grows while the stream flows.
  return Object.defineProperties(t, { digest: { value: () => h.digest('hex') }, bytes: { get: () => counter.bytes } }) as Transform & { digest(): string; bytes: number }
}

const fileSha256 = async (file: string) => {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

async function encryptFile(src: string, dest: string, key: Buffer, name: string, path: string): Promise<{ size: number; sha256: string }> {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', derive(key, name, 'enc'), iv)
  cipher.setAAD(aad(name, path))
  const clear = hashing()
  const out = createWriteStream(dest, { mode: 0o600 })
  out.write(iv)
  await pipeline(createReadStream(src), clear, cipher, out, { end: false })
  await new Promise<void>((resolve, reject) => out.end(cipher.getAuthTag(), (err?: Error | null) => (err ? reject(err) : resolve())))
  return { size: clear.bytes, sha256: clear.digest() }
}

/**
 * Decrypts blob `src` to `dest` as a stream (a database may be large). GCM releases clear text
 * before it checks the tag at the end, so `dest` is a staging file that a failure throws away.
 * @throws BACKUP_TAMPERED
 */
async function decryptFile(src: string, dest: string, key: Buffer, name: string, f: ManifestFile): Promise<void> {
  const size = statSync(src).size
  if (size < IV_BYTES + TAG_BYTES) throw backupError('BACKUP_TAMPERED', `blob ${f.blob} (${f.path}) is truncated`, { file: f.path })
  const fd = openSync(src, 'r')
  const iv = Buffer.alloc(IV_BYTES)
  const tag = Buffer.alloc(TAG_BYTES)
  try {
    readSync(fd, iv, 0, IV_BYTES, 0)
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES)
  } finally {
    closeSync(fd)
  }
  const decipher = createDecipheriv('aes-256-gcm', derive(key, name, 'enc'), iv)
  decipher.setAAD(aad(name, f.path))
  decipher.setAuthTag(tag)
  const clear = hashing()
  const body = size - TAG_BYTES - IV_BYTES > 0 ? createReadStream(src, { start: IV_BYTES, end: size - TAG_BYTES - 1 }) : Readable.from([])
  try {
    await pipeline(body, decipher, clear, createWriteStream(dest, { mode: f.path.startsWith('keys/') ? 0o600 : 0o640 }))
  } catch {
    throw backupError('BACKUP_TAMPERED', `${f.path} does not decrypt under this key: the backup was altered`, { file: f.path })
  }
  if (clear.digest() !== f.sha256 || clear.bytes !== f.size) throw backupError('BACKUP_TAMPERED', `${f.path} differs from its manifest hash`, { file: f.path })
}

export interface BackupResult {
  name: string
  files: number
  /** Clear bytes backed up (database, keys, configuration). */
  bytes: number
  pruned: string[]
}

/**
 * Writes a backup of the node in `dataDir` to `store`. With `storage` (the running node's
 * writer connection) the database is copied with the online backup API, otherwise by
 * `VACUUM INTO` on a connection of its own. Plain copies are staged inside the data directory
 * (they are as secret as the database itself) and removed before returning.
 */
export async function createBackup(opts: {
  dataDir: string
  store: BackupStore
  key: Buffer
  node: { code: string; tier: string }
  storage?: Storage
  retention?: RetentionPolicy & { timeZone: string }
  now?: Date
}): Promise<BackupResult> {
  const paths = dataPaths(opts.dataDir)
  const name = backupName(opts.node.code, opts.now ?? new Date())
  const stage = mkdtempSync(join(paths.dir, '.backup-'))
  try {
    const snapshot = join(stage, 'snapshot.db')
    if (opts.storage) await opts.storage.sqlite.backup(snapshot)
    else {
      const db = new Database(paths.db, { readonly: true, fileMustExist: true })
      try {
        db.prepare('vacuum into ?').run(snapshot)
      } finally {
        db.close()
      }
    }
    const sources: { path: string; file: string }[] = [
      { path: 'xueji.db', file: snapshot },
      { path: 'xueji.json', file: paths.config },
      ...readdirSync(paths.keys).filter(f => SAFE_PATH.test(`keys/${f}`) && !f.endsWith('.tmp')).sort().map(f => ({ path: `keys/${f}`, file: join(paths.keys, f) })),
    ]
    const files: ManifestFile[] = []
    for (const [i, s] of sources.entries()) {
      const blob = `${i}.bin`
      const { size, sha256 } = await encryptFile(s.file, join(stage, blob), opts.key, name, s.path)
      files.push({ path: s.path, blob, size, sha256, blobSha256: await fileSha256(join(stage, blob)) })
    }
    const body: Omit<Manifest, 'mac'> = { format: MANIFEST_FORMAT, name, node: opts.node, createdAt: (opts.now ?? new Date()).toISOString(), snapshot: opts.storage ? 'online-backup' : 'vacuum-into', files }
    const manifest: Manifest = { ...body, mac: macOf(opts.key, body) }
    writeFileSync(join(stage, MANIFEST), JSON.stringify(manifest, null, 2) + '\n')
    await opts.store.put(name, stage, [MANIFEST, ...files.map(f => f.blob)])
    const pruned = opts.retention ? await prune(opts.store, opts.node.code, opts.retention) : []
    return { name, files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), pruned }
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

/** Deletes this node's backups the retention policy does not keep; returns their names. */
export async function prune(store: BackupStore, code: string, policy: RetentionPolicy & { timeZone: string }): Promise<string[]> {
  const mine = (await store.list()).filter(n => n.startsWith(`xueji-${code}-`))
  const gone = toPrune(mine, policy, policy.timeZone)
  for (const n of gone) await store.remove(n)
  return gone
}

/**
 * The backup to restore when none is named: the newest, of the one node the store holds backups
 * of. A store several nodes back up to (one bureau's server) is refused: its newest backup may be
 * another node's. @throws BACKUP_NOT_FOUND, BACKUP_NAME_REQUIRED
 */
export async function backupToRestore(store: BackupStore): Promise<string> {
  const names = await store.list()
  const nodes = [...new Set(names.map(n => n.split('-')[1]))].sort()
  if (nodes.length === 0) throw backupError('BACKUP_NOT_FOUND', 'the target holds no backup')
  if (nodes.length > 1) throw backupError('BACKUP_NAME_REQUIRED', `the target holds backups of several nodes (${nodes.join(', ')}); name the one to restore with --backup NAME (xueji backup list)`, { nodes })
  return (await latestBackup(store, nodes[0]))!
}

/** The newest backup of node `code` in the store. */
export async function latestBackup(store: BackupStore, code: string): Promise<string | null> {
  const names = (await store.list()).filter(n => n.startsWith(`xueji-${code}-`))
  return names.sort((a, b) => backupTime(a)!.getTime() - backupTime(b)!.getTime()).at(-1) ?? null
}

/** Reads and checks a downloaded manifest: format, name, MAC, file list. @throws BACKUP_MANIFEST_INVALID */
export function checkManifest(text: string, name: string, key: Buffer): Manifest {
  let m: Manifest
  try {
    m = JSON.parse(text) as Manifest
  } catch {
    throw backupError('BACKUP_MANIFEST_INVALID', `the manifest of ${name} is not JSON`)
  }
  if (!m || typeof m !== 'object' || m.format !== MANIFEST_FORMAT || m.name !== name || typeof m.mac !== 'string' || !Array.isArray(m.files)) {
    throw backupError('BACKUP_MANIFEST_INVALID', `the manifest of ${name} is not a ${MANIFEST_FORMAT} manifest of that backup`)
  }
  const { mac, ...body } = m
  const expected = Buffer.from(macOf(key, body), 'hex')
  const given = Buffer.from(mac, 'hex')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw backupError('BACKUP_MANIFEST_INVALID', `the manifest of ${name} does not match its MAC: a wrong backup key or an altered manifest`)
  }
  const paths = new Set<string>()
  for (const f of m.files) {
    if (!SAFE_PATH.test(f.path) || !SAFE_BLOB.test(f.blob) || paths.has(f.path)) throw backupError('BACKUP_MANIFEST_INVALID', `the manifest of ${name} names an unexpected file`)
    paths.add(f.path)
  }
  if (!paths.has('xueji.db') || !paths.has('xueji.json')) throw backupError('BACKUP_MANIFEST_INVALID', `the manifest of ${name} lacks the database or the configuration`)
  return m
}

export interface RestoreResult {
  name: string
  node: { code: string; tier: string }
  createdAt: string
  files: number
  /** Whether `xueji sync rebuild` must run before the node starts (every tier but the province). */
  rebuildPending: boolean
  /** The children to whose subtree the restored node issues commands again once each has pulled (sync/downward.ts `holdIssuing`). */
  issuingHeld: string[]
}

/**
 * Restores backup `name` (the newest when absent) from `store` into `dataDir`, which must be
 * new or empty. Everything is checked (manifest MAC, every blob's hash, GCM tag, clear hash, the
 * database's integrity) before files take their place; on any failure the directory is left as
 * it was. A child node's directory gets `paths.restorePending`: it must fetch back from its parent
 * what the backup missed before it starts, or its next change set would fork its own chain. The
 * restored database holds issuing downward commands to each enrolled child's subtree until the
 * child has pulled and reported what it holds (sync/downward.ts `holdIssuing`): the children may
 * hold commands the node issued after the backup, under seqs and local ids the backup lacks.
 */
export async function restoreBackup(opts: { store: BackupStore; name?: string; key: Buffer; dataDir: string; port?: number }): Promise<RestoreResult> {
  const paths = dataPaths(opts.dataDir)
  // Empty, not only without a node: a stray database journal (xueji.db-wal) would be replayed
  // onto the restored database, and stray keys would be replaced or, on failure, removed.
  if (existsSync(paths.dir) && readdirSync(paths.dir).length > 0) {
    throw backupError('BACKUP_RESTORE_TARGET_EXISTS', `${opts.dataDir} is not empty${existsSync(paths.config) || existsSync(paths.db) ? ' (it holds a node)' : ''}; restore into a new, empty directory`)
  }
  const name = opts.name ?? (await backupToRestore(opts.store))
  // A name is also a path on the target: only the names backups are made under.
  if (backupTime(name) === null) throw backupError('BACKUP_NOT_FOUND', `${name} is not the name of a backup (xueji-<code>-<YYYYMMDDTHHMMSSZ>)`)
  const created = !existsSync(paths.dir)
  mkdirSync(paths.dir, { recursive: true, mode: 0o700 })
  const stage = mkdtempSync(join(paths.dir, '.restore-'))
  const placed: string[] = []
  try {
    await opts.store.get(name, MANIFEST, join(stage, MANIFEST))
    const m = checkManifest(readFileSync(join(stage, MANIFEST), 'utf8'), name, opts.key)
    mkdirSync(join(stage, 'keys'), { mode: 0o700 })
    for (const f of m.files) {
      const blob = join(stage, f.blob)
      await opts.store.get(name, f.blob, blob)
      if ((await fileSha256(blob)) !== f.blobSha256) throw backupError('BACKUP_TAMPERED', `${f.path} differs from its manifest hash`, { file: f.path })
      await decryptFile(blob, join(stage, f.path), opts.key, name, f)
      rmSync(blob)
    }
    const db = new Database(join(stage, 'xueji.db'), { fileMustExist: true })
    try {
      const check = db.pragma('integrity_check', { simple: true })
      if (check !== 'ok') throw backupError('BACKUP_TAMPERED', `the restored database fails its integrity check: ${String(check)}`)
    } finally {
      db.close()
    }
    // Migrated to this version's schema here (as the node's start would), then held.
    const restored = openStorage(join(stage, 'xueji.db'))
    let issuingHeld: string[]
    try {
      issuingHeld = holdIssuing(restored)
    } finally {
      restored.close()
    }
    if (opts.port !== undefined) {
      const config = JSON.parse(readFileSync(join(stage, 'xueji.json'), 'utf8')) as { server?: Record<string, unknown> }
      config.server = { ...config.server, port: opts.port }
      writeFileSync(join(stage, 'xueji.json'), JSON.stringify(config, null, 2) + '\n')
    }
    // Everything checked: now the files take their place (keys first, the database last).
    mkdirSync(paths.keys, { recursive: true, mode: 0o700 })
    chmodSync(paths.keys, 0o700)
    const rebuildPending = m.node.tier !== 'province'
    if (rebuildPending) {
      writeFileSync(paths.restorePending, JSON.stringify({ backup: name, createdAt: m.createdAt, restoredAt: new Date().toISOString() }) + '\n')
      placed.push(paths.restorePending)
    }
    for (const f of [...m.files.filter(f => f.path.startsWith('keys/')), ...m.files.filter(f => !f.path.startsWith('keys/')).reverse()]) {
      renameSync(join(stage, f.path), join(paths.dir, f.path))
      placed.push(join(paths.dir, f.path))
    }
    return { name, node: m.node, createdAt: m.createdAt, files: m.files.length, rebuildPending, issuingHeld }
  } catch (err) {
    for (const p of placed) rmSync(p, { force: true })
    if (created) rmSync(paths.dir, { recursive: true, force: true })
    throw err
  } finally {
    rmSync(stage, { recursive: true, force: true })
  }
}

/**
 * The backup key: 32 random bytes in a file of its own (base64url, mode 0600), not a passphrase.
 * Why a file: scheduled backups run unattended, so a passphrase would sit in a file anyway, and a
 * random key cannot be weak and needs no slow KDF. It must live outside the data directory (a
 * backup would otherwise carry its own key) and have a copy kept away from the node (a USB key in
 * the bureau's safe): without it no backup can be restored.
 */
export function createBackupKey(file: string): void {
  createKeyFile(dirname(resolve(file)), basename(file), 'a new key could not restore the backups made under that one')
}

/** Reads the backup key. @throws BACKUP_KEY_MISSING, BACKUP_KEY_INSIDE_DATA, KEY_FILE_PERMISSIONS, SECRET_KEY_INVALID */
export function loadBackupKey(file: string | null | undefined, dataDir?: string): Buffer {
  if (!file || !existsSync(file)) throw backupError('BACKUP_KEY_MISSING', file ? `backup key file ${file} does not exist` : 'no backup key file given (--key FILE or backup.keyFile); make one with xueji backup-key --out FILE')
  if (dataDir) {
    const rel = relative(realpathSync(dataDir), realpathSync(file))
    if (!rel.startsWith('..') && !isAbsolute(rel)) throw backupError('BACKUP_KEY_INSIDE_DATA', `backup key file ${file} lies inside the data directory ${dataDir}; move it elsewhere`)
  }
  return readKeyFile(dirname(resolve(file)), basename(file))
}
