/**
 * Exports (R-D.7): a filtered list and a statistics table, as CSV and Excel, written by the job
 * on the real Redis queue, masked, audited, and only for the account that asked.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import ExcelJS from 'exceljs'
import { buildTestApp, loginAs } from '../../helper.ts'
import { exportFile } from './lib.ts'
import { readAudit } from '../../../node/auth/audit.ts'
import { seedNode } from '../../../scripts/seed/index.ts'
import { createExportService } from '../../../node/exports/service.ts'
import { codes } from '../../../schema/codes/index.ts'

type Row = Record<string, any>

/** CSV lines split into cells (the test data holds no quoted commas or line breaks in the columns read). */
function csvRows(buf: Buffer): string[][] {
  const text = buf.toString('utf8').replace(/^\ufeff/, '')
  return text.split('\r\n').filter(l => l !== '').map(l => l.split(','))
}

t.test('exports of a seeded county', async t => {
  const app = await buildTestApp(t, { code: '330106' })
  seedNode(app.storage, { node: { tier: 'county', code: '330106' }, students: 400, seed: 3, asOf: new Date('2026-11-20T04:00:00Z') })
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })

  t.test('R-D.7 a filtered list exports as CSV with every match, sensitive columns masked, and is audited', async t => {
    const grade3 = (await app.inject({ method: 'GET', url: '/api/v1/students?grade=3&limit=1', headers: bureau.headers })).json().total
    t.ok(grade3 > 0)
    const { record, file } = await exportFile(app, bureau, { kind: 'students', format: 'csv', query: { grade: 3 } })
    t.equal(record.rowsDone, grade3, 'progress counts every row')
    t.equal(record.rowsTotal, grade3)
    const rows = csvRows(file)
    const header = rows[0]!
    t.equal(rows.length - 1, grade3, 'one line per matching student')
    const idCol = header.indexOf('身份证件号')
    t.ok(idCol >= 0, 'the ID number column is there')
    const idNumbers = app.storage.sqlite.prepare('select id_number from students where id_number is not null').pluck().all() as string[]
    const text = file.toString('utf8')
    t.notOk(idNumbers.some(n => text.includes(n)), 'no ID number in clear anywhere in the file')
    t.ok(rows.slice(1).every(r => r[idCol] === '' || r[idCol]!.includes('*')), 'ID numbers are masked')
    const phoneCol = header.indexOf('联系电话')
    t.ok(rows.slice(1).some(r => r[phoneCol] !== '') && rows.slice(1).every(r => r[phoneCol] === '' || r[phoneCol]!.includes('*')), 'phone numbers are masked')
    t.ok(rows.slice(1).every(r => ['男', '女'].includes(r[header.indexOf('性别')]!)), 'codes are exported with their names')

    const audit = readAudit(app.storage).filter(e => e.targetId === record.id)
    t.same(audit.map(e => e.action), ['export.request', 'export.done', 'export.download'], 'asked for, finished and downloaded: each audited')
    t.ok(audit.every(e => e.actorId === bureau.account.id), 'by whom')
    t.same(audit[0]!.fields, ['grade'], 'with the filter (its keys; values stay in the exports row)')
    t.same(record.query, { grade: 3 }, 'the exports row keeps the filter and the row count')
  })

  t.test('R-D.7 the teacher, class, school, kindergarten and unit lists export too, one row per record in reach', async t => {
    const lists = [
      ['school_teachers', 'school-teachers', '姓名'], ['school_classes', 'classes', '班级名称'], ['kindergarten_teachers', 'kindergarten-teachers', '姓名'],
      ['schools', 'schools', '学校名称'], ['kindergartens', 'kindergartens', '幼儿园名称'], ['supervising_units', 'units', '单位名称'],
    ] as const
    for (const [kind, path, label] of lists) {
      const total = (await app.inject({ method: 'GET', url: `/api/v1/${path}?limit=1`, headers: bureau.headers })).json().total
      t.ok(total > 0, `the seed has ${kind}`)
      const { file } = await exportFile(app, bureau, { kind, format: 'csv' })
      const rows = csvRows(file)
      t.equal(rows.length - 1, total, `${kind}: one line per record of the list`)
      t.ok(rows[0]!.includes(label), `${kind}: the fields' labels head the columns`)
    }
  })

  t.test('a list exports only for an account that may read it', async t => {
    const klass = app.storage.sqlite.prepare('select id, school_code from school_classes limit 1').get() as { id: string; school_code: string }
    const grade = await loginAs(app, 'grade_admin', { kind: 'classes', school: klass.school_code, classes: [klass.id] })
    const res = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: grade.headers, payload: { kind: 'supervising_units', format: 'csv' } })
    t.equal(res.statusCode, 403)
    t.equal(res.json().code, 'FORBIDDEN', 'a grade administrator (no unit:read) cannot export the units')
  })

  t.test('R-D.7 a search (q) exports its matches only, its school, class and state by name', async t => {
    const one = app.storage.sqlite.prepare(`select s.student_no, sc.name school, c.name class from students s join schools sc on sc.id = s.school_id join school_classes c on c.id = s.class_id where s.state = 'in_school' limit 1`).get() as Row
    const { record, file } = await exportFile(app, bureau, { kind: 'students', format: 'csv', query: { q: one.student_no } })
    t.equal(record.rowsDone, 1)
    const [header, row] = csvRows(file)
    t.equal(csvRows(file).length, 2)
    const cell = (label: string) => row![header!.indexOf(label)]
    t.same([cell('学校'), cell('班级'), cell('状态')], [one.school, one.class, '在校'], 'names, not internal ids or state keys')
  })

  t.test('R-17.3 R-D.7 a drilled statistics table exports to Excel', async t => {
    const table = (await app.inject({ method: 'GET', url: '/api/v1/statistics/students?by=gender&drill=true', headers: bureau.headers })).json()
    const { file } = await exportFile(app, bureau, { kind: 'statistics', format: 'xlsx', query: { subject: 'students', by: 'gender', drill: true } })
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(file as unknown as ArrayBuffer)
    const sheet = book.worksheets[0]!
    const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1)
    t.same(values(1), ['单位代码', '单位', ...table.rows.map((r: Row) => r.label), '合计'])
    t.equal(sheet.rowCount, table.units.length + 2, 'a line per school and the total')
    const last = values(sheet.rowCount)
    t.same(last.slice(1), ['合计', ...table.rows.map((r: Row) => r.count), table.total], 'the total line')
  })

  t.test('R-17.6 exports stay within the account: a class teacher exports their class; another account cannot fetch it', async t => {
    const s = app.storage.sqlite.prepare(`select school_code, class_id from students where state = 'in_school' and class_id is not null limit 1`).get() as Row
    const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: s.school_code, classes: [s.class_id] })
    const mine = app.storage.sqlite.prepare(`select count(*) from students where class_id = ? and state = 'in_school'`).pluck().get(s.class_id)
    const { record } = await exportFile(app, teacher, { kind: 'students', format: 'csv' })
    t.equal(record.rowsDone, mine, 'only the class')
    for (const url of [`/api/v1/exports/${record.id}`, `/api/v1/exports/${record.id}/file`]) {
      const res = await app.inject({ method: 'GET', url, headers: bureau.headers })
      t.equal(res.statusCode, 404, `${url} is hidden from another account`)
    }
  })

  t.test('R-17.3 R-D.7 the annual tables export: four sheets in Excel, four sections in CSV, audited', async t => {
    const period = 'from=2025-09-01&to=2026-08-31'
    const annual = (await app.inject({ method: 'GET', url: `/api/v1/statistics/annual?${period}`, headers: bureau.headers })).json()
    const tables = [annual.inSchoolByGrade, annual.entrantsByGrade, annual.graduatesByGrade, annual.statusChangesByType]
    const query = { from: '2025-09-01', to: '2026-08-31' }
    const xlsx = await exportFile(app, bureau, { kind: 'annual', format: 'xlsx', query })
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(xlsx.file as unknown as ArrayBuffer)
    t.equal(book.worksheets.length, 4, 'a sheet per table')
    for (const [i, table] of tables.entries()) {
      const sheet = book.worksheets[i]!
      const values = (n: number) => (sheet.getRow(n).values as unknown[]).slice(1)
      t.same(values(1), [table.label, '人数'], `${table.label}: header`)
      t.same(Array.from({ length: table.rows.length }, (_, n) => values(n + 2)), table.rows.map((r: Row) => [r.label, r.count]), `${table.label}: a line per key, as the route answers`)
      t.same(values(sheet.rowCount), ['合计', table.total], `${table.label}: the total`)
    }
    const csv = csvRows((await exportFile(app, bureau, { kind: 'annual', format: 'csv', query })).file)
    for (const table of tables.slice(1)) t.ok(csv.some(r => r.length === 1 && r[0]!.startsWith(table.label)), `the CSV names the section ${table.label}`)
    t.equal(csv.filter(r => r[0] === '合计').length, 4, 'and ends each with its total')
    const audit = readAudit(app.storage).filter(e => e.targetId === xlsx.record.id).map(e => e.action)
    t.same(audit, ['export.request', 'export.done', 'export.download'])
    const ask = async (payload: object) => (await app.inject({ method: 'POST', url: '/api/v1/exports', headers: bureau.headers, payload })).json().code
    t.equal(await ask({ kind: 'annual', format: 'csv', query: { from: '2025-09-01' } }), 'EXPORT_QUERY_INVALID', 'a period needs both ends')
    t.equal(await ask({ kind: 'annual', format: 'csv', query: { from: '2026-09-01', to: '2026-01-01' } }), 'STATS_PERIOD_INVALID')
  })

  t.test('R-D.7 a finished file is deleted after exports.keepDays; its download then answers EXPORT_EXPIRED', async t => {
    const { record } = await exportFile(app, bureau, { kind: 'statistics', format: 'csv', query: { subject: 'schools', by: 'schoolCategory' } })
    const file = join(app.dataDir, 'exports', `${record.id}.csv`)
    t.ok(existsSync(file))
    t.equal(app.exports.expire(new Date(Date.parse(record.finishedAt) + 6.9 * 86_400_000)), 0, 'kept for 7 days (the default)')
    t.ok(existsSync(file))
    t.ok(app.exports.expire(new Date(Date.parse(record.finishedAt) + 7.1 * 86_400_000)) >= 1, 'deleted after them')
    t.notOk(existsSync(file), 'the file is gone')
    const res = await app.inject({ method: 'GET', url: `/api/v1/exports/${record.id}/file`, headers: bureau.headers })
    t.equal(res.statusCode, 410)
    t.equal(res.json().code, 'EXPORT_EXPIRED')
    t.equal((await app.inject({ method: 'GET', url: `/api/v1/exports/${record.id}`, headers: bureau.headers })).json().state, 'expired')
    t.ok(readAudit(app.storage).some(e => e.targetId === record.id && e.action === 'export.expire'), 'the deletion is audited')
  })

  t.test('bad export requests: stable codes and nothing recorded', async t => {
    const before = app.storage.sqlite.prepare('select count(*) from exports').pluck().get()
    const ask = async (payload: object) => (await app.inject({ method: 'POST', url: '/api/v1/exports', headers: bureau.headers, payload })).json().code
    t.equal(await ask({ kind: 'students', format: 'csv', query: { shoeSize: 44 } }), 'EXPORT_QUERY_INVALID')
    t.equal(await ask({ kind: 'students', format: 'csv', query: { q: { $ne: 1 } } }), 'EXPORT_QUERY_INVALID')
    t.equal(await ask({ kind: 'statistics', format: 'csv', query: { by: 'gender' } }), 'EXPORT_QUERY_INVALID')
    t.equal(await ask({ kind: 'statistics', format: 'csv', query: { subject: 'students', by: 'shoeSize' } }), 'STATS_DIMENSION_UNKNOWN')
    t.equal(await ask({ kind: 'statistics', format: 'csv', query: { subject: 'students', by: 'gender', unit: '330108' } }), 'STATS_UNIT_UNKNOWN')
    t.equal(await ask({ kind: 'students', format: 'pdf' }), 'VALIDATION_FAILED')
    t.equal(app.storage.sqlite.prepare('select count(*) from exports').pluck().get(), before, 'no export recorded')
  })

  t.test('R-17.6 an export that waited in the queue runs with the account as it is then: a narrowed scope exports the narrowed scope, a disabled account nothing', async t => {
    // The same service over the node's database, with a queue that never runs its jobs: this test runs them.
    const dir = t.testdir()
    const held = createExportService({ storage: app.storage, records: app.records, statistics: app.statistics, codes, dir, keepDays: 1, enqueue: async () => undefined })
    const [a, b] = app.storage.sqlite.prepare("select school_code from schools order by school_code limit 2").pluck().all() as string[]
    const inSchool = (code: string) => app.storage.sqlite.prepare("select count(*) from students where school_code = ? and state = 'in_school'").pluck().get(code) as number
    const registrar = await loginAs(app, 'central_school_admin', { kind: 'schools', schools: [a, b] })
    const admin = await loginAs(app, 'bureau_admin', { kind: 'bureau', node: '330106' })
    const patch = async (payload: object) => {
      const res = await app.inject({ method: 'PATCH', url: `/api/v1/accounts/${registrar.account.id}`, headers: admin.headers, payload })
      t.equal(res.statusCode, 200, res.body)
    }

    const narrowed = await held.request(registrar.actor, { kind: 'students', format: 'csv' })
    await patch({ scope: { kind: 'schools', schools: [a] } })
    await held.run(narrowed.id)
    t.match(held.get(registrar.actor, narrowed.id), { state: 'done', rowsDone: inSchool(a) }, 'the school the account keeps only')
    t.ok(inSchool(b) > 0, 'the other school has students the export left out')

    const stopped = await held.request(registrar.actor, { kind: 'students', format: 'csv' })
    await patch({ disabled: true })
    await held.run(stopped.id)
    t.match(held.get(registrar.actor, stopped.id), { state: 'failed', errorCode: 'FORBIDDEN' }, 'a disabled account exports nothing')
    t.notOk(existsSync(join(dir, `${stopped.id}.csv`)), 'no file')
  })
})
