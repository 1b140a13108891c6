/**
 * The generated authorization matrix (issue 4 acceptance): every role × every /api/v1 route
 * (enumerated from Fastify, `app.apiRoutes`) × {own scope, sibling class, sibling school, other
 * county} has an expected answer, and any unexpected allow or deny fails. A route this file cannot
 * build a request for fails too, so routes added later are covered or noticed.
 *
 * Expectations are written here independently of access.ts for the object dimension (REACH);
 * the function dimension uses `can`, whose table access.test.ts pins to R-17.x.
 */
import t from 'tap'
import { randomUUID } from 'node:crypto'
import { getTableColumns, type Column } from 'drizzle-orm'
import type { SQLiteTable } from 'drizzle-orm/sqlite-core'
import { buildTestApp, loginAs, createTestAccount, TEST_PASSWORD, type TestLogin } from '../../helper.ts'
import { can, ROLES, PERMISSIONS, type Actor, type Permission, type Role, type Scope } from '../../../node/auth/access.ts'
import { SENSITIVE_CLASSES } from '../../../node/auth/sensitive.ts'
import { GROWTH, RESOURCES, resource, type ResourceSpec } from '../../../node/services/records/resources.ts'
import type { ApiRoute } from '../../../node/plugins/auth.ts'
import { KINDS as IMPORT_SPECS } from '../../../node/imports/rules.ts'
import { XLSX_TYPE } from '../../../node/imports/workbook.ts'
import { idCheckChar } from '../../../schema/ids.ts'

const POSITIONS = ['own', 'siblingClass', 'siblingSchool', 'otherCounty'] as const
type Position = (typeof POSITIONS)[number]
type Level = 'unit' | 'school' | 'wholeSchool' | 'class' | 'student' | 'problem' | 'account' | 'none'
type Tree = 'school' | 'kindergarten'
type Answer = 'allow' | 'forbidden' | 'hidden' | 'refused'

const HOME = '330106'
const OTHER = '330108'
const ALL: Position[] = ['own', 'siblingClass', 'siblingSchool']
const OWN: Position[] = ['own', 'siblingClass']

/** Which positions each role reaches, per level of record (R-16.1, R-17.x). */
const REACH: Record<Exclude<Level, 'none'>, Record<Role, Position[]>> = {
  student: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: ['own'], class_admin: ['own'], teacher: ['own'], student: ['own'] },
  class: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: ['own'], class_admin: ['own'], teacher: ['own'], student: [] },
  // A school-level record of the own school is the same at "own" and "sibling class".
  school: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: OWN, class_admin: OWN, teacher: OWN, student: [] },
  // An action over every record of a school (a grade's growth records reported or published):
  // only accounts reaching the whole school, never one bound to classes (R-16.1, R-17.5, R-17.6).
  wholeSchool: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: [], class_admin: [], teacher: [], student: [] },
  unit: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: [], class_admin: [], teacher: [], student: [] },
  // Problem records name a school and a student but no class: class-bound staff do not reach them.
  problem: { bureau_admin: ALL, bureau_user: ALL, central_school_admin: OWN, school_admin: OWN, grade_admin: [], class_admin: [], teacher: [], student: ['own'] },
  // Accounts (teachers bound to the class at the position): only their school's administrators manage them.
  account: { bureau_admin: [], bureau_user: [], central_school_admin: OWN, school_admin: OWN, grade_admin: [], class_admin: [], teacher: [], student: [] },
}

const LEVEL_OF_TABLE: Record<string, Level> = {
  supervising_units: 'unit', schools: 'school', kindergartens: 'school', school_teachers: 'school', kindergarten_teachers: 'school',
  school_classes: 'class', kindergarten_classes: 'class', students: 'student', children: 'student', problem_records: 'problem',
}
const levelOf = (table: string): Level => LEVEL_OF_TABLE[table] ?? (table.startsWith('student_') || table.startsWith('child_') || table.startsWith('growth_') ? 'student' : 'none')
const treeOf = (table: string): Tree => (table === 'kindergartens' || table.startsWith('kindergarten_') || table === 'children' || table.startsWith('child_') ? 'kindergarten' : 'school')

/** Routes every signed-in account may call about itself; they act on the caller's own session. */
const SELF_SERVICE = new Set(['POST /api/v1/auth/password'])

// ------------------------------------------------------------------ fixtures

type Ids = Record<string, Partial<Record<Position, string>>>
interface TreeWorld {
  orgCode: Record<'A' | 'B' | 'C', string>
  orgId: Record<'A' | 'B' | 'C', string>
  classOf: Record<Position, string>
  personOf: Record<Position, string>
  ids: Ids
}

/** Inserts a row with `values`, filling every other required column with a placeholder (the matrix needs rows, not valid ones). */
function fill(app: Awaited<ReturnType<typeof buildTestApp>>, table: SQLiteTable, values: Record<string, unknown>): string {
  const row: Record<string, unknown> = { id: randomUUID(), createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), ...values }
  for (const [key, col] of Object.entries(getTableColumns(table)) as [string, Column][]) {
    if (key in row || !col.notNull || col.hasDefault) continue
    const enumValues = (col as unknown as { enumValues?: string[] }).enumValues
    row[key] = enumValues?.length ? enumValues[0] : col.dataType === 'number' ? 1 : col.dataType === 'boolean' ? false : '1'
  }
  app.storage.db.insert(table).values(row as never).run()
  return row.id as string
}

function seedTree(app: Awaited<ReturnType<typeof buildTestApp>>, tree: Tree, ids: Ids): TreeWorld {
  const kg = tree === 'kindergarten'
  const org = resource(kg ? 'kindergartens' : 'schools')
  const cls = resource(kg ? 'kindergarten_classes' : 'school_classes')
  const person = resource(kg ? 'children' : 'students')
  const teachers = resource(kg ? 'kindergarten_teachers' : 'school_teachers')
  const codeKey = kg ? 'kindergartenCode' : 'schoolCode'
  const orgKey = kg ? 'kindergartenId' : 'schoolId'
  const personKey = kg ? 'childId' : 'studentId'
  const prefix = kg ? '33010620' : '33010600'
  const orgCode = { A: `${prefix}01`, B: `${prefix}02`, C: `${kg ? '33010820' : '33010800'}01` }
  const home = (o: 'A' | 'B' | 'C') => (o === 'C' ? OTHER : HOME)
  const put = (table: string, p: Position, id: string) => ((ids[table] ??= {})[p] = id)
  const orgId = {} as TreeWorld['orgId']
  for (const o of ['A', 'B', 'C'] as const) {
    orgId[o] = fill(app, org.drizzle, { homeNode: home(o), [codeKey]: orgCode[o], unitCode: o === 'C' ? 'U-OTHER' : 'U-HOME', divisionCode: home(o), name: `机构${o}` })
  }
  put(org.table, 'own', orgId.A)
  put(org.table, 'siblingSchool', orgId.B)
  put(org.table, 'otherCounty', orgId.C)
  put(teachers.table, 'own', fill(app, teachers.drizzle, { homeNode: HOME, [orgKey]: orgId.A }))
  put(teachers.table, 'siblingSchool', fill(app, teachers.drizzle, { homeNode: HOME, [orgKey]: orgId.B }))
  put(teachers.table, 'otherCounty', fill(app, teachers.drizzle, { homeNode: OTHER, [orgKey]: orgId.C }))
  const placement: Record<Position, 'A' | 'B' | 'C'> = { own: 'A', siblingClass: 'A', siblingSchool: 'B', otherCounty: 'C' }
  const classOf = {} as Record<Position, string>
  const personOf = {} as Record<Position, string>
  for (const p of POSITIONS) {
    const o = placement[p]
    classOf[p] = fill(app, cls.drizzle, { homeNode: home(o), [orgKey]: orgId[o], [codeKey]: orgCode[o], classCode: `C-${p}`, grade: 1 })
    put(cls.table, p, classOf[p])
    personOf[p] = fill(app, person.drizzle, { homeNode: home(o), [orgKey]: orgId[o], [codeKey]: orgCode[o], classId: classOf[p], ...(kg ? {} : { studentNo: `L${p.toUpperCase()}`.padEnd(19, '0') }) })
    put(person.table, p, personOf[p])
    for (const sub of RESOURCES.filter(s => s.owner?.viaPath && s.owner.table === person.table)) {
      put(sub.table, p, fill(app, sub.drizzle, { homeNode: home(o), [personKey]: personOf[p] }))
    }
    if (!kg) for (const g of GROWTH) put(g.table, p, fill(app, g.drizzle, { homeNode: home(o), studentId: personOf[p] }))
    put('problem_records', p, fill(app, resource('problem_records').drizzle, { homeNode: home(o), subjectTable: person.table, subjectId: personOf[p], otherId: personOf[p], schoolCode: orgCode[o] }))
    if (!kg) put('change_requests', p, fill(app, resource('change_requests').drizzle, { homeNode: home(o), personTable: 'students', personId: personOf[p], schoolCode: orgCode[o], subjectTable: 'students', subjectId: personOf[p], patch: '{}' }))
  }
  return { orgCode, orgId, classOf, personOf, ids }
}

// ------------------------------------------------------------------ requests

interface Case {
  route: ApiRoute
  level: Level
  tree: Tree
  position: Position
  method: string
  url: string
  payload?: object
  /** Answer when the role has the function and the position is outside its reach. */
  outOfReach: Answer
  /** For list routes: fixture ids of the table, to check that the list holds exactly the reachable ones. */
  list?: { table: string }
  /** Request headers besides the session's (a body that is not JSON). */
  headers?: Record<string, string>
}

const RECORD_BY_PATH = new Map<string, ResourceSpec>([...RESOURCES, resource('problem_records')].map(s => [s.path, s]))

/** Builds the cases of one route, or throws when it does not know how (a new kind of route). */
function casesOf(route: ApiRoute, worlds: Record<Tree, TreeWorld>, unit: Partial<Record<Position, string>>, accounts: Partial<Record<Position, string>>): Case[] {
  const key = `${route.method} ${route.url}`
  const one = (c: Omit<Case, 'route' | 'method'>) => ({ route, method: route.method, ...c })
  const positions = (ids: Partial<Record<Position, string>>) => POSITIONS.filter(p => ids[p] !== undefined)
  const w = worlds.school

  // --- access-control routes (this issue)
  if (route.url === '/api/v1/status-changes' || route.url === '/api/v1/status-changes/alerts' || route.url === '/api/v1/calendar/deadlines' || route.url === '/api/v1/calendar/term-check') {
    return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  }
  // The rollover (R-21.1): the dry run within the reader's scope; the run for bureau administrators
  // only (a school this node does not hold: refused with 400, nothing rolled); reminders in scope.
  if (key === 'GET /api/v1/calendar/rollover' || route.url === '/api/v1/calendar/reminders') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (key === 'POST /api/v1/calendar/rollover') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, payload: { schoolId: randomUUID() }, outOfReach: 'allow' })]
  // The status-change workflow (R-17.2, R-17.4, R-20.1): the school administrator applies (the
  // records API's create path above) and withdraws, the bureau administrator reviews and carries
  // out; a change out of reach is hidden. Both trees, since one route serves students and children.
  const sc = /^\/api\/v1\/status-changes\/:id\/(review|carry-out|withdraw|certificate)$/.exec(route.url)
  if (sc) {
    const payload = sc[1] === 'review' ? { version: 999999, decision: 'approve' } : { version: 999999 }
    return (['school', 'kindergarten'] as const).flatMap(tree => {
      const ids = worlds[tree].ids[tree === 'school' ? 'student_status_changes' : 'child_status_changes'] ?? {}
      return positions(ids).map(p => one({ level: 'student', tree, position: p, url: route.url.replace(':id', ids[p]!), payload, outOfReach: 'hidden' }))
    })
  }
  // Death reports (R-20.2, R-D.4): anyone reads those about schools in reach; the bureau acknowledges.
  if (route.url === '/api/v1/death-reports') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url === '/api/v1/death-reports/:id/acknowledge') {
    const ids = w.ids.sync_death_reports ?? {}
    return positions(ids).map(p => one({ level: 'school', tree: 'school', position: p, url: route.url.replace(':id', ids[p]!), outOfReach: 'hidden' }))
  }
  // Transfers between nodes (R-19.5): the school administrator requests for a class in reach and
  // withdraws, the bureau sends, approves and rejects; anyone reads those of schools in reach.
  if (route.url === '/api/v1/transfers' && route.method === 'GET') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url === '/api/v1/transfers' && route.method === 'POST') {
    return positions(w.classOf).map((p, i) => one({ level: 'class', tree: 'school', position: p, url: route.url, payload: { kind: 'student', idNumber: `33010820100101${String(i).padStart(3, '0')}${idCheckChar(`33010820100101${String(i).padStart(3, '0')}`)}`, targetClassId: w.classOf[p] }, outOfReach: 'hidden' }))
  }
  const tr = /^\/api\/v1\/transfers\/:id\/(send|withdraw|approve|reject)$/.exec(route.url)
  if (tr) {
    const ids = w.ids.transfers ?? {}
    const payload = tr[1] === 'reject' ? { reason: '矩阵' } : tr[1] === 'approve' ? {} : undefined
    return positions(ids).map(p => one({ level: 'school', tree: 'school', position: p, url: route.url.replace(':id', ids[p]!), payload, outOfReach: 'hidden' }))
  }
  if (route.url === '/api/v1/auth/me' || route.url === '/api/v1/verification/queue' || route.url.startsWith('/api/v1/audit') || route.url === '/api/v1/sync/status' || route.url === '/api/v1/sync/feedback' || route.url === '/api/v1/problems/scan') {
    return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, payload: route.method === 'POST' ? {} : undefined, outOfReach: 'allow' })]
  }
  if (route.url === '/api/v1/accounts' && route.method === 'GET') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url === '/api/v1/accounts' && route.method === 'POST') {
    return positions(w.classOf).map(p =>
      one({
        level: 'account', tree: 'school', position: p, url: route.url, outOfReach: 'refused',
        payload: { username: `m-${randomUUID().slice(0, 8)}`, password: TEST_PASSWORD, role: 'teacher', scope: { kind: 'classes', school: p === 'siblingSchool' ? w.orgCode.B : p === 'otherCounty' ? w.orgCode.C : w.orgCode.A, classes: [w.classOf[p]] } },
      }),
    )
  }
  if (route.url.startsWith('/api/v1/accounts/:id')) {
    const payload = route.method === 'PATCH' ? { leader: false } : route.method === 'POST' ? { password: TEST_PASSWORD } : undefined
    return positions(accounts).map(p => one({ level: 'account', tree: 'school', position: p, url: route.url.replace(':id', accounts[p]!), payload, outOfReach: 'hidden' }))
  }
  if (key === 'POST /api/v1/reveal/:table/:id') {
    return positions(w.personOf).map(p => one({ level: 'student', tree: 'school', position: p, url: `/api/v1/reveal/students/${w.personOf[p]}`, payload: { fields: ['phone'] }, outOfReach: 'hidden' }))
  }
  const v = /^\/api\/v1\/verification\/([a-z_]+)\/:id\/(verify|return|resubmit)$/.exec(route.url)
  if (v) {
    const table = v[1]
    const ids = table === 'supervising_units' ? unit : worlds[treeOf(table)].ids[table] ?? {}
    return positions(ids).map(p => one({ level: levelOf(table), tree: treeOf(table), position: p, url: route.url.replace(':id', ids[p]!), payload: v[2] === 'return' ? { reason: '矩阵测试退回' } : undefined, outOfReach: 'hidden' }))
  }
  // Initial entry (R-19.1): the school's administrator, for a school in reach; an empty file.
  if (key === 'POST /api/v1/schools/:schoolId/initial-entry') {
    const schools: Partial<Record<Position, string>> = { own: w.orgId.A, siblingSchool: w.orgId.B, otherCounty: w.orgId.C }
    return positions(schools).map(p => one({ level: 'school', tree: 'school', position: p, url: route.url.replace(':schoolId', schools[p]!), payload: { students: [] }, outOfReach: 'refused' }))
  }
  if (key === 'POST /api/v1/problems/:id/resolve') {
    const ids = w.ids.problem_records
    return positions(ids).map(p => one({ level: 'problem', tree: 'school', position: p, url: route.url.replace(':id', ids[p]!), payload: { version: 999999, resolution: 'evidence' }, outOfReach: 'hidden' }))
  }

  // --- student history and 学籍证明 (R-26.1): about one student, by 学籍号 or by id
  if (key === 'GET /api/v1/student-history') {
    return POSITIONS.map(p => one({ level: 'student', tree: 'school', position: p, url: `/api/v1/student-history?studentNo=${`L${p.toUpperCase()}`.padEnd(19, '0')}`, outOfReach: 'hidden' }))
  }
  if (key === 'GET /api/v1/students/:id/certificate') {
    return positions(w.personOf).map(p => one({ level: 'student', tree: 'school', position: p, url: `/api/v1/students/${w.personOf[p]}/certificate`, outOfReach: 'hidden' }))
  }
  // --- growth records (node/growth): a student's file, records, evaluation and report; a class's report
  if (route.url === '/api/v1/growth/rules') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url === '/api/v1/growth/progress') return [one({ level: 'none', tree: 'school', position: 'own', url: `${route.url}?schoolYear=2026`, outOfReach: 'allow' })]
  if (route.url === '/api/v1/growth/report') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, payload: { schoolYear: 2026, grade: 10 }, outOfReach: 'allow' })]
  const sg = /^\/api\/v1\/schools\/:schoolId\/growth\/(report|publicity)$/.exec(route.url)
  if (sg) {
    const schools: Partial<Record<Position, string>> = { own: w.orgId.A, siblingSchool: w.orgId.B, otherCounty: w.orgId.C }
    // A 公示 period a year ahead: it never starts before today (R-23.1).
    const ahead = (days: number) => new Date(Date.now() + days * 86400000).toISOString().slice(0, 10)
    const payload = sg[1] === 'report' ? { schoolYear: 2026, grade: 10 } : { grade: 10, from: ahead(365), to: ahead(375) }
    return positions(schools).map(p => one({ level: 'wholeSchool', tree: 'school', position: p, url: route.url.replace(':schoolId', schools[p]!), payload, outOfReach: 'hidden' }))
  }
  if (route.url === '/api/v1/classes/:classId/growth/report') {
    return positions(w.classOf).map(p => one({ level: 'class', tree: 'school', position: p, url: route.url.replace(':classId', w.classOf[p]), outOfReach: 'hidden' }))
  }
  const gr = /^\/api\/v1\/students\/:studentId\/growth(?:\/(courses|practices|qualities|evaluation|report|objections))?(\/:id)?(\/answer)?$/.exec(route.url)
  if (gr) {
    const payload = gr[3] ? { answer: '已复核' } : gr[1] === 'objections' ? { reason: '矩阵测试异议' } : route.method === 'PATCH' ? { version: 999999 } : route.method === 'PUT' ? { overallComment: null } : route.method === 'POST' ? {} : undefined
    return positions(w.personOf).map(p => {
      let url = route.url.replace(':studentId', w.personOf[p])
      if (gr[2]) url = url.replace(':id', w.ids[`growth_${gr[1]}`][p]!) + (route.method === 'DELETE' ? '?version=999999' : '')
      return one({ level: 'student', tree: 'school', position: p, url, payload, outOfReach: 'hidden' })
    })
  }

  // Change requests (R-22.5, R-24.2): anyone reads those about students in reach; the school applies
  // (here with a stale version: reached, then refused) and withdraws; the bureau decides.
  if (route.url === '/api/v1/change-requests' && route.method === 'GET') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (key === 'POST /api/v1/change-requests') {
    return positions(w.personOf).map(p => one({ level: 'student', tree: 'school', position: p, url: route.url, payload: { table: 'students', id: w.personOf[p], version: 999999, patch: { name: '矩阵' }, reason: '矩阵测试' }, outOfReach: 'hidden' }))
  }
  const cr = /^\/api\/v1\/change-requests\/:id(?:\/(decide|withdraw))?$/.exec(route.url)
  if (cr) {
    const ids = w.ids.change_requests
    const payload = cr[1] === 'decide' ? { version: 999999, decision: 'approve' } : cr[1] ? { version: 999999 } : undefined
    return positions(ids).map(p => one({ level: 'student', tree: 'school', position: p, url: route.url.replace(':id', ids[p]!), payload, outOfReach: 'hidden' }))
  }

  // Statistics (R-17.2–R-17.6): the figures of a unit (here a class) within reach; a unit out of reach is hidden.
  if (route.url === '/api/v1/statistics/dimensions') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url === '/api/v1/statistics/annual') return [one({ level: 'none', tree: 'school', position: 'own', url: `${route.url}?from=2025-09-01&to=2026-08-31`, outOfReach: 'allow' })]
  if (route.url === '/api/v1/statistics/:subject') {
    return (['school', 'kindergarten'] as const).flatMap(tree =>
      positions(worlds[tree].classOf).map(p => one({ level: 'class', tree, position: p, url: `/api/v1/statistics/${tree === 'school' ? 'students' : 'children'}?by=gender&unit=${worlds[tree].classOf[p]}`, outOfReach: 'hidden' })),
    )
  }

  // Exports (R-D.7): anyone with the function asks for one and lists their own; another account's export is hidden.
  if (route.url === '/api/v1/exports' && route.method === 'POST') {
    return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, payload: { kind: 'statistics', format: 'csv', query: { subject: 'students', by: 'gender' } }, outOfReach: 'allow' })]
  }
  if (route.url === '/api/v1/exports') return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  if (route.url.startsWith('/api/v1/exports/:id')) return [one({ level: 'account', tree: 'school', position: 'otherCounty', url: route.url.replace(':id', randomUUID()), outOfReach: 'hidden' })]

  // Excel imports: the template is reference data; a preview is for a school (or kindergarten) in
  // reach (a body that is no workbook: refused as such once reached); commit and the errors
  // file are for the account that previewed, so another account's import is hidden.
  if (/^\/api\/v1\/imports\/templates\/[a-z]+$/.test(route.url)) return [one({ level: 'none', tree: 'school', position: 'own', url: route.url, outOfReach: 'allow' })]
  const ip = /^\/api\/v1\/imports\/([a-z]+)\/preview$/.exec(route.url)
  if (ip) {
    const tree: Tree = IMPORT_SPECS[ip[1] as keyof typeof IMPORT_SPECS].ownerTable === 'kindergartens' ? 'kindergarten' : 'school'
    const { orgId } = worlds[tree]
    const owners: Partial<Record<Position, string>> = { own: orgId.A, siblingSchool: orgId.B, otherCounty: orgId.C }
    return positions(owners).map(p => one({ level: 'school', tree, position: p, url: `${route.url}?schoolId=${owners[p]}`, payload: Buffer.from('not a workbook'), headers: { 'content-type': XLSX_TYPE }, outOfReach: 'hidden' }))
  }
  if (route.url.startsWith('/api/v1/imports/:importId')) return [one({ level: 'account', tree: 'school', position: 'otherCounty', url: route.url.replace(':importId', randomUUID()), outOfReach: 'hidden' })]

  // --- the records API: /api/v1/<path>[/:id] and /api/v1/<owner>/:<ownerKey>/<path>[/:id]
  const m = /^\/api\/v1\/([a-z-]+)(?:\/:([a-zA-Z]+)\/([a-z-]+))?(\/:id)?$/.exec(route.url)
  // Sub-record paths repeat under students and children (guardians …): match the owner's path too.
  const spec = m && (m[3] ? RESOURCES.find(s => s.path === m[3] && s.owner?.viaPath && resource(s.owner.table).path === m[1]) : RECORD_BY_PATH.get(m[1]))
  if (!m || !spec) throw new Error(`the authorization matrix cannot build requests for ${key}: add a case in test/node/auth/matrix.test.ts`)
  const tree = treeOf(spec.table)
  const tw = worlds[tree]
  const level = levelOf(spec.table)
  const ids = spec.table === 'supervising_units' ? unit : tw.ids[spec.table] ?? {}
  const viaPath = m[2] !== undefined
  const write = route.method !== 'GET'
  const payloadFor = (): object | undefined => (route.method === 'PATCH' ? { version: 999999 } : undefined)
  const query = route.method === 'DELETE' ? '?version=999999' : ''
  if (m[4]) {
    // One record: GET / PATCH (stale version → 409 once reached) / DELETE (same).
    return positions(ids).map(p => {
      const url = (viaPath ? route.url.replace(`:${m[2]}`, tw.personOf[p]) : route.url).replace(':id', ids[p]!) + query
      return one({ level, tree, position: p, url, payload: payloadFor(), outOfReach: 'hidden' })
    })
  }
  if (viaPath) {
    // A person's sub-records: list or create under the person at each position.
    return positions(tw.personOf).map(p => one({ level: 'student', tree, position: p, url: route.url.replace(`:${m[2]}`, tw.personOf[p]), payload: write ? {} : undefined, outOfReach: 'hidden' }))
  }
  if (!write) return [one({ level: 'none', tree, position: 'own', url: route.url, outOfReach: 'allow', list: { table: spec.table } })]
  if (spec.owner && !spec.owner.viaPath) {
    // Create under an owner named in the body: an owner out of reach is refused as an invalid reference.
    const owners: Partial<Record<Position, string>> = { own: tw.orgId.A, siblingSchool: tw.orgId.B, otherCounty: tw.orgId.C }
    return positions(owners).map(p => one({ level: 'school', tree, position: p, url: route.url, payload: { [spec.owner!.key]: owners[p] }, outOfReach: 'refused' }))
  }
  return [one({ level: 'none', tree, position: 'own', url: route.url, payload: {}, outOfReach: 'allow' })]
}

/** The answer `actor` (the role's account of the case's tree) should get. */
function expected(c: Case, actor: Actor): Answer {
  const p = c.route.permission
  if (p !== 'signed_in' && p !== 'public' && !can(actor, p as Permission)) return 'forbidden'
  if (c.level === 'none') return 'allow'
  return REACH[c.level][actor.role].includes(c.position) ? 'allow' : c.outOfReach
}

function answerOf(status: number, code: string | undefined): Answer | 'unauthenticated' | 'invalid' {
  if (status === 401) return 'unauthenticated'
  if (status === 403 && code === 'FORBIDDEN') return 'forbidden'
  if (status === 404) return 'hidden'
  if (code === 'VALIDATION_FAILED') return 'invalid'
  if (code === 'RECORD_REFERENCE_INVALID' || code === 'ACCOUNT_DELEGATION_DENIED') return 'refused'
  return 'allow'
}

t.test('R-16.1 R-17.1 R-17.2 R-17.3 R-17.4 R-17.5 R-17.6 R-17.7 R-20.1 R-20.2 generated authorization matrix: every role × every /api/v1 route × {own, sibling class, sibling school, other county}', async t => {
  const app = await buildTestApp(t, { code: HOME })
  const worlds = { school: seedTree(app, 'school', {}), kindergarten: seedTree(app, 'kindergarten', {}) }
  const unit: Partial<Record<Position, string>> = {
    own: fill(app, resource('supervising_units').drizzle, { homeNode: HOME, unitCode: 'U-HOME', divisionCode: HOME }),
    otherCounty: fill(app, resource('supervising_units').drizzle, { homeNode: OTHER, unitCode: 'U-OTHER', divisionCode: OTHER }),
  }
  const w = worlds.school
  // Death reports received from below, about the schools at each position.
  for (const [p, o] of [['own', 'A'], ['siblingSchool', 'B'], ['otherCounty', 'C']] as const) {
    const id = randomUUID()
    const origin = o === 'C' ? OTHER : HOME
    const report = { format: 1, id, origin, event: 'death', kind: 'student', subjectId: w.personOf[p], name: '矩阵', unitCode: w.orgCode[o], changeId: randomUUID(), eventDate: '2026-02-26', reverses: null, priorState: 'in_school', createdAt: new Date().toISOString() }
    app.storage.sqlite.prepare('insert into sync_death_reports (id, origin, event, report, jws, received_from, received_at) values (?, ?, ?, ?, ?, ?, ?)').run(id, origin, 'death', JSON.stringify(report), 'x.y.z', origin, report.createdAt)
    ;(w.ids.sync_death_reports ??= {})[p] = id
  }
  // Transfer requests of the receiving schools at each position (local rows of this node).
  for (const [p, o] of [['own', 'A'], ['siblingSchool', 'B']] as const) {
    const id = randomUUID()
    const at = new Date().toISOString()
    app.storage.sqlite.prepare(`insert into transfers (id, role, kind, status, receiver_node, receiver_unit_code, target_class_id, id_number, steps, created_at, updated_at) values (?, 'receiver', 'student', 'requested', ?, ?, ?, ?, '[]', ?, ?)`)
      .run(id, HOME, w.orgCode[o], w.classOf[p], `33010820100101${p.length}9X`, at, at)
    ;(w.ids.transfers ??= {})[p] = id
  }
  const accounts: Partial<Record<Position, string>> = {}
  for (const p of ['own', 'siblingClass', 'siblingSchool'] as const) {
    accounts[p] = (await createTestAccount(app, 'teacher', { kind: 'classes', school: p === 'siblingSchool' ? w.orgCode.B : w.orgCode.A, classes: [w.classOf[p]] })).account.id
  }

  // One account per role and tree, bound to the "own" position; every sensitive grant, so a reveal
  // is decided by function and scope alone.
  const grants = [...SENSITIVE_CLASSES]
  const scopeFor = (role: Role, tree: Tree): Scope => {
    const tw = worlds[tree]
    switch (role) {
      case 'bureau_admin':
      case 'bureau_user':
        return { kind: 'bureau', node: HOME }
      case 'central_school_admin':
      case 'school_admin':
        return { kind: 'schools', schools: [tw.orgCode.A] }
      case 'student':
        return { kind: 'student', school: tw.orgCode.A, studentId: tw.personOf.own }
      default:
        return { kind: 'classes', school: tw.orgCode.A, classes: [tw.classOf.own] }
    }
  }
  const actors = {} as Record<Tree, Record<Role, TestLogin>>
  for (const tree of ['school', 'kindergarten'] as const) {
    actors[tree] = {} as Record<Role, TestLogin>
    for (const role of ROLES) actors[tree][role] = await loginAs(app, role, scopeFor(role, tree), { leader: role !== 'bureau_admin' && role !== 'bureau_user' && role !== 'student', grants })
  }

  const routes = app.apiRoutes.filter(r => r.permission !== 'public' && !SELF_SERVICE.has(`${r.method} ${r.url}`))
  t.ok(routes.length > 50, `${routes.length} protected routes found`)
  for (const r of routes) t.ok(r.permission === 'signed_in' || (PERMISSIONS as readonly string[]).includes(r.permission), `${r.method} ${r.url} declares a known permission`)
  const cases = routes.flatMap(r => casesOf(r, worlds, unit, accounts))

  let count = 0
  const failures: string[] = []
  for (const c of cases) {
    for (const role of ROLES) {
      const actor = actors[c.tree][role]
      const res = await app.inject({ method: c.method as 'GET', url: c.url, headers: { ...actor.headers, ...c.headers }, ...(c.payload ? { payload: c.payload } : {}) })
      // Printable pages (certificates, growth reports) answer HTML, every other route JSON.
      const body = res.body && String(res.headers['content-type']).includes('json') ? (JSON.parse(res.body) as { code?: string; items?: { id: string }[] }) : {}
      const got = answerOf(res.statusCode, body.code)
      const want = expected(c, actor.actor)
      count++
      const label = `${role} ${c.method} ${c.route.url} @${c.position}`
      if (got !== want) {
        failures.push(`${label}: expected ${want}, got ${got} (${res.statusCode} ${body.code ?? ''})`)
        continue
      }
      if (c.list && got === 'allow') {
        // A list holds exactly the reachable fixture rows of its table (read across positions).
        const level = levelOf(c.list.table)
        const ids = c.list.table === 'supervising_units' ? unit : worlds[c.tree].ids[c.list.table] ?? {}
        const fixture = new Set(Object.values(ids))
        const seen = new Set((body.items ?? []).map(i => i.id).filter(id => fixture.has(id)))
        const reach = level === 'none' ? [] : REACH[level as Exclude<Level, 'none'>][role]
        const want = new Set(POSITIONS.filter(p => ids[p] && reach.includes(p)).map(p => ids[p]!))
        count += POSITIONS.length
        if ([...want].some(id => !seen.has(id)) || [...seen].some(id => !want.has(id))) failures.push(`${label}: list shows positions ${POSITIONS.filter(p => ids[p] && seen.has(ids[p]!)).join(',') || 'none'}, expected ${POSITIONS.filter(p => ids[p] && want.has(ids[p]!)).join(',') || 'none'}`)
      }
    }
  }
  if (failures.length) console.error(failures.join('\n'))
  console.log(`authorization matrix: ${count} cases (${routes.length} routes × ${ROLES.length} roles × positions, lists checked per position)`)
  t.same(failures, [], `${count} cases, no unexpected allow or deny`)
})
