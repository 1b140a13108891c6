import t from 'tap'
import { spawnSync } from 'node:child_process'
import { copyFileSync } from 'node:fs'
import { join } from 'node:path'

t.test('R-D.5 npm ci on Node 20 prints no EBADENGINE warning (overrides pin Node-20 versions)', async t => {
  const dir = t.testdir()
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(new URL(`../${f}`, import.meta.url), join(dir, f))
  // The engine check runs on the lock file's tree; --dry-run installs nothing, --offline uses the cache only.
  const r = spawnSync('npm', ['ci', '--dry-run', '--ignore-scripts', '--offline', '--no-audit', '--no-fund'], { cwd: dir, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  t.notMatch(r.stderr + r.stdout, /EBADENGINE/, `npm ci warnings on ${process.version}`)
})
