/** Bundles `entry` (a path relative to the checkout) into node_modules/.cache/xueji/NAME-HASH.mjs and returns that path. */
export function bundleSources(entry: string, name: string): Promise<string>
