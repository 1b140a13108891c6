/**
 * The web UI end to end (issue 12): Debian chromium against three real node processes (province,
 * city, county; test/federation/lib/federation.ts). Setup goes through the HTTP API; everything the
 * test proves is done in the browser, as the registrar would (Excel files are made with exceljs,
 * as a registrar's spreadsheet program would). One browser and one federation for
 * the whole file.
 */
import { readFile } from 'node:fs/promises'
import ExcelJS from 'exceljs'
import t from 'tap'
import type { Page } from 'playwright-core'
import * as fx from '../records/fixtures.ts'
import { idCheckChar } from '../../schema/ids.ts'
import { TEST_PASSWORD, totpStepAfter } from '../helper.ts'
import { totpCode, timeStep } from '../../node/auth/totp.ts'
import { SESSION_COOKIE } from '../../node/plugins/auth.ts'
import { ensureWebBuilt } from '../../scripts/build-web.ts'
import { apiLogin, startFederation, type ApiSession, type RealNode } from '../federation/lib/federation.ts'
import { createRecordsService, systemActor } from '../../node/services/records/service.ts'
import { codes } from '../../schema/codes/index.ts'
import { SCREENSHOTS, choose, startBrowser, uiLogin } from './lib.ts'

type Json = Record<string, any>
const SCHOOL = '3301060101'

const ok = (r: { status: number; json: Json }, status: number, what: string) => {
  if (r.status !== status) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.json)}`)
  return r.json
}

async function poll<T>(what: string, probe: () => Promise<T | undefined | false>, ms = 60000): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await probe()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(r => setTimeout(r, 200))
  }
}

/** A session through the API with a known TOTP code step (the browser signs in with later steps). */
async function apiLoginAt(url: string, username: string, secret: string, step: number): Promise<ApiSession> {
  const post = (path: string, headers: Record<string, string>, body: unknown) =>
    fetch(`${url}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  // The headers of the session an answer starts: the password step's, then the new one of the TOTP step.
  const sessionOf = async (res: Response) => ({
    cookie: res.headers.getSetCookie().find(c => c.startsWith(`${SESSION_COOKIE}=`))!.split(';')[0],
    'x-csrf-token': ((await res.json()) as Json).csrfToken as string,
  })
  const half = await sessionOf(await post('/api/v1/auth/login', {}, { username, password: TEST_PASSWORD }))
  const verify = await post('/api/v1/auth/totp/verify', half, { code: totpCode(secret, step) })
  if (verify.status !== 200) throw new Error(`totp: ${verify.status} ${await verify.text()}`)
  const headers = await sessionOf(verify)
  const send = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) })
    const text = await res.text()
    return { status: res.status, json: text ? JSON.parse(text) : {} }
  }
  return { call: send }
}

const BIG = 3000
let bigSeedMs = 0
/**
 * A school of 3,000 students in six classes, entered before the county starts as the seed library
 * does: through the records service, the students by its initial entry (R-19.1) in one call. (The
 * initial-entry route asks the parent about each row first, 查重 across the federation: minutes
 * for 3,000 rows on this machine.)
 */
function seedBigSchool(node: RealNode): void {
  if (node.code !== '330106') return
  const started = Date.now()
  const records = createRecordsService({ storage: node.storage, identity: { code: node.code }, codes })
  const seed = systemActor('seed', { initialEntry: true })
  records.create(seed, 'supervising_units', fx.unit({ unitCode: '3301060002', name: '西湖区学院路教育集团' }))
  const school = records.create(seed, 'schools', fx.school({ schoolCode: '3301060102', unitCode: '3301060002', name: '杭州市西湖区学院路小学' }))
  const classes = Array.from({ length: 6 }, (_, c) => records.create(seed, 'school_classes', { ...fx.klass({ classCode: `202000${c + 1}`, name: `四年级（${c + 1}）班` }), schoolId: school.id }))
  const rows = Array.from({ length: BIG }, (_, i) => {
    const birthDate = `2015-0${Math.floor(i / 400) + 1}-20`
    const gender = i % 2 ? '2' : '1'
    const { photo: _p, namePinyin: _n, ...person } = fx.student({ idNumber: fx.idNumber(birthDate, gender, (i % 400) + 100), studentNo: null, name: `学院生${i + 1}`, schoolStudentNo: String(20200001 + i), gender, birthDate })
    return { ...person, classId: classes[i % classes.length].id }
  })
  const { created } = records.enterStudents(seed, String(school.id), rows)
  if (created.length !== BIG) throw new Error(`seeded ${created.length} of ${BIG} students`)
  bigSeedMs = Date.now() - started
}

/** Chooses an option of an antd Select that has no search box. */
async function pick(page: Page, selector: string, text: string): Promise<void> {
  await page.click(selector)
  await page.locator('.ant-select-dropdown:visible .ant-select-item-option').filter({ hasText: text }).first().click()
}

// A build, three nodes, a 3,000-student seed and a browser: on a busy machine more than the suite's default 300 s.
t.setTimeout(900_000)

t.test('R-D.6 R-25.1 schools and bureaus work in the browser on their own node', async t => {
  const built: string[] = []
  await ensureWebBuilt(s => built.push(s))
  if (built.length) t.comment(built.join('').trim())
  // A transfer pause day that never comes (02-30): the transfer subtest runs whatever today's date is.
  const [, city, county] = await startFederation(t, { readyMs: 180000, calendar: { transferPause: { from: '02-30', to: '02-30' } }, beforeStart: seedBigSchool })
  t.comment(`the ${BIG}-student school entered in ${bigSeedMs} ms`)
  // The page is revalidated at every load; the built assets, whose names carry their hash, are kept.
  const home = await fetch(`${county.url}/`)
  t.equal(home.headers.get('cache-control'), 'no-cache', 'index.html: no-cache')
  const asset = /\/assets\/[^"]+\.js/.exec(await home.text())![0]
  t.equal((await fetch(`${county.url}${asset}`)).headers.get('cache-control'), 'public, max-age=31536000, immutable', `${asset}: immutable`)
  const browser = await startBrowser(t)
  t.comment(`screenshots: ${SCREENSHOTS}`)

  // The county's first administrator enrols the authenticator in the browser (the page shows the
  // secret); the test plays the authenticator.
  const admin = await (await browser.context()).newPage()
  let secret = ''
  let used = 0
  await uiLogin(admin, county.url, 'admin', TEST_PASSWORD, shown => {
    secret = shown ?? ''
    used = timeStep(Date.now())
    return totpCode(secret, used)
  })
  t.ok(secret, 'the administrator enrolled TOTP at the first login in the browser')
  await browser.shot(admin, '01-bureau-home')

  // Setup through the API: the school, its class and the school's accounts.
  const bureau = await apiLoginAt(county.url, 'admin', secret, await totpStepAfter(used))
  ok(await bureau.call('POST', '/api/v1/units', fx.unit()), 201, 'unit')
  const school = ok(await bureau.call('POST', '/api/v1/schools', fx.school()), 201, 'school')
  const klass = ok(await bureau.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: school.id }), 201, 'class')
  ok(await bureau.call('POST', '/api/v1/accounts', { username: 'xiaozhang', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] }, leader: true }), 201, 'school admin')
  const head = await apiLogin(county, 'xiaozhang')
  // R-18.1: a second member of the school leadership verifies the applications the first one makes.
  ok(await bureau.call('POST', '/api/v1/accounts', { username: 'xiaowang', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] }, leader: true }), 201, 'school leader')
  const leader = await apiLogin(county, 'xiaowang')
  const verifyChange = async (id: string) => ok(await leader.call('POST', `/api/v1/verification/student_status_changes/${id}/verify`), 200, 'the school leadership verifies the application')
  const classScope = { kind: 'classes', school: SCHOOL, classes: [klass.id] }
  ok(await head.call('POST', '/api/v1/accounts', { username: 'laoshi', password: TEST_PASSWORD, role: 'teacher', scope: classScope }), 201, 'teacher')
  ok(await head.call('POST', '/api/v1/accounts', { username: 'nianji', password: TEST_PASSWORD, role: 'grade_admin', scope: classScope }), 201, 'grade admin')
  // The city's administrator enrols in the browser too (the death report and the transfer are acknowledged and approved there).
  const cityBureau = await (await browser.context()).newPage()
  let citySecret = ''
  await uiLogin(cityBureau, city.url, 'admin', TEST_PASSWORD, shown => {
    citySecret = shown ?? ''
    used = timeStep(Date.now())
    return totpCode(citySecret, used)
  })
  const cityAdmin = await apiLoginAt(city.url, 'admin', citySecret, await totpStepAfter(used))
  ok(await cityAdmin.call('POST', '/api/v1/accounts', { username: 'shiju', password: TEST_PASSWORD, role: 'bureau_user', scope: { kind: 'bureau', node: '330100' } }), 201, 'city user')

  let entered: Json = {}
  let second: Json = {}
  await t.test('R-D.6 R-10.1 a teacher enters a student with a guardian, sees the field error of a bad ID number, fixes it and saves', async t => {
    const page = await (await browser.context()).newPage()
    await uiLogin(page, county.url, 'laoshi', TEST_PASSWORD)
    await page.click('.ant-menu >> text=学生学籍')
    await page.click('button:has-text("录入学生")')
    await page.waitForSelector('#student-entry')
    // School and class are the teacher's own: pre-filled.
    await page.locator('#student-entry').getByText('杭州市西湖区文三路小学').first().waitFor()
    await page.locator('#student-entry').getByText('四年级（1）班').first().waitFor()
    const good = fx.idNumber('2016-04-21', '2', 3)
    const bad = good.slice(0, 17) + (good[17] === '0' ? '1' : '0')
    await page.fill('#name', '林小雨')
    await page.fill('#idNumber', bad)
    await page.waitForFunction(() => (document.querySelector('#birthDate') as HTMLInputElement | null)?.value === '2016-04-21')
    t.pass('the birth date is read from the ID number as it is typed')
    await page.fill('#guardians-0-name', '林大山')
    await choose(page, '#guardians-0-relationship', '父亲')
    await page.fill('#guardians-0-phone', '13912345678')
    const refused = page.waitForResponse(r => r.url().endsWith('/api/v1/students') && r.request().method() === 'POST')
    await page.press('#name', 'Enter')
    t.equal((await refused).status(), 400, 'Enter sent the entry; the node refused the bad ID number')
    const error = page.locator('.ant-form-item', { has: page.locator('#idNumber') }).locator('.ant-form-item-explain-error')
    await error.waitFor()
    const fieldError = (await error.textContent()) ?? ''
    t.match(fieldError, /身份证/, `the API's field error shows under the ID number: ${fieldError}`)
    await browser.shot(page, '02-entry-field-error')
    t.equal((await head.call('GET', '/api/v1/students')).json.total, 0, 'nothing was saved')
    await page.fill('#idNumber', good)
    const saved = page.waitForResponse(r => r.url().endsWith('/api/v1/students') && r.request().method() === 'POST', { timeout: 60000 })
    await page.press('#idNumber', 'Enter')
    const answer = await saved
    t.equal(answer.status(), 201, `saved: ${answer.status() === 201 ? '' : await answer.text()}`)
    await page.waitForSelector('#entry-saved')
    t.equal(await page.inputValue('#name'), '', 'Enter saved and opened the next blank record')
    await browser.shot(page, '03-entry-saved')
    const list = ok(await head.call('GET', '/api/v1/students?q=林小雨'), 200, 'list').items as Json[]
    t.equal(list.length, 1, 'the student is on the node')
    entered = ok(await head.call('GET', `/api/v1/students/${list[0].id}`), 200, 'read')
    t.match(entered, { schoolId: school.id, classId: klass.id, gender: '2', birthDate: '2016-04-21', verifyState: 'entered' })
    t.match(entered.guardians, [{ relationship: '51' }], 'with the guardian (its name and phone are masked without a grant)')
    t.equal(entered.guardians.length, 1)

    // R-27.1: an unsaved entry is kept in this browser under the account's key, and deleted at sign-out.
    const drafts = () => page.evaluate(() => Object.keys(localStorage).filter(k => k.startsWith('xueji.draft.')))
    await page.fill('#name', '未保存的学生')
    t.equal((await drafts()).length, 1, 'the unsaved entry is kept as a draft')
    await page.click('button:has-text("退出")')
    await page.waitForSelector('#login-username')
    t.same(await drafts(), [], 'signing out deletes it: the next account on this browser does not see it')
  })

  await t.test('R-D.6 R-18.1 the grade administrator verifies the entered student from the home page queue', async t => {
    const page = await (await browser.context()).newPage()
    await uiLogin(page, county.url, 'nianji', TEST_PASSWORD)
    await page.locator('#verification-queue a:has-text("核对")').first().click()
    await page.waitForSelector('#student-card')
    t.equal(await page.locator('#verify-state').textContent(), '待核对')
    await browser.shot(page, '04-student-card')
    await page.click('#verify-ok')
    await page.waitForFunction(() => document.querySelector('#verify-state')?.textContent === '已核对')
    t.equal((await head.call('GET', `/api/v1/students/${entered.id}`)).json.verifyState, 'verified', 'verified on the node')
  })

  await t.test('R-D.6 R-20.1 the bureau administrator approves and carries out a status change', async t => {
    const other = (second = ok(await head.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 9), studentNo: null, name: '周小川' }), schoolId: school.id, classId: klass.id }), 201, 'second student'))
    const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
    const applied = ok(await head.call('POST', `/api/v1/students/${other.id}/status-changes`, { changeType: '11', changeDate: today, reason: '因病休学' }), 201, 'apply')
    await admin.goto(`${county.url}/status-changes`)
    await admin.locator('#status-change-table tr', { hasText: '待校领导核对' }).waitFor()
    t.equal(await admin.locator('.xj-review').count(), 0, 'R-18.1 nothing to approve before the school leadership verified it')
    await verifyChange(applied.id)
    await admin.reload()
    await admin.locator('.xj-review').first().click()
    await admin.fill('#approval-doc-no', '西教〔2026〕12号')
    const reviewed = admin.waitForResponse(r => r.url().endsWith(`/status-changes/${applied.id}/review`))
    await admin.click('#review-submit')
    const answer = await reviewed
    t.equal(answer.status(), 200, `reviewed ${answer.status() === 200 ? '' : await answer.text()}`)
    await admin.locator('button:has-text("办理")').first().waitFor()
    await browser.shot(admin, '05-status-change-approved')
    t.match((await head.call('GET', `/api/v1/students/${other.id}`)).json.statusChanges, [{ id: applied.id, processingStatus: '3', approvalDocNo: '西教〔2026〕12号' }], 'approved with its document number')
    await admin.locator('button:has-text("办理")').first().click()
    await poll('carried out', async () => (await head.call('GET', `/api/v1/students/${other.id}`)).json.state === 'suspended')
    t.pass('carried out: the student is suspended')
  })

  await t.test('R-D.6 R-17.3 a city user sees the county\'s student in the city\'s statistics after sync', async t => {
    const cityUser = await apiLogin(city, 'shiju')
    const atCounty = (await bureau.call('GET', '/api/v1/students?limit=1')).json.total as number
    await poll('the county\'s students at the city', async () => (await cityUser.call('GET', '/api/v1/students')).json.total === atCounty)
    const expected = ok(await cityUser.call('GET', '/api/v1/statistics/students?by=gender'), 200, 'stats').total as number
    const page = await (await browser.context()).newPage()
    await uiLogin(page, city.url, 'shiju', TEST_PASSWORD)
    await page.click('.ant-menu >> text=统计分析')
    await page.waitForSelector('#stats-total')
    await page.waitForSelector('.xj-chart canvas')
    t.equal(Number(await page.locator('#stats-total').textContent()), expected, `the city's total (${expected}) is shown`)
    t.ok(expected >= 1, 'and counts the county\'s student')
    t.ok(await page.locator('#stats-units >> text=西湖区').count(), 'drill-down lists the county')
    await browser.shot(page, '06-city-statistics')
    await page.locator('#stats-units a:has-text("西湖区")').click()
    await page.waitForSelector('.ant-breadcrumb >> text=西湖区')
    await page.click('.ant-menu >> text=学生学籍')
    await page.fill('#student-search', '林小雨')
    await page.press('#student-search', 'Enter')
    await page.locator('#students-table >> text=林小雨').waitFor()
    await browser.shot(page, '07-city-students')
  })

  await t.test('R-D.6 R-17.7 a student signs in and sees only their own record', async t => {
    ok(await head.call('POST', '/api/v1/accounts', { username: 'linxiaoyu', password: TEST_PASSWORD, role: 'student', scope: { kind: 'student', school: SCHOOL, studentId: entered.id } }), 201, 'student account')
    const page = await (await browser.context()).newPage()
    await uiLogin(page, county.url, 'linxiaoyu', TEST_PASSWORD)
    await page.waitForSelector('#student-card')
    t.match(await page.locator('#student-card .ant-card-head').textContent(), /林小雨/, 'the home page is their own 学籍卡')
    t.equal(await page.locator('.ant-menu-item').count(), 1, 'no other page in the menu')
    await browser.shot(page, '08-student-own-record')
    const seen = await page.evaluate(async () => (await (await fetch('/api/v1/students')).json()) as { items: Array<{ name: string }> })
    t.same(seen.items.map(s => s.name), ['林小雨'], 'the API behind the page answers their record alone')
    await page.goto(`${county.url}/students/${second.id}`)
    await page.locator('text=没有找到该学生').waitFor()
    t.pass('another student\'s page answers not found')
  })

  await t.test('R-D.6 R-19.1 a registrar imports 200 students from Excel with 3 bad rows, sees the errors, commits 197, fixes the 3 from the errors file and imports them again', async t => {
    // The school's registrar (a school administrator: the second factor, enrolled at the first login).
    ok(await bureau.call('POST', '/api/v1/accounts', { username: 'jiaowu', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] } }), 201, 'registrar')
    const page = await (await browser.context()).newPage()
    await uiLogin(page, county.url, 'jiaowu', TEST_PASSWORD, shown => totpCode(shown ?? '', timeStep(Date.now())))
    await page.click('.ant-menu >> text=Excel 导入')
    await page.waitForSelector('#import-page')
    await page.locator('#import-owner').locator('xpath=ancestor::div[contains(@class,"ant-select")][1]').getByText('杭州市西湖区文三路小学').waitFor()
    // The registrar downloads the template from the page and fills it in (codes typed as codes).
    const downloading = page.waitForEvent('download')
    await page.click('#import-template')
    const template = await readFile((await (await downloading).path())!)
    const book = new ExcelJS.Workbook()
    await book.xlsx.load(template as unknown as ArrayBuffer)
    const sheet = book.worksheets[0]
    const cols = new Map<string, number>()
    sheet.getRow(1).eachCell((c, col) => cols.set(String(c.value), col))
    const row = (i: number): Record<string, string> => ({
      班级代码: klass.classCode, 姓名: `导入生${i}`, 身份证件类型: '1', 身份证件号: fx.idNumber('2015-06-01', '1', i), 性别: '1', 出生日期: '2015-06-01',
      民族: '01', '国籍/地区': 'CHN', 入学年月: '2021-09', 学生类别: '00', 现住址: `杭州市西湖区文三路 ${i} 号`,
      监护人1姓名: `家长${i}`, 监护人1关系: '51', 监护人1联系电话: '13900000000',
    })
    const good = Array.from({ length: 200 }, (_, i) => row(i + 1))
    const id = good[10].身份证件号
    const original = good.map((r, i) =>
      i === 10 ? { ...r, 身份证件号: id.slice(0, 17) + (idCheckChar(id.slice(0, 17)) === '0' ? '1' : '0') } : i === 50 ? { ...r, 民族: '火星族' } : i === 120 ? { ...r, 姓名: '' } : r,
    )
    const write = async (target: ExcelJS.Workbook, rows: Array<Record<string, string>>, from: number) => {
      const ws = target.worksheets[0]
      const at = new Map<string, number>()
      ws.getRow(1).eachCell((c, col) => at.set(String(c.value), col))
      ;(ws as unknown as { dataValidations: { model: object } }).dataValidations.model = {}
      rows.forEach((r, n) => {
        for (const [h, v] of Object.entries(r)) ws.getRow(from + n).getCell(at.get(h)!).value = v === '' ? null : v
      })
      return Buffer.from(await target.xlsx.writeBuffer())
    }
    t.ok(cols.has('身份证件号') && cols.has('监护人1姓名'), 'the template has the paper form\'s columns')
    const file = await write(book, original, 3)
    const xlsx = (name: string, buffer: Buffer) => ({ name, mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', buffer })
    const before = (await head.call('GET', '/api/v1/students?limit=1')).json.total as number

    const counts = async () => (await page.locator('#import-counts .ant-statistic-content-value').allTextContents()).map(Number)
    const previewOf = async (name: string, buffer: Buffer) => {
      const answered = page.waitForResponse(r => r.url().includes('/api/v1/imports/students/preview'), { timeout: 120000 })
      await page.setInputFiles('#import-file', xlsx(name, buffer))
      const res = await answered
      t.equal(res.status(), 200, `previewed ${name}`)
      await page.waitForSelector('#import-counts')
      return counts()
    }
    t.same(await previewOf('students.xlsx', file), [197, 0, 0, 3], 'the preview: 197 新增, 0 修改, 0 不变, 3 错误')
    const errorText = (await page.locator('#import-rows tbody tr').allTextContents()).slice(0, 3)
    t.match(errorText[0], /^13错误身份证件号：.*校验位/, `row 13: the ID number's check digit, in Chinese: ${errorText[0]}`)
    t.match(errorText[1], /^53错误民族：.*火星族.*下拉列表/, `row 53: the ethnicity not in the list: ${errorText[1]}`)
    t.match(errorText[2], /^123错误姓名：姓名为必填项/, `row 123: the missing name: ${errorText[2]}`)
    await browser.shot(page, '09-import-preview')
    t.equal((await head.call('GET', '/api/v1/students?limit=1')).json.total, before, 'the preview wrote nothing')

    await page.click('#import-commit')
    await page.waitForSelector('#import-result')
    t.match(await page.locator('#import-result').textContent(), /新增197.*未导入（有错误）3/, 'committed: 197 created, 3 rows not imported')
    t.equal((await head.call('GET', '/api/v1/students?limit=1')).json.total, before + 197, '197 students on the node')

    const gettingErrors = page.waitForEvent('download')
    await page.click('#import-errors-file')
    const errorsBook = new ExcelJS.Workbook()
    await errorsBook.xlsx.load((await readFile((await (await gettingErrors).path())!)) as unknown as ArrayBuffer)
    const errSheet = errorsBook.worksheets[0]
    t.equal(errSheet.actualRowCount, 5, 'the errors file: headers, notes and the 3 rows in error')
    // The registrar corrects the three rows in the errors file and uploads it as it is.
    const fixed = await write(errorsBook, [{ 身份证件号: good[10].身份证件号 }, { 民族: good[50].民族 }, { 姓名: good[120].姓名 }], 3)
    t.same(await previewOf('errors-fixed.xlsx', fixed), [3, 0, 0, 0], 'the fixed rows preview as 3 新增')
    await page.click('#import-commit')
    await page.waitForSelector('#import-result')
    t.match(await page.locator('#import-result').textContent(), /新增3/, '3 created')
    t.equal((await head.call('GET', '/api/v1/students?limit=1')).json.total, before + 200, 'all 200 on the node')

    t.same(await previewOf('students.xlsx', file), [0, 0, 197, 3], 'the original file again: every valid row 不变')
    await page.click('#import-commit')
    await page.waitForSelector('#import-result')
    t.match(await page.locator('#import-result').textContent(), /新增0.*修改0.*不变197/, 'committing it changes nothing')
    t.equal((await head.call('GET', '/api/v1/students?limit=1')).json.total, before + 200, 'no student added')

    // 取消导入 (R-27.1): a preview not wanted is deleted at the node, its rows and their ID numbers with it.
    await previewOf('errors-fixed.xlsx', fixed)
    const cancelled = page.waitForResponse(r => r.request().method() === 'DELETE' && r.url().includes('/api/v1/imports/'))
    await page.click('#import-cancel')
    const gone = await cancelled
    t.equal(gone.status(), 204, 'cancelled')
    await page.waitForSelector('#import-counts', { state: 'detached' })
    const cancelledId = new URL(gone.url()).pathname.split('/').pop()
    t.equal((await head.call('POST', `/api/v1/imports/${cancelledId}/commit`)).status, 404, 'a cancelled import can no longer be committed')

    // 修改 on the 学籍卡 writes through the record's PATCH route (an open record: no change request needed).
    const one = (ok(await head.call('GET', '/api/v1/students?q=导入生7'), 200, 'find').items as Json[]).find(s => s.name === '导入生7')!
    await page.goto(`${county.url}/students/${one.id}`)
    await page.click('#change-record-open')
    await choose(page, '#change-record-field', '现住址')
    await page.fill('#change-currentAddress', '杭州市西湖区文二路 7 号')
    const patched = page.waitForResponse(r => r.url().endsWith(`/api/v1/students/${one.id}`) && r.request().method() === 'PATCH')
    await page.click('#change-record-submit')
    t.equal((await patched).status(), 200, 'the change is saved')
    t.equal((await head.call('GET', `/api/v1/students/${one.id}`)).json.version, one.version + 1, 'the record has its new version')
  })

  await t.test('R-D.6 R-21.1 the bureau administrator sees the rollover dry run per school, this school year and the next, with its state and blockers; the change-request and transfer pages answer', async t => {
    await admin.goto(`${county.url}/rollover`)
    const row = admin.locator('#rollover-table tr', { hasText: '杭州市西湖区文三路小学' })
    const sameAsApi = async (query: string, what: string) => {
      const plan = ok(await bureau.call('GET', `/api/v1/calendar/rollover${query}`), 200, 'dry run')
      const unit = (plan.items as Json[]).find(u => u.unitId === school.id)!
      await admin.locator('#rollover-page .ant-card-head', { hasText: `升入 ${plan.schoolYear}` }).waitFor()
      await row.waitFor()
      const state = { ready: '可以升级', blocked: '有阻碍', done: '已升级' }[unit.state as string]!
      t.match(await row.textContent(), state, `${what}: the school's state as the dry run answers it (${state})`)
      for (const b of unit.blockers as Json[]) t.match(await row.textContent(), b.message, `blocker shown: ${b.message}`)
      return plan.schoolYear as number
    }
    const year = await sameAsApi('', 'this school year')
    t.equal(await admin.locator('#rollover-run').count(), 1, 'the bureau administrator may run it')
    await choose(admin, '#rollover-year', '预览下一学年')
    await sameAsApi(`?schoolYear=${year + 1}`, 'the next school year')
    await browser.shot(admin, '10-rollover-dry-run')
    await admin.click('.ant-menu >> text=修改申请')
    await admin.waitForSelector('#change-request-table')
    await admin.click('.ant-menu >> text=转学')
    await admin.waitForSelector('#transfer-table')
    t.pass('the change-request and transfer pages render for the bureau')
  })

  await t.test('R-D.6 R-25.2 the bureau administrator sees a locked account on the accounts page and unlocks it (解除锁定)', async t => {
    ok(await bureau.call('POST', '/api/v1/accounts', { username: 'suoding', password: TEST_PASSWORD, role: 'bureau_user', scope: { kind: 'bureau', node: '330106' } }), 201, 'account')
    const signIn = (password: string) => fetch(`${county.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'suoding', password }) })
    for (let i = 0; i < 10; i++) await signIn(`wrong guess ${i}`)
    t.equal((await signIn(TEST_PASSWORD)).status, 429, 'ten wrong passwords lock the account')
    await admin.goto(`${county.url}/accounts`)
    const row = admin.locator('tr', { hasText: 'suoding' })
    await row.locator('text=已锁定').waitFor()
    await browser.shot(admin, '11-account-locked')
    const unlocked = admin.waitForResponse(r => r.url().endsWith('/unlock') && r.request().method() === 'POST')
    await row.locator('button.account-unlock').click()
    t.equal((await unlocked).status(), 200, 'the unlock is sent')
    await row.locator('text=已锁定').waitFor({ state: 'detached' })
    t.equal((await signIn(TEST_PASSWORD)).status, 200, 'the account signs in again')
  })

  // Record pages (pages/Records.tsx) and the 学籍卡's sub-record editing.
  await t.test('R-D.6 R-8.2 R-12.1 R-10.3 the bureau administrator enters a teacher (field errors shown), a kindergarten child with a guardian, edits a student\'s guardian and adds an award, and exports the kindergarten list', async t => {
    const kg = ok(await bureau.call('POST', '/api/v1/kindergartens', fx.kindergarten()), 201, 'kindergarten')
    ok(await bureau.call('POST', '/api/v1/kindergarten-classes', { ...fx.kgClass(), kindergartenId: kg.id }), 201, 'kindergarten class')
    const page = admin
    const posted = (path: string, method = 'POST') => page.waitForResponse(r => r.url().endsWith(path) && r.request().method() === method)

    // A teacher: the gender left out and a bad 出生年月 come back as errors under their fields.
    await page.click('.ant-menu >> text="教师"')
    await page.waitForSelector('#table-school-teachers')
    await page.click('#new-school-teachers')
    // The county has more than one school by now (the 3,000-student one): the owner is chosen.
    await choose(page, '#rec-owner', '杭州市西湖区文三路小学')
    await page.fill('#rec-name', '钱老师')
    await page.fill('#rec-birthYm', '1985-13')
    const refused = posted('/api/v1/school-teachers')
    await page.click('#rec-submit')
    t.equal((await refused).status(), 400, 'the node refused the teacher')
    const errorOf = (id: string) => page.locator('.ant-form-item', { has: page.locator(id) }).locator('.ant-form-item-explain-error')
    await errorOf('#rec-gender').waitFor()
    await errorOf('#rec-birthYm').waitFor()
    t.match(await errorOf('#rec-gender').textContent(), /性别/, 'the missing gender is named under its field')
    t.match(await errorOf('#rec-birthYm').textContent(), /出生年月/, 'the bad 出生年月 is named under its field')
    await browser.shot(page, '20-teacher-field-errors')
    await page.fill('#rec-birthYm', '1985-03')
    await choose(page, '#rec-gender', '女')
    await choose(page, '#rec-title', '一级')
    const created = posted('/api/v1/school-teachers')
    await page.click('#rec-submit')
    t.equal((await created).status(), 201, 'the teacher is saved')
    await page.waitForSelector('#record-card >> text=钱老师')
    const teachers = ok(await bureau.call('GET', `/api/v1/school-teachers?schoolId=${school.id}&q=钱老师`), 200, 'teachers').items as Json[]
    t.match(teachers, [{ name: '钱老师', gender: '2', birthYm: '1985-03' }], 'on the node')
    await browser.shot(page, '21-teacher-detail')

    // The school's full record, with its classes and teachers.
    await page.click('.ant-menu >> text="学校"')
    await page.locator('#table-schools >> text=杭州市西湖区文三路小学').click()
    await page.locator('#table-classes >> text=四年级（1）班').waitFor()
    await browser.shot(page, '23-school-detail')

    // A child: entered on the children's page, then a guardian on the child's card.
    await page.click('.ant-menu >> text="幼儿学籍"')
    await page.click('#new-children')
    await page.locator('#rec-owner').locator('xpath=ancestor::div[contains(@class,"ant-select")][1]').getByText('西湖区文三路幼儿园').waitFor()
    await choose(page, '#rec-classId', '小一班')
    await page.fill('#rec-name', '沈小禾')
    await page.fill('#rec-idNumber', fx.idNumber('2022-05-20', '2', 8))
    await choose(page, '#rec-gender', '女')
    await page.fill('#rec-birthDate', '2022-05-20')
    await choose(page, '#rec-ethnicity', '汉族')
    await page.fill('#rec-entryYm', '2025-09')
    await choose(page, '#rec-childCategory', '普通幼儿')
    const child = posted('/api/v1/children')
    await page.click('#rec-submit')
    const childAnswer = await child
    t.equal(childAnswer.status(), 201, `the child is saved ${childAnswer.status() === 201 ? '' : await childAnswer.text()}`)
    const childId = (await childAnswer.json()).id as string
    await page.waitForSelector('#record-card >> text=沈小禾')
    await page.click('#sub-guardians-add')
    await page.fill('#sub-guardians-name', '沈大河')
    await choose(page, '#sub-guardians-relationship', '父亲')
    await page.fill('#sub-guardians-phone', '13800001111')
    const guardian = posted(`/api/v1/children/${childId}/guardians`)
    await page.click('#sub-guardians-submit')
    t.equal((await guardian).status(), 201, 'the guardian is saved')
    await page.locator('#sub-guardians tbody tr >> text=父亲').waitFor()
    const saved = ok(await bureau.call('GET', `/api/v1/children/${childId}`), 200, 'child')
    t.match(saved, { kindergartenId: kg.id, name: '沈小禾', verifyState: 'entered', guardians: [{ relationship: '51' }] }, 'the child and the guardian are on the node')
    await page.locator('#sub-guardians button:has-text("显示")').click()
    await page.locator('#sub-guardians >> text=沈大河').waitFor()
    t.pass('显示 reveals the guardian\'s masked name')
    await browser.shot(page, '24-child-card')

    // A student's sub-records on the 学籍卡: edit the guardian, add an award.
    const one = ok(await head.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-03-15', '1', 12), studentNo: null, name: '郑小山' }), schoolId: school.id, classId: klass.id, guardians: [{ name: '郑大川', relationship: '51', phone: '13900000008' }] }), 201, 'student')
    const before = one.guardians[0] as Json
    await page.goto(`${county.url}/students/${one.id}`)
    await page.locator('#sub-guardians .xj-sub-edit').first().click()
    await page.fill('#sub-guardians-phone', '13922223333')
    const edited = posted(`/api/v1/students/${one.id}/guardians/${before.id}`, 'PATCH')
    await page.click('#sub-guardians-submit')
    t.equal((await edited).status(), 200, 'the guardian\'s phone is changed')
    const after = ok(await head.call('GET', `/api/v1/students/${one.id}`), 200, 'student').guardians[0] as Json
    t.equal(after.version, before.version + 1, 'through its own PATCH route')
    const clearName = ok(await bureau.call('POST', `/api/v1/reveal/student_guardians/${before.id}`, { fields: ['name', 'phone'] }), 200, 'reveal').values
    t.same(clearName, { name: '郑大川', phone: '13922223333' }, 'the new phone is saved and the masked name was not sent back')
    await page.click('#sub-awards-add')
    await page.fill('#sub-awards-name', '优秀少先队员')
    await choose(page, '#sub-awards-level', '校级')
    await page.fill('#sub-awards-awardYm', '2026-06')
    const award = posted(`/api/v1/students/${one.id}/awards`)
    await page.click('#sub-awards-submit')
    const awarded = await award
    t.equal(awarded.status(), 201, `the award is saved${awarded.status() === 201 ? '' : `: ${await awarded.text()}`}`)
    await page.locator('#sub-awards >> text=优秀少先队员').waitFor()
    await browser.shot(page, '25-student-subrecords')

    // Export of a list from its page (the export job, then the file).
    await page.click('.ant-menu >> text="幼儿园"')
    await page.waitForSelector('#table-kindergartens')
    const downloading = page.waitForEvent('download')
    await page.locator('#list-kindergartens button:has-text("导出")').hover()
    await page.locator('.ant-dropdown-menu-item:has-text("CSV")').click()
    const csv = await readFile((await (await downloading).path())!, 'utf8')
    t.match(csv, /幼儿园名称/, 'the export has the fields\' labels')
    t.match(csv, /西湖区文三路幼儿园/, 'and the kindergarten')
    // The kindergarten's full record, with its classes, teachers and children.
    await page.locator('#table-kindergartens >> text=西湖区文三路幼儿园').click()
    await page.waitForSelector('#record-card >> text=许可证号')
    await page.locator('#table-kindergarten-classes >> text=小一班').waitFor()
    await browser.shot(page, '22-kindergarten-detail')
  })

  await t.test('R-D.6 R-12.5 the bureau reviews a kindergarten child\'s status change in the browser: the form asks for no 批准文号 (a child\'s change keeps none) and the review sends none', async t => {
    const kgCode = fx.kindergarten().kindergartenCode
    ok(await bureau.call('POST', '/api/v1/accounts', { username: 'yuanwu', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [kgCode] } }), 201, 'kindergarten administrator')
    ok(await bureau.call('POST', '/api/v1/accounts', { username: 'yuanzhang', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [kgCode] }, leader: true }), 201, 'kindergarten leader')
    const kgAdmin = await apiLogin(county, 'yuanwu')
    const kgLeader = await apiLogin(county, 'yuanzhang')
    const child = (ok(await bureau.call('GET', `/api/v1/children?q=${encodeURIComponent('沈小禾')}`), 200, 'child').items as Json[])[0]
    const day = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
    const applied = ok(await kgAdmin.call('POST', `/api/v1/children/${child.id}/status-changes`, { changeType: '11', changeDate: day, reason: '因病休园' }), 201, 'apply')
    ok(await kgLeader.call('POST', `/api/v1/verification/child_status_changes/${applied.id}/verify`), 200, 'the kindergarten leadership verifies it')
    await admin.goto(`${county.url}/status-changes`)
    const row = admin.locator('#status-change-table tr', { hasText: '因病休园' })
    await row.locator('.xj-review').click()
    await admin.locator('#review-submit').waitFor()
    t.equal(await admin.locator('#approval-doc-no').count(), 0, 'no 批准文号 field for a child')
    const reviewed = admin.waitForResponse(r => r.url().endsWith(`/status-changes/${applied.id}/review`))
    await admin.click('#review-submit')
    const answer = await reviewed
    t.equal(answer.status(), 200, `reviewed ${answer.status() === 200 ? '' : await answer.text()}`)
    t.notOk('approvalDocNo' in (answer.request().postDataJSON() as Json), 'the review sends no approvalDocNo')
    t.match((ok(await bureau.call('GET', '/api/v1/status-changes?status=approved'), 200, 'queue').items as Json[]).find(c => c.id === applied.id), { kind: 'child', processingStatus: '3' }, 'approved')
  })

  // The workflows of a school's registrar (a school administrator, second factor enrolled in the
  // browser) with the county's and the city's bureau administrators.
  ok(await bureau.call('POST', '/api/v1/accounts', { username: 'zhuce', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [SCHOOL] } }), 201, 'registrar')
  const registrar = await (await browser.context()).newPage()
  await uiLogin(registrar, county.url, 'zhuce', TEST_PASSWORD, shown => totpCode(shown ?? '', timeStep(Date.now())))
  const today = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
  let locked: Json = {}
  await t.test('R-D.6 R-22.1 R-22.5 a 修改 of a record locked on expiry is refused and offered as a 修改申请; the bureau approves it in the browser and the 学籍卡 shows the change', async t => {
    // Entered in September 2025 and verified: R-22.1 has locked it since 2025-10-01 on the node's own clock.
    locked = ok(await head.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2015-05-10', '1', 31), studentNo: null, name: '郑小锁', birthDate: '2015-05-10', formerName: null, enrolmentYm: '2025-09' }), schoolId: school.id, classId: klass.id }), 201, 'student')
    ok(await (await apiLogin(county, 'nianji')).call('POST', `/api/v1/verification/students/${locked.id}/verify`), 200, 'verify')
    await registrar.goto(`${county.url}/students/${locked.id}`)
    await registrar.click('#change-record-open')
    await choose(registrar, '#change-record-field', '曾用名')
    await registrar.fill('#change-formerName', '郑锁')
    const refused = registrar.waitForResponse(r => r.url().endsWith(`/api/v1/students/${locked.id}`) && r.request().method() === 'PATCH')
    await registrar.click('#change-record-submit')
    t.equal((await refused).status(), 409, 'the PATCH is refused')
    const alert = (await registrar.locator('#change-record-locked').textContent()) ?? ''
    t.match(alert, /R-22\.1/, `the refusal names the rule: ${alert}`)
    t.match(alert, /2025-10-01/, 'and the day the lock took effect')
    t.match(alert, /修改申请/, 'and offers a change request')
    await registrar.fill('#change-record-reason', '曾用名漏填，依户口簿补录')
    await browser.shot(registrar, '11-change-record-locked')
    const applied = registrar.waitForResponse(r => r.url().endsWith('/api/v1/change-requests') && r.request().method() === 'POST')
    await registrar.click('#change-record-submit')
    t.equal((await applied).status(), 201, 'the change request is filed')
    await registrar.locator('#change-request-table >> text=曾用名：郑锁').waitFor()
    t.pass('the registrar sees it in the change-request queue')
    t.equal((await head.call('GET', `/api/v1/students/${locked.id}`)).json.formerName, null, 'the record is unchanged until approved')

    await admin.goto(`${county.url}/change-requests`)
    const row = admin.locator('#change-request-table tr', { hasText: '曾用名：郑锁' })
    await row.locator('.xj-decide').click()
    await admin.fill('#change-request-reason', '情况属实，同意')
    // The request and then its answer: a CI run once timed out waiting for the answer, and a
    // request that never left the page is told apart from one that was not answered.
    const [decide] = await Promise.all([admin.waitForRequest(r => r.url().includes('/api/v1/change-requests/') && r.url().endsWith('/decide')), admin.click('#change-request-decide')])
    t.equal((await decide.response())?.status(), 200, 'the bureau approves')
    await pick(admin, '#change-request-status', '已修改')
    await admin.locator('#change-request-table tr', { hasText: '曾用名：郑锁' }).locator('text=已修改').waitFor()
    await browser.shot(admin, '12-change-request-carried-out')
    await registrar.goto(`${county.url}/students/${locked.id}`)
    await registrar.locator('#student-fields >> text=郑锁').waitFor()
    t.pass('the 学籍卡 shows the new 曾用名')
    t.equal((await head.call('GET', `/api/v1/students/${locked.id}`)).json.formerName, '郑锁', 'and so does the API')
  })

  await t.test('R-D.6 R-19.5 a transfer between nodes in the browser: a county school requests a city-run school\'s student, the county bureau sends it, the city bureau approves, both sides follow the steps and the student arrives in the county class', async t => {
    ok(await cityAdmin.call('POST', '/api/v1/units', fx.unit({ unitCode: '3301000001', divisionCode: '330100', name: '杭州市教育局' })), 201, 'city unit')
    const citySchool = ok(await cityAdmin.call('POST', '/api/v1/schools', fx.school({ schoolCode: '3301000101', unitCode: '3301000001', divisionCode: '330100', name: '杭州市直属实验小学' })), 201, 'city school')
    const cityClass = ok(await cityAdmin.call('POST', '/api/v1/classes', { ...fx.klass(), schoolId: citySchool.id }), 201, 'city class')
    const idNumber = fx.idNumber('2016-02-02', '2', 41, '330100')
    const moving = ok(await cityAdmin.call('POST', '/api/v1/students', { ...fx.student({ idNumber, studentNo: null, name: '钱小转', gender: '2', birthDate: '2016-02-02' }), schoolId: citySchool.id, classId: cityClass.id }), 201, 'city student')
    const cityTransfers = async () => ok(await cityAdmin.call('GET', '/api/v1/transfers'), 200, 'transfers').items as Json[]
    const countyTransfer = async () => (ok(await bureau.call('GET', '/api/v1/transfers'), 200, 'transfers').items as Json[]).find(x => x.name === '钱小转' || x.subjectId === moving.id)

    await registrar.goto(`${county.url}/transfers`)
    await registrar.click('#transfer-new')
    await registrar.fill('#transfer-number', idNumber)
    await choose(registrar, '#transfer-class', '四年级（1）班')
    const requested = registrar.waitForResponse(r => r.url().endsWith('/api/v1/transfers') && r.request().method() === 'POST')
    await registrar.click('#transfer-submit')
    const answer = await requested
    t.equal(answer.status(), 201, `the receiving school requests it ${answer.status() === 201 ? '' : await answer.text()}`)
    const id = ((await answer.json()) as Json).id as string
    await registrar.locator('#transfer-table tr', { hasText: '已申请' }).waitFor()

    await admin.goto(`${county.url}/transfers`)
    const sent = admin.waitForResponse(r => r.url().endsWith(`/api/v1/transfers/${id}/send`))
    await admin.locator('#transfer-table tr', { hasText: '已申请' }).locator('button:has-text("报送")').click()
    t.equal((await sent).status(), 200, 'the county bureau sends it')
    await poll('the city receiving it', async () => (await cityTransfers()).find(x => x.id === id && x.status === 'received'))
    await poll('the county seeing it received', async () => (await countyTransfer())?.status === 'received')

    await cityBureau.goto(`${city.url}/transfers`)
    await cityBureau.locator('#transfer-table tr', { hasText: '转出方已受理' }).locator('.xj-transfer-decide').click()
    await cityBureau.fill('#transfer-doc-no', '杭教〔2026〕8号')
    const approved = cityBureau.waitForResponse(r => r.url().endsWith(`/api/v1/transfers/${id}/approve`))
    await cityBureau.click('#transfer-decide-submit')
    t.equal((await approved).status(), 200, 'the sending (city) bureau approves')
    await cityBureau.locator('#transfer-table tr', { hasText: '转出方已批准' }).waitFor()
    t.equal(await cityBureau.locator('#transfer-table .ant-steps-item-finish').count(), 2, 'the sending side\'s steps: received and approved, each with its time')
    await browser.shot(cityBureau, '13-transfer-approved-city')

    await poll('the transfer completed at the county', async () => (await countyTransfer())?.status === 'completed')
    await registrar.reload()
    await registrar.locator('#transfer-table tr', { hasText: '已转入' }).waitFor()
    t.equal(await registrar.locator('#transfer-table .ant-steps-item-finish').count(), 4, 'the receiving side\'s steps: requested, sent, received, completed')
    await browser.shot(registrar, '14-transfer-completed-county')
    const arrived = (ok(await head.call('GET', `/api/v1/students?q=钱小转`), 200, 'find').items as Json[])[0]
    t.match(arrived, { id: moving.id, schoolId: school.id, classId: klass.id, state: 'in_school', homeNode: '330106' }, 'the student is in the county class, homed at the county')
  })

  await t.test('R-D.6 R-20.2 a death applied for on the 学籍卡, approved and carried out by the county bureau, reaches the city\'s home page and is acknowledged there; the acknowledgement returns to the county', async t => {
    const dead = ok(await head.call('POST', '/api/v1/students', { ...fx.student({ idNumber: fx.idNumber('2016-07-07', '1', 51), studentNo: null, name: '孙小安', birthDate: '2016-07-07' }), schoolId: school.id, classId: klass.id }), 201, 'student')
    await registrar.goto(`${county.url}/students/${dead.id}`)
    await registrar.click('button:has-text("申请学籍异动")')
    await choose(registrar, '#apply-changeType', '死亡')
    await registrar.fill('#apply-changeDate', today)
    await registrar.fill('#apply-deathDate', today)
    await registrar.fill('#apply-deathCause', '疾病')
    await choose(registrar, '#apply-responsibility', '无责任')
    await registrar.fill('#apply-reviewOpinion', '情况属实')
    const filed = registrar.waitForResponse(r => r.url().endsWith(`/api/v1/students/${dead.id}/status-changes`) && r.request().method() === 'POST')
    await registrar.click('#apply-submit')
    const answer = await filed
    t.equal(answer.status(), 201, `the school applies ${answer.status() === 201 ? '' : await answer.text()}`)
    await verifyChange((await answer.json()).id)

    await admin.goto(`${county.url}/status-changes`)
    const row = admin.locator('#status-change-table tr', { hasText: '死亡' })
    await row.locator('.xj-review').click()
    await admin.fill('#approval-doc-no', '西教〔2026〕21号')
    const reviewed = admin.waitForResponse(r => r.url().endsWith('/review'))
    await admin.click('#review-submit')
    t.equal((await reviewed).status(), 200, 'approved')
    const carried = admin.waitForResponse(r => r.url().endsWith('/carry-out'))
    await row.locator('button:has-text("办理")').click()
    t.equal((await carried).status(), 200, 'carried out')
    t.equal((await head.call('GET', `/api/v1/students/${dead.id}`)).json.state, 'deceased', 'the student is recorded deceased')

    const report = await poll('the death report at the city', async () => (ok(await cityAdmin.call('GET', '/api/v1/death-reports?status=unacknowledged'), 200, 'reports').items as Json[]).find(r => r.subjectId === dead.id))
    await cityBureau.goto(city.url)
    const reported = cityBureau.locator('#death-reports tr', { hasText: report.eventDate })
    await reported.waitFor()
    await browser.shot(cityBureau, '15-death-report-city-home')
    const acked = cityBureau.waitForResponse(r => r.url().endsWith(`/api/v1/death-reports/${report.id}/acknowledge`))
    await reported.locator('button:has-text("确认")').click()
    t.equal((await acked).status(), 200, 'the city bureau acknowledges it on its home page')
    await cityBureau.locator('#death-reports >> text=没有待确认的报告').waitFor()
    await poll('the acknowledgement at the county', async () => (ok(await bureau.call('GET', '/api/v1/death-reports'), 200, 'reports').items as Json[]).find(r => r.id === report.id && r.acks.some((a: Json) => a.node === '330100')))
    t.pass('the city\'s acknowledgement came back to the county')
  })

  await t.test('R-D.6 the 学籍卡 and the class 花名册 print without the menu and the buttons', async t => {
    const page = registrar
    await page.goto(`${county.url}/students/${locked.id}`)
    await page.waitForSelector('#student-fields')
    await page.emulateMedia({ media: 'print' })
    t.notOk(await page.locator('.ant-layout-sider').isVisible(), 'the menu is hidden')
    t.notOk(await page.locator('#change-record-open').isVisible(), 'the buttons are hidden')
    t.ok(await page.locator('#student-card').isVisible(), 'the 学籍卡 is printed')
    t.ok(await page.locator('text=学生学籍卡').isVisible(), 'under its printed title')
    await browser.shot(page, '16-print-student-card')
    await page.emulateMedia({ media: 'screen' })

    const inClass = ok(await head.call('GET', `/api/v1/students?classId=${klass.id}&limit=1`), 200, 'class').total as number
    await page.goto(`${county.url}/classes/${klass.id}/roster`)
    await page.waitForSelector('#roster')
    await page.emulateMedia({ media: 'print' })
    t.notOk(await page.locator('.ant-layout-sider').isVisible(), 'the 花名册: the menu is hidden')
    t.notOk(await page.locator('button:has-text("打印")').isVisible(), 'and the print button')
    t.ok(await page.locator('text=四年级（1）班 学生花名册').isVisible(), 'the printed title names the class')
    t.equal(await page.locator('#roster tbody tr').count(), inClass, `every student of the class is on it (${inClass})`)
    await page.pdf({ path: `${SCREENSHOTS}/17-print-roster.pdf`, format: 'A4' })
    await page.emulateMedia({ media: 'screen' })
  })

  await t.test('R-D.6 a school of 3,000 students: the list pages through and searches, each page one answered request', async t => {
    await admin.goto(`${county.url}/students`)
    await choose(admin, '#student-school', '杭州市西湖区学院路小学')
    await admin.locator('.ant-pagination-total-text', { hasText: '共 3000 人' }).waitFor()
    const times: string[] = []
    const names = async () => admin.locator('#students-table tr.ant-table-row td:first-child').allTextContents()
    /** Runs `act`, waits for the students request it makes (at `offset`) and the table showing other rows. */
    const turn = async (what: string, act: () => Promise<unknown>, offset: number) => {
      const before = await names()
      const started = Date.now()
      const answered = admin.waitForResponse(r => r.url().includes('/api/v1/students?') && r.url().includes(`offset=${offset}`))
      await act()
      t.equal((await answered).status(), 200, `${what}: answered`)
      await admin.waitForFunction(([first, count]) => {
        const rows = document.querySelectorAll('#students-table tr.ant-table-row td:first-child')
        return rows.length > 0 && (rows[0].textContent !== first || rows.length !== count) && !document.querySelector('#students-table .ant-spin-spinning')
      }, [before[0], before.length] as const)
      times.push(`${what} ${Date.now() - started} ms`)
    }
    await turn('100 a page', () => pick(admin, '.ant-pagination-options .ant-select', '100 条/页'), 0)
    const seen = new Set(await names())
    t.equal(seen.size, 100, 'a page of 100')
    for (let p = 2; p <= 4; p++) {
      await turn(`page ${p}`, () => admin.click('.ant-pagination-next'), (p - 1) * 100)
      const rows = await names()
      t.equal(rows.length, 100, `page ${p}: 100 rows`)
      rows.forEach(n => seen.add(n))
    }
    t.equal(seen.size, 400, 'four pages, 400 different students')
    await turn('last page', () => admin.click('.ant-pagination-item-30'), 2900)
    t.equal((await names()).length, 100, 'the last page: the last 100')
    await browser.shot(admin, '18-students-3000')
    await turn('search', async () => {
      await admin.fill('#student-search', '学院生2345')
      await admin.press('#student-search', 'Enter')
    }, 0)
    t.same(await names(), ['学院生2345'], 'the search finds the one student')
    t.comment(`3,000-student list: ${times.join(', ')}`)
  })
})
