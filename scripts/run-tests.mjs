// `npm test`: runs every test/**/*.test.ts (node-tap tests, each its own process, run from a bundle; see below),
// TEST_JOBS at a time (default: the machine's cores + 1), the longest-running directories first so
// no long file starts last and runs alone. Prints each file's TAP output when it ends, then
// "# { total: N, pass: N, fail: N }". `npm test -- test/records test/sync/keys.test.ts` runs
// the files under those paths only.
//
// Why not tap's own runner: it adds @tapjs/processinfo (coverage bookkeeping; this suite has
// coverage off) to NODE_OPTIONS, so every node process a test starts loads its modules through
// an extra loader thread: +70 % CPU for each node started (1.9 → 3.2 CPU-s, measured), and the
// suite starts about seventy. Single files still run with `npx tap FILE` (.taprc).
//
// The files run bundled, not through tsx: one esbuild build of them all (scripts/lib/bundle.mjs,
// shared code in common chunks, source maps on) into a directory of this run's, removed at the
// end. Through tsx every file spent about 2.5 CPU-s loading the node's sources module by module
// over tsx's loader thread before its first test (importing test/helper.ts: 3.7 CPU-s through
// tsx, measured); a hundred files on a 2-core machine made that a fifth of the suite's time.
import { spawn } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { readdirSync, rmSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { bundleTests } from './lib/bundle.mjs'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
/** Directories whose files take longest (browsers, whole-tree builds, real node processes): started first. */
const FIRST = ['test/web/', 'test/scripts/', 'test/federation/', 'test/node/startup-backlog', 'test/sync/forged-input', 'test/node/auth/matrix']
/** tap's own limit per file (seconds; a test may raise its own), and the runner's hard stop for a hung file. */
const TAP_TIMEOUT = 300
const HARD_STOP_MS = 20 * 60 * 1000

// One more than the cores: the federation and browser files wait on polls and other processes,
// and with one file a core the 2-core machine stood idle a quarter of the run (CPU 891 s in 607 s
// wall; with 3 jobs 546 s).
const jobs = Number(process.env.TEST_JOBS) || availableParallelism() + 1
const wanted = process.argv.slice(2).map(a => a.replace(/\/$/, ''))
const files = readdirSync(join(ROOT, 'test'), { recursive: true, withFileTypes: true })
  .filter(e => e.isFile() && e.name.endsWith('.test.ts'))
  .map(e => relative(ROOT, join(e.parentPath, e.name)))
  .filter(f => !wanted.length || wanted.some(w => f === w || f.startsWith(`${w}/`)))
  .sort((a, b) => rank(a) - rank(b) || a.localeCompare(b, 'en'))

function rank(file) {
  const i = FIRST.findIndex(p => file.startsWith(p))
  return i === -1 ? FIRST.length : i
}

/** Counts of one file's TAP output: assertions (points without a subtest's "# time="), failed ones, skipped or todo ones. */
function count(output) {
  let total = 0
  let fail = 0
  let skip = 0
  for (const line of output.split('\n')) {
    const m = /^\s*(not )?ok \d+\b(.*)$/.exec(line)
    if (!m || /# time=/.test(m[2])) continue
    total++
    if (/#\s*(SKIP|TODO)\b/i.test(m[2])) skip++
    else if (m[1]) fail++
  }
  return { total, fail, skip }
}

function runFile(file) {
  return new Promise(resolve => {
    const started = Date.now()
    const child = spawn(process.execPath, ['--enable-source-maps', bundles.get(file)], {
      cwd: ROOT,
      // TAP_CWD: tap names a test's t.testdir() by its file's path from here, which for the bundle
      // is test/… as for the source (and the fixtures go with the run's directory).
      env: { ...process.env, TAP_TIMEOUT: String(TAP_TIMEOUT), TAP_CWD: outdir },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: a hung file is stopped with every node process it started.
      detached: true,
    })
    let output = ''
    child.stdout.on('data', d => (output += d))
    child.stderr.on('data', d => (output += d))
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL')
      } catch {
        // The group is empty: nothing of the file's is left running.
      }
    }
    const stop = setTimeout(() => {
      output += `\n# stopped by the runner after ${HARD_STOP_MS / 60000} min\n`
      killGroup()
    }, HARD_STOP_MS)
    let exitCode = null
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(stop)
      resolve({ file, code: exitCode, output, ms: Date.now() - started, ...count(output) })
    }
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? 1 : 0)
      // Whatever the file left running (a node process it failed to stop) goes with it, and a
      // grandchild still holding the output pipes cannot keep the runner waiting.
      killGroup()
      setTimeout(finish, 5000).unref()
    })
    child.on('close', finish)
  })
}

const started = Date.now()
const outdir = join(ROOT, 'node_modules', '.cache', 'xueji', `tests-${process.pid}`)
process.on('exit', () => rmSync(outdir, { recursive: true, force: true }))
const bundles = await bundleTests(files, outdir)
const results = []
let next = 0
let n = 0
process.stdout.write(`TAP version 14\n1..${files.length}\n`)
await Promise.all(
  Array.from({ length: Math.min(jobs, files.length) }, async () => {
    while (next < files.length) {
      const r = await runFile(files[next++])
      results.push(r)
      const ok = r.code === 0 && r.fail === 0
      const body = r.output.trimEnd().split('\n').map(l => `    ${l}`).join('\n')
      process.stdout.write(`# Subtest: ${r.file}\n${body}\n${ok ? 'ok' : 'not ok'} ${++n} - ${r.file} # time=${r.ms}ms\n\n`)
    }
  }),
)
// A file that failed without a failing assertion (a crash, a timeout) counts as one failure.
const failed = results.filter(r => r.code !== 0 || r.fail > 0)
const total = results.reduce((s, r) => s + r.total, 0) + failed.filter(r => r.fail === 0).length
const fail = results.reduce((s, r) => s + r.fail, 0) + failed.filter(r => r.fail === 0).length
const skip = results.reduce((s, r) => s + r.skip, 0)
const slowest = [...results].sort((a, b) => b.ms - a.ms).slice(0, 10)
process.stdout.write(`# slowest files: ${slowest.map(r => `${r.file} ${(r.ms / 1000).toFixed(0)} s`).join(', ')}\n`)
if (failed.length) process.stdout.write(`# failed files: ${failed.map(r => r.file).join(', ')}\n`)
// A file that failed with no failing assertion (a crash, a timeout) says why only in its output,
// far above: its last lines again here, where a reader of the log's end sees them.
for (const r of failed.filter(r => r.fail === 0)) {
  const tail = r.output.trimEnd().split('\n').slice(-25)
  process.stdout.write(`# ${r.file} exited ${r.code} with no failing assertion; its last lines:\n${tail.map(l => `#   ${l}`).join('\n')}\n`)
}
process.stdout.write(`# { total: ${total}, pass: ${total - fail - skip}, fail: ${fail}${skip ? `, skip: ${skip}` : ''} }\n# time=${Date.now() - started}ms\n`)
process.exitCode = failed.length ? 1 : 0
