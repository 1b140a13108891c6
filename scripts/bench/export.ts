/**
 * `npm run bench:export [-- --students N] [--format csv|xlsx|both] [--keep]`: seeds N students
 * (default 100,000) into an empty county node with `xueji seed`, starts the node as its own
 * process, signs in over HTTP, waits until the node's start-up has packed the seeded outbox (so
 * the export is measured alone), exports every student through `POST /api/v1/exports` (the job),
 * downloads the file, and prints rows/s, the file's row count, whether the masked columns are
 * masked, and the node process's RSS before each export and its peak (VmHWM, reset just before) during it (R-D.7).
 * `NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR"` profiles the node process (and this one).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { runExportBench, type ExportRun } from './export-lib.ts'

const { values } = parseArgs({
  options: { students: { type: 'string', default: '100000' }, format: { type: 'string', default: 'both' }, keep: { type: 'boolean', default: false } },
})
const students = Number(values.students)
const formats = values.format === 'both' ? (['csv', 'xlsx'] as const) : [values.format as 'csv' | 'xlsx']
const root = mkdtempSync(join(tmpdir(), 'xueji-bench-export-'))
const mb = (kb: number) => `${(kb / 1024).toFixed(0)} MB`
try {
  const result = await runExportBench({ root, students, formats, log: s => process.stderr.write(`${s}\n`) })
  const line = (r: ExportRun) =>
    `  ${r.format.padEnd(4)} ${r.rows} rows in ${r.seconds.toFixed(1)} s = ${Math.round(r.rows / r.seconds)} rows/s, file ${(r.bytes / 1e6).toFixed(1)} MB, ` +
    `ID numbers and phones masked: ${r.masked ? 'yes' : 'NO'}, node RSS ${mb(r.rssBeforeKb)} before, peak ${mb(r.peakAfterKb)} during`
  process.stdout.write(
    [
      `export bench: ${students} students seeded by xueji seed in ${result.seedSeconds.toFixed(1)} s; the node's start-up packed their outbox in ${result.packSeconds.toFixed(1)} s after sign-in, before the exports; node process idle RSS ${mb(result.idleRssKb)}`,
      ...result.runs.map(line),
      `machine: ${readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown'}, ${(await import('node:os')).cpus().length} cores, Node ${process.version}`,
      '',
    ].join('\n'),
  )
} finally {
  if (!values.keep) rmSync(root, { recursive: true, force: true })
  else process.stdout.write(`kept ${root}\n`)
}
