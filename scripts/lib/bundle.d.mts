/** Bundles `entry` (a path relative to the checkout) into node_modules/.cache/xueji/NAME-HASH.mjs and returns that path. */
export function bundleSources(entry: string, name: string): Promise<string>
/** Bundles test files (paths relative to the checkout) into OUTDIR with shared chunks and source maps; answers each entry's bundle path. */
export function bundleTests(entries: string[], outdir: string): Promise<Map<string, string>>
