/**
 * A private OpenSSH server on loopback for the SFTP backup tests: a free port, a fresh host key
 * and a fresh client key authorised for the current user, all in `dir`. Stopped on
 * teardown. Null (with the reason) when sshd is not installed (`.ci/run` installs it).
 */
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs'
import { connect } from 'node:net'
import { userInfo } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import { freePort, stopProcess } from '../../../scripts/lib/processes.ts'
import { hostKeyFingerprint } from '../../../node/backup/targets.ts'

const SSHD = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find(p => existsSync(p))

export interface TestSshd {
  port: number
  user: string
  identityFile: string
  hostKey: string
  /** A fingerprint of another key, for the "wrong server" case. */
  otherHostKey: string
}

export async function startSshd(t: Test, dir: string): Promise<TestSshd | string> {
  if (!SSHD) return 'sshd is not installed (apt-get install openssh-server)'
  // Debian's sshd needs its privilege separation directory; the package makes it only at boot.
  if (!existsSync('/run/sshd')) {
    if (process.getuid?.() !== 0) return '/run/sshd is missing and this user cannot make it'
    mkdirSync('/run/sshd', { mode: 0o755 })
  }
  mkdirSync(dir, { recursive: true })
  const keygen = (file: string) => execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file])
  keygen(join(dir, 'host_key'))
  keygen(join(dir, 'client_key'))
  keygen(join(dir, 'other_key'))
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')))
  chmodSync(join(dir, 'authorized_keys'), 0o600)
  const fingerprint = (pub: string) => hostKeyFingerprint(Buffer.from(readFileSync(pub, 'utf8').split(' ')[1], 'base64'))
  const port = await freePort()
  const config = join(dir, 'sshd_config')
  writeFileSync(
    config,
    [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${join(dir, 'host_key')}`, `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password', 'UsePAM no', 'StrictModes no', 'Subsystem sftp internal-sftp', 'LogLevel ERROR',
    ].join('\n') + '\n',
  )
  const proc = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  proc.stderr!.on('data', d => (stderr += d))
  t.teardown(() => stopProcess(proc, 3000).then(() => undefined))
  const deadline = Date.now() + 10000
  for (;;) {
    const open = await new Promise<boolean>(r => {
      const s = connect(port, '127.0.0.1', () => (s.end(), r(true))).on('error', () => r(false))
    })
    if (open) break
    if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start: ${stderr}`)
    await new Promise(r => setTimeout(r, 50))
  }
  return { port, user: userInfo().username, identityFile: join(dir, 'client_key'), hostKey: fingerprint(join(dir, 'host_key.pub')), otherHostKey: fingerprint(join(dir, 'other_key.pub')) }
}
