import t from 'tap'
import { request as httpRequest, type ClientRequest } from 'node:http'
import { FEDERATION_PREFIX } from '../../sync/messages.ts'
import { buildTestApp } from '../helper.ts'
import { authOf, enrolActor, makeActor } from '../sync/lib/actors.ts'

t.test('R-25.2 federation routes authenticate before they read the body', async t => {
  const app = await buildTestApp(t, { tier: 'province', code: '330000' })
  const city = await makeActor('330100')
  t.equal(await enrolActor(app, city, 'city', '杭州市教育局'), 200)
  const over = 'x'.repeat(17 * 1024 * 1024)
  const post = async (payload: string, authorization?: string) =>
    app.inject({ method: 'POST', url: `${FEDERATION_PREFIX}/changesets`, headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) }, payload })

  const noToken = await post(over)
  t.match({ status: noToken.statusCode, body: noToken.json() }, { status: 401, body: { code: 'SYNC_TOKEN_INVALID' } }, 'a body over the limit without a token: 401, not 413')
  t.equal(noToken.headers.connection, 'close', 'its connection is closed, not drained')
  const badJson = await post('{"changeSet": {', 'XuejiNode forged')
  t.match({ status: badJson.statusCode, body: badJson.json() }, { status: 401, body: { code: 'SYNC_TOKEN_INVALID' } }, 'a body that is not JSON with a forged token: 401, never parsed')
  t.equal((await post(over, await authOf(city, '330000'))).statusCode, 413, 'an enrolled child gets the body limit')
  const enrol = await app.inject({ method: 'POST', url: `${FEDERATION_PREFIX}/enroll`, headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ token: 'x'.repeat(100 * 1024) }) })
  t.equal(enrol.statusCode, 413, 'enrolment, the one route without a node token, has a small body limit')
})

t.test('R-25.2 one child cannot take every federation slot: at most 4 of its requests at once', async t => {
  const app = await buildTestApp(t, { tier: 'province', code: '330000' })
  const [hangzhou, ningbo] = [await makeActor('330100'), await makeActor('330200')]
  await enrolActor(app, hangzhou, 'city', '杭州市教育局')
  await enrolActor(app, ningbo, 'city', '宁波市教育局')
  const url = new URL(await app.listen({ host: '127.0.0.1', port: 0 }))
  const origins = async (as: typeof hangzhou) => {
    const res = await fetch(`${url.origin}${FEDERATION_PREFIX}/origins`, { headers: { authorization: await authOf(as, '330000') } })
    return { status: res.status, body: (await res.json()) as { code?: string } }
  }

  // Four requests of Hangzhou that stay in flight: authenticated, their bodies never finished.
  const hanging: ClientRequest[] = []
  for (let i = 0; i < 4; i++) {
    const req = httpRequest(`${url.origin}${FEDERATION_PREFIX}/changesets`, { method: 'POST', headers: { authorization: await authOf(hangzhou, '330000'), 'content-type': 'application/json', 'content-length': 1000 } })
    req.on('error', () => undefined)
    req.write('{"changeSet":')
    hanging.push(req)
  }
  let busy = await origins(hangzhou)
  for (let i = 0; i < 100 && busy.status !== 429; i++) {
    await new Promise(r => setTimeout(r, 50))
    busy = await origins(hangzhou)
  }
  t.match(busy, { status: 429, body: { code: 'SYNC_BUSY' } }, 'a fifth request of the same child: 429')
  t.match(await origins(ningbo), { status: 200 }, 'another child is still served')
  hanging.forEach(r => r.destroy())
  let after = await origins(hangzhou)
  for (let i = 0; i < 100 && after.status !== 200; i++) {
    await new Promise(r => setTimeout(r, 50))
    after = await origins(hangzhou)
  }
  t.equal(after.status, 200, 'its slots come back when its requests end')
})
