/**
 * Bounded memory of an export (R-D.7): a county seeded with 4,000 students exports one grade's students
 * and then every student, as CSV and Excel, through the real job. Before each export this process's
 * peak RSS (VmHWM) is reset to its RSS (/proc/self/clear_refs) after a full garbage collection, and
 * read again once the job is done (before the download), so the growth is the export's own. The
 * first export of each format (every student) warms the code up and is not compared.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildTestApp, loginAs, type TestLogin } from '../../helper.ts'
import { seedNode } from '../../../scripts/seed/index.ts'

const STUDENTS = 4000
/** V8 grows its young generation (semi-spaces of up to 16 MB) under any allocating job: a fixed slack covers it. */
const SLACK_KB = 32 * 1024

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0)

interface Measured {
  format: 'csv' | 'xlsx'
  rows: number
  rssBeforeKb: number
  growthKb: number
}

/** Runs one export job of the students matching `query` and returns the peak RSS growth while it ran. */
async function measure(app: FastifyInstance, login: TestLogin, format: 'csv' | 'xlsx', query: Record<string, unknown>): Promise<Measured> {
  gc()
  writeFileSync('/proc/self/clear_refs', '5')
  const rssBeforeKb = kb('VmRSS')
  const res = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: login.headers, payload: { kind: 'students', format, query } })
  if (res.statusCode !== 202) throw new Error(`export refused: ${res.statusCode} ${res.body}`)
  let record = res.json()
  while (record.state === 'queued' || record.state === 'running') {
    await new Promise(r => setTimeout(r, 50))
    record = (await app.inject({ method: 'GET', url: `/api/v1/exports/${record.id}`, headers: login.headers })).json()
  }
  if (record.state !== 'done') throw new Error(`export ${record.state}: ${record.errorCode}`)
  return { format, rows: record.rowsDone, rssBeforeKb, growthKb: Math.max(0, kb('VmHWM') - rssBeforeKb) }
}

t.test('R-D.7 an export streams: the peak RSS grows for four times the rows less than 2× its growth for the smaller export plus a fixed slack (CSV and Excel)', async t => {
  // Seeded before the app starts: a seed this size blocks the event loop long enough to stall a started BullMQ worker.
  const app = await buildTestApp(t, { code: '330106', prepare: storage => seedNode(storage, { node: { tier: 'county', code: '330106' }, students: STUDENTS, seed: 5, asOf: new Date('2026-11-20T04:00:00Z') }) })
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  // The smaller export: the grade with the most in-school students; the larger: every student.
  const grade = app.storage.sqlite.prepare(`select c.grade from students s join school_classes c on c.id = s.class_id where s.state = 'in_school' group by c.grade order by count(*) desc limit 1`).pluck().get() as number
  for (const format of ['csv', 'xlsx'] as const) await measure(app, bureau, format, {})
  const small = [await measure(app, bureau, 'csv', { grade }), await measure(app, bureau, 'xlsx', { grade })]
  const large = [await measure(app, bureau, 'csv', {}), await measure(app, bureau, 'xlsx', {})]
  const mb = (v: number) => (v / 1024).toFixed(1)
  for (const i of [0, 1]) {
    const a = small[i]!
    const b = large[i]!
    t.comment(`${a.format}: ${a.rows} rows (grade ${grade}): RSS ${mb(a.rssBeforeKb)} MB before, peak grew ${mb(a.growthKb)} MB; ${b.rows} rows (all): RSS ${mb(b.rssBeforeKb)} MB before, peak grew ${mb(b.growthKb)} MB`)
    t.ok(b.rows >= 4 * a.rows, `${a.format}: the larger export has at least four times the rows (${a.rows}, ${b.rows})`)
    t.ok(b.growthKb < 2 * a.growthKb + SLACK_KB, `${a.format}: peak growth for ${b.rows} rows below 2× that for ${a.rows} rows plus ${SLACK_KB / 1024} MB`)
  }
})
