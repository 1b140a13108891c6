/**
 * The synthetic data generator (`xueji seed`, issue #3): fills a node with a realistic,
 * deterministic registration record for its own area. Same seed, node and date → same data.
 */
import type { Storage } from '../../schema/db.ts'
import type { Tier } from '../../config/schema.ts'
import { nodeArea } from './area.ts'
import { schoolCalendar } from './calendar.ts'
import { NumberAllocator } from './idnumbers.ts'
import { kindergartens } from './kindergartens.ts'
import type { SeedContext } from './people.ts'
import { Rng } from './random.ts'
import { writeSchools, writeUnit, type SchoolPlan } from './schools.ts'
import { writeStudent } from './students.ts'
import { SEED_ACTOR, SeedWriter } from './writer.ts'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { seedError } from './errors.ts'
import { createWorkingCalendar } from '../../config/calendar.ts'
import { codes } from '../../schema/codes/index.ts'
import { createRecordsService } from '../../node/services/records/service.ts'
import { createStatusChangeService } from '../../node/status-changes/service.ts'
import type { Actor } from '../../node/auth/access.ts'
import { verify } from '../../node/auth/verification.ts'
import { verificationStep } from '../../node/auth/verify-record.ts'

export const MIN_STUDENTS = 100
export const MAX_STUDENTS = 1_000_000

export interface SeedOptions {
  /** The node seeded: its tier and division code decide the area (schools, ID numbers). */
  node: { tier: Tier; code: string }
  students: number
  /** Default: one per 1,000 students, at least one. */
  kindergartens?: number
  seed?: number
  /** "Now" for the generated record (term, ages, timestamps). Default: the current time. */
  asOf?: Date
  /** Students (or children) per transaction. */
  batchSize?: number
  /** Called after each committed batch, for progress output. */
  onProgress?: (done: { students: number; children: number }) => void
}

export interface SeedResult {
  /** Rows written per table (outbox rows not counted). */
  counts: Record<string, number>
  outboxRows: number
  seconds: number
  /** Students per second. */
  rate: number
}

/** One death forced per this many students (at least one): the chance alone may draw none. */
const FORCED_DEATHS_EVERY = 25_000

export function seedNode(storage: Storage, o: SeedOptions): SeedResult {
  if (!Number.isInteger(o.students) || o.students < MIN_STUDENTS || o.students > MAX_STUDENTS) {
    throw seedError('SEED_SIZE_INVALID', `students must be an integer from ${MIN_STUDENTS} to ${MAX_STUDENTS}`, { students: o.students })
  }
  const started = process.hrtime.bigint()
  const existing = storage.sqlite.prepare('select (select count(*) from schools) + (select count(*) from kindergartens) + (select count(*) from supervising_units) n').get() as { n: number }
  if (existing.n > 0) throw seedError('SEED_NODE_NOT_EMPTY', 'the node already holds schools, kindergartens or units; seed an empty node')

  const asOf = o.asOf ?? new Date()
  const now = asOf.toISOString()
  const chinaDate = new Date(asOf.getTime() + 8 * 3600_000).toISOString().slice(0, 10)
  let ids = 0
  const rng = new Rng(o.seed ?? 1)
  const newId = () => rng.uuid7(asOf.getTime(), ids++)
  const writer = new SeedWriter(storage, now, o.node.code, newId)
  const clock = { at: now }
  const serviceDeps = { storage, identity: { code: o.node.code }, codes, now: () => new Date(clock.at), newId }
  const ctx: SeedContext = {
    services: {
      statusChanges: createStatusChangeService({ ...serviceDeps, calendar: createWorkingCalendar(), days: { apply: 7, review: 20 } }),
      records: createRecordsService({ ...serviceDeps, now: () => asOf }),
      verifyChange: (id, schoolCode) => {
        const leader: Actor = { accountId: `${SEED_ACTOR}:leader`, username: 'seed-leader', role: 'school_admin', scope: { kind: 'schools', schools: [schoolCode] }, leader: true, grants: [] }
        const row = storage.write(() => verificationStep(storage, o.node.code, 'student_status_changes', id, leader, (r, a, at) => verify(r, a, 'status_change', at), { now: clock.at }))
        return row!.version as number
      },
      clock,
    },
    rng,
    extra: new Rng(`${o.seed ?? 1}:extra`),
    area: nodeArea(o.node.tier, o.node.code),
    cal: schoolCalendar(chinaDate),
    now,
    numbers: new NumberAllocator(),
    writer,
    newId,
  }

  // Bulk-load settings for the run, restored after. Names, ID numbers and 学籍号 scatter inserts
  // over their indexes, so the default 2 MB page cache thrashes; 256 MB keeps them in memory.
  // NORMAL sync in WAL mode loses at most the last batches on power loss, never consistency;
  // seeding is for fresh demo and test nodes, which are re-initialised if a run is cut short.
  // Foreign keys are checked once at the end instead of per row: the generator writes parents
  // first by construction, and foreign_key_check proves it before the run is reported done.
  const saved = { cache: storage.sqlite.pragma('cache_size', { simple: true }), sync: storage.sqlite.pragma('synchronous', { simple: true }), fk: storage.sqlite.pragma('foreign_keys', { simple: true }) }
  storage.sqlite.pragma('cache_size = -262144')
  storage.sqlite.pragma('synchronous = NORMAL')
  storage.sqlite.pragma('foreign_keys = OFF')
  try {
    const outboxBefore = countOf(storage, 'outbox')
    fill(storage, o, ctx)
    // Counted from the tables: the services write status changes, completions and updates too.
    const counts = Object.fromEntries(REPLICATED_TABLES.map(t => [t.name, countOf(storage, t.name)]))
    const broken = storage.sqlite.pragma('foreign_key_check') as unknown[]
    if (broken.length > 0) throw new Error(`seed: ${broken.length} rows break a foreign key, first: ${JSON.stringify(broken[0])}`)
    const seconds = Number(process.hrtime.bigint() - started) / 1e9
    const outboxRows = countOf(storage, 'outbox') - outboxBefore
    return { counts, outboxRows, seconds, rate: o.students / seconds }
  } finally {
    storage.sqlite.pragma(`cache_size = ${Number(saved.cache)}`)
    storage.sqlite.pragma(`synchronous = ${Number(saved.sync)}`)
    storage.sqlite.pragma(`foreign_keys = ${Number(saved.fk)}`)
  }
}

const countOf = (storage: Storage, table: string) => (storage.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n

/** Writes everything, batch by batch. */
function fill(storage: Storage, o: SeedOptions, ctx: SeedContext): void {
  const writer = ctx.writer
  const batch = o.batchSize ?? 5000
  const kgCount = o.kindergartens ?? Math.max(1, Math.round(o.students / 1000))
  const plans = storage.write(() => {
    const unitCode = writeUnit(ctx)
    const p = writeSchools(ctx, { students: o.students, unitCode })
    writer.markBatch()
    return { unitCode, schools: p }
  })

  let students = 0
  let children = 0
  const run = (work: Generator<void>, count: () => void) => {
    for (let done = false; !done; ) {
      storage.write(() => {
        for (let i = 0; i < batch; i++) {
          if (work.next().done) {
            done = true
            break
          }
          count()
        }
        writer.markBatch()
      })
      o.onProgress?.({ students, children })
    }
  }
  run(studentWork(ctx, plans.schools, o.students), () => students++)
  run(kindergartens(ctx, { count: kgCount, unitCode: plans.unitCode }), () => children++)
}

/** Yields after each student written, school by school, class by class. */
function* studentWork(ctx: SeedContext, plans: SchoolPlan[], total: number): Generator<void> {
  const zhejiang = nodeArea('province', '330000').counties.map(c => c.code)
  const codes = plans.map(p => p.code)
  // Codes of schools elsewhere, for transfers: the node's own schools and some outside it.
  const outside = Array.from({ length: 40 }, () => `${ctx.rng.pick(zhejiang)}${String(ctx.rng.int(1, 400)).padStart(4, '0')}`)
  // A few deaths on every node whatever the chance draws, spread over the run.
  const deaths = new Set(Array.from({ length: Math.max(1, Math.floor(total / FORCED_DEATHS_EVERY)) }, (_, i) => Math.floor(((i + 0.5) * total) / Math.max(1, Math.floor(total / FORCED_DEATHS_EVERY)))))
  let n = 0
  let deathDue = false
  for (const plan of plans) {
    const otherSchools = [...codes.filter(c => c !== plan.code), ...outside]
    for (const cohort of plan.cohorts) {
      for (const cls of cohort.classes) {
        for (let seat = 1; seat <= cls.students; seat++) {
          // A death falling on a graduate waits for the next pupil still at school.
          deathDue ||= deaths.has(n)
          const forceDeath = deathDue && !cohort.graduated
          if (forceDeath) deathDue = false
          writeStudent(ctx, { plan, cohort, cls, seat, forceDeath, otherSchools, zhejiang })
          n++
          yield
        }
      }
    }
  }
}

export { nodeArea } from './area.ts'
