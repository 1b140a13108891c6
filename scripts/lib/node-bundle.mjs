// Bundles the node's sources (scripts/run.ts and everything it imports from this checkout) into
// one ES module for the node processes that tests, the demo and the benchmarks start, and prints
// its path (bundle.mjs). A process started this way skips tsx's module hooks, which cost more
// start-up time than anything else the node does.
import { bundleSources } from './bundle.mjs'

process.stdout.write(await bundleSources('scripts/run.ts', 'node'))
