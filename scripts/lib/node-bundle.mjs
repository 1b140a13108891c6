// Bundles the node's sources (scripts/run.ts and everything it imports from this checkout) into
// one ES module for the node processes that tests, the demo and the benchmarks start, and prints
// its path. Packages stay external (loaded from node_modules as usual). A process started this
// way skips tsx's module hooks, which cost more start-up time than anything else the node does.
// Each module's `import.meta.url` is replaced by its source file's URL, so data files beside the
// sources (migrations, code tables, rules) are found exactly as when running from source.
// The bundle is named by its content hash under node_modules/.cache/xueji/: unchanged sources
// reuse it, concurrent builds write the same bytes and rename into place.
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const root = fileURLToPath(new URL('../../', import.meta.url))
const result = await build({
  entryPoints: [`${root}scripts/run.ts`],
  bundle: true,
  write: false,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outfile: `${root}node_modules/.cache/xueji/node.mjs`,
  logLevel: 'error',
  plugins: [
    {
      name: 'source-import-meta-url',
      setup(b) {
        b.onLoad({ filter: /\.ts$/ }, args => ({
          contents: readFileSync(args.path, 'utf8').replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)),
          loader: 'ts',
        }))
      },
    },
  ],
})
const code = result.outputFiles[0].contents
const dir = `${root}node_modules/.cache/xueji`
const file = `${dir}/node-${createHash('sha256').update(code).digest('hex').slice(0, 16)}.mjs`
if (!existsSync(file)) {
  mkdirSync(dir, { recursive: true })
  const tmp = `${file}.${process.pid}.tmp`
  writeFileSync(tmp, code)
  renameSync(tmp, file)
}
process.stdout.write(file)
