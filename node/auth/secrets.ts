import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { readPrivateKeyFile, writePrivateKeyFile } from '../../sync/keys.ts'
import { authError } from './errors.ts'

/**
 * Secrets at rest: values the node must read back in clear (the TOTP secrets of
 * accounts) are stored encrypted with AES-256-GCM under the node's secret key, so a copy of the
 * database alone (a backup, a stolen file) does not hand out anyone's second factor.
 *
 * - The key: 32 random bytes in `<data>/keys/secrets.key`, base64url text, mode 0600 (written and
 *   read by the same code as the signing key, which refuses a file others can read). `xueji init`
 *   makes it; a node initialised before it existed makes it at start.
 * - A stored value: `v1:<iv>:<tag>:<ciphertext>`, each part base64url; a fresh 96-bit IV per value.
 *   `context` (e.g. the account id) is authenticated too, so a value copied to another row does
 *   not decrypt there.
 */
export const SECRETS_KEY_FILE = 'secrets.key'
const VERSION = 'v1'
const KEY_BYTES = 32
const IV_BYTES = 12
const TAG_BYTES = 16

/** Writes a new 32-byte key as file `name` of `keysDir` (mode 0600). Refuses to replace one: `why` says what that would break. */
export function createKeyFile(keysDir: string, name: string, why: string): Buffer {
  const file = join(keysDir, name)
  if (existsSync(file)) throw new Error(`${file} already exists; ${why}`)
  mkdirSync(keysDir, { recursive: true, mode: 0o700 })
  const key = randomBytes(KEY_BYTES)
  writePrivateKeyFile(file, key.toString('base64url') + '\n')
  return key
}

/**
 * Reads key file `name` of `keysDir`.
 *
 * @throws XuejiError `KEY_FILE_PERMISSIONS` when group or others may access the file;
 *   `SECRET_KEY_INVALID` when it does not hold 32 bytes.
 */
export function readKeyFile(keysDir: string, name: string): Buffer {
  const file = join(keysDir, name)
  const key = Buffer.from(readPrivateKeyFile(file).trim(), 'base64url')
  if (key.length !== KEY_BYTES) throw authError('SECRET_KEY_INVALID', `${file} does not hold a ${KEY_BYTES}-byte key`, { file })
  return key
}

/** Writes a new secret key into `keysDir` (mode 0600). Refuses to replace one: that would orphan every stored secret. */
export function createSecretsKey(keysDir: string): Buffer {
  return createKeyFile(keysDir, SECRETS_KEY_FILE, 'a new key would make every stored secret unreadable')
}

/**
 * Reads the node's secret key; makes it first when `create` and the file is missing (a node
 * initialised before secrets were encrypted). Errors as `readKeyFile`, and `SECRET_KEY_MISSING`
 * when the file is missing and not to be made.
 */
export function loadSecretsKey(keysDir: string, opts: { create?: boolean } = {}): Buffer {
  if (!existsSync(join(keysDir, SECRETS_KEY_FILE))) {
    if (opts.create) return createSecretsKey(keysDir)
    throw authError('SECRET_KEY_MISSING', `${join(keysDir, SECRETS_KEY_FILE)} is missing, and secrets are stored encrypted under it: restore keys/ from the backup of this data directory (xueji restore puts the database and keys/ back together), then start again`)
  }
  return readKeyFile(keysDir, SECRETS_KEY_FILE)
}

/** `v1:<iv>:<tag>:<ciphertext>` of `plain`, bound to `context`. */
export function encryptSecret(key: Buffer, plain: string, context: string): string {
  const iv = randomBytes(IV_BYTES)
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(context))
  const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return [VERSION, iv, cipher.getAuthTag(), ciphertext].map(p => (typeof p === 'string' ? p : p.toString('base64url'))).join(':')
}

/** Is `value` an encrypted value (as opposed to a clear one stored before encryption)? */
export const isEncrypted = (value: string) => value.startsWith(`${VERSION}:`)

/**
 * The clear value of `encryptSecret(key, plain, context)`.
 *
 * @throws XuejiError `SECRET_TAMPERED` (500) when the value is malformed, was changed, belongs to
 *   another context or was encrypted under another key: GCM's tag does not verify.
 */
export function decryptSecret(key: Buffer, stored: string, context: string): string {
  const tampered = () => authError('SECRET_TAMPERED', '存储的动态口令密钥无法验证（可能被篡改），请联系管理员重置动态口令')
  const parts = stored.split(':')
  if (parts.length !== 4 || parts[0] !== VERSION) throw tampered()
  const [iv, tag, ciphertext] = parts.slice(1).map(p => Buffer.from(p, 'base64url'))
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw tampered()
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES }).setAAD(Buffer.from(context))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8')
  } catch {
    throw tampered()
  }
}
