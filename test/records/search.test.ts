/**
 * Search by name and pinyin from indexes (issue #15): every length of name prefix, pinyin initials,
 * full pinyin and a full syllable followed by initials, each answered by a range on its index; a
 * bureau's home-node condition is a range those indexes carry, so a search's count stays index-only.
 */
import t from 'tap'
import { systemActor } from '../../node/services/records/service.ts'
import * as fx from './fixtures.ts'
import { recordsNode, withKindergarten, withSchool, type Json } from './setup.ts'

t.test('R-10.1 name and pinyin search: 1, 2 and 3+ characters, initials, full and mixed pinyin, from their indexes', async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const names = ['张三', '张三丰', '张珊', '欧阳娜娜', '章子怡', '李四']
  for (const name of names) {
    const res = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name, namePinyin: null }), schoolId: school.id, classId: klass.id })
    t.equal(res.status, 201, `${name} registered`)
  }
  const found = async (q: string, by = node.school) => ((await node.call('GET', `/api/v1/students?q=${encodeURIComponent(q)}&limit=50`, undefined, by)).body.items as Json[]).map(s => s.name).sort()
  const cases: Array<[string, string, string[]]> = [
    ['1 character', '张', ['张三', '张三丰', '张珊']],
    ['2 characters', '张三', ['张三', '张三丰']],
    ['3 characters', '张三丰', ['张三丰']],
    ['4 characters', '欧阳娜娜', ['欧阳娜娜']],
    ['initials', 'zs', ['张三', '张三丰', '张珊']],
    ['initials, 3 letters', 'zsf', ['张三丰']],
    ['initials of a compound surname', 'oynn', ['欧阳娜娜']],
    ['full pinyin', 'zhangsan', ['张三', '张三丰']],
    ['full pinyin with spaces and capitals', 'Zhang San', ['张三', '张三丰']],
    ['full pinyin, one letter more', 'zhangsh', ['张珊']],
    ['a syllable then a letter', 'zhangz', ['章子怡']],
    ['a letter', 'z', ['张三', '张三丰', '张珊', '章子怡']],
    ['nobody', '王', []],
  ]
  for (const [what, q, names] of cases) {
    t.strictSame(await found(q), [...names].sort(), `${what}: q=${q}`)
    t.strictSame(await found(q, node.bureau), [...names].sort(), `${what}: the same for the bureau`)
  }

  const svc = node.app.records
  const plan = (q: string, actor = systemActor('test')) => {
    const { sql, params } = svc.listSql(actor, 'students', { q })
    return (node.app.storage.sqlite.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map(r => r.detail).join('\n')
  }
  const bureau = { accountId: 'x', filter: { all: true, homeNodePrefix: '330106' }, reach: () => true }
  for (const actor of [systemActor('test'), bureau]) {
    t.match(plan('张', actor), /USING (COVERING )?INDEX students_name \(name>\? AND name<\?\)/, 'a name prefix is a range on students_name')
    t.match(plan('z', actor), /MULTI-INDEX OR[\s\S]*students_initials[\s\S]*students_pinyin_compact/, 'pinyin both initials and full pinyin start with: a range on students_initials or students_pinyin_compact')
    t.match(plan('zs', actor), /INDEX students_initials \(pinyin_initials>\? AND pinyin_initials<\?\)/, 'initials no full pinyin starts with: students_initials alone')
    t.notMatch(plan('zs', actor), /students_pinyin_compact/)
    t.match(plan('zhang', actor), /INDEX students_pinyin_compact/, 'full pinyin no initials start with: students_pinyin_compact alone')
    t.notMatch(plan('zhang', actor), /students_initials/)
    // These two run on the main thread, not on a reader (service.ts listPage): one index lookup each.
    t.match(plan('33010620150101001X', actor), /INDEX students_id_number \(id_number=\?\)/, 'an ID number is one lookup on students_id_number')
    t.match(plan('G33010620150101001X', actor), /INDEX students_student_no \(student_no=\?/, 'a 学籍号 is one lookup on students_student_no')
  }
  t.match(svc.listSql(bureau, 'students', {}).where, /t\.home_node >= \? and t\.home_node < \?/, "a bureau's subtree is a range on the home node")
  const count = svc.listSql(bureau, 'students', { q: '张' })
  t.match((node.app.storage.sqlite.prepare(`explain query plan select count(*) from students t where ${count.where}`).all(...count.params) as Json[]).map(r => r.detail).join('\n'), /COVERING INDEX students_name/, "a bureau's search count is read from the index alone")

  const { kg, kgClass } = await withKindergarten(node)
  await node.call('POST', '/api/v1/children', { ...fx.child({ idNumber: null, name: '欧阳娜娜', namePinyin: null }), kindergartenId: kg.id, classId: kgClass.id }, node.bureau)
  t.strictSame((await node.call('GET', '/api/v1/children?q=ouyangn', undefined, node.bureau)).body.items.map((c: Json) => c.name), ['欧阳娜娜'], 'children: full pinyin')
  const childPlan = svc.listSql(systemActor('test'), 'children', { q: 'o' })
  t.match((node.app.storage.sqlite.prepare(`explain query plan ${childPlan.sql}`).all(...childPlan.params) as Json[]).map(r => r.detail).join('\n'), /children_initials[\s\S]*children_pinyin_compact/, 'children: pinyin from children_initials and children_pinyin_compact')

  const zsPages = async () => Promise.all([0, 1, 2, 3].map(async offset => ((await node.call('GET', `/api/v1/students?q=zs&limit=1&offset=${offset}`)).body.items as Json[]).map(s => s.name)))
  t.strictSame(await zsPages(), [['张三'], ['张珊'], ['张三丰'], []], 'initials alone: paged in their index order (zs before zsf)')
  // Which ranges a pinyin search reads follows the records held: once a pinyin typed by hand
  // starts with zs, q=zs reads both and finds it too.
  const zsofia = await node.call('POST', '/api/v1/students', { ...fx.student({ idNumber: null, studentNo: null, name: '索菲亚', namePinyin: 'zsofia' }), schoolId: school.id, classId: klass.id })
  t.equal(zsofia.status, 201, JSON.stringify(zsofia.body).slice(0, 200))
  t.strictSame(await found('zs'), ['张三', '张三丰', '张珊', '索菲亚'].sort(), 'q=zs: by initials and by the full pinyin')
  t.match(plan('zs'), /MULTI-INDEX OR/)
  t.strictSame(await zsPages(), [['张三'], ['张三丰'], ['张珊'], ['索菲亚']], 'both ranges: paged in rowid order')
})

t.test("R-25.1 a school's, a class's and a registrar's list are read from an index of their own, not by the state (nearly every row); a bureau's page walks the rowids", async t => {
  const node = await recordsNode(t)
  const { school, klass } = await withSchool(node)
  const svc = node.app.records
  const explain = (sql: string, params: unknown[]) => (node.app.storage.sqlite.prepare(`explain query plan ${sql}`).all(...params) as Array<{ detail: string }>).map(r => r.detail).join('\n')
  const plans = (actor: Parameters<typeof svc.listSql>[0], query: Record<string, unknown>, table = 'students') => {
    const count = svc.listSql(actor, table, query)
    const page = svc.listSql(actor, table, query, undefined, true)
    return { count: explain(`select count(*) from ${table} t where ${count.where}`, count.params), page: explain(page.sql, page.params) }
  }
  const bureau = { accountId: 'x', filter: { all: true, homeNodePrefix: '330106' }, reach: () => true }
  const registrar = { accountId: 'x', filter: { all: false, schools: [String(school.schoolCode)], homeNodePrefix: '330106' }, reach: () => true }
  const teacher = { accountId: 'x', filter: { all: false, classes: [String(klass.id)], homeNodePrefix: '330106' }, reach: () => true }
  for (const [what, p, index] of [
    ["a bureau's list of one school", plans(bureau, { schoolId: school.id }), /students_school_class \(school_id=\?\)/],
    ["a bureau's list of one class", plans(bureau, { classId: klass.id }), /students_class \(class_id=\?\)/],
    ["a bureau's list of one grade", plans(bureau, { grade: 1 }), /students_class \(class_id=\?\)/],
    ["a registrar's list", plans(registrar, {}), /students_school_code \(school_code=\?\)/],
    ["a class teacher's list", plans(teacher, {}), /students_class \(class_id=\?\)/],
  ] as const) {
    t.match(p.count, index, `${what}: the count`)
    t.match(p.page, index, `${what}: the page`)
    t.notMatch(`${p.count}\n${p.page}`, /students_stats/, `${what}: not by the state`)
  }
  const broad = plans(bureau, {})
  t.match(broad.count, /COVERING INDEX students_stats/, "a bureau's whole list counts from students_stats alone")
  t.notMatch(broad.page, /students_stats|TEMP B-TREE/, "and its page walks the table in rowid order, sorting nothing")
  const kgRegistrar = { accountId: 'x', filter: { all: false, schools: ['3301069001'], homeNodePrefix: '330106' }, reach: () => true }
  t.match(plans(kgRegistrar, {}, 'children').page, /children_kindergarten_code \(kindergarten_code=\?\)/, "children: a kindergarten's own list from children_kindergarten_code")
})

t.test('R-10.1 an ID number or a 学籍号 finds its student (a 学籍号 in lower case too), with the count', async t => {
  const node = await recordsNode(t)
  const { school } = await withSchool(node)
  const made = await node.call('POST', '/api/v1/students', { ...fx.student(), schoolId: school.id })
  t.equal(made.status, 201, JSON.stringify(made.body).slice(0, 200))
  const read = (await node.call('GET', `/api/v1/students/${made.body.id}`)).body
  const full = node.app.storage.sqlite.prepare('select id_number, student_no from students where id = ?').get(made.body.id) as { id_number: string; student_no: string }
  for (const q of [full.id_number, full.student_no, full.student_no.toLowerCase()]) {
    for (const by of [node.school, node.bureau]) {
      const page = (await node.call('GET', `/api/v1/students?q=${encodeURIComponent(q)}`, undefined, by)).body
      t.strictSame([page.total, page.items.map((s: Json) => s.id)], [1, [read.id]], `q=${q.slice(0, 4)}…`)
      t.equal(page.items[0].idNumber, read.idNumber, 'masked as a read masks it')
    }
  }
})
