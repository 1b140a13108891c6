/**
 * The export run of `npm run bench:export` and of its in-suite test: a county node seeded with
 * `xueji seed`, started as its own process, exporting every student through the HTTP API.
 */
import { createReadStream, createWriteStream, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { pipeline } from 'node:stream/promises'
import { Readable } from 'node:stream'
import ExcelJS from 'exceljs'
import { initNode } from '../../node/identity.ts'
import { openStorage } from '../../schema/db.ts'
import { totpCode, timeStep } from '../../node/auth/totp.ts'
import { SESSION_COOKIE } from '../../node/plugins/auth.ts'
import { main } from '../cli.ts'
import { deleteRedisPrefix, freePort, spawnNode, stopProcess, waitPacked, waitReady } from '../lib/processes.ts'

const PASSWORD = 'export bench: a long passphrase 2026'

export interface ExportRun {
  format: 'csv' | 'xlsx'
  /** Data rows in the downloaded file (the header not counted). */
  rows: number
  seconds: number
  bytes: number
  /** No ID number or phone in clear in the file, and every non-empty one shows the mask. */
  masked: boolean
  /** The node process's RSS (kB) just before the export was asked for, its peak (VmHWM) having been reset to it there. */
  rssBeforeKb: number
  /** The node process's peak RSS (VmHWM, kB) once the export was done: the peak during the export. */
  peakAfterKb: number
}

export interface ExportBenchOptions {
  /** An empty directory for the node, the files and the log. */
  root: string
  students: number
  formats: ReadonlyArray<'csv' | 'xlsx'>
  redisUrl?: string
  /** Filters exported one after another (default one: every student, `{}`). */
  queries?: Array<Record<string, unknown>>
  log?: (line: string) => void
}

/** Sets a process's VmHWM back to its current RSS (Linux: 5 written to /proc/PID/clear_refs). */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5')
}

/** VmHWM and VmRSS of a process, kB. */
export function memoryOf(pid: number): { hwmKb: number; rssKb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0)
  return { hwmKb: kb('VmHWM'), rssKb: kb('VmRSS') }
}

/** Signs in through the API (password, then TOTP enrolment and a code at the first login); the session's headers. */
export async function login(url: string, password = PASSWORD, username = 'admin'): Promise<Record<string, string>> {
  const call = (path: string, headers: Record<string, string>, body?: unknown) =>
    fetch(`${url}/api/v1/auth/${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) })
  const first = await call('login', {}, { username, password })
  if (first.status !== 200) throw new Error(`login: ${first.status} ${await first.text()}`)
  const cookie = first.headers.getSetCookie().find(c => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!
  const { stage, csrfToken } = (await first.json()) as { stage: string; csrfToken: string }
  const headers = { cookie, 'x-csrf-token': csrfToken }
  if (stage === 'ok') return headers
  const { secret } = (await (await call('totp/enrol', headers)).json()) as { secret: string }
  const v = await call('totp/verify', headers, { code: totpCode(secret, timeStep(Date.now())) })
  if (v.status !== 200) throw new Error(`totp: ${v.status}`)
  // The second factor starts a new session: its cookie and CSRF token.
  return { cookie: v.headers.getSetCookie().find(c => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0]!, 'x-csrf-token': ((await v.json()) as { csrfToken: string }).csrfToken }
}

/** The cells of the ID number and phone columns of every data row, and the row count. */
async function readColumns(file: string, format: 'csv' | 'xlsx'): Promise<{ rows: number; ids: string[]; phones: string[] }> {
  const ids: string[] = []
  const phones: string[] = []
  let header: string[] | null = null
  let rows = 0
  const take = (cells: string[]) => {
    if (!header) {
      header = cells
      return
    }
    rows++
    ids.push(cells[header.indexOf('身份证件号')] ?? '')
    phones.push(cells[header.indexOf('联系电话')] ?? '')
  }
  if (format === 'csv') {
    // The bench data has no quoted commas in these columns; a line is split on commas.
    for await (const line of createInterface({ input: createReadStream(file, 'utf8') })) if (line !== '') take(line.replace(/^\ufeff/, '').split(','))
  } else {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(file, { sharedStrings: 'ignore', styles: 'ignore', hyperlinks: 'ignore', worksheets: 'emit' })
    for await (const sheet of reader) for await (const row of sheet as AsyncIterable<ExcelJS.Row>) take((row.values as unknown[]).slice(1).map(v => (v === null || v === undefined ? '' : String(v))))
  }
  return { rows, ids, phones }
}

export async function runExportBench(o: ExportBenchOptions): Promise<{ seedSeconds: number; packSeconds: number; idleRssKb: number; runs: ExportRun[] }> {
  const log = o.log ?? (() => undefined)
  const dir = join(o.root, 'county')
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const prefix = `xueji-bench-export:${port}:${Date.now()}`
  const redisUrl = o.redisUrl ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  await initNode({
    dataDir: dir, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:1', adminPassword: PASSWORD,
    config: { server: { port }, redis: { url: redisUrl, prefix }, log: { level: 'warn' } },
  })
  log(`seeding ${o.students} students …`)
  const seedStarted = Date.now()
  let err = ''
  const code = await main(['seed', '--data', dir, '--students', String(o.students), '--as-of', '2026-11-20'], process.env, { out: () => undefined, err: s => (err += s) })
  if (code !== 0) throw new Error(`xueji seed: ${err}`)
  const seedSeconds = (Date.now() - seedStarted) / 1000
  const storage = openStorage(join(dir, 'xueji.db'))
  const clear = storage.sqlite.prepare(`select id_number, phone from students`).all() as Array<{ id_number: string | null; phone: string | null }>
  storage.close()
  const clearIds = new Set(clear.map(r => r.id_number).filter(Boolean))
  const clearPhones = new Set(clear.map(r => r.phone).filter(Boolean))

  const child = spawnNode(dir, {}, join(o.root, 'node.log'))
  const runs: ExportRun[] = []
  try {
    await waitReady(url, 120_000, child)
    const headers = await login(url)
    // The first start packs the seeded outbox into change sets in the background; an export
    // measured beside that would measure both.
    const packSeconds = await waitPacked(url, headers)
    log(`start-up packed the outbox in ${packSeconds.toFixed(1)} s after sign-in`)
    const idleRssKb = memoryOf(child.pid!).rssKb
    for (const query of o.queries ?? [{}]) {
      for (const format of o.formats) {
        resetPeak(child.pid!)
        const rssBeforeKb = memoryOf(child.pid!).rssKb
        const started = Date.now()
        const asked = await fetch(`${url}/api/v1/exports`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'students', format, query }) })
        if (asked.status !== 202) throw new Error(`export refused: ${asked.status} ${await asked.text()}`)
        const { id } = (await asked.json()) as { id: string }
        let state = 'queued'
        let lastLog = 0
        while (state === 'queued' || state === 'running') {
          await new Promise(r => setTimeout(r, 250))
          const r = (await (await fetch(`${url}/api/v1/exports/${id}`, { headers })).json()) as { state: string; rowsDone: number; rowsTotal: number | null }
          state = r.state
          if (Date.now() - lastLog > 5000) {
            log(`  ${format}: ${r.rowsDone} of ${r.rowsTotal ?? '?'} rows`)
            lastLog = Date.now()
          }
        }
        const seconds = (Date.now() - started) / 1000
        if (state !== 'done') throw new Error(`export ${state}`)
        const peakAfterKb = memoryOf(child.pid!).hwmKb
        const file = join(o.root, `export.${format}`)
        const res = await fetch(`${url}/api/v1/exports/${id}/file`, { headers })
        if (res.status !== 200 || !res.body) throw new Error(`download: ${res.status}`)
        await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file))
        const cols = await readColumns(file, format)
        const masked =
          cols.ids.every(v => !clearIds.has(v) && (v === '' || v.includes('*'))) && cols.phones.every(v => !clearPhones.has(v) && (v === '' || v.includes('*'))) && cols.ids.some(v => v !== '')
        runs.push({ format, rows: cols.rows, seconds, bytes: statSync(file).size, masked, rssBeforeKb, peakAfterKb })
        log(`  ${format}: ${cols.rows} rows in ${seconds.toFixed(1)} s`)
      }
    }
    return { seedSeconds, packSeconds, idleRssKb, runs }
  } finally {
    await stopProcess(child)
    await deleteRedisPrefix(redisUrl, prefix)
  }
}
