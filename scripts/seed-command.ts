/**
 * `xueji seed`: fills a node with synthetic data for demos, tests and benchmarks (issue #3).
 * Opens the node's database directly, like the sync commands.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { XuejiError } from '../config/errors.ts'
import { openStorage } from '../schema/db.ts'
import { loadIdentity } from '../node/identity.ts'
import { dataPaths } from '../node/paths.ts'
import { nodeConfig } from '../node/config.ts'
import { MAX_STUDENTS, MIN_STUDENTS, seedNode, type SeedResult } from './seed/index.ts'
import type { CliHelpers } from './sync-commands.ts'

type Out = { out: (s: string) => void; err: (s: string) => void }
type Env = Record<string, string | undefined>

export const SEED_USAGE = `
  xueji seed --data DIR --students N [--seed S] [--kindergartens K] [--as-of YYYY-MM-DD]
          fill an empty node with synthetic schools, classes, teachers, N students (${MIN_STUDENTS}–${MAX_STUDENTS})
          and K kindergartens (default N/1000) with children, all in the node's own area;
          the same seed, node and date give the same data
`

/** One line per table and the rate, as the CLI and `npm run demo` print it. */
export function describeSeed(r: SeedResult, students: number): string {
  const c = r.counts
  return `seeded ${students} students, ${c.schools} schools, ${c.school_classes} classes, ${c.school_teachers} teachers, ${c.kindergartens} kindergartens, ${c.children} children in ${r.seconds.toFixed(1)} s (${Math.round(r.rate)} students/s; ${r.outboxRows} records, each also in the outbox)`
}

export function seedCommand(h: CliHelpers) {
  return async (args: string[], io: Out, env: Env): Promise<number> => {
    const v = h.parse(args, { data: { type: 'string' }, students: { type: 'string' }, seed: { type: 'string' }, kindergartens: { type: 'string' }, 'as-of': { type: 'string' } })
    for (const n of ['data', 'students']) if (typeof v[n] !== 'string' || v[n] === '') throw h.usage(`missing --${n}`)
    const int = (name: string, min: number, max: number) => {
      const text = v[name]
      if (text === undefined) return undefined
      if (typeof text !== 'string' || !/^\d+$/.test(text) || +text < min || +text > max) throw h.usage(`--${name} must be a whole number from ${min} to ${max}`)
      return Number(text)
    }
    const students = int('students', MIN_STUDENTS, MAX_STUDENTS)!
    const seed = int('seed', 0, 2 ** 32 - 1)
    const kindergartens = int('kindergartens', 0, 10_000)
    const asOfText = v['as-of']
    if (asOfText !== undefined && (typeof asOfText !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(asOfText) || Number.isNaN(Date.parse(asOfText)))) throw h.usage('--as-of must be a date YYYY-MM-DD')
    // Noon China time on that day, so the date is the same in UTC and in China.
    const asOf = typeof asOfText === 'string' ? new Date(`${asOfText}T04:00:00Z`) : undefined

    const paths = dataPaths(resolve(String(v.data)))
    const config = nodeConfig(paths, env)
    if (!existsSync(paths.db)) throw new XuejiError('NODE_NOT_INITIALISED', `${paths.dir} has no database; run "xueji init" first`, 500)
    const storage = openStorage(paths.db)
    try {
      const identity = loadIdentity(storage, config)
      const result = seedNode(storage, {
        node: identity,
        students,
        seed,
        kindergartens,
        asOf,
        onProgress: p => io.err(`\r  ${p.students} students, ${p.children} children …`),
      })
      io.err('\n')
      io.out(`${describeSeed(result, students)}\n`)
    } finally {
      storage.close()
    }
    return 0
  }
}
