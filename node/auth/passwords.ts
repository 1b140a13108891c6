import { readFileSync } from 'node:fs'
import { hash, verify } from '@node-rs/argon2'
import { authError } from './errors.ts'

/** argon2id cost parameters (config `security.hash*`; at least m=19456 KiB, t=2, p=1). */
export interface Argon2Params {
  memoryKiB: number
  timeCost: number
  parallelism: number
}

/** `Algorithm.Argon2id` of @node-rs/argon2 (a const enum, which verbatimModuleSyntax cannot import). */
const ARGON2ID = 2

export const MIN_PASSWORD_LENGTH = 8
/** An upper bound keeps one login from costing the server more than argon2 already does. */
export const MAX_PASSWORD_LENGTH = 128

let common: Set<string> | undefined
/** The list ships as data (node/auth/data/common-passwords.txt) and is read once. */
function commonPasswords(): Set<string> {
  if (!common) {
    const text = readFileSync(new URL('./data/common-passwords.txt', import.meta.url), 'utf8')
    common = new Set(text.split('\n').filter(l => l && !l.startsWith('#')).map(l => l.trim().toLowerCase()))
  }
  return common
}

/**
 * password rule after NIST SP 800-63B: at least 8 characters, no composition rules, not on
 * the list of common passwords. Throws PASSWORD_* when refused.
 */
export function checkPasswordPolicy(password: string): void {
  const length = [...password].length
  if (length < MIN_PASSWORD_LENGTH) throw authError('PASSWORD_TOO_SHORT', `密码至少需要 ${MIN_PASSWORD_LENGTH} 个字符`)
  if (length > MAX_PASSWORD_LENGTH) throw authError('PASSWORD_TOO_LONG', `密码最多 ${MAX_PASSWORD_LENGTH} 个字符`)
  if (commonPasswords().has(password.toLowerCase())) throw authError('PASSWORD_COMMON', '该密码过于常见，容易被猜中，请换一个')
}

export function hashPassword(password: string, p: Argon2Params): Promise<string> {
  return hash(password, { algorithm: ARGON2ID, memoryCost: p.memoryKiB, timeCost: p.timeCost, parallelism: p.parallelism })
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, password)
  } catch {
    return false
  }
}
