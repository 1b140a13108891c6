// Bundles a TypeScript entry of this checkout (and everything it imports from here) into one ES
// module, for code that runs from the sources without tsx's module hooks: the node processes that
// tests, the demo and the benchmarks start (node-bundle.mjs), and the node's database read
// workers when the node itself runs from the sources (node/services/records/read-pool.ts).
// Packages stay external (loaded from node_modules as usual). Each module's `import.meta.url` is
// replaced by its source file's URL, so data files beside the sources (migrations, code tables,
// rules) are found exactly as when running from source. The bundle is named by its content hash
// under node_modules/.cache/xueji/: unchanged sources reuse it, concurrent builds write the same
// bytes and rename into place.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
// Spelt in two parts: this file is itself bundled (into the node's bundle, for its read workers),
// and the plugin below must not rewrite its own search string.
const META_URL = 'import.meta' + '.url'

/** What every bundle of this checkout's sources shares: packages external, import.meta.url kept. */
const common = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  logLevel: 'error',
  plugins: [
    {
      name: 'source-import-meta-url',
      setup(b) {
        b.onLoad({ filter: /\.m?[tj]s$/ }, args => ({
          contents: readFileSync(args.path, 'utf8').replaceAll(META_URL, JSON.stringify(pathToFileURL(args.path).href)),
          loader: args.path.endsWith('.ts') ? 'ts' : 'js',
        }))
      },
    },
  ],
}

/**
 * Bundles `entry` (a path relative to the checkout) and returns the bundle's absolute path.
 * `define`: esbuild's identifier replacements (node-bundle.mjs: `XUEJI_TEST_BUNDLE`).
 */
export async function bundleSources(entry, name, define = {}) {
  const result = await build({
    ...common,
    define,
    entryPoints: [`${root}${entry}`],
    write: false,
    outfile: `${root}node_modules/.cache/xueji/${name}.mjs`,
  })
  const code = result.outputFiles[0].contents
  const dir = `${root}node_modules/.cache/xueji`
  const file = `${dir}/${name}-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true })
    const tmp = `${file}.${process.pid}.tmp`
    writeFileSync(tmp, code)
    renameSync(tmp, file)
  }
  return file
}

/**
 * Bundles test files (paths relative to the checkout) into `outdir` in one build, the code they
 * share in common chunks, with source maps so stack traces and tap's source excerpts name the
 * TypeScript lines. Answers each entry's bundle, `outdir/<entry>.mjs`.
 */
export async function bundleTests(entries, outdir) {
  await build({
    ...common,
    entryPoints: entries.map(e => `${root}${e}`),
    outdir,
    outbase: root,
    splitting: true,
    sourcemap: 'linked',
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
  })
  return new Map(entries.map(e => [e, `${outdir}/${e.replace(/\.ts$/, '.mjs')}`]))
}
