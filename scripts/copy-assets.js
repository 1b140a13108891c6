// After `tsc`, copy the non-TypeScript files the node reads at run time into dist/.
import { cpSync, existsSync } from 'node:fs'

for (const dir of ['schema/migrations', 'schema/codes/data']) {
  if (existsSync(dir)) cpSync(dir, `dist/${dir}`, { recursive: true })
}
cpSync('package.json', 'dist/package.json')
