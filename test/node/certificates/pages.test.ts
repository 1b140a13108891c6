import t from 'tap'
import { buildTestApp, loginAs } from '../../helper.ts'
import { schoolRow, studentRow, writeRows } from '../../../scripts/lib/sync-fixtures.ts'

/** A county node with a verified student whose name and school name are markup, and its signed certificate. */
async function issued(t: Parameters<typeof buildTestApp>[0]) {
  const app = await buildTestApp(t)
  const school: Record<string, string | number | null> = { ...schoolRow('330106', '330106', 1), name: '<img src=x onerror=alert(1)>"学校\'' }
  writeRows(app.storage, 'schools', [school])
  const student: Record<string, string | number | null> = { ...studentRow('330106', school, 7), name: '</td><script>alert(1)</script>', verify_state: 'verified' }
  writeRows(app.storage, 'students', [student])
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [school.school_code as string] })
  const page = await app.inject({ url: `/api/v1/students/${student.id}/certificate`, headers: admin.headers })
  t.equal(page.statusCode, 200, 'the certificate is issued')
  const token = /核验码：([A-Za-z0-9_.-]+)/.exec(page.body)![1]
  return { app, page, token, student }
}

t.test('R-27.1 the public /verify page, which shows a certified child\'s name, birth date and school, is never stored by a browser or proxy, and its form sends the certificate in the body, not in the URL', async t => {
  const { app, token, student } = await issued(t)
  const form = await app.inject({ url: '/verify' })
  t.equal(form.headers['cache-control'], 'no-store', 'the form page')
  t.match(form.body, /<form method="post" action="\/verify"/, 'the form posts: the pasted certificate stays out of the address bar, history and proxy logs')
  t.notMatch(form.body, /method="get"/)

  const posted = await app.inject({ method: 'POST', url: '/verify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ t: token }).toString() })
  t.equal(posted.statusCode, 200, 'the posted form is answered')
  t.match(posted.headers['content-type'], /^text\/html/)
  t.match(posted.body, /证明有效/, 'the posted certificate is verified')
  t.match(posted.body, '&lt;/td&gt;&lt;script&gt;', 'its name shown escaped')
  t.equal(posted.headers['cache-control'], 'no-store', 'the result names the child: not stored')

  const bad = await app.inject({ method: 'POST', url: '/verify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 't=hello' })
  t.match(bad.body, /证明无效（CERT_INVALID）/, 'a posted non-certificate is refused on the page')
  t.equal((await app.inject({ method: 'POST', url: '/verify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: '' })).statusCode, 200, 'an empty post answers the form')
  t.equal((await app.inject({ method: 'POST', url: '/verify', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `t=${'a'.repeat(9000)}` })).statusCode, 400, 'the body is bounded as the query is')

  const linked = await app.inject({ url: `/verify?t=${encodeURIComponent(token)}` })
  t.match(linked.body, /证明有效/, 'a verifier scripting GET ?t= still gets its answer')
  t.equal(linked.headers['cache-control'], 'no-store', 'not stored either')
  t.notOk(JSON.stringify(linked.headers).includes(String(student.name)), 'no personal data in the headers')
})

t.test('R-25.2 markup in a stored name or school name is text on the printable 学籍证明 and on /verify: no element, attribute or script of it reaches the page, and the pages forbid inline script and framing by other sites', async t => {
  const { app, page, token } = await issued(t)
  const verified = await app.inject({ url: `/verify?t=${encodeURIComponent(token)}` })
  for (const [what, res] of [['certificate', page], ['verify', verified]] as const) {
    t.notMatch(res.body, /<script|<img|<\/td><script/i, `${what}: no injected element`)
    t.match(res.body, '&lt;img src=x onerror=alert(1)&gt;&quot;学校&#39;', `${what}: the school name escaped, quotes included`)
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /script-src 'self'/, `${what}: scripts from the node only`)
    t.notMatch(csp, /'unsafe-inline'[^;]*;?.*script-src|script-src[^;]*'unsafe-inline'/, `${what}: no inline script`)
    t.match(csp, /frame-ancestors 'self'/, `${what}: not framed by another site`)
    t.equal(res.headers['x-frame-options'], 'SAMEORIGIN')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
  }
  t.equal(page.headers['cache-control'], 'no-store', 'the issued certificate is not stored either')
})
