import t from 'tap'
import { buildTestApp, loginAs } from '../helper.ts'
import { systemActor } from '../../node/services/records/service.ts'
import { klass, school, student, unit } from '../records/fixtures.ts'

t.test('R-25.2 GET /api/v1/sync/feedback: the bureau sees all, a school its own records, a class or a student none', async t => {
  const app = await buildTestApp(t)
  const sys = systemActor('test')
  app.records.create(sys, 'supervising_units', unit())
  const a = app.records.create(sys, 'schools', school())
  const b = app.records.create(sys, 'schools', school({ schoolCode: '3301060102', name: '杭州市西湖区文二路小学' }))
  const cls = app.records.create(sys, 'school_classes', klass({ schoolId: a.id }))
  app.sync.recordFeedback([
    { kind: 'refused', seq: 3, table: 'school_classes', recordId: String(cls.id), code: 'RECORD_CODE_UNKNOWN', reason: 'classType:code_table' },
    { kind: 'refused', seq: 3, table: 'schools', recordId: String(b.id), code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: 'division' },
  ])
  app.sync.recordFeedback([{ kind: 'refused', seq: 3, table: 'schools', recordId: String(b.id), code: 'SYNC_ROW_OUTSIDE_OWNERSHIP', reason: 'division' }])

  const list = async (headers: Record<string, string>, query = '') => (await app.inject({ method: 'GET', url: `/api/v1/sync/feedback${query}`, headers })).json()
  const bureau = await loginAs(app, 'bureau_user', { kind: 'bureau', node: '330106' })
  t.match(await list(bureau.headers), { total: 2 }, 'the bureau sees every entry, each once')
  const schoolA = await loginAs(app, 'school_admin', { kind: 'schools', schools: ['3301060101'] })
  t.match(await list(schoolA.headers), { total: 1, items: [{ table: 'school_classes', recordId: cls.id, schoolCode: '3301060101', code: 'RECORD_CODE_UNKNOWN' }] }, 'a school sees its own records only (the class found its school)')
  const teacher = await loginAs(app, 'teacher', { kind: 'classes', school: '3301060101', classes: [String(cls.id)] })
  t.match(await list(teacher.headers), { total: 0 }, 'a class scope sees none')
  t.match(await list(bureau.headers, '?kind=duplicate'), { total: 0 }, 'filtered by kind')
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/sync/feedback?kind=other', headers: bureau.headers })).statusCode, 400, 'an unknown kind is a 400')
  t.match((await app.sync.status()).feedback, { refused: 2, duplicate: 0, unchecked: 0 }, 'sync status counts them')
})

t.test('R-10.1 (across nodes) a person entered while no parent can be asked (not enrolled yet) is accepted and flagged for the school', async t => {
  const app = await buildTestApp(t)
  const sys = systemActor('test')
  app.records.create(sys, 'supervising_units', unit())
  const a = app.records.create(sys, 'schools', school())
  const admin = await loginAs(app, 'school_admin', { kind: 'schools', schools: ['3301060101'] })
  const res = await app.inject({ method: 'POST', url: '/api/v1/students', headers: admin.headers, payload: student({ schoolId: a.id }) })
  t.equal(res.statusCode, 201, 'the school is not stopped from registering')
  t.match((await app.inject({ method: 'GET', url: '/api/v1/sync/feedback?kind=unchecked', headers: admin.headers })).json(), {
    total: 1, items: [{ kind: 'unchecked', table: 'students', recordId: res.json().id, schoolCode: '3301060101', code: 'SYNC_PARENT_UNAVAILABLE', reason: 'person_lookup' }],
  }, 'the entry is listed as not checked across the federation')
  t.match((await app.sync.status()).feedback, { unchecked: 1 }, 'and counted in the sync status')
})

t.test('R-25.2 GET /api/v1/sync/feedback: an offset beyond what SQLite takes is a 400 VALIDATION_FAILED, never a 500', async t => {
  const app = await buildTestApp(t)
  const bureau = await loginAs(app, 'bureau_admin', { kind: 'bureau', node: '330106' })
  const get = (query: string) => app.inject({ method: 'GET', url: `/api/v1/sync/feedback${query}`, headers: bureau.headers })
  const huge = await get('?offset=999999999999999999999')
  t.equal(huge.statusCode, 400)
  t.match(huge.json(), { code: 'VALIDATION_FAILED', details: { field: 'offset', rule: 'maximum' } })
  const last = await get(`?offset=${Number.MAX_SAFE_INTEGER}`)
  t.match([last.statusCode, last.json()], [200, { items: [], total: 0, offset: Number.MAX_SAFE_INTEGER }], 'the largest offset answers an empty page')
})
