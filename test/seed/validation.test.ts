import t from 'tap'
import { codes } from '../../schema/codes/index.ts'
import { fieldsOf } from '../../node/records/fields.ts'
import { normaliseRecord, validateRecord, generatedColumns, checkDerived } from '../../node/records/validate.ts'
import { AS_OF, RECORD_TABLES, camel, rows, seeded } from './lib.ts'

/**
 * Every generated record passes the records layer's own validation (node/records), the same
 * functions the API, imports and sync use, and is already in the normalised form they store.
 */
for (const [tier, code, students] of [['county', '330106', 2000], ['city', '330100', 300], ['province', '330000', 300]] as const) {
  t.test(`${students} seeded students of ${tier} node ${code} and all their records pass the shared validation`, async t => {
    const { storage } = seeded(t, { tier, code, students, seed: 7 })
    const people = new Map<string, Record<string, unknown>>()
    for (const table of ['students', 'children']) for (const r of rows(storage, table)) people.set(String(r.id), camel(table, r))
    const problems: string[] = []
    let checked = 0
    for (const table of RECORD_TABLES) {
      for (const row of rows(storage, table)) {
        const rec = camel(table, row)
        const parentId = rec.studentId ?? rec.childId
        const parent = typeof parentId === 'string' ? people.get(parentId) : undefined
        const derived = checkDerived(table, rec)
        const normal = normaliseRecord(table, rec, codes)
        const issues = [...derived, ...validateRecord(table, normal, { codes, now: AS_OF, nodeCode: code, parent })]
        for (const i of issues) problems.push(`${table}.${i.field} ${i.rule}: ${i.message} (${JSON.stringify(rec[i.field])})`)
        // Stored as the API would store it: normalisation changes nothing.
        for (const f of fieldsOf(table)) {
          if ((normal[f.key] ?? null) !== (rec[f.key] ?? null)) problems.push(`${table}.${f.key} not normalised: ${JSON.stringify(rec[f.key])} → ${JSON.stringify(normal[f.key])}`)
        }
        for (const [k, v] of Object.entries(generatedColumns(table, normal))) if (rec[k] !== v) problems.push(`${table}.${k} differs from the generated ${JSON.stringify(v)}`)
        checked++
      }
    }
    const distinct = [...new Set(problems)]
    t.same(distinct.slice(0, 20), [], `${checked} records, ${problems.length} problems`)
  })
}
