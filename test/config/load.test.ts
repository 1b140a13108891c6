import t from 'tap'
import { loadConfig, describeConfig } from '../../config/load.ts'
import { XuejiError } from '../../config/errors.ts'

const county = { node: { tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:8301' } }

function codeAndKey(fn: () => unknown) {
  try {
    fn()
  } catch (err) {
    if (err instanceof XuejiError) return { code: err.code, key: err.details?.key, message: err.message }
    throw err
  }
  return undefined
}

t.test('defaults fill every key and the prefix follows the node code', async t => {
  const c = loadConfig(county)
  t.equal(c.server.port, 8080)
  t.equal(c.redis.url, 'redis://127.0.0.1:6379')
  t.equal(c.redis.prefix, 'xueji:330106')
  t.equal(c.calendar.timezone, 'Asia/Shanghai')
})

t.test('a bad value is refused with a message naming the key', async t => {
  const r = codeAndKey(() => loadConfig({ ...county, server: { port: 'eighty' } }))
  t.equal(r?.code, 'CONFIG_INVALID')
  t.equal(r?.key, 'server.port')
  t.match(r?.message, /server\.port/)
})

t.test('an unknown key is refused by name', async t => {
  const r = codeAndKey(() => loadConfig({ ...county, server: { prot: 8080 } }))
  t.equal(r?.code, 'CONFIG_INVALID')
  t.equal(r?.key, 'server.prot')
  t.match(r?.message, /unknown configuration key "server\.prot"/)
})

t.test('a bad division code and a bad tier are refused', async t => {
  t.equal(codeAndKey(() => loadConfig({ node: { ...county.node, code: '3301' } }))?.key, 'node.code')
  t.equal(codeAndKey(() => loadConfig({ node: { ...county.node, tier: 'village' } }))?.key, 'node.tier')
})

t.test('a county without a parent and a province with one are refused', async t => {
  t.equal(codeAndKey(() => loadConfig({ node: { ...county.node, parentUrl: null } }))?.key, 'node.parentUrl')
  t.equal(codeAndKey(() => loadConfig({ node: { tier: 'province', code: '330000', name: '浙江省教育厅', parentUrl: 'http://x' } }))?.key, 'node.parentUrl')
})

t.test('environment overrides are converted to the key type and validated', async t => {
  const c = loadConfig(county, { XUEJI_SERVER_PORT: '9001', XUEJI_REDIS_URL: 'redis://127.0.0.1:6380', XUEJI_SERVER_TRUST_PROXY: 'true' })
  t.equal(c.server.port, 9001)
  t.equal(c.server.trustProxy, true)
  t.equal(c.redis.url, 'redis://127.0.0.1:6380')
  t.equal(codeAndKey(() => loadConfig(county, { XUEJI_SERVER_PORT: 'abc' }))?.key, 'server.port')
  t.equal(codeAndKey(() => loadConfig(county, { XUEJI_REDIS_URL: 'http://nope' }))?.key, 'redis.url')
})

t.test('every key has a description and an environment name', async t => {
  for (const row of describeConfig()) {
    t.ok(row.description.length > 0, `${row.key} has a description`)
    t.match(row.env, /^XUEJI_[A-Z_]+$/)
  }
})
