/**
 * The attack trial of issue 8 against three real node processes, with the county enrolled the
 * normal way and then acting as if compromised (it holds its own private key and nothing else).
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Agent, request } from 'undici'
import { schoolRow, writeRows } from '../../scripts/lib/sync-fixtures.ts'
import { signChangeSet, type ChangeRow } from '../../sync/changeset.ts'
import { generateNodeKeyPair, signKeyRecord, type KeyRecord } from '../../sync/keys.ts'
import { FEDERATION_PREFIX } from '../../sync/messages.ts'
import { issueNodeToken } from '../../sync/node-token.ts'
import { loadSigner } from '../../sync/signers.ts'
import { NODE_AUTH_SCHEME } from '../../sync/transport.ts'
import { countRows, startFederation, until } from './lib/federation.ts'

const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024

/** Polls a URL every 50 ms and prints one JSON line per answer: its latency and the RSS of a pid. */
const PROBE = `
const [url, pid] = process.argv.slice(1)
const fs = require('node:fs')
const rss = () => Number(/VmRSS:\\s+(\\d+) kB/.exec(fs.readFileSync('/proc/' + pid + '/status', 'utf8'))[1]) / 1024
;(async () => {
  for (;;) {
    const t0 = performance.now()
    const res = await fetch(url)
    await res.arrayBuffer()
    process.stdout.write(JSON.stringify({ ms: performance.now() - t0, rss: rss() }) + '\\n')
    await new Promise(r => setTimeout(r, 50))
  }
})()
`

t.test('issue 8 attack trial with three real nodes', async t => {
  const [province, city, county] = await startFederation(t)
  const agent = new Agent({ connections: 64 })
  t.teardown(() => agent.close())

  t.test('R-25.2 32 concurrent unauthenticated 15 MB bodies are refused before they are read: /healthz keeps answering, RSS stays bounded', async t => {
    const pid = city.process!.pid!
    const before = rssMiB(pid)
    // Valid JSON, so a node that parses before it authenticates pays for every byte of it.
    const body = Buffer.from(JSON.stringify({ changeSet: { body: 'x'.repeat(15 * 1024 * 1024), jws: 'a.b.c' } }))
    // /healthz and RSS are watched from another process: this one is busy sending the flood, and
    // its own event loop must not be what the latency measures.
    const probe = spawn(process.execPath, ['-e', PROBE, `${city.url}/healthz`, String(pid)], { stdio: ['ignore', 'pipe', 'inherit'] })
    const samples: { ms: number; rss: number }[] = []
    let partial = ''
    probe.stdout!.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n')
      partial = lines.pop()!
      for (const l of lines) samples.push(JSON.parse(l))
    })
    t.teardown(() => probe.kill())
    await until('the probe running', () => samples.length >= 2)
    const started = performance.now()
    const outcomes = await Promise.all(
      Array.from({ length: 32 }, async (_, i) => {
        try {
          const res = await request(`${city.url}${FEDERATION_PREFIX}/changesets`, {
            method: 'POST',
            dispatcher: agent,
            headers: { 'content-type': 'application/json', ...(i % 2 ? { authorization: `${NODE_AUTH_SCHEME} not-a-token` } : {}) },
            body,
          })
          await res.body.dump()
          return String(res.statusCode)
        } catch (err) {
          // The node closes an unauthenticated connection instead of reading the rest of it.
          return `closed (${(err as { code?: string }).code ?? 'error'})`
        }
      }),
    )
    const floodMs = performance.now() - started
    const during = samples.length
    await until('the probe after the flood', () => samples.length >= during + 2)
    probe.kill()
    const health = samples.map(s => s.ms)
    const peak = Math.max(before, ...samples.map(s => s.rss))
    const counts = outcomes.reduce<Record<string, number>>((m, o) => ({ ...m, [o]: (m[o] ?? 0) + 1 }), {})
    const slowest = Math.max(...health)
    t.comment(`flood: ${Math.round(floodMs)} ms for 32 × 15 MB; outcomes ${JSON.stringify(counts)}`)
    t.comment(`/healthz from another process: ${health.length} probes, slowest ${slowest.toFixed(1)} ms; city RSS ${before.toFixed(0)} MiB before, ${peak.toFixed(0)} MiB peak`)
    t.notOk(outcomes.some(o => o.startsWith('2') || o.startsWith('5')), 'none accepted, none a server error')
    t.ok(outcomes.some(o => o === '401'), 'refused with 401')
    // A stall of the node, not a latency figure: the flood moves 480 MB through this 2-core
    // machine's loopback while other test files run (a clean-clone CI run saw 1,008 ms against the
    // 1 s this was). What tells a node that reads the bodies apart is its RSS, next.
    t.ok(slowest < 3000, '/healthz answered throughout, none waiting 3 s')
    // The old node grew by about 1 GB parsing these; a node that reads none of them grows little.
    t.ok(peak - before < 256, 'RSS stayed bounded (under +256 MiB)')

    // Still healthy: ordinary sync goes through the city after the flood.
    writeRows(county.storage, 'schools', [schoolRow('330106', '330106', 1)])
    await until('the school at the province', () => countRows(province.storage, 'schools') === 1)
    t.pass('a change set still travels county → city → province')
  })

  t.test('R-D.2 R-25.2 a compromised county cannot vouch for itself nor widen its area (self-signed key records, a self-declared province)', async t => {
    const own = await loadSigner(county.storage)
    const post = async (path: string, payload: unknown) => {
      const token = await issueNodeToken({ iss: '330106', aud: '330100', kid: own.kid, privateKey: own.privateKey })
      const res = await request(`${city.url}${FEDERATION_PREFIX}${path}`, {
        method: 'POST',
        dispatcher: agent,
        headers: { 'content-type': 'application/json', authorization: `${NODE_AUTH_SCHEME} ${token}` },
        body: JSON.stringify(payload),
      })
      return { status: res.statusCode, body: (await res.body.json()) as { code: string } }
    }
    const publicJwk = JSON.parse(county.storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').pluck().get(own.kid) as string)
    const base = { node: '330106', kid: own.kid, publicJwk, validFromSeq: 1, validUntilSeq: null, issuedAt: new Date().toISOString() }
    const extra = await generateNodeKeyPair()
    const forged: [string, KeyRecord][] = [
      ['a self-declared province', { ...base, tier: 'province', parent: null }],
      ['a county as its own city', { ...base, tier: 'city', parent: '330106' }],
      ['a second key vouched by itself', { ...base, kid: extra.kid, publicJwk: extra.publicJwk, tier: 'county', parent: '330106' }],
    ]
    for (const [what, record] of forged) {
      const res = await post('/keys', { records: [await signKeyRecord(record, own)] })
      t.match(res, { status: 403, body: { code: 'SYNC_KEY_NOT_VOUCHED' } }, `${what}: refused`)
    }

    // Then change sets writing another county's school and another city's school.
    await until('the county chain settled at the city', () => city.storage.sqlite.prepare("select count(*) from sync_change_sets where origin = '330106' and acked_at is null").pluck().get() === 0)
    for (const division of ['330108', '330203']) {
      const head = city.storage.sqlite.prepare("select seq, hash from sync_change_sets where origin = '330106' order by seq desc limit 1").get() as { seq: number; hash: string }
      const school = schoolRow('330106', division, 9)
      const rows: ChangeRow[] = [{ table: 'schools', key: { id: school.id as string }, op: 'upsert', row: school, version: 1 }]
      const signed = await signChangeSet({ format: 1, origin: '330106', seq: head.seq + 1, prev: head.hash, createdAt: new Date().toISOString(), rows }, own)
      const res = await post('/changesets', { changeSet: signed })
      t.match(res, { status: 403, body: { code: 'SYNC_ROW_OUTSIDE_OWNERSHIP' } }, `a school in ${division}: refused`)
    }
    for (const n of [city, province]) {
      t.same(n.storage.sqlite.prepare("select distinct tier, parent from sync_keys where node = '330106'").all(), [{ tier: 'county', parent: '330100' }], `${n.code}: the county is what the city enrolled`)
      t.equal(n.storage.sqlite.prepare("select count(*) from schools where division_code in ('330108', '330203')").pluck().get(), 0, `${n.code}: no foreign school stored`)
    }
  })
})
