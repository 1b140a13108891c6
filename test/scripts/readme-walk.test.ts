import t from 'tap'
import { readFileSync } from 'node:fs'
import { walkReadme, sectionCommands } from '../../scripts/readme-walk.ts'
import { REDIS_URL } from '../helper.ts'

// A build of the whole tree on a shared 2-core machine: more than the suite's default 300 s may pass.
t.setTimeout(900_000)

t.test('R-D.5 the README\'s deployment and federation sections, walked as written on a built copy: a student written at the county reads at the province', async t => {
  const result = await walkReadme({ redisUrl: REDIS_URL, log: line => t.comment(line) })
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const xueji = [...sectionCommands(readme, 'Deploying a county node'), ...sectionCommands(readme, 'Joining the federation')].filter(l => l.includes(' xueji '))
  for (const line of xueji) {
    const sub = / xueji (\S+)/.exec(line)![1]
    t.ok(result.commands.some(c => c.includes(` xueji ${sub} `)), `README command "xueji ${sub}" was run`)
  }
  t.ok(result.commands.some(c => c === 'npm run build'), 'built with npm run build')
  t.match(result.provinceRead, { name: '曾小明', homeNode: '330106', schoolCode: '3301060101' })
  t.match(String(result.provinceRead.studentNo), /^G/, 'the 学籍号 the county derived travelled with the record')
  t.comment(`npm run build ${(result.buildMs / 1000).toFixed(1)} s; county write → province read ${result.replicationMs} ms`)
})
