/**
 * What an import keeps of the uploaded file, and for how long: the parsed rows (ID
 * numbers in clear) stay only until the commit, which keeps the cells of the rows in error for the
 * errors file; a cancel deletes everything; an expired import is deleted by the node's timer,
 * without waiting for another preview.
 */
import t from 'tap'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool, type Json } from '../../records/setup.ts'
import { commit, download, fill, label, preview, readBook, type Cell } from './lib.ts'

// One node for the file, its expired imports looked for every second.
const node = await recordsNode(t, { config: { imports: { purgeIntervalMs: 1000 } } })
const { app } = node
const { school, klass } = await withSchool(node)
const L = (table: string, code: string) => label(app, table, code)
const kept = (id: string) => app.storage.sqlite.prepare('select state, rows_json from imports where id = ?').get(id) as { state: string; rows_json: string } | undefined

/** A file of two students, the second with a bad ID number; answers it with the two ID numbers. */
async function twoRows(i: number): Promise<{ file: Buffer; good: string; bad: string }> {
  const good = fx.idNumber('2014-08-20', '1', i)
  const bad = `${fx.idNumber('2014-08-20', '1', i + 1).slice(0, 17)}Z`
  const row = (n: number, id: string): Record<string, Cell> => ({
    班级代码: klass.classCode, 姓名: `留存${n}`, 身份证件类型: L('id_doc_type', '1'), 身份证件号: id, 性别: L('gender', '1'), 出生日期: '2014-08-20',
    民族: L('ethnicity', '01'), '国籍/地区': L('country', 'CHN'), 入学年月: '2020-09', 学生类别: L('student_category', '00'),
  })
  const tpl = await readBook((await download(app, node.school, '/api/v1/imports/templates/students')).body)
  return { file: await fill(tpl, [row(i, good), row(i + 1, bad)]), good, bad }
}

t.test('R-27.1 R-19.1 an import\'s parsed rows are deleted at its commit (the cells of the rows in error stay for the errors file) and at its cancel', async t => {
  const a = await twoRows(1)
  const p = await preview(app, node.school, 'students', school.id, a.file)
  t.strictSame(p.body.counts, { create: 1, update: 0, unchanged: 0, error: 1 })
  t.ok(kept(p.body.importId)!.rows_json.includes(a.good), 'between preview and commit the parsed rows are kept: the commit writes them')
  t.strictSame((await commit(app, node.school, p.body.importId)).body, { created: 1, updated: 0, unchanged: 0, errorRows: 1 })
  const after = kept(p.body.importId)!
  t.equal(after.state, 'committed')
  t.notOk(after.rows_json.includes(a.good), 'the committed row\'s ID number is no longer in the imports table')
  t.ok(after.rows_json.includes(a.bad), 'the cells of the row in error are, for the errors file')
  const errors = await download(app, node.school, `/api/v1/imports/${p.body.importId}/errors.xlsx`)
  t.equal(errors.status, 200, 'the errors file still comes after the commit')
  const sheet = (await readBook(errors.body)).worksheets[0]
  t.equal(sheet.actualRowCount, 3, 'headers, notes and the row in error')

  const b = await twoRows(3)
  const q = await preview(app, node.school, 'students', school.id, b.file)
  const other = await app.inject({ method: 'DELETE', url: `/api/v1/imports/${q.body.importId}`, headers: node.bureau.headers })
  t.equal(other.statusCode, 404, 'another account cannot cancel it')
  const cancel = await app.inject({ method: 'DELETE', url: `/api/v1/imports/${q.body.importId}`, headers: node.school.headers })
  t.equal(cancel.statusCode, 204, cancel.body)
  t.equal(kept(q.body.importId), undefined, 'cancelled: nothing of the file is kept')
  t.equal((await commit(app, node.school, q.body.importId)).status, 404, 'and it cannot be committed')
  const audit = app.storage.sqlite.prepare(`select action from audit_log where target_table = 'imports' and target_id = ?`).pluck().all(q.body.importId)
  t.strictSame(audit, ['import.preview', 'import.cancel'], 'the cancel is audited')

  // Committed, its rows in error are discarded by a cancel too.
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/imports/${p.body.importId}`, headers: node.school.headers })).statusCode, 204)
  t.equal(kept(p.body.importId), undefined)
})

t.test('R-27.1 an expired import is deleted by the node\'s timer without another preview', async t => {
  const ids: string[] = []
  for (const i of [5, 7]) ids.push(((await preview(app, node.school, 'students', school.id, (await twoRows(i)).file)).body as Json).importId)
  await commit(app, node.school, ids[1])
  // Both past their 24 hours; no preview follows.
  app.storage.sqlite.prepare(`update imports set expires_at = '2000-01-01T00:00:00.000Z' where id in (?, ?)`).run(...ids)
  const deadline = Date.now() + 10_000
  while (ids.some(id => kept(id)) && Date.now() < deadline) await new Promise(r => setTimeout(r, 100))
  t.strictSame(ids.map(kept), [undefined, undefined], 'the preview and the committed import are gone')
})
