import t from 'tap'
import { idNumber, school, student, unit } from '../records/fixtures.ts'
import { apiLogin, startFederation, until, type RealNode } from './lib/federation.ts'

const count = (n: RealNode, sql: string, ...args: unknown[]) => n.storage.sqlite.prepare(sql).pluck().get(...args) as number

t.test('R-10.1 (across nodes) a person registered at the city is refused at the county with where it is; accepted and flagged while the city is down; the replicas apply the duplicate, raise a problem and tell both schools, and no chain halts', async t => {
  const [province, city, county] = await startFederation(t)
  const atCity = await apiLogin(city)
  const atCounty = await apiLogin(county)
  const created = async (s: Awaited<ReturnType<typeof apiLogin>>, path: string, body: object) => {
    const res = await s.call('POST', path, body)
    if (res.status !== 201) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.json)}`)
    return res.json
  }

  // A city-run school and a county school, each with its supervising unit.
  await created(atCity, '/api/v1/units', unit({ unitCode: '3301000001', name: '杭州市教育局', divisionCode: '330100' }))
  const citySchool = await created(atCity, '/api/v1/schools', school({ schoolCode: '3301000101', unitCode: '3301000001', name: '杭州市直属实验学校', divisionCode: '330100' }))
  await created(atCounty, '/api/v1/units', unit())
  const countySchool = await created(atCounty, '/api/v1/schools', school())
  const person = student()
  const first = await created(atCity, '/api/v1/students', { ...person, schoolId: citySchool.id })

  const t0 = performance.now()
  const refused = await atCounty.call('POST', '/api/v1/students', { ...person, schoolId: countySchool.id })
  t.comment(`entry with the federation lookup answered in ${Math.round(performance.now() - t0)} ms`)
  t.equal(refused.status, 409, 'the county refuses the second registration')
  t.match(refused.json, { code: 'RECORD_DUPLICATE_ELSEWHERE', details: { schoolCode: '3301000101', homeNode: '330100', transfer: 'R-19.5' } }, 'naming the school and node that hold the student, and the transfer path')
  t.match(refused.json.message, /3301000101/, 'in a message the registrar reads')
  t.equal(count(county, 'select count(*) from students'), 0, 'nothing stored at the county')

  // The city is down: the county registers and flags the entry.
  await city.stop()
  const flagged = await created(atCounty, '/api/v1/students', { ...person, schoolId: countySchool.id })
  const unchecked = await atCounty.call('GET', '/api/v1/sync/feedback?kind=unchecked')
  t.match(unchecked.json, { total: 1, items: [{ kind: 'unchecked', recordId: flagged.id, schoolCode: '3301060101', code: 'SYNC_PARENT_UNAVAILABLE' }] }, 'the entry is listed as not checked')

  // The city is back: the county's change set applies there (no quarantine, no halt).
  await city.start()
  await until('the county student at the city', () => count(city, 'select count(*) from students where id = ?', flagged.id) === 1)
  await until('both at the province', () => count(province, 'select count(*) from students where student_no = ?', person.studentNo) === 2)
  t.equal(count(city, 'select count(*) from sync_quarantine') + count(province, 'select count(*) from sync_quarantine'), 0, 'nothing quarantined at any tier')
  t.equal(count(county, 'select count(*) from sync_halts'), 0, 'the county chain is not halted')

  const problems = await atCity.call('GET', '/api/v1/problems?status=open')
  t.equal(problems.json.total, 1, 'the city bureau sees one open 查重 problem')
  t.same(new Set([problems.json.items[0].subjectId, problems.json.items[0].otherId]), new Set([first.id, flagged.id]), 'naming both records')
  await until('the county told of the duplicate', () => count(county, "select count(*) from sync_feedback where kind = 'duplicate'") === 1)
  const told = await atCounty.call('GET', '/api/v1/sync/feedback?kind=duplicate')
  t.match(told.json.items, [{ recordId: flagged.id, schoolCode: '3301060101', code: 'RECORD_DUPLICATE_ELSEWHERE', otherNode: '330100', otherSchoolCode: '3301000101' }], 'the county school sees where the other record is')
  const cityTold = await atCity.call('GET', '/api/v1/sync/feedback?kind=duplicate')
  t.match(cityTold.json.items, [{ recordId: first.id, schoolCode: '3301000101', otherNode: '330106', otherSchoolCode: '3301060101' }], 'and so does the city school')

  // Later writes of the county still flow.
  const otherId = idNumber('2016-04-01', '2', 5)
  const next = await created(atCounty, '/api/v1/students', student({ schoolId: countySchool.id, idNumber: otherId, studentNo: `G${otherId}`, birthDate: '2016-04-01', gender: '2', name: '林小雨', namePinyin: 'lin xiao yu' }))
  await until('a later county write at the province', () => count(province, 'select count(*) from students where id = ?', next.id) === 1)
  t.pass('the county chain goes on')
})
