/**
 * Excel imports (node/imports) in process, over a real SQLite node: the templates, a school's
 * initial entry from a 200-row file with 3 bad rows (preview, commit, the errors file, fixed and
 * imported again, the same file again), cells as Excel mangles them, a locked record's change,
 * and who may commit.
 */
import t from 'tap'
import { idCheckChar } from '../../../schema/ids.ts'
import { loginAs } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, withKindergarten, withSchool, SCHOOL_CODE, type Json } from '../../records/setup.ts'
import { CODE_SHEET, XLSX_TYPE } from '../../../node/imports/workbook.ts'
import { commit, download, fill, headersOf, label, preview, readBook, type Cell } from './lib.ts'

/** A valid ID number with its check character replaced by a wrong one. */
const badChecksum = (id: string) => id.slice(0, 17) + (idCheckChar(id.slice(0, 17)) === '0' ? '1' : '0')

// One node, school and kindergarten for the whole file (each test uses its own people).
const node = await recordsNode(t)
const { app } = node
const { school, klass } = await withSchool(node)
const { kg, kgClass } = await withKindergarten(node)
const L = (table: string, code: string) => label(app, table, code)
const tpl = async (kind = 'students') => readBook((await download(app, node.bureau, `/api/v1/imports/templates/${kind}`)).body)

t.test('import templates: paper-form headers, text ID and phone columns, code drop-downs of names from a hidden code sheet, a row of notes', async t => {
  const res = await download(node.app, node.school, '/api/v1/imports/templates/students')
  t.equal(res.status, 200)
  t.equal(res.type, XLSX_TYPE)
  const book = await readBook(res.body)
  const sheet = book.worksheets[0]
  const headers = headersOf(sheet)
  t.strictSame(headers.slice(0, 10), ['班级代码', '学籍号', '学号', '姓名', '姓名拼音', '曾用名', '身份证件类型', '身份证件号', '性别', '血型'], 'the paper form\'s order')
  for (const h of ['入学年月', '学生类别', '监护人1姓名', '监护人1关系', '监护人1联系电话', '监护人2姓名', '监护人2联系电话']) t.ok(headers.includes(h), `column ${h}`)
  t.notOk(headers.includes('照片'), 'no photo column')
  const col = (h: string) => headers.indexOf(h) + 1
  for (const h of ['身份证件号', '联系电话', '监护人1联系电话', '学籍号']) t.equal(sheet.getColumn(col(h)).numFmt, '@', `${h} is formatted as text`)
  t.match(String(sheet.getCell(2, col('身份证件号')).value), /文本/, 'the notes row says how to fill the ID number')
  t.match(String(sheet.getCell(2, col('姓名')).value), /必填/)
  const dv = sheet.getCell(3, col('民族')).dataValidation
  t.equal(dv.type, 'list', '民族 is a drop-down')
  t.match(dv.formulae?.[0], new RegExp(`^'${CODE_SHEET}'!\\$[A-Z]+\\$2:\\$[A-Z]+\\$\\d+$`))
  t.equal(sheet.getCell(3, col('是否独生子女')).dataValidation.formulae?.[0], '"是,否"')
  t.equal(sheet.getCell(3, col('身份证件号')).dataValidation?.type, undefined, 'no drop-down on free columns')
  const codes = book.getWorksheet(CODE_SHEET)!
  t.equal(codes.state, 'hidden', 'the code sheet is hidden')
  const names = codes.getColumn(/\$([A-Z]+)\$/.exec(dv.formulae![0])![1]).values.slice(2)
  t.ok(names.includes('汉族') && names.includes('蒙古族'), 'the drop-down lists names, not codes')

  for (const [kind, some] of [['children', ['班级代码', '姓名', '入园年月', '幼儿类别', '监护人1姓名']], ['classes', ['班级代码', '班级名称', '建班年月', '学制', '班级类型', '年级']], ['teachers', ['姓名', '出生年月', '性别', '职务', '职称']]] as const) {
    const r = await download(node.app, node.bureau, `/api/v1/imports/templates/${kind}`)
    t.equal(r.status, 200, `${kind} template`)
    const h = headersOf((await readBook(r.body)).worksheets[0])
    for (const x of some) t.ok(h.includes(x), `${kind} template has ${x}`)
  }
})

t.test('R-19.1 a school enters its students from an Excel file: 200 rows with 3 bad ones, preview, commit, errors file, fixed, re-imported', async t => {
  const row = (i: number, over: Record<string, Cell> = {}): Record<string, Cell> => ({
    班级代码: klass.classCode, 姓名: `学生${i}`, 身份证件类型: L('id_doc_type', '1'), 身份证件号: fx.idNumber('2016-03-15', '1', i), 性别: L('gender', '1'),
    出生日期: '2016-03-15', 民族: L('ethnicity', '01'), '国籍/地区': L('country', 'CHN'), 入学年月: '2021-09', 学生类别: L('student_category', '00'),
    现住址: `杭州市西湖区文一路 ${i} 号`, 监护人1姓名: `家长${i}`, 监护人1关系: L('relationship', '51'), 监护人1联系电话: '13900000000',
    ...over,
  })
  const good = Array.from({ length: 200 }, (_, i) => row(i + 1))
  const original = good.map((r, i) =>
    i === 10 ? { ...r, 身份证件号: badChecksum(String(r.身份证件号)) } : i === 50 ? { ...r, 民族: '火星族' } : i === 120 ? { ...r, 姓名: null } : r,
  )
  const file = await fill(await tpl(), original)
  const before = node.counts()

  const p = await preview(app, node.school, 'students', school.id, file)
  t.equal(p.status, 200, JSON.stringify(p.body).slice(0, 300))
  t.strictSame(p.body.counts, { create: 197, update: 0, unchanged: 0, error: 3 })
  const bad = (p.body.rows as Json[]).filter(r => r.action === 'error')
  t.strictSame(bad.map(r => r.row), [13, 53, 123], 'the sheet rows of the bad lines (data from row 3)')
  t.match(bad[0].errors, [{ code: 'RECORD_ID_CHECKSUM', field: 'idNumber', column: '身份证件号', message: /校验位/ }])
  t.match(bad[1].errors, [{ code: 'IMPORT_CODE_NAME_UNKNOWN', field: 'ethnicity', column: '民族', message: /下拉列表/ }])
  t.match(bad[2].errors, [{ code: 'RECORD_FIELD_REQUIRED', field: 'name', column: '姓名', message: '姓名为必填项' }])
  t.strictSame(node.counts(), before, 'a preview writes no record and nothing to the outbox')
  const kept = app.storage.sqlite.prepare('select account_id, file_hash, state from imports where id = ?').get(p.body.importId) as Json
  t.match(kept, { account_id: node.school.account.id, file_hash: /^[0-9a-f]{64}$/, state: 'previewed' }, 'the preview is kept with who and the file hash')

  const c = await commit(app, node.school, p.body.importId)
  t.equal(c.status, 200, JSON.stringify(c.body))
  t.strictSame(c.body, { created: 197, updated: 0, unchanged: 0, errorRows: 3 })
  const after = node.counts()
  t.equal(after.students - before.students, 197, '197 students')
  t.equal(after.student_guardians - before.student_guardians, 197, 'each with its guardian')
  t.ok(after.outbox > before.outbox, 'written through the records service: the outbox carries them upward')
  const again = await commit(app, node.school, p.body.importId)
  t.strictSame(again.body, c.body, 'committing twice answers the same')
  t.strictSame(node.counts(), after, 'and changes nothing')
  const audit = app.storage.sqlite.prepare(`select action, fields_json from audit_log where target_table = 'imports' order by seq`).all() as Json[]
  t.match(audit.map(a => a.action), ['import.preview', 'import.commit'], 'preview and commit are audited')
  t.match(JSON.parse(audit[1].fields_json), ['kind:students', `school:${SCHOOL_CODE}`, /^sha256:[0-9a-f]{64}$/, 'created:197', 'updated:0', 'unchanged:0', 'errorRows:3'])

  const errors = await download(app, node.school, `/api/v1/imports/${p.body.importId}/errors.xlsx`)
  t.equal(errors.status, 200)
  const errBook = await readBook(errors.body)
  const errSheet = errBook.worksheets[0]
  const errHeaders = headersOf(errSheet)
  t.equal(errHeaders.at(-1), '错误原因', 'the last column is the reason')
  t.equal(errSheet.actualRowCount, 5, 'headers, notes and the 3 rows in error')
  const reasonOf = (r: number) => String(errSheet.getCell(r, errHeaders.length).value)
  t.match(reasonOf(3), /身份证件号：身份证号校验位错误/)
  t.match(reasonOf(4), /民族/)
  t.match(reasonOf(5), /姓名：姓名为必填项/)
  t.equal(errSheet.getCell(3, errHeaders.indexOf('身份证件号') + 1).value, original[10].身份证件号, 'the cells as typed')

  // The registrar corrects the three rows in the errors file and uploads it as it is.
  const fixed = await fill(errBook, [{ 身份证件号: good[10].身份证件号 }, { 民族: good[50].民族 }, { 姓名: good[120].姓名 }])
  const p2 = await preview(app, node.school, 'students', school.id, fixed)
  t.strictSame(p2.body.counts, { create: 3, update: 0, unchanged: 0, error: 0 }, 'the fixed rows preview as new')
  t.strictSame((await commit(app, node.school, p2.body.importId)).body, { created: 3, updated: 0, unchanged: 0, errorRows: 0 })
  t.equal(node.counts().students - before.students, 200, 'all 200 entered')

  const p4 = await preview(app, node.school, 'students', school.id, file)
  t.strictSame(p4.body.counts, { create: 0, update: 0, unchanged: 197, error: 3 }, 'the original file again: every valid row unchanged')
  const settled = node.counts()
  t.strictSame((await commit(app, node.school, p4.body.importId)).body, { created: 0, updated: 0, unchanged: 197, errorRows: 3 })
  t.strictSame(node.counts(), settled, 'committing it changes nothing')

})

t.test('cells as Excel leaves them: IDs as numbers, date serials and Date cells, spaces, full-width characters, codes typed as numbers', async t => {
  const book = await tpl()
  const base = (i: number): Record<string, Cell> => ({
    班级代码: klass.classCode, 姓名: `学生${i}`, 身份证件号: fx.idNumber('2016-03-15', '2', i), 性别: L('gender', '2'), 出生日期: '2016-03-15',
    民族: L('ethnicity', '01'), 入学年月: '2021-09', 学生类别: L('student_category', '00'),
  })
  const fullWidth = (s: string) => s.replace(/[0-9X]/g, ch => String.fromCharCode(ch.charCodeAt(0) + 0xfee0))
  const ids = [1, 2, 3, 4, 5].map(i => String(base(i).身份证件号))
  const rows = [
    { ...base(1), 身份证件号: Number(ids[0]) },
    { ...base(2), 出生日期: 42444, 入学年月: '2021年9月', 联系电话: 13800000000, 性别: 2 },
    { ...base(3), 出生日期: new Date(Date.UTC(2016, 2, 15)), 姓名: '  学生3 ', 民族: ' 汉族 ', 是否独生子女: '是' },
    { ...base(4), 身份证件号: fullWidth(ids[3]), 出生日期: '2016/3/15', 入学年月: '2021.09', 民族: 1 },
    { ...base(5), 身份证件号: `${ids[4]}  `, 出生日期: '2016年3月15日', 邮政编码: '３１００１２' },
  ]
  const p = await preview(app, node.school, 'students', school.id, await fill(book, rows))
  t.equal(p.status, 200)
  const [first, ...rest] = p.body.rows as Json[]
  t.match(first, { action: 'error', errors: [{ code: 'IMPORT_CELL_PRECISION', column: '身份证件号', message: /文本/ }] }, 'an 18-digit ID stored as a number lost digits: refused with a clear message')
  t.strictSame(rest.map(r => [r.action, r.errors]), rest.map(() => ['create', []]), 'the other mangled cells are read as meant')
  await commit(app, node.school, p.body.importId)
  const stored = app.storage.sqlite.prepare(`select name, id_number, birth_date, enrolment_ym, gender, ethnicity, phone, postcode, only_child from students where id_number in (${ids.map(() => '?').join(', ')}) order by rowid`).all(...ids) as Json[]
  t.match(stored, [
    { name: '学生2', id_number: ids[1], birth_date: '2016-03-15', enrolment_ym: '2021-09', gender: '2', phone: '13800000000' },
    { name: '学生3', id_number: ids[2], birth_date: '2016-03-15', ethnicity: '01', only_child: 1 },
    { name: '学生4', id_number: ids[3], birth_date: '2016-03-15', enrolment_ym: '2021-09', ethnicity: '01' },
    { name: '学生5', id_number: ids[4], birth_date: '2016-03-15', postcode: '310012' },
  ])
})

t.test('R-22.1 a locked record\'s change in an import is a row error, the other rows\' changes go ahead; only the previewer or the school\'s administrator commits', async t => {
  const row = (i: number, over: Record<string, Cell> = {}): Record<string, Cell> => ({
    班级代码: klass.classCode, 姓名: `锁定${i}`, 身份证件号: fx.idNumber('2015-06-01', '1', i), 性别: L('gender', '1'), 出生日期: '2015-06-01',
    民族: L('ethnicity', '01'), 入学年月: '2025-09', 学生类别: L('student_category', '00'), 现住址: '杭州市西湖区文一路 1 号',
    监护人1姓名: `家长${i}`, 监护人1关系: L('relationship', '51'), 监护人1联系电话: '13900000000', ...over,
  })
  const p = await preview(app, node.school, 'students', school.id, await fill(await tpl(), [row(1), row(2)]))
  await commit(app, node.school, p.body.importId)
  // The grade administrator verifies student 1: from then on its entry info is locked (R-22.1, after 30 September 2025).
  const grade = await loginAs(app, 'grade_admin', { kind: 'classes', school: SCHOOL_CODE, classes: [klass.id] })
  const id1 = (app.storage.sqlite.prepare('select id from students where name = ?').get('锁定1') as Json).id
  const v = await app.inject({ method: 'POST', url: `/api/v1/verification/students/${id1}/verify`, headers: grade.headers })
  t.equal(v.statusCode, 200, v.body)

  const moved = [row(1, { 现住址: '杭州市西湖区新地址 9 号' }), row(2, { 现住址: '杭州市西湖区新地址 9 号', 监护人1联系电话: '13911112222' })]
  const p2 = await preview(app, node.school, 'students', school.id, await fill(await tpl(), moved))
  t.match(p2.body.rows, [{ action: 'error', errors: [{ code: 'CALENDAR_RECORD_LOCKED', message: /R-22\.1/ }] }, { action: 'update', errors: [] }])

  const other = await loginAs(app, 'teacher', { kind: 'classes', school: SCHOOL_CODE, classes: [klass.id] })
  t.equal((await commit(app, other, p2.body.importId)).status, 404, 'another teacher of the school may not commit it')
  const outsider = await loginAs(app, 'school_admin', { kind: 'schools', schools: ['3301069999'] })
  t.equal((await commit(app, outsider, p2.body.importId)).status, 404, 'nor another school\'s administrator')
  t.equal((await preview(app, outsider, 'students', school.id, await fill(await tpl(), moved))).status, 404, 'who cannot reach the school cannot preview for it')
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: [SCHOOL_CODE] })
  const c = await commit(app, admin, p2.body.importId)
  t.strictSame(c.body, { created: 0, updated: 1, unchanged: 0, errorRows: 1 }, 'the school\'s administrator commits: the open row changes, the locked one does not')
  const stored = app.storage.sqlite.prepare(`select s.name, s.current_address a, g.phone p from students s join student_guardians g on g.student_id = s.id where s.name like '锁定%' order by s.name`).all() as Json[]
  t.strictSame(stored, [{ name: '锁定1', a: '杭州市西湖区文一路 1 号', p: '13900000000' }, { name: '锁定2', a: '杭州市西湖区新地址 9 号', p: '13911112222' }], 'the open student and its guardian changed; the locked one did not')

  const notXlsx = await app.inject({ method: 'POST', url: `/api/v1/imports/students/preview?schoolId=${school.id}`, headers: { ...node.school.headers, 'content-type': XLSX_TYPE }, payload: Buffer.from('not a workbook') })
  t.equal(notXlsx.json().code, 'IMPORT_FILE_INVALID')
})

t.test('classes, teachers and children import and re-import unchanged', async t => {
  const cases: Array<[ 'classes' | 'teachers' | 'children', string, Array<Record<string, Cell>>]> = [
    ['classes', school.id, [1, 2].map(i => ({ 班级代码: `2021${i}`, 班级名称: `五年级（${i}）班`, 建班年月: '2021-09', 学制: L('schooling_length', '6'), 班级类型: L('class_type', '10'), 年级: 5 }))],
    ['teachers', school.id, [1, 2].map(i => ({ 姓名: `老师${i}`, 出生年月: '1985-03', 性别: L('gender', '2') }))],
    ['children', kg.id, [1, 2].map(i => ({ 班级代码: kgClass.classCode, 姓名: `幼儿${i}`, 身份证件号: fx.idNumber('2022-05-20', '2', i), 性别: L('gender', '2'), 出生日期: '2022-05-20', 民族: L('ethnicity', '01'), 入园年月: '2025-09', 幼儿类别: L('child_category', '00'), 监护人1姓名: `家长${i}`, 监护人1关系: L('relationship', '52') }))],
  ]
  for (const [kind, owner, rows] of cases) {
    const file = await fill(await tpl(kind), rows)
    const p = await preview(app, node.bureau, kind, owner, file)
    t.strictSame(p.body.counts, { create: 2, update: 0, unchanged: 0, error: 0 }, `${kind}: two new`)
    t.strictSame((await commit(app, node.bureau, p.body.importId)).body, { created: 2, updated: 0, unchanged: 0, errorRows: 0 })
    t.strictSame((await preview(app, node.bureau, kind, owner, file)).body.counts, { create: 0, update: 0, unchanged: 2, error: 0 }, `${kind}: again, unchanged`)
  }
})

t.test('R-19.1 R-10.1 an import finds a child by the ID number as 查重 compares it: a resident ID number filed as 其他 and a passport number re-import unchanged, and the resident ID number typed as 居民身份证 updates the record filed as 其他', async t => {
  const residentNo = fx.idNumber('2022-05-20', '2', 41)
  const row = (i: number, over: Record<string, Cell>): Record<string, Cell> => ({
    班级代码: kgClass.classCode, 姓名: `证件童${i}`, 性别: L('gender', '2'), 出生日期: '2022-05-20', 民族: L('ethnicity', '01'), 入园年月: '2025-09',
    幼儿类别: L('child_category', '00'), 监护人1姓名: `家长${i}`, 监护人1关系: L('relationship', '52'), ...over,
  })
  const rows = [row(1, { 身份证件类型: L('id_doc_type', 'Z'), 身份证件号: residentNo }), row(2, { 身份证件类型: L('id_doc_type', 'A'), 身份证件号: 'E12345678' })]
  const file = await fill(await tpl('children'), rows)
  const p = await preview(app, node.bureau, 'children', kg.id, file)
  t.strictSame(p.body.counts, { create: 2, update: 0, unchanged: 0, error: 0 }, JSON.stringify(p.body))
  t.strictSame((await commit(app, node.bureau, p.body.importId)).body, { created: 2, updated: 0, unchanged: 0, errorRows: 0 })
  const filed = app.storage.sqlite.prepare('select id, id_doc_type from children where id_number = ?').get(residentNo) as Json
  t.equal(filed.id_doc_type, 'Z', 'filed as 其他')

  const again = await preview(app, node.bureau, 'children', kg.id, file)
  t.strictSame(again.body.counts, { create: 0, update: 0, unchanged: 2, error: 0 }, `the same file again: both unchanged ${JSON.stringify(again.body.rows)}`)

  const asResident = await fill(await tpl('children'), [{ ...rows[0], 身份证件类型: L('id_doc_type', '1') }])
  const p2 = await preview(app, node.bureau, 'children', kg.id, asResident)
  t.strictSame(p2.body.counts, { create: 0, update: 1, unchanged: 0, error: 0 }, `typed as 居民身份证: the child filed as 其他, updated ${JSON.stringify(p2.body.rows)}`)
  t.strictSame((await commit(app, node.bureau, p2.body.importId)).body, { created: 0, updated: 1, unchanged: 0, errorRows: 0 })
  t.match(app.storage.sqlite.prepare('select id, id_doc_type from children where id_number = ?').all(residentNo), [{ id: filed.id, id_doc_type: '1' }], 'one child, its document type corrected')
  t.strictSame((await preview(app, node.bureau, 'children', kg.id, file)).body.counts, { create: 0, update: 1, unchanged: 1, error: 0 }, 'the first file again: 其他 is a change back for that child, not a new child')
})
