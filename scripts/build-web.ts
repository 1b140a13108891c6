/**
 * `npm run build:web`: builds the single-page app of node/web/ with Vite into node/web/dist/,
 * prints the gzipped JavaScript a first visit loads (the entry and the chunks index.html preloads)
 * and fails above FIRST_LOAD_LIMIT. `ensureWebBuilt()` builds only when a source is newer than
 * the last build (tests and the demo call it, so a clean clone needs no separate step).
 */
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)))
export const WEB_DIR = join(ROOT, 'node', 'web')
const OUT = join(WEB_DIR, 'dist')
const STAMP = join(OUT, '.built')
/** Issue 12: the first load transfers at most 600 KB of gzipped JavaScript. */
export const FIRST_LOAD_LIMIT = 600 * 1024

/** The newest modification time among the app's sources and what shapes the build. */
function newestSource(): number {
  let newest = 0
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'dist') continue
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  walk(WEB_DIR)
  for (const f of [join(ROOT, 'node', 'records', 'fields.ts'), join(ROOT, 'package-lock.json'), fileURLToPath(import.meta.url)]) newest = Math.max(newest, statSync(f).mtimeMs)
  return newest
}

/** Gzipped bytes of the JavaScript index.html loads before the app renders. */
export function firstLoadBytes(): { bytes: number; files: string[] } {
  const html = readFileSync(join(OUT, 'index.html'), 'utf8')
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.js)"/g)].map(m => m[1])
  const bytes = files.reduce((n, f) => n + gzipSync(readFileSync(join(OUT, f)), { level: 9 }).length, 0)
  return { bytes, files }
}

export async function buildWeb(log: (s: string) => void = s => process.stdout.write(s)): Promise<void> {
  const started = Date.now()
  const { build } = await import('vite')
  const react = (await import('@vitejs/plugin-react')).default
  await build({
    root: WEB_DIR,
    configFile: false,
    logLevel: 'warn',
    plugins: [react()],
    build: {
      outDir: OUT,
      emptyOutDir: true,
      chunkSizeWarningLimit: 2000,
      rollupOptions: {
        output: {
          // The shell's libraries in stable chunks of their own; pages and ECharts load on demand.
          manualChunks: (id: string) => (/node_modules\/(react|react-dom|scheduler)\//.test(id) ? 'react' : undefined),
        },
      },
    },
  })
  const { bytes, files } = firstLoadBytes()
  log(`web UI built in ${((Date.now() - started) / 1000).toFixed(1)} s: first load ${(bytes / 1024).toFixed(0)} KB gzipped JavaScript in ${files.length} files (limit ${FIRST_LOAD_LIMIT / 1024} KB)\n`)
  if (bytes > FIRST_LOAD_LIMIT) throw new Error(`the first load is ${(bytes / 1024).toFixed(0)} KB of gzipped JavaScript, above ${FIRST_LOAD_LIMIT / 1024} KB: split the heavy pages off the entry`)
  writeFileSync(STAMP, new Date().toISOString())
}

/** Builds unless node/web/dist/ is newer than every source. */
export async function ensureWebBuilt(log?: (s: string) => void): Promise<void> {
  if (existsSync(STAMP) && statSync(STAMP).mtimeMs >= newestSource()) return
  await buildWeb(log)
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  buildWeb().catch(err => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
