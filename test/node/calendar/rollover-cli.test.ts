/**
 * `xueji rollover` on a seeded node: the dry run lists what would change and what
 * blocks it; a real run killed with SIGKILL once its first schools are done, then run again,
 * leaves every class moved exactly once (or not at all where its school is blocked) and every
 * graduate completed once: no pupil promoted twice or left behind.
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { initNode } from '../../../node/identity.ts'
import { openStorage } from '../../../schema/db.ts'
import { main } from '../../../scripts/cli.ts'
import { nodeBundle } from '../../../scripts/lib/processes.ts'
import { seedNode } from '../../../scripts/seed/index.ts'
import { REDIS_URL, TEST_PASSWORD } from '../../helper.ts'

type Row = Record<string, any>

async function run(...argv: string[]) {
  let out = ''
  let err = ''
  const code = await main(argv, { XUEJI_REDIS_URL: REDIS_URL }, { out: s => (out += s), err: s => (err += s) })
  return { code, out, err }
}

t.test('R-21.1 a rollover killed with SIGKILL half-way and run again moves every class once: none twice, none left behind', async t => {
  const dir = join(t.testdir(), 'county')
  await initNode({ dataDir: dir, tier: 'county', code: '330106', name: '西湖区教育局', parentUrl: 'http://127.0.0.1:1', adminPassword: TEST_PASSWORD, config: { redis: { url: REDIS_URL } } })
  const storage = openStorage(join(dir, 'xueji.db'))
  t.teardown(() => storage.close())
  // The school year 2025–26, seeded in July: the rollover into 2026 is due on 1 August.
  seedNode(storage, { node: { tier: 'county', code: '330106' }, students: 300, kindergartens: 10, seed: 7, asOf: new Date('2026-07-15T04:00:00Z') })
  const db = storage.sqlite
  const classes = (table: string) => new Map((db.prepare(`select id, grade, version, ${table === 'school_classes' ? 'school_id' : 'kindergarten_id'} unit from ${table}`).all() as Row[]).map(r => [r.id, r]))
  const before = { school: classes('school_classes'), kindergarten: classes('kindergarten_classes') }
  const inSchool = new Set((db.prepare(`select id from students where state = 'in_school'`).pluck().all() as string[]))
  const units = (db.prepare('select count(*) from schools').pluck().get() as number) + (db.prepare('select count(*) from kindergartens').pluck().get() as number)

  const dry = await run('rollover', '--data', dir, '--dry-run', '--as-of', '2026-08-01')
  t.equal(dry.code, 0, dry.err)
  t.match(dry.out, /^dry run of the rollover into 2026 \(day 2026-08-01, term 2026-1\):/, 'the dry run names the school year and term')
  t.equal(dry.out.split('\n').filter(l => /^(ready|blocked) /.test(l)).length, units, 'one line per school and kindergarten')
  t.equal(db.prepare('select count(*) from calendar_rollovers').pluck().get(), 0, 'the dry run writes nothing')

  // A real process, killed as soon as it reports its first school done.
  const child = spawn(process.execPath, [nodeBundle(), 'rollover', '--data', dir, '--as-of', '2026-08-01'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XUEJI_REDIS_URL: REDIS_URL } })
  let out = ''
  const exit = new Promise<{ code: number | null; signal: string | null }>(resolve => child.once('exit', (code, signal) => resolve({ code, signal })))
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk
    if (/^done /m.test(out)) child.kill('SIGKILL')
  })
  const ended = await exit
  t.equal(ended.signal, 'SIGKILL', `killed mid-run (${out.split('\n').filter(Boolean).length} of ${units} units reported)`)
  const doneAtKill = db.prepare(`select count(*) from calendar_rollovers where state = 'done'`).pluck().get() as number
  t.ok(doneAtKill >= 1 && doneAtKill < units, `the kill left ${doneAtKill} of ${units} units rolled`)

  const again = await run('rollover', '--data', dir, '--as-of', '2026-08-01')
  t.ok(again.code === 0 || again.code === 3, `the second run finishes (exit ${again.code}: 3 when some school is blocked) ${again.err}`)
  t.match(again.out, /rollover into 2026 \(term 2026-1\): \d+ done, \d+ blocked/)
  const markers = new Map((db.prepare('select unit_id, state from calendar_rollovers where school_year = 2026').all() as Row[]).map(r => [r.unit_id, r.state]))
  t.equal(markers.size, units, 'every unit has its marker')
  t.ok([...markers.values()].filter(s => s === 'done').length > doneAtKill, 'the second run rolled the rest')

  // Every class: one grade up exactly once where its unit rolled and it was not a final grade; else unchanged.
  // The final grades of the 学制 the seed uses: 六年制 primary, 三年制 junior or senior, 九年 and 十二年一贯制.
  const FINAL: Record<string, number[]> = { '6': [6], '3': [9, 12], '9': [9], '12': [12] }
  const schooling = new Map((db.prepare('select id, schooling_length l from school_classes').all() as Row[]).map(r => [r.id, r.l as string]))
  let moved = 0
  let problems = 0
  for (const kind of ['school', 'kindergarten'] as const) {
    const after = classes(kind === 'school' ? 'school_classes' : 'kindergarten_classes')
    for (const [id, b] of before[kind]) {
      const a = after.get(id)!
      const final = kind === 'kindergarten' ? b.grade === 3 : FINAL[schooling.get(id)!].includes(b.grade)
      const up = markers.get(b.unit) === 'done' && !final
      if (up) moved++
      if (a.grade !== b.grade + (up ? 1 : 0) || a.version !== b.version + (up ? 1 : 0)) problems++
    }
  }
  t.ok(moved > 0, `${moved} classes moved up`)
  t.equal(problems, 0, 'R-21.1 no class moved twice or left behind')

  // Students: those in school in a final-grade class of a rolled school completed once; the others are still in school.
  const rows = db.prepare(`select s.id, s.state, s.school_id, s.class_id, (select count(*) from student_completions x where x.student_id = s.id) completions from students s where s.class_id is not null`).all() as Row[]
  let graduated = 0
  let wrong = 0
  for (const s of rows) {
    if (!inSchool.has(s.id)) continue
    const final = FINAL[schooling.get(s.class_id)!].includes(before.school.get(s.class_id)!.grade)
    const completes = markers.get(s.school_id) === 'done' && final
    if (completes) graduated++
    if (completes ? s.state !== 'graduated' || s.completions !== 1 : s.state !== 'in_school') wrong++
  }
  t.ok(graduated > 0, `${graduated} students of graduating classes completed`)
  t.equal(wrong, 0, 'R-21.1 every graduate completed once, every other student still in school')
  const outbox = db.prepare('select count(*) from outbox').pluck().get()
  const third = await run('rollover', '--data', dir, '--as-of', '2026-08-01')
  t.match(third.out, /: \d+ done, \d+ blocked/)
  t.equal(db.prepare('select count(*) from outbox').pluck().get(), outbox, 'a third run changes nothing')
})
