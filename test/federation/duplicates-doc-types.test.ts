/**
 * 查重 across nodes by the node's own rule (R-10.1): an ID number is the same person's under any
 * document type when either side is a resident ID (身份证), or under the same type otherwise, as
 * typed (full-width, spaces); in the person lookup at entry and in the replicas' check. A problem
 * the replicas raise between two schools is the other school's to see and resolve too (R-16.1).
 * Real province → city → county processes, through the API only.
 */
import t from 'tap'
import { idNumber, school, student, unit } from '../records/fixtures.ts'
import { TEST_PASSWORD } from '../helper.ts'
import { apiLogin, startFederation, until, type ApiSession, type RealNode } from './lib/federation.ts'

const count = (n: RealNode, sql: string, ...args: unknown[]) => n.storage.sqlite.prepare(sql).pluck().get(...args) as number
const fullWidth = (s: string) => s.replace(/[0-9A-Z]/g, c => String.fromCharCode(c.charCodeAt(0) + 0xfee0))
const BIRTH = '2016-03-15'
const CITY_SCHOOL = '3301000101'
const COUNTY_SCHOOL = '3301060101'

t.test('R-10.1 (across nodes, document types)', async t => {
  const [province, city, county] = await startFederation(t)
  const atCity = await apiLogin(city)
  const atCounty = await apiLogin(county)
  const created = async (s: ApiSession, path: string, body: object) => {
    const res = await s.call('POST', path, body)
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`)
    return res.json
  }
  await created(atCity, '/api/v1/units', unit({ unitCode: '3301000001', name: '杭州市教育局', divisionCode: '330100' }))
  const citySchool = await created(atCity, '/api/v1/schools', school({ schoolCode: CITY_SCHOOL, unitCode: '3301000001', name: '杭州市直属实验学校', divisionCode: '330100' }))
  await created(atCounty, '/api/v1/units', unit())
  const countySchool = await created(atCounty, '/api/v1/schools', school())
  /** A student without a typed 学籍号 (a temporary one is given); `over` says how the ID number is filed. */
  const person = (name: string, over: Record<string, unknown>) => student({ studentNo: null, name, namePinyin: null, ...over })
  const atCityStudent = (body: object) => created(atCity, '/api/v1/students', { ...body, schoolId: citySchool.id })
  const atCountyEntry = (body: object) => atCounty.call('POST', '/api/v1/students', { ...body, schoolId: countySchool.id })

  await t.test('R-10.1 (across nodes) the person lookup compares ID numbers as the node does: a resident ID number filed as 其他 elsewhere, full-width, or two passports are the same person; two document types that are not resident IDs are not', async t => {
    const n1 = idNumber(BIRTH, '1', 11)
    const held = await atCityStudent(person('陈一', { idDocType: 'Z', idNumber: n1 }))
    const cases: Array<[string, Record<string, unknown>]> = [
      ['the resident ID at the county, filed as 其他 at the city', { idDocType: '1', idNumber: n1 }],
      ['filed as 其他 on both, typed full-width with a space at the county', { idDocType: 'Z', idNumber: `${fullWidth(n1.slice(0, 6))} ${n1.slice(6)}` }],
    ]
    for (const [what, over] of cases) {
      const r = await atCountyEntry(person('陈一', over))
      t.equal(r.status, 409, `${what}: refused`)
      t.match(r.json, { code: 'RECORD_DUPLICATE_ELSEWHERE', details: { field: 'idNumber', rule: 'registered_elsewhere', schoolCode: CITY_SCHOOL, homeNode: '330100' } }, `${what}: where the student is`)
      t.match(r.json.message, /查重/, `${what}: in Chinese for the registrar`)
    }
    t.equal(count(county, 'select count(*) from students'), 0, 'nothing stored at the county')
    t.ok(held.id, 'the city holds the student')

    // Two passports (A) of one number are one person, as on one node; a Hong Kong permit (6) and
    // a passport that happen to share a number are not.
    await atCityStudent(person('陈二', { idDocType: 'A', idNumber: 'E12345678' }))
    const passport = await atCountyEntry(person('陈二', { idDocType: 'A', idNumber: 'e1234 5678' }))
    t.match([passport.status, passport.json.code], [409, 'RECORD_DUPLICATE_ELSEWHERE'], 'the same passport number elsewhere is refused')
    await atCityStudent(person('陈三', { idDocType: '6', idNumber: 'H123456(7)' }))
    const otherType = await atCountyEntry(person('陈三', { idDocType: 'A', idNumber: 'H123456(7)' }))
    t.equal(otherType.status, 201, 'a passport with the number of a Hong Kong permit elsewhere is accepted, as on one node')
    const sameType = await atCountyEntry(person('陈三', { idDocType: '6', idNumber: 'H123456(7)', name: '陈叁' }))
    t.match([sameType.status, sameType.json.code], [409, 'RECORD_DUPLICATE_ELSEWHERE'], 'the Hong Kong permit number elsewhere under its own type is refused')

    // An edit is asked about with the document type the number will be filed under.
    const n3 = idNumber(BIRTH, '1', 31)
    await atCityStudent(person('陈五', { idDocType: 'Z', idNumber: n3 }))
    const x = await atCountyEntry(person('陈六', { idDocType: 'A', idNumber: 'P7654321' }))
    t.equal(x.status, 201)
    const renumbered = await atCounty.call('PATCH', `/api/v1/students/${x.json.id}`, { version: x.json.version, idNumber: n3 })
    t.equal(renumbered.status, 200, 'a passport given the number of a 其他 document elsewhere is accepted, as on one node')
    const retyped = await atCounty.call('PATCH', `/api/v1/students/${x.json.id}`, { version: renumbered.json.version, idDocType: '1' })
    t.match([retyped.status, retyped.json.code], [409, 'RECORD_DUPLICATE_ELSEWHERE'], 'filing that number as a resident ID then is refused')
  })

  await t.test('R-10.1 (across nodes) the replicas raise the duplicate of a resident ID number filed as 其他 elsewhere, and R-16.1 the other school sees and resolves that problem without reaching the first school\'s student', async t => {
    const n2 = idNumber(BIRTH, '1', 21)
    const first = await atCityStudent(student({ name: '陈四', idDocType: '1', idNumber: n2, studentNo: `G${n2}` }))
    // The city is down: the county registers the same number filed as 其他, flagged as not checked.
    await city.stop()
    const flagged = await atCountyEntry(person('陈四', { idDocType: 'Z', idNumber: n2 }))
    t.equal(flagged.status, 201, 'accepted while the city cannot be asked')
    await city.start()
    await until('the county student at the city', () => count(city, 'select count(*) from students where id = ?', flagged.json.id) === 1)
    await until('the problem at the city', () => count(city, "select count(*) from problem_records where status = 'open' and kind = 'duplicate_id_number'") === 1)
    const problems = await atCity.call('GET', '/api/v1/problems?status=open')
    t.equal(problems.json.total, 1, 'the city bureau sees the 查重 problem')
    const problem = problems.json.items[0]
    t.match(problem, { subjectId: flagged.json.id, otherId: first.id, schoolCode: COUNTY_SCHOOL, otherSchoolCode: CITY_SCHOOL }, 'naming both records and both schools')
    await until('the county told of the duplicate', () => count(county, "select count(*) from sync_feedback where kind = 'duplicate'") === 1)
    const told = await atCounty.call('GET', '/api/v1/sync/feedback?kind=duplicate')
    t.match(told.json.items, [{ recordId: flagged.json.id, schoolCode: COUNTY_SCHOOL, otherNode: '330100', otherSchoolCode: CITY_SCHOOL }], 'the county school is told where the other record is')
    await until('the problem at the province', () => count(province, 'select count(*) from problem_records where id = ?', problem.id) === 1)
    t.equal(count(province, 'select count(*) from problem_records'), 1, 'raised once, at the lowest node holding both')

    // The city school's registrar: the problem is about its student, though the county's record raised it.
    const bureau = atCity
    t.equal((await bureau.call('POST', '/api/v1/accounts', { username: 'shizhi', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: [CITY_SCHOOL] } })).status, 201, 'the city school\'s registrar')
    await created(bureau, '/api/v1/schools', school({ schoolCode: '3301000102', unitCode: '3301000001', name: '杭州市直属第二中学', divisionCode: '330100' }))
    t.equal((await bureau.call('POST', '/api/v1/accounts', { username: 'shier', password: TEST_PASSWORD, role: 'school_admin', scope: { kind: 'schools', schools: ['3301000102'] } })).status, 201, 'and another city school\'s')
    const registrar = await apiLogin(city, 'shizhi')
    const listed = await registrar.call('GET', '/api/v1/problems?status=open')
    t.match(listed.json, { total: 1, items: [{ id: problem.id, otherId: first.id, otherSchoolCode: CITY_SCHOOL }] }, 'the city school lists it')
    t.equal((await registrar.call('GET', `/api/v1/problems?schoolCode=${CITY_SCHOOL}`)).json.total, 1, 'under its own school code too')
    t.equal((await registrar.call('GET', `/api/v1/problems/${problem.id}`)).status, 200, 'and reads it')
    t.equal((await registrar.call('GET', `/api/v1/students/${flagged.json.id}`)).status, 404, 'but not the county school\'s student')
    t.equal((await registrar.call('GET', `/api/v1/students/${first.id}`)).json.problems?.[0]?.id, problem.id, 'its own student shows the problem')
    const stranger = await apiLogin(city, 'shier')
    t.equal((await stranger.call('GET', '/api/v1/problems')).json.total, 0, 'another school of the city does not see it')
    t.equal((await stranger.call('POST', `/api/v1/problems/${problem.id}/resolve`, { version: 1, resolution: 'evidence', note: '两人' })).status, 404, 'nor resolves it')
    const resolved = await registrar.call('POST', `/api/v1/problems/${problem.id}/resolve`, { version: 1, resolution: 'evidence', note: '经核对户口簿，系同名同号的两名学生，另附公安证明' })
    t.match([resolved.status, resolved.json], [200, { status: 'resolved', resolution: 'evidence', otherSchoolCode: CITY_SCHOOL }], 'the city school resolves it by evidence, as the local rules allow')
  })
})
