import t from 'tap'
import { canonicalJson } from '../../sync/canonical.ts'
import { checkIdNumber, checkStudentNumber, crossCheckIdNumber } from '../../schema/ids.ts'
import { codes } from '../../schema/codes/index.ts'
import { fieldsOf } from '../../node/records/fields.ts'
import { seedNode } from '../../scripts/seed/index.ts'
import { nodeArea } from '../../scripts/seed/area.ts'
import { birthRange } from '../../scripts/seed/calendar.ts'
import { AS_OF, RECORD_TABLES, camel, dataHash, rows, seeded } from './lib.ts'

t.test('the same seed gives the same data; another seed gives other data', async t => {
  const a = seeded(t, { seed: 42 })
  const b = seeded(t, { seed: 42 })
  const c = seeded(t, { seed: 43 })
  t.equal(dataHash(a.storage), dataHash(b.storage), 'seed 42 twice: same hash over every record and outbox row')
  t.not(dataHash(a.storage), dataHash(c.storage), 'seed 43: different data')
})

t.test('counts match the request and every record is in the outbox exactly as appendOutbox writes it, its latest version last', async t => {
  const { storage, result } = seeded(t, { students: 300, kindergartens: 3 })
  const count = (table: string) => (storage.sqlite.prepare(`select count(*) n from ${table}`).get() as { n: number }).n
  t.equal(count('students'), 300)
  t.equal(count('kindergartens'), 3)
  t.equal(count('supervising_units'), 1)
  let records = 0
  for (const table of RECORD_TABLES) {
    t.equal(result.counts[table] ?? 0, count(table), `${table}: reported count`)
    records += count(table)
  }
  // One upsert per version: a record the status-change workflow moved (a student, a change) has one per step.
  const versions = RECORD_TABLES.reduce((n, table) => n + (storage.sqlite.prepare(`select coalesce(sum(version), 0) n from ${table}`).get() as { n: number }).n, 0)
  t.equal(count('outbox'), versions, 'one outbox row per record version')
  t.ok(versions > records, 'the workflow wrote further versions')
  t.equal(result.outboxRows, versions)
  // Row images: the full SQL row, canonical JSON, keyed by id; the last row of a key is the record now.
  const outbox = new Map((storage.sqlite.prepare('select * from outbox order by id').all() as Array<Record<string, unknown>>).map(o => [`${o.table_name}:${o.key_json}`, o]))
  let checked = 0
  for (const table of RECORD_TABLES) {
    for (const row of rows(storage, table)) {
      const o = outbox.get(`${table}:${canonicalJson({ id: row.id })}`)
      if (!o || o.row_json !== canonicalJson(row) || o.op !== 'upsert' || o.version !== row.version || o.epoch !== 0 || o.change_set_seq !== null) {
        t.fail(`${table} ${row.id}: outbox row differs`, { found: o })
        return
      }
      checked++
    }
  }
  t.equal(checked, records, 'every outbox image equals canonicalJson(select * row)')
  const ids = RECORD_TABLES.flatMap(table => rows(storage, table).map(r => String(r.id)))
  t.ok(ids.every(id => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)), 'ids are version-7 UUIDs')
  t.equal(new Set(ids).size, ids.length, 'ids unique')
  for (const table of ['students', 'student_guardians', 'student_exams', 'children', 'child_guardians', 'school_classes', 'kindergarten_teachers']) {
    t.ok(count(table) > 0, `${table} has rows`)
  }
})

t.test('ID numbers and 学籍号 are valid and agree with birth date and gender', async t => {
  const { storage } = seeded(t, { students: 2000 })
  const forms: Record<string, number> = {}
  let ids = 0
  const bad: string[] = []
  for (const table of ['students', 'children']) {
    for (const r of rows(storage, table)) {
      if (r.id_doc_type === '1') {
        ids++
        const check = checkIdNumber(String(r.id_number), { now: AS_OF })
        if (!check.ok) bad.push(`${r.id_number}: ${check.rule}`)
        const mismatch = crossCheckIdNumber(String(r.id_number), { birthDate: String(r.birth_date), gender: String(r.gender) }, { now: AS_OF })
        if (mismatch.length) bad.push(`${r.id_number}: ${mismatch.join(',')}`)
        // The sequence digit decides the gender (odd male), not the other way round.
        if (Number(String(r.id_number)[16]) % 2 !== (r.gender === '1' ? 1 : 0)) bad.push(`${r.id_number}: gender digit`)
      }
      if (table !== 'students') continue
      const no = String(r.student_no)
      forms[no[0]] = (forms[no[0]] ?? 0) + 1
      const xjh = checkStudentNumber(no, { now: AS_OF })
      if (!xjh.ok) bad.push(`${no}: ${xjh.rule}`)
      else if (xjh.birthDate !== r.birth_date) bad.push(`${no}: birth date`)
      if (no[0] === 'G' && no.slice(1) !== r.id_number) bad.push(`${no}: G is not G + ID number`)
      if (no[0] !== 'G' && no.slice(1, 7) !== String(r.school_code).slice(0, 6)) bad.push(`${no}: J/L use the school's division`)
    }
  }
  t.same(bad, [], 'no invalid number')
  t.ok(ids > 2000, `${ids} citizen ID numbers checked`)
  t.ok(forms.G > 1700 && forms.J > 0 && forms.L > 0, `mostly G, some J and L: ${JSON.stringify(forms)}`)
  const distinct = storage.sqlite.prepare("select count(*) n, count(distinct id_number) d from (select id_number from students where id_doc_type = '1' union all select id_number from children where id_doc_type = '1')").get() as { n: number; d: number }
  t.equal(distinct.d, distinct.n, 'no ID number twice')
})

t.test('ID numbers come from the node\'s own area', async t => {
  for (const [tier, code] of [['county', '330106'], ['city', '330100'], ['county', '331127']] as const) {
    const { storage } = seeded(t, { tier, code, students: 300 })
    const area = nodeArea(tier, code)
    const allowed = new Set(area.counties.flatMap(c => [c.code, ...c.predecessors.map(p => p.code)]))
    const divisions = new Set((storage.sqlite.prepare("select substr(id_number, 1, 6) d from students where id_doc_type = '1' union select substr(id_number, 1, 6) from children where id_doc_type = '1'").all() as { d: string }[]).map(r => r.d))
    t.same([...divisions].filter(d => !allowed.has(d)), [], `${tier} ${code}: every ID division in the area (${[...divisions].join(' ')})`)
    const schoolDivisions = (storage.sqlite.prepare('select division_code d from schools union select division_code from kindergartens').all() as { d: string }[]).map(r => r.d)
    t.ok(schoolDivisions.every(d => area.counties.some(c => c.code === d)), `${tier} ${code}: schools and kindergartens in the area`)
  }
})

t.test('every code exists in its code table (and edition)', async t => {
  const { storage } = seeded(t, { students: 1000 })
  const unknown: string[] = []
  for (const table of RECORD_TABLES) {
    const fields = fieldsOf(table).filter(f => f.kind === 'code')
    for (const row of rows(storage, table)) {
      const rec = camel(table, row)
      for (const f of fields) {
        const v = rec[f.key]
        if (v === null || v === undefined) continue
        let name = f.table!
        let edition: string | undefined
        if (f.editionKey) {
          const e = String(rec[f.editionKey])
          if (f.tables) [name, edition] = e.split('/')
          else edition = e
        }
        if (!codes.has(name, String(v), edition)) unknown.push(`${table}.${f.key}=${v} (${name}/${edition ?? 'default'})`)
        else if (codes.isRetired(name, String(v), edition)) unknown.push(`${table}.${f.key}=${v} is retired`)
      }
    }
  }
  t.same([...new Set(unknown)], [], 'no unknown or retired code')
})

t.test('schools of every category, ages that fit the grade, the rarer events present', async t => {
  const { storage } = seeded(t, { students: 3000 })
  const q = <T>(sql: string) => storage.sqlite.prepare(sql).all() as T[]
  const categories = q<{ category: string }>('select distinct category from schools').map(r => r.category).sort()
  t.same(categories, ['211', '218', '311', '312', '341', '342', '345'])
  // Born 1 September … 31 August: age 6 by 31 August of grade 1's year; repeaters (留级) a year older.
  const year = 2026
  const pupils = q<{ birth_date: string; grade: number; repeated: number }>(
    "select s.birth_date, c.grade, exists(select 1 from student_status_changes x where x.student_id = s.id and x.change_type = '02') repeated from students s join school_classes c on c.id = s.class_id",
  )
  const misfits = pupils.filter(p => {
    const [from, to] = birthRange(year - p.repeated, p.grade)
    return p.birth_date < from || p.birth_date > to
  })
  t.same(misfits.slice(0, 5), [], `${pupils.length} pupils' birth dates fit their grade`)
  const count = (sql: string) => (storage.sqlite.prepare(sql).get() as { n: number }).n
  t.ok(count("select count(*) n from student_status_changes where change_type = '51' and death_date is not null and death_cause is not null and review_opinion is not null") >= 1, 'a death with its details')
  t.equal(count("select count(*) n from students where state = 'deceased'"), count("select count(*) n from student_status_changes where change_type = '51'"))
  t.ok(count("select count(*) n from student_status_changes where change_type in ('21', '22')") > 0, 'transfers')
  t.equal(count("select count(*) n from students where state = 'graduated'"), count('select count(*) n from student_completions'), 'a completion for every graduate')
  t.equal(count('select count(*) n from student_punishments where revoked_on is not null and revoked_on <= punished_on'), 0, 'punishments revoked after given')
  t.ok(count('select count(*) n from student_punishments where revoked_on is not null') > 0, 'some punishments revoked')
  t.ok(count('select count(*) n from student_awards') > 0, 'awards')
  t.equal(count("select count(*) n from student_registrations where term = '2026-1'"), count("select count(*) n from student_registrations"), 'registrations for the current term')
  t.equal(count("select count(*) n from student_guardians where relationship not in ('51', '52', '61', '62')"), 0, 'guardians are parents or grandparents')
  t.ok(count('select count(*) n from kindergartens where rating is not null and staff_count = administrators + full_time_teachers + nursery_staff + workers') > 0, 'kindergartens with ratings and staff counts')
  const pinyin = q<{ name: string; name_pinyin: string }>("select name, name_pinyin from students where name like '单%' or name like '曾%' or name like '欧阳%' limit 50")
  t.ok(pinyin.every(p => (p.name.startsWith('单') ? p.name_pinyin.startsWith('shan ') : p.name.startsWith('曾') ? p.name_pinyin.startsWith('zeng ') : p.name_pinyin.startsWith('ou yang '))), 'surnames read in surname mode (单 shan, 曾 zeng, 欧阳 ou yang)')
})

t.test('refuses a size out of range and a node that already holds data', async t => {
  const { storage } = seeded(t, { students: 100 })
  t.throws(() => seedNode(storage, { node: { tier: 'county', code: '330106' }, students: 300 }), { code: 'SEED_NODE_NOT_EMPTY' })
  t.throws(() => seedNode(storage, { node: { tier: 'county', code: '330106' }, students: 99 }), { code: 'SEED_SIZE_INVALID' })
  t.throws(() => seedNode(storage, { node: { tier: 'county', code: '330106' }, students: 1_000_001 }), { code: 'SEED_SIZE_INVALID' })
})
