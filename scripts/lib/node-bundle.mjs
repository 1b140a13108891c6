// Bundles the node's sources (scripts/run.ts and everything it imports from this checkout) into
// one ES module for the node processes that tests, the demo and the benchmarks start, and prints
// its path (bundle.mjs). A process started this way skips tsx's module hooks, which cost more
// start-up time than anything else the node does.
import { bundleSources } from './bundle.mjs'

// XUEJI_TEST_BUNDLE marks this bundle as one for processes started by tests (and the demo and the
// benchmarks): only such a process honours XUEJI_TEST_CLOCK_OFFSET_DAYS (node/growth/clock.ts).
// Production runs dist/ (tsc) or tsx, where the constant does not exist.
process.stdout.write(await bundleSources('scripts/run.ts', 'node', { XUEJI_TEST_BUNDLE: 'true' }))
