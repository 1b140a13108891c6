import { readFileSync } from 'node:fs'
import Value from 'typebox/value'
import { ConfigSchema, type Config } from './schema.ts'
import { XuejiError } from './errors.ts'

type Json = Record<string, unknown>

/**
 * Environment overrides: `XUEJI_<SECTION>_<KEY>` in upper snake case, e.g. `XUEJI_SERVER_PORT=8081`,
 * `XUEJI_REDIS_URL=redis://…`, `XUEJI_NODE_PARENT_URL=http://…`. Values are converted to the key's type.
 */
export function envName(section: string, key: string): string {
  const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()
  return `XUEJI_${snake(section)}_${snake(key)}`
}

function envOverrides(env: Record<string, string | undefined>): Json {
  const out: Json = {}
  for (const [section, sectionSchema] of Object.entries(ConfigSchema.properties)) {
    for (const [key, keySchema] of Object.entries((sectionSchema as { properties: Json }).properties)) {
      const raw = env[envName(section, key)]
      if (raw === undefined) continue
      const type = (keySchema as { type?: string }).type
      let value: unknown = raw
      if (type === 'integer' || type === 'number') value = raw.trim() === '' ? raw : Number(raw)
      else if (type === 'boolean') value = raw === 'true' ? true : raw === 'false' ? false : raw
      else if (raw === '' || raw === 'null') value = (keySchema as { anyOf?: unknown }).anyOf ? null : raw
      ;((out[section] ??= {}) as Json)[key] = value
    }
  }
  return out
}

/** Whether a listen address (server.host) is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return ['127.0.0.1', '::1', 'localhost'].includes(host)
}

function merge(a: Json, b: Json): Json {
  const out: Json = { ...a }
  for (const [k, v] of Object.entries(b)) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && typeof out[k] === 'object' && out[k] ? merge(out[k] as Json, v as Json) : v
  }
  return out
}

/**
 * Pure: validates file content plus environment overrides against the schema and fills defaults.
 * Fails with CONFIG_INVALID naming the first bad key (as `section.key`) and what is wrong with it.
 */
export function loadConfig(file: unknown, env: Record<string, string | undefined> = {}): Config {
  if (!file || typeof file !== 'object' || Array.isArray(file)) {
    throw new XuejiError('CONFIG_INVALID', 'configuration must be a JSON object', 500)
  }
  const candidate = Value.Default(ConfigSchema, merge(file as Json, envOverrides(env)))
  const errors = [...Value.Errors(ConfigSchema, candidate)]
  if (errors.length > 0) {
    // Prefer the most specific error (an unknown key or a bad value) over its parent's summary.
    const e = errors.find(x => x.keyword !== 'additionalProperties' && x.keyword !== 'anyOf') ?? errors[0]
    const key = e.instancePath.replace(/^\//, '').replaceAll('/', '.') || '(root)'
    const unknown = e.keyword === 'boolean' || e.keyword === 'additionalProperties'
    const message = unknown ? `unknown configuration key "${key}"` : `configuration key "${key}" ${e.message}`
    throw new XuejiError('CONFIG_INVALID', message, 500, { key })
  }
  const config = candidate as Config
  if ((config.node.tier === 'province') !== (config.node.parentUrl === null)) {
    throw new XuejiError('CONFIG_INVALID', 'configuration key "node.parentUrl" must be set for a city or county node and absent for the province', 500, { key: 'node.parentUrl' })
  }
  // The demo's relaxation may never reach a node others can connect to.
  if (config.security.demoLoginWithoutTotp && !isLoopbackHost(config.server.host)) {
    throw new XuejiError('CONFIG_INVALID', 'configuration key "security.demoLoginWithoutTotp" is for the local demo only: it needs server.host 127.0.0.1', 500, { key: 'security.demoLoginWithoutTotp' })
  }
  if (config.redis.prefix === '') config.redis.prefix = `xueji:${config.node.code}`
  return config
}

/** Reads a JSON config file and applies `loadConfig`. The one place that turns a path into a Config. */
export function loadConfigFile(path: string, env: Record<string, string | undefined> = {}): Config {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    throw new XuejiError('CONFIG_NOT_FOUND', `configuration file not found: ${path} (run "xueji init" first)`, 500)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new XuejiError('CONFIG_INVALID', `configuration file ${path} is not valid JSON: ${(err as Error).message}`, 500)
  }
  return loadConfig(json, env)
}

/** Lines for the configuration reference: key, env name, default, description. */
export function describeConfig(): Array<{ key: string; env: string; default: unknown; description: string }> {
  const rows = []
  for (const [section, s] of Object.entries(ConfigSchema.properties)) {
    for (const [key, k] of Object.entries((s as { properties: Json }).properties)) {
      const ks = k as { default?: unknown; description?: string }
      rows.push({ key: `${section}.${key}`, env: envName(section, key), default: ks.default, description: ks.description ?? '' })
    }
  }
  return rows
}
