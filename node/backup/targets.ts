/**
 * Where backups go (R-26.2, 异地异机): a directory (a mounted disk of another machine) or an
 * SFTP server. A backup is one flat folder of files; it is written under `NAME.partial` and
 * renamed when complete, so a listing never shows a half-written backup.
 */
import { createHash } from 'node:crypto'
import { copyFile, mkdir, readdir, rename, rm } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import type { SFTPWrapper } from 'ssh2'
import { backupError } from './errors.ts'
import { backupTime, type Target } from './rules.ts'

export interface BackupStore {
  /** Names of the complete backups held (partial uploads and foreign files left out). */
  list(): Promise<string[]>
  /** Copies `files` of local directory `from` into backup `name`; visible only once all are there. */
  put(name: string, from: string, files: readonly string[]): Promise<void>
  /** Copies one file of backup `name` to local path `to`. @throws BACKUP_TAMPERED when it is missing */
  get(name: string, file: string, to: string): Promise<void>
  remove(name: string): Promise<void>
  close(): Promise<void>
}

/** How to reach an SFTP target: the private key to log in with and the server's pinned host key. */
export interface SftpOptions {
  /** Path of an OpenSSH private key file (unencrypted, kept 0600 beside the node, not in the data directory). */
  identityFile: string | null
  /** The server's host-key fingerprint as `ssh-keygen -lf` prints it: `SHA256:…`. */
  hostKey: string | null
}

export async function openStore(target: Target, sftp: SftpOptions): Promise<BackupStore> {
  return target.kind === 'dir' ? dirStore(target.path) : sftpStore(target, sftp)
}

const isBackup = (n: string) => backupTime(n) !== null
/** SSH_FX_NO_SUCH_FILE */
const NO_SUCH_FILE = 2

function dirStore(root: string): BackupStore {
  return {
    async list() {
      const names = await readdir(root).catch(err => {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [] as string[]
        throw err
      })
      return names.filter(isBackup).sort()
    },
    async put(name, from, files) {
      await mkdir(root, { recursive: true })
      const partial = join(root, `${name}.partial`)
      await rm(partial, { recursive: true, force: true })
      await mkdir(partial, { recursive: true, mode: 0o700 })
      for (const f of files) await copyFile(join(from, f), join(partial, f))
      await rename(partial, join(root, name))
    },
    async get(name, file, to) {
      try {
        await copyFile(join(root, name, file), to)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw backupError(file === 'manifest.json' ? 'BACKUP_NOT_FOUND' : 'BACKUP_TAMPERED', `backup ${name} has no file ${file}`, { file })
        throw err
      }
    },
    async remove(name) {
      await rm(join(root, name), { recursive: true, force: true })
    },
    async close() {},
  }
}

/** `SHA256:<base64, no padding>` of a raw host key, as OpenSSH prints fingerprints. */
export function hostKeyFingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`
}

async function sftpStore(target: Extract<Target, { kind: 'sftp' }>, opts: SftpOptions): Promise<BackupStore> {
  const where = `${target.user}@${target.host}:${target.port}`
  if (!opts.identityFile) throw backupError('BACKUP_SFTP_FAILED', `an SFTP target needs backup.sftpIdentityFile (--identity): the private key to log in to ${where} with`, { cause: 'no identity' })
  // Without a pinned host key anyone on the path could pose as the backup server and take every backup.
  if (!opts.hostKey) throw backupError('BACKUP_SFTP_FAILED', `an SFTP target needs backup.sftpHostKey (--host-key SHA256:…): the fingerprint of ${where}'s host key`, { cause: 'no host key' })
  let privateKey: Buffer
  try {
    privateKey = readFileSync(opts.identityFile)
  } catch (err) {
    throw backupError('BACKUP_SFTP_FAILED', `cannot read the SFTP identity file ${opts.identityFile}: ${(err as Error).message}`, { cause: 'identity file' })
  }
  // Loaded on first use: only SFTP targets need it.
  const { Client } = await import('ssh2')
  const client = new Client()
  let seen = ''
  const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
    client.on('error', err =>
      reject(backupError('BACKUP_SFTP_FAILED', seen && seen !== opts.hostKey ? `${where} showed host key ${seen}, not the pinned ${opts.hostKey}` : `SFTP to ${where}: ${err.message}`, { cause: seen && seen !== opts.hostKey ? 'host key' : err.message })),
    )
    client.on('ready', () => client.sftp((err, s) => (err ? reject(backupError('BACKUP_SFTP_FAILED', `SFTP subsystem of ${where}: ${err.message}`, { cause: err.message })) : resolve(s))))
    client.connect({
      host: target.host,
      port: target.port,
      username: target.user,
      privateKey,
      readyTimeout: 20000,
      hostVerifier: (key: Buffer) => {
        seen = hostKeyFingerprint(key)
        return seen === opts.hostKey
      },
    })
  })
  const call = <T>(what: string, fn: (cb: (err: Error | null | undefined, v?: T) => void) => void) =>
    new Promise<T>((resolve, reject) =>
      fn((err, v) => (err ? reject(Object.assign(backupError('BACKUP_SFTP_FAILED', `SFTP ${what} on ${where}: ${err.message}`, { cause: err.message }), { sftpCode: (err as { code?: number }).code })) : resolve(v as T))),
    )
  const root = target.path
  const path = (...p: string[]) => posix.join(root, ...p)
  const removeDir = async (dir: string) => {
    const entries = await call<{ filename: string }[]>('readdir', cb => sftp.readdir(dir, cb)).catch(() => null)
    if (!entries) return
    for (const e of entries) await call('unlink', cb => sftp.unlink(posix.join(dir, e.filename), cb))
    await call('rmdir', cb => sftp.rmdir(dir, cb))
  }
  const ensureRoot = async () => {
    // mkdir -p: each level, ignoring "exists".
    let p = ''
    for (const part of root.split('/').filter(Boolean)) {
      p += `/${part}`
      await call('mkdir', cb => sftp.mkdir(p, cb)).catch(() => undefined)
    }
  }
  return {
    async list() {
      const entries = await call<{ filename: string }[]>('readdir', cb => sftp.readdir(root, cb)).catch(err => {
        if ((err as { sftpCode?: number }).sftpCode === NO_SUCH_FILE) return []
        throw err
      })
      return entries.map(e => e.filename).filter(isBackup).sort()
    },
    async put(name, from, files) {
      await ensureRoot()
      const partial = path(`${name}.partial`)
      await removeDir(partial)
      await call('mkdir', cb => sftp.mkdir(partial, { mode: 0o700 }, cb))
      for (const f of files) await call('put', cb => sftp.fastPut(join(from, f), posix.join(partial, f), cb))
      await call('rename', cb => sftp.rename(partial, path(name), cb))
    },
    async get(name, file, to) {
      try {
        await call('get', cb => sftp.fastGet(path(name, file), to, cb))
      } catch (err) {
        if ((err as { sftpCode?: number }).sftpCode === NO_SUCH_FILE) throw backupError(file === 'manifest.json' ? 'BACKUP_NOT_FOUND' : 'BACKUP_TAMPERED', `backup ${name} has no file ${file}`, { file })
        throw err
      }
    },
    async remove(name) {
      await removeDir(path(name))
    },
    async close() {
      client.end()
    },
  }
}
