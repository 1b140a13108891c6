/**
 * The rough edges of a first trial (issue 9): what a registrar or API client meets in the first
 * minutes. Each test failed on the code before the fix.
 */
import t from 'tap'
import { TEST_PASSWORD, loginAs, loginWith } from '../../helper.ts'
import { recordsNode, withSchool } from '../../records/setup.ts'
import * as fx from '../../records/fixtures.ts'
import { SESSION_COOKIE } from '../../../node/plugins/auth.ts'
import { loadConfig } from '../../../config/load.ts'

t.test('R-25.2 logging in while holding a session replaces it: no CSRF_FAILED, the old session ends', async t => {
  const node = await recordsNode(t)
  const { app } = node
  const first = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  // A browser tab that still carries the old cookie but lost its CSRF token signs in again.
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', headers: { cookie: first.headers.cookie }, payload: { username: first.account.username, password: first.password } })
  t.equal(res.statusCode, 200, res.body)
  const cookie = `${SESSION_COOKIE}=${res.cookies.find(c => c.name === SESSION_COOKIE)!.value}`
  t.not(cookie, first.headers.cookie, 'a new session')
  const old = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: first.headers })
  t.equal(old.statusCode, 401, 'the replaced session no longer works')
  const now = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: { cookie } })
  t.equal(now.statusCode, 200)
  // Every other write still needs the token.
  const logout = await app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { cookie } })
  t.equal(logout.statusCode, 403)
  t.equal(logout.json().code, 'CSRF_FAILED')
})

t.test('R-25.2 the CSP of a plain-HTTP node has no upgrade-insecure-requests; an HTTPS node keeps it', async t => {
  for (const [cookieSecure, expected] of [[false, false], [true, true]] as const) {
    const node = await recordsNode(t, { config: { security: { cookieSecure } } })
    const res = await node.app.inject({ method: 'GET', url: '/healthz' })
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /default-src 'self'/)
    t.equal(csp.includes('upgrade-insecure-requests'), expected, `cookieSecure ${cookieSecure}: ${csp}`)
  }
})

t.test('R-17.2 the administrator made by init is in the accounts list and reads its own record', async t => {
  const node = await recordsNode(t)
  const { app } = node
  const admin = app.auth.getByUsername('admin')!
  await app.auth.setPassword(admin.id, TEST_PASSWORD)
  const { headers } = await loginWith(app, 'admin', TEST_PASSWORD)
  const list = await app.inject({ method: 'GET', url: '/api/v1/accounts', headers })
  t.equal(list.statusCode, 200)
  const names = (list.json().accounts as Array<{ username: string }>).map(a => a.username)
  t.ok(names.includes('admin'), 'init\'s administrator is listed')
  const own = await app.inject({ method: 'GET', url: `/api/v1/accounts/${admin.id}`, headers })
  t.equal(own.statusCode, 200, own.body)
  t.equal(own.json().username, 'admin')
  // Reading is all: its own role and grants are not changed through the accounts routes.
  const patch = await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${admin.id}`, headers, payload: { leader: true } })
  t.equal(patch.statusCode, 404)
})

t.test('R-10.1 the node makes the G 学籍号 from the ID number; a typed one is still checked', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  const input: Record<string, unknown> = { ...fx.student(), schoolId: school.id }
  delete input.studentNo
  const made = await node.call('POST', '/api/v1/students', input)
  t.equal(made.status, 201, JSON.stringify(made.body))
  const stored = node.app.storage.sqlite.prepare('select student_no, id_number from students where id = ?').get(made.body.id) as { student_no: string; id_number: string }
  t.equal(stored.student_no, `G${stored.id_number}`, 'derived as G + the ID number')

  const other = fx.idNumber('2016-05-01', '1', 2)
  const wrong = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: other, birthDate: '2016-05-01', studentNo: `G${fx.idNumber('2016-05-01', '1', 3)}` }), schoolId: school.id })
  t.equal(wrong.status, 400)
  t.equal(wrong.body.code, 'RECORD_STUDENT_NO_INVALID')

  const noId: Record<string, unknown> = { ...fx.student({ idDocType: 'A', idNumber: 'E12345678', birthDate: '2016-05-01', name: '外籍生', namePinyin: null }), schoolId: school.id }
  delete noId.studentNo
  const temp = await node.call('POST', '/api/v1/students', noId)
  t.equal(temp.status, 201, JSON.stringify(temp.body))
  const tempNo = (node.app.storage.sqlite.prepare('select student_no from students where id = ?').get(temp.body.id) as { student_no: string }).student_no
  t.match(tempNo, /^L33010620160501\d{4}$/, 'without a resident ID number: a temporary L number, as before')
})

t.test('R-10.1 a search with an empty or blank q is refused with QUERY_EMPTY, not answered with everyone', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  t.equal((await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id })).status, 201)
  for (const q of ['', '%20%20', '%09']) {
    const res = await node.call('GET', `/api/v1/students?q=${q}`)
    t.equal(res.status, 400, `q=${q}`)
    t.equal(res.body.code, 'QUERY_EMPTY')
    t.match(res.body.message, /查询条件为空/)
  }
  const all = await node.call('GET', '/api/v1/students')
  t.equal(all.body.total, 1, 'leaving q out lists all, as before')
})

t.test('R-25.2 administrators need TOTP unless the node runs the demo relaxation, which only a loopback node accepts', async t => {
  for (const demo of [false, true]) {
    const node = await recordsNode(t, { config: { security: { demoLoginWithoutTotp: demo } } })
    const admin = node.app.auth.getByUsername('admin')!
    await node.app.auth.setPassword(admin.id, TEST_PASSWORD)
    const res = await node.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username: 'admin', password: TEST_PASSWORD } })
    t.equal(res.json().stage, demo ? 'ok' : 'totp_enrol', `demoLoginWithoutTotp ${demo}`)
  }
  t.throws(() => loadConfig({ node: { tier: 'province', code: '330000', name: 'p' }, server: { host: '0.0.0.0' }, security: { demoLoginWithoutTotp: true } }), { code: 'CONFIG_INVALID', details: { key: 'security.demoLoginWithoutTotp' } })
})
