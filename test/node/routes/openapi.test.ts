/**
 * The OpenAPI document a client generator can use (issue 9): validated by a well-kept validator,
 * turned into a typed client by openapi-typescript, and that client's calls made against a node.
 */
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import SwaggerParser from '@apidevtools/swagger-parser'
import openapiTS, { astToString } from 'openapi-typescript'
import createClient from 'openapi-fetch'
import { buildTestApp, TEST_PASSWORD, createTestAccount } from '../../helper.ts'
import { ERROR_CODES } from '../../../node/routes/schemas.ts'

type Doc = { paths: Record<string, Record<string, any>>; components: Record<string, any>; info: { description: string } }

t.test('R-D.5 the OpenAPI document validates and says what the validator says', async t => {
  const app = await buildTestApp(t)
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json() as Doc
  await t.resolves(SwaggerParser.validate(structuredClone(doc) as never), 'valid OpenAPI (swagger-parser)')

  t.same(Object.keys(doc.components.securitySchemes).sort(), ['csrf', 'session'])
  t.match(doc.components.securitySchemes.session, { type: 'apiKey', in: 'cookie', name: 'xueji_session' })
  t.match(doc.components.securitySchemes.csrf, { type: 'apiKey', in: 'header', name: 'x-csrf-token' })
  t.same(doc.paths['/api/v1/auth/login'].post.security, [], 'login needs nothing')
  t.same(doc.paths['/api/v1/students'].get.security, [{ session: [] }])
  t.same(doc.paths['/api/v1/students'].post.security, [{ session: [], csrf: [] }], 'a write needs the cookie and the CSRF header')

  const body = doc.paths['/api/v1/students'].post.requestBody.content['application/json'].schema
  t.ok(body.required.includes('name') && body.required.includes('birthDate') && body.required.includes('schoolId'), 'required fields are required')
  t.notOk(body.required.includes('studentNo'), 'the 学籍号 is not: the node derives it')
  t.match(body.properties.studentNo.description, /G\+身份证号/, 'and the document says so')
  t.notOk(body.required.includes('idDocType'), 'a field the node fills is not required either')
  t.equal(body.properties.name.type, 'string', 'a required field is not nullable')
  t.same(body.properties.formerName.type, ['string', 'null'], 'an optional one is')
  t.same(body.properties.gender.enum, ['0', '1', '2', '9'], 'a small code table is an enum')
  t.match(body.properties.country.description, /GET \/api\/v1\/codes\/country/, 'a large one links to its route')
  const patch = doc.paths['/api/v1/students/{id}'].patch.requestBody.content['application/json'].schema
  t.same(patch.required, ['version'])
  t.equal(patch.properties.name.type, 'string', 'an update cannot null a required field')

  t.same(doc.paths['/api/v1/students'].post.responses['400'].content['application/json'].schema, { $ref: '#/components/schemas/ErrorReply' }, 'errors answer one named schema')
  t.same(doc.components.schemas.ErrorReply.properties.code.enum, ERROR_CODES, 'which lists every code')
  for (const code of ['QUERY_EMPTY', 'RECORD_FIELD_REQUIRED', 'CSRF_FAILED', 'SYNC_SIGNATURE_INVALID']) t.ok(ERROR_CODES.includes(code), code)
  t.match(doc.info.description, /\| `RECORD_FIELD_REQUIRED` \| 400 \| records \|/, 'the /docs page lists the codes')

  const errors = (await app.inject({ method: 'GET', url: '/api/v1/errors' })).json().errors as Array<{ code: string }>
  t.same([...new Set(errors.map(e => e.code))], ERROR_CODES)
  const codes = (await app.inject({ method: 'GET', url: '/api/v1/codes' })).json().tables as Array<{ table: string; edition: string }>
  t.ok(codes.some(c => c.table === 'school_run_type' && c.edition === 'moe2007') && codes.some(c => c.table === 'school_run_type' && c.edition === 'jyt1001-2012'), 'both editions of school_run_type')
  const runType = await app.inject({ method: 'GET', url: '/api/v1/codes/school_run_type' })
  t.equal(runType.statusCode, 200)
  t.equal(runType.json().editions.length, 2)
  const unknown = await app.inject({ method: 'GET', url: '/api/v1/codes/no_such_table' })
  t.equal(unknown.statusCode, 404)
  t.equal(unknown.json().code, 'NOT_FOUND')
})

t.test('R-D.5 a client generated from the document type-checks and makes real calls against a node', async t => {
  const app = await buildTestApp(t)
  const base = await app.listen({ host: '127.0.0.1', port: 0 })
  const doc = (await app.inject({ method: 'GET', url: '/docs/json' })).json()
  const started = Date.now()
  const types = astToString(await openapiTS(doc))
  t.comment(`openapi-typescript: ${types.length} characters of types in ${Date.now() - started} ms`)
  // The generated types, and a client written against them, must pass the strict type check.
  // Beside the node's data dir, not t.testdir(): that would clear the fixture dir holding the node's keys.
  const dir = join(app.dataDir, '..', 'client')
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'api.d.ts'), types)
  writeFileSync(join(dir, 'client.ts'), `import createClient from 'openapi-fetch'
import type { paths } from './api.d.ts'
const client = createClient<paths>({ baseUrl: 'http://127.0.0.1:1' })
export async function use(csrf: string) {
  const login = await client.POST('/api/v1/auth/login', { body: { username: 'u', password: 'p' } })
  const stage: 'ok' | 'totp' | 'totp_enrol' | undefined = login.data?.stage
  const codes = await client.GET('/api/v1/codes/{table}', { params: { path: { table: 'gender' } } })
  const names: string[] | undefined = codes.data?.editions[0].codes.map(c => c.name)
  const out = await client.POST('/api/v1/auth/logout', { headers: { 'x-csrf-token': csrf } })
  const code: string | undefined = out.error?.code
  const unit = await client.POST('/api/v1/units', { headers: { 'x-csrf-token': csrf }, body: { unitCode: '3301060001', name: '西湖区教育局', divisionCode: '330106' } })
  const unitName: string | undefined = unit.data?.name
  return { stage, names, code, unitName }
}
`)
  const tsc = spawnSync(process.execPath, [join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc'), '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--allowImportingTsExtensions', '--skipLibCheck', join(dir, 'client.ts')], { encoding: 'utf8' })
  t.equal(tsc.status, 0, `generated client type-checks: ${tsc.stdout}${tsc.stderr}`)

  // The same calls at run time, against the node.
  const { account } = await createTestAccount(app, 'bureau_user', { kind: 'bureau', node: '330106' }, { password: TEST_PASSWORD })
  const client = createClient<any>({ baseUrl: base })
  const login = await client.POST('/api/v1/auth/login', { body: { username: account.username, password: TEST_PASSWORD } })
  t.equal(login.response.status, 200)
  t.equal(login.data.stage, 'ok')
  const cookie = login.response.headers.getSetCookie().map(c => c.split(';')[0]).join('; ')
  const gender = await client.GET('/api/v1/codes/{table}', { params: { path: { table: 'gender' } } })
  t.ok(gender.data.editions[0].codes.some((c: { code: string; name: string }) => c.code === '1' && c.name === '男'))
  const refused = await client.POST('/api/v1/auth/logout', { headers: { cookie } })
  t.equal(refused.error.code, 'CSRF_FAILED', 'a write without the CSRF header is refused, as the document says')
  const logout = await client.POST('/api/v1/auth/logout', { headers: { cookie, 'x-csrf-token': login.data.csrfToken } })
  t.equal(logout.response.status, 204, 'with it, it is done')
})
