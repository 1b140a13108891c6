#!/usr/bin/env node
// The `xueji` command. Runs the compiled build (`npm run build` → dist/) when present,
// else the TypeScript sources through tsx (development).
import { existsSync } from 'node:fs'

const built = new URL('../dist/scripts/run.js', import.meta.url)
if (existsSync(built)) {
  await import(built.href)
} else {
  const { register } = await import('tsx/esm/api')
  register()
  await import(new URL('./run.ts', import.meta.url).href)
}
