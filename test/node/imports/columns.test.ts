/**
 * Excel imports over records the school already holds: a column left out of the file, a person
 * matched only by name, gender and birth date, and a record changed between preview and commit.
 */
import t from 'tap'
import ExcelJS from 'exceljs'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withSchool, type Json } from '../../records/setup.ts'
import { commit, download, fill, headersOf, label, preview, readBook, type Cell } from './lib.ts'

const node = await recordsNode(t)
const { app } = node
const { school, klass } = await withSchool(node)
const L = (table: string, code: string) => label(app, table, code)
const tpl = async () => readBook((await download(app, node.bureau, '/api/v1/imports/templates/students')).body)

/** The template with only `keep` columns (a registrar deleted the others). */
async function narrow(keep: string[]): Promise<ExcelJS.Workbook> {
  const book = await tpl()
  const sheet = book.worksheets[0]
  const headers = headersOf(sheet)
  for (let col = headers.length; col >= 1; col--) if (!keep.includes(headers[col - 1])) sheet.spliceColumns(col, 1)
  return book
}

const full = (i: number, over: Record<string, Cell> = {}): Record<string, Cell> => ({
  班级代码: klass.classCode, 姓名: `列${i}`, 身份证件类型: L('id_doc_type', '1'), 身份证件号: fx.idNumber('2016-04-01', '1', i), 性别: L('gender', '1'),
  出生日期: '2016-04-01', 民族: L('ethnicity', '01'), '国籍/地区': L('country', 'CHN'), 入学年月: '2025-09', 学生类别: L('student_category', '00'),
  现住址: `杭州市西湖区文一路 ${i} 号`, 联系电话: '13800000000', 监护人1姓名: `家长${i}`, 监护人1关系: L('relationship', '51'), 监护人1联系电话: '13900000000', ...over,
})

const stored = (id: string) => app.storage.sqlite.prepare('select s.name, s.current_address, s.phone, s.id_number, (select count(*) from student_guardians g where g.student_id = s.id) guardians from students s where s.id_number = ?').get(id) as Json

t.test('R-19.1 a file without some of the template\'s columns changes only the columns it holds: the fields of a left-out column keep their values', async t => {
  const first = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [full(1)]))
  t.equal((await commit(app, node.school, first.body.importId)).body.created, 1)
  const id = String(full(1).身份证件号)
  const before = stored(id)
  t.match(before, { current_address: '杭州市西湖区文一路 1 号', phone: '13800000000', guardians: 1 })

  // The registrar corrects names only, in a file of the required columns and the name.
  const keep = ['班级代码', '姓名', '身份证件类型', '身份证件号', '性别', '出生日期', '民族', '国籍/地区', '入学年月', '学生类别']
  const book = await narrow(keep)
  t.same(headersOf(book.worksheets[0]).sort(), [...keep].sort(), 'the file holds those columns only')
  const row = Object.fromEntries(keep.map(h => [h, full(1)[h]]))
  const p = await preview(app, node.school, 'students', school.id, await fill(book, [{ ...row, 姓名: '列一' }]))
  t.equal(p.status, 200, JSON.stringify(p.body))
  t.match(p.body.rows, [{ action: 'update', errors: [] }])
  t.same((await commit(app, node.school, p.body.importId)).body, { created: 0, updated: 1, unchanged: 0, errorRows: 0 })
  t.same(stored(id), { ...before, name: '列一' }, 'the name changed; address, phone and guardian are kept')
})

t.test('R-10.1 a row without ID number or 学籍号 does not take over a namesake who has one: matched by name, gender and birth date, the ID number is never blanked', async t => {
  const first = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [full(2)]))
  t.equal((await commit(app, node.school, first.body.importId)).body.created, 1)
  const id = String(full(2).身份证件号)
  const before = stored(id)
  t.match(before, { name: '列2', id_number: id })
  const p = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [full(2, { 身份证件类型: null, 身份证件号: null, 现住址: '杭州市西湖区别处 5 号' })]))
  t.equal(p.status, 200, JSON.stringify(p.body))
  t.match(p.body.rows, [{ action: 'create' }], 'a person of its own, not the namesake with the ID number')
  await commit(app, node.school, p.body.importId)
  t.same(stored(id), before, 'the student keeps its ID number and its address')
})

t.test('R-19.1 a record changed between preview and commit is a row error at commit: the change made meanwhile is not overwritten with the file\'s older values', async t => {
  const first = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [full(3), full(4)]))
  t.equal((await commit(app, node.school, first.body.importId)).body.created, 2)
  const p = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [full(3, { 现住址: '杭州市西湖区新址 3 号' }), full(4, { 现住址: '杭州市西湖区新址 4 号' })]))
  t.match(p.body.rows, [{ action: 'update' }, { action: 'update' }])

  // Meanwhile a teacher corrects student 3's phone through the API.
  const s3 = app.storage.sqlite.prepare('select id, version from students where id_number = ?').get(String(full(3).身份证件号)) as Json
  const patched = await node.call('PATCH', `/api/v1/students/${s3.id}`, { version: s3.version, phone: '13700000003' })
  t.equal(patched.status, 200, JSON.stringify(patched.body))

  const c = await commit(app, node.school, p.body.importId)
  t.same(c.body, { created: 0, updated: 1, unchanged: 0, errorRows: 1 }, 'the row of the record changed since is refused, the other written')
  t.match(stored(String(full(3).身份证件号)), { phone: '13700000003', current_address: '杭州市西湖区文一路 3 号' }, 'the change made meanwhile stands')
  t.match(stored(String(full(4).身份证件号)), { current_address: '杭州市西湖区新址 4 号' })
  const errors = await readBook((await download(app, node.school, `/api/v1/imports/${p.body.importId}/errors.xlsx`)).body)
  const sheet = errors.worksheets[0]
  t.match(String(sheet.getCell(3, headersOf(sheet).length).value), /已被他人修改/, 'the errors file says why: upload again for a new preview')
})
