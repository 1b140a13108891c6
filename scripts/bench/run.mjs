// `npm run bench:<name> [-- args]` runs scripts/bench/<name>.ts bundled (scripts/lib/bundle.mjs),
// not through tsx, so that a benchmark times the code as a node process runs it: tsx's
// transform wraps every closure in a function-name helper, which alone made (a) of bench:sync
// about a fifth slower (0.50 against 0.61 of the plain upsert, the same run of the machine).
import { pathToFileURL } from 'node:url'
import { bundleSources } from '../lib/bundle.mjs'

const name = process.argv[2]
if (!/^[a-z]+$/.test(name ?? '')) throw new Error('usage: node scripts/bench/run.mjs <benchmark> [args]')
// The benchmark reads its own arguments from process.argv.slice(2).
process.argv.splice(2, 1)
await import(pathToFileURL(await bundleSources(`scripts/bench/${name}.ts`, `bench-${name}`)).href)
