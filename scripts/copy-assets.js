// After `tsc`, copy every file the node reads at run time that is not TypeScript (migrations, code
// tables, the common-password list …) into dist/, by walking the source folders: an asset added
// later is carried without editing this list. READMEs stay behind.
import { cpSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

function copyAssets(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) copyAssets(path)
    else if (!/\.(ts|md)$/.test(entry.name)) cpSync(path, join('dist', path))
  }
}

for (const dir of ['config', 'schema', 'sync', 'node']) copyAssets(dir)
cpSync('package.json', 'dist/package.json')
