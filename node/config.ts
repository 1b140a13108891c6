import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { describeConfig, loadConfigFile } from '../config/load.ts'
import type { Config } from '../config/schema.ts'
import { nodeError } from './errors.ts'
import type { dataPaths } from './paths.ts'

type Env = Record<string, string | undefined>
type Paths = ReturnType<typeof dataPaths>

/** The XUEJI_<SECTION>_<KEY> variables of `env` that configure a node. */
function configEnv(env: Env): Record<string, string> {
  const out: Record<string, string> = {}
  for (const { env: name } of describeConfig()) if (env[name] !== undefined) out[name] = env[name]
  return out
}

/**
 * `xueji start` notes the configuration overrides it runs with (mode 0600: a Redis URL may carry
 * a password), so every other command on the data directory sees the node as it runs.
 */
export function recordStartEnv(paths: Paths, env: Env): void {
  writeFileSync(paths.started, JSON.stringify({ startedAt: new Date().toISOString(), pid: process.pid, env: configEnv(env) }, null, 2) + '\n', { mode: 0o600 })
}

/** The overrides the last `xueji start` on this data directory ran with ({} before the first). */
export function startedEnv(paths: Paths): Env {
  if (!existsSync(paths.started)) return {}
  try {
    return (JSON.parse(readFileSync(paths.started, 'utf8')) as { env?: Env }).env ?? {}
  } catch {
    throw nodeError('NODE_START_RECORD_INVALID', `${paths.started} is not valid JSON; delete it (the next start writes it again)`)
  }
}

/**
 * The configuration of the node in `paths.dir` as its running (or last started) process sees it:
 * xueji.json, then the environment overrides `xueji start` ran with, then those of `env` (a
 * command may still override one, e.g. XUEJI_REDIS_URL for a check from another host).
 */
export function nodeConfig(paths: Paths, env: Env): Config {
  if (!existsSync(paths.config)) throw nodeError('NODE_NOT_INITIALISED', `${paths.dir} holds no node (no xueji.json); run "xueji init --data ${paths.dir} …" first`)
  return loadConfigFile(paths.config, { ...startedEnv(paths), ...configEnv(env) })
}
