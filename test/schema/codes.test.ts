import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { codes, createCodeRegistry, loadCodeFiles, type CodeEntry, type CodeTable } from '../../schema/codes/index.ts'

const DATA_DIR = new URL('../../schema/codes/data/', import.meta.url)

/** A minimal valid local file; tests override what they need. */
const localFile = (over: Partial<CodeTable> = {}): CodeTable => ({
  table: 'political',
  title: '政治面貌（测试地方扩充）',
  standard: 'local (test)',
  edition: 'test-local',
  extends: 'political',
  codes: [{ code: '15', name: '测试地方代码' }],
  ...over,
})

const tmpDir = (t: { teardown(fn: () => void): void }, files: Record<string, string>) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'xueji-codes-'))
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }))
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
  return dir
}

t.test('R-7.1 division codes: Zhejiang has 11 cities and 90 current county-level divisions', async t => {
  const all = codes.get('division').codes
  t.equal(codes.name('division', '330000'), '浙江省')
  const cities = all.filter(e => e.parent === '330000' && !e.retired)
  t.equal(cities.length, 11)
  t.equal(cities[0].code, '330100')
  t.equal(cities.at(-1)?.code, '331100')
  t.equal(codes.name('division', '331100'), '丽水市')

  const cityCodes = new Set(cities.map(c => c.code))
  const counties = all.filter(e => e.parent !== undefined && cityCodes.has(e.parent) && !e.retired)
  t.equal(counties.length, 90, '90 current county-level divisions')
  t.equal(counties.filter(e => e.name.endsWith('区')).length, 37, '37 districts')
  t.equal(counties.filter(e => e.name.endsWith('市')).length, 20, '20 county-level cities')
  t.equal(counties.filter(e => e.name.endsWith('县')).length, 33, '33 counties')
  for (const c of counties) t.equal(c.parent, c.code.slice(0, 4) + '00', `${c.code} ${c.name} belongs to its city`)

  t.equal(codes.name('division', '330106'), '西湖区')
  t.equal(codes.name('division', '331127'), '景宁畲族自治县')
  t.equal(codes.entry('division', '331127')?.parent, '331100')
})

t.test('R-7.1 division codes: retired codes still resolve and are flagged', async t => {
  for (const [code, name, successor] of [['330103', '下城区', '330105'], ['330104', '江干区', '330102'], ['330185', '临安市', '330112']]) {
    t.equal(codes.has('division', code), true, `${code} resolves`)
    t.equal(codes.name('division', code), name)
    t.equal(codes.isRetired('division', code), true, `${code} is retired`)
    t.equal(codes.entry('division', code)?.replacedBy, successor)
  }
  t.equal(codes.entry('division', '330103')?.retired, '2021-03')
  t.equal(codes.isRetired('division', '330106'), false)
  t.equal(codes.isRetired('division', '999999'), false, 'unknown code is not "retired"')
  // Every successor named in the data is itself current.
  for (const e of codes.get('division').codes.filter(e => e.replacedBy)) {
    t.equal(codes.isRetired('division', e.replacedBy!), false, `${e.code} → ${e.replacedBy}`)
  }
})

t.test('R-10.1 ethnicity GB 3304-1991: 56 nationalities plus 97 and 98', async t => {
  const list = codes.get('ethnicity').codes
  t.equal(list.length, 58)
  t.equal(codes.name('ethnicity', '01'), '汉族')
  t.equal(codes.name('ethnicity', '22'), '畲族')
  t.equal(codes.name('ethnicity', '56'), '基诺族')
  t.equal(codes.name('ethnicity', '97'), '其他')
  t.equal(codes.name('ethnicity', '98'), '外国血统中国籍人士')
  t.equal(codes.has('ethnicity', '57'), false)
})

t.test('R-10.1 personal code tables', async t => {
  t.same(codes.get('gender').codes.map(e => e.code), ['0', '1', '2', '9'])
  t.equal(codes.name('health', '6'), '残疾')
  t.equal(codes.entry('health', '61')?.parent, '6')
  t.equal(codes.name('political', '13'), '群众')
  t.equal(codes.name('relationship', '51'), '父亲')
  t.equal(codes.name('relationship', '99'), '非亲属')
  t.equal(codes.name('blood_type', '3'), 'AB型')
  t.equal(codes.name('id_doc_type', 'A'), '护照')
  const countries = codes.get('country').codes
  t.equal(countries.filter(e => !e.retired).length, 249, 'all current ISO 3166-1 entries')
  t.ok(countries.every(e => /^[A-Z]{3}$/.test(e.code)))
  t.equal(codes.name('country', 'CHN'), '中国')
  t.equal(codes.isRetired('country', 'ANT'), true)
})

t.test('R-10.10 status change types', async t => {
  t.same(codes.get('status_change_type').codes.map(e => e.code), ['02', '03', '04', '11', '12', '13', '21', '22', '31', '42', '51', '99'])
  t.equal(codes.name('status_change_type', '51'), '死亡')
})

t.test('R-10.1 港澳台侨 in two editions: moe2007 (one digit) and jyt1001-2012 (two digits)', async t => {
  t.same(codes.editions('hmt'), ['jyt1001-2012', 'moe2007'])
  t.equal(codes.defaultEdition('hmt'), 'jyt1001-2012')
  t.equal(codes.name('hmt', '01'), '香港同胞')
  t.equal(codes.name('hmt', '03'), '澳门同胞')
  t.equal(codes.has('hmt', '1'), false, 'one-digit code is not in the default edition')
  t.equal(codes.name('hmt', '1', 'moe2007'), '香港同胞')
  t.equal(codes.name('hmt', '2', 'moe2007'), '澳门同胞')
  t.equal(codes.has('hmt', '01', 'moe2007'), false)
})

t.test('R-8.1 学校办别 in two editions', async t => {
  t.same(codes.editions('school_run_type'), ['jyt1001-2012', 'moe2007'])
  t.equal(codes.defaultEdition('school_run_type'), 'jyt1001-2012')
  t.equal(codes.name('school_run_type', '22'), '民办')
  t.equal(codes.name('school_run_type', '2', 'moe2007'), '社会力量办')
  t.equal(codes.name('school_run_type', '12'), '社会力量办')
  t.equal(codes.name('school_category', '111'), '幼儿园')
  t.equal(codes.name('area_category', '3'), '农村')
  t.equal(codes.name('urban_rural_type', '220'), '村庄')
})

t.test('every table has exactly one default edition and lists in tables()', async t => {
  const rows = codes.tables()
  const names = [...new Set(rows.map(r => r.table))]
  for (const name of names) {
    const defaults = rows.filter(r => r.table === name && r.default)
    t.equal(defaults.length, 1, `${name} has one default`)
    t.equal(defaults[0].edition, codes.defaultEdition(name))
  }
  for (const needed of ['division', 'ethnicity', 'gender', 'marital', 'health', 'political', 'country', 'relationship',
    'blood_type', 'id_doc_type', 'hmt', 'school_run_type', 'school_category', 'area_category', 'urban_rural_type',
    'economic_attribute', 'ethnic_attribute', 'student_category', 'class_type', 'schooling_length', 'enrolment_way',
    'study_way', 'student_source', 'status_change_type', 'registration_status', 'teaching_language',
    'kindergarten_nature', 'kindergarten_form', 'kindergarten_grade', 'child_category', 'exam_form', 'exam_category',
    'award_level', 'award_category', 'punishment', 'floating_status', 'financial_aid', 'processing_status',
    'responsibility', 'establishment', 'education_level', 'teacher_title', 'teacher_post']) {
    t.ok(names.includes(needed), `table ${needed}`)
  }
  t.ok(rows.every(r => r.title && r.standard))
})

t.test('shipped data files are named <table>.<edition>.json and load', async t => {
  const files = loadCodeFiles(fileURLToPath(DATA_DIR))
  t.ok(files.length >= 40)
  t.equal(fs.readdirSync(DATA_DIR).filter(f => f.endsWith('.json')).length, files.length)
})

t.test('R-30.1 local codes: the shipped Zhejiang file adds 少先队员 to political', async t => {
  t.equal(codes.name('political', '14'), '少先队员')
  t.equal(codes.entry('political', '14')?.local, true)
  t.equal(codes.entry('political', '01')?.local, undefined, 'national codes are not local')
  t.equal(codes.defaultEdition('political'), 'gb4762-1984')
  t.same(codes.editions('political'), ['gb4762-1984'], 'an extension is not an edition of its own')
})

t.test('R-30.1 local codes extend a table', async t => {
  const reg = createCodeRegistry([localFile()])
  t.equal(reg.has('political', '15'), true)
  t.equal(reg.name('political', '15'), '测试地方代码')
  t.equal(reg.entry('political', '15')?.local, true)
  t.equal(reg.has('political', '01'), true, 'national codes stay')
  t.equal(codes.has('political', '15'), false, 'the shipped registry is untouched')
  t.equal(createCodeRegistry().has('political', '15'), false, 'a later registry is untouched')
})

t.test('R-30.1 local codes: a wholly new table is added', async t => {
  const reg = createCodeRegistry([{
    table: 'boarding_subsidy', title: '寄宿生补助', standard: 'local (Hangzhou)', edition: 'hz-2025',
    codes: [{ code: '1', name: '全额' }, { code: '2', name: '半额' }],
  }])
  t.equal(reg.name('boarding_subsidy', '2'), '半额')
  t.equal(reg.defaultEdition('boarding_subsidy'), 'hz-2025')
  t.equal(reg.entry('boarding_subsidy', '1')?.local, true)
  t.equal(reg.get('boarding_subsidy').local, true)
  t.ok(reg.tables().some(r => r.table === 'boarding_subsidy' && r.default))
})

t.test('R-30.1 local codes: loadCodeFiles reads a configured directory', async t => {
  const dir = tmpDir(t, {
    'ethnicity.zj-test.json': JSON.stringify({ ...localFile({ table: 'ethnicity', extends: 'ethnicity', edition: 'zj-test' }), codes: [{ code: '99', name: '测试' }] }),
    'readme.txt': 'not a code file',
  })
  const files = loadCodeFiles(dir)
  t.equal(files.length, 1)
  const reg = createCodeRegistry(files)
  t.equal(reg.name('ethnicity', '99'), '测试')
  t.equal(reg.entry('ethnicity', '99')?.local, true)
})

t.test('R-30.1 local codes: a local code that collides with a national code is refused', async t => {
  t.throws(() => createCodeRegistry([localFile({ codes: [{ code: '01', name: '冒用' }] })]), { code: 'CODE_TABLE_INVALID', statusCode: 500 })
  t.throws(() => createCodeRegistry([localFile({ codes: [{ code: '14', name: '另一地方代码' }] })]), { code: 'CODE_TABLE_INVALID' }, 'collides with the shipped local 14')
  const twice = [localFile(), localFile({ edition: 'test-local-2' })]
  t.throws(() => createCodeRegistry(twice), { code: 'CODE_TABLE_INVALID' }, 'two local files with the same code')
  t.throws(() => createCodeRegistry([{ ...localFile(), extends: undefined, edition: 'gb4762-1984' }]), { code: 'CODE_TABLE_INVALID' }, 'replacing a national edition')
})

t.test('R-30.1 local codes: malformed files are refused', async t => {
  const bad: Array<[string, unknown]> = [
    ['not an object', []],
    ['no codes', localFile({ codes: [] })],
    ['missing name', localFile({ codes: [{ code: '15' } as CodeEntry] })],
    ['bad code characters', localFile({ codes: [{ code: '1 5', name: 'x' }] })],
    ['duplicate code', localFile({ codes: [{ code: '15', name: 'a' }, { code: '15', name: 'b' }] })],
    ['unknown entry key', localFile({ codes: [{ code: '15', name: 'a', retierd: '2020-01' } as CodeEntry] })],
    ['unknown header key', { ...localFile(), tabel: 'x' }],
    ['bad retired date', localFile({ codes: [{ code: '15', name: 'a', retired: '2020' }] })],
    ['missing title', { ...localFile(), title: '' }],
    ['bad table name', localFile({ table: 'Political', extends: 'Political' })],
    ['extends differs from table', localFile({ extends: 'ethnicity' })],
    ['extends an unknown table', localFile({ table: 'nosuch', extends: 'nosuch' })],
    ['extension marked default', localFile({ default: true })],
    ['unknown parent', localFile({ codes: [{ code: '15', name: 'a', parent: '77' }] })],
    ['second default edition', { ...localFile(), extends: undefined, edition: 'zj-2', default: true }],
  ]
  for (const [why, file] of bad) {
    t.throws(() => createCodeRegistry([file as CodeTable]), { code: 'CODE_TABLE_INVALID', statusCode: 500 }, why)
  }
})

t.test('R-30.1 local codes: malformed files in a directory are refused', async t => {
  const syntax = tmpDir(t, { 'ethnicity.zj.json': '{ "table": "ethnicity", ' })
  t.throws(() => loadCodeFiles(syntax), { code: 'CODE_TABLE_INVALID' }, 'JSON syntax error')
  const misnamed = tmpDir(t, { 'local.json': JSON.stringify(localFile()) })
  t.throws(() => loadCodeFiles(misnamed), { code: 'CODE_TABLE_INVALID' }, 'file name must be <table>.<edition>.json')
  t.throws(() => loadCodeFiles(path.join(os.tmpdir(), 'xueji-no-such-dir')), { code: 'CODE_TABLE_INVALID' }, 'missing directory')
})

t.test('unknown tables and editions are programming errors', async t => {
  t.throws(() => codes.get('nosuch'), { code: 'CODE_TABLE_UNKNOWN', statusCode: 500 })
  t.throws(() => codes.has('hmt', '01', 'moe1999'), { code: 'CODE_TABLE_UNKNOWN' })
  t.throws(() => codes.editions('nosuch'), { code: 'CODE_TABLE_UNKNOWN' })
  t.equal(codes.has('hmt', 'zz'), false, 'an unknown code is just absent')
  t.equal(codes.name('hmt', 'zz'), undefined)
})

t.test('tables handed out are frozen', async t => {
  const table = codes.get('gender')
  t.throws(() => { (table.codes as CodeEntry[]).push({ code: '3', name: 'x' }) })
  t.throws(() => { (table.codes[0] as CodeEntry).name = 'x' })
  t.equal(codes.has('gender', '3'), false)
})
