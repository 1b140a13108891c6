/**
 * The JSON API of the registration record (Articles 7–12) under /api/v1.
 *
 * Why one route factory instead of a file per resource: the 24 record tables differ only in their
 * fields, owner and permissions, all of which are data (node/records/fields.ts,
 * node/services/records/resources.ts). A file per table would repeat the same five handlers 24
 * times and drift; here every route is still declared with its own params, body, query and
 * responses (4xx included), generated from the same field lists the validator uses.
 *
 * - Top-level records: `GET|POST /api/v1/<path>`, `GET|PATCH|DELETE /api/v1/<path>/:id`.
 * - A student's or child's sub-records: `/api/v1/students/:studentId/<path>[/:id]`,
 *   `/api/v1/children/:childId/<path>[/:id]`.
 *
 * Request bodies declare types only; required fields, formats and codes are checked by the
 * domain validator, so the API, imports and sync give the same codes (RECORD_FIELD_REQUIRED …)
 * and Chinese messages. Reads mask sensitive fields (R-27.1); clear values come from the audited
 * reveal action (node/routes/reveal.ts).
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import { Type, type TObject, type TSchema } from '@fastify/type-provider-typebox'
import { scopeFilter } from '../../auth/access.ts'
import { maskRecord } from '../../auth/sensitive.ts'
import { DERIVED_FIELDS, fieldsOf, type Field } from '../../records/fields.ts'
import type { RecordInput } from '../../records/validate.ts'
import { actorOf } from '../../plugins/auth.ts'
import { recordsActor, type RecordsActor } from '../../services/records/service.ts'
import { MAX_LIMIT, DEFAULT_LIMIT } from '../../services/records/service.ts'
import { RESOURCES, ownedBy, resource, type ResourceSpec } from '../../services/records/resources.ts'
import type { Rec } from '../../services/records/store.ts'
import { STATUS_CHANGE_TABLES } from '../../status-changes/rules.ts'
import { checkAcrossFederation } from '../../services/records/federation-check.ts'
import { ErrorReply, authErrorReplies } from '../schemas.ts'
import { nodeError } from '../../errors.ts'
import type { CodeRegistry } from '../../../schema/codes/index.ts'

const Nullable = <T extends TSchema>(s: T, options: { description?: string } = {}) => Type.Union([s, Type.Null()], options)
const Id = Type.String({ minLength: 1, maxLength: 64 })
const Replies = { 400: ErrorReply, 409: ErrorReply, ...authErrorReplies }

/** The service's actor for a request; a 404 given for an out-of-scope record is audited as denied. */
export function actorFor(req: FastifyRequest): RecordsActor {
  const actor = actorOf(req)
  return recordsActor(actor, scopeFilter(actor), () => {
    req.audit.outcome = 'denied'
  })
}

/**
 * A body field: its JSON type or null. Written as `type: [t, 'null']`, not anyOf: Fastify's ajv
 * coerces types, and inside anyOf it would turn a null into 0 or false before the null branch
 * is tried; with a type list a value that matches either type is left alone.
 */
function fieldSchema(f: Field): TSchema {
  const description = `${f.label}${f.required ? '（必填）' : ''}${f.table ? `，代码表 ${f.tables ? f.tables.join(' 或 ') : f.table}` : ''}`
  const type = f.kind === 'int' ? 'integer' : f.kind === 'number' ? 'number' : f.kind === 'bool' ? 'boolean' : 'string'
  return Type.Optional(Type.Unsafe<string | number | boolean | null>({ type: [type, 'null'], description }))
}

/** Body of a create: every field of the table, typed, optional (the validator says what is required). */
export function inputSchema(spec: ResourceSpec, withGroups: boolean): TSchema {
  const props: Record<string, TSchema> = {}
  for (const f of fieldsOf(spec.table)) if (!(spec.owner?.viaPath && f.key === spec.owner.key)) props[f.key] = fieldSchema(f)
  // Declared so that a typed derived figure reaches the validator and is refused with its own code.
  for (const [key, label] of Object.entries(DERIVED_FIELDS[spec.table] ?? {})) props[key] = Type.Optional(Type.Unknown({ description: `${label}：由系统统计，不能录入` }))
  if (withGroups) {
    for (const sub of ownedBy(spec.table).filter(s => s.owner!.viaPath && !s.verified)) {
      const item = inputSchema(sub, false)
      const description = `${sub.label}（${sub.requirement}），与${spec.label}一并写入`
      props[sub.group!] = Type.Optional(sub.single ? Type.Unsafe({ anyOf: [{ type: 'null' }, item], description }) : Type.Array(item, { maxItems: 200, description }))
    }
  }
  return Type.Object(props, { additionalProperties: false })
}

/** Fields the node fills when they are left out (normaliseRecord, the records service). */
const FILLED_BY_NODE: Record<string, string> = {
  idDocType: '不填为 1 居民身份证',
  country: '不填为 CHN 中国',
  isHead: '不填为否',
  studentNo: '不填时由系统生成：有居民身份证号为“G+身份证号”，否则为临时学籍号（L+学校所在地代码+出生日期+4 位序号）',
}
/** A code field lists its codes in the document when the table is this small; larger ones link. */
const ENUM_MAX = 100

/**
 * The documented form of a body field, true to the domain validator (validate.ts), which the
 * permissive validation schema above is not on purpose: a required field is not nullable, a code
 * field lists its codes (every edition) or names the route that does, dates carry their format.
 */
function docFieldSchema(f: Field, codes: CodeRegistry, nullable: boolean): TSchema {
  const type = f.kind === 'int' ? 'integer' : f.kind === 'number' ? 'number' : f.kind === 'bool' ? 'boolean' : 'string'
  const schema: Record<string, unknown> = { type: nullable ? [type, 'null'] : type }
  const notes = [f.label, FILLED_BY_NODE[f.key]]
  if (f.kind === 'code') {
    const tables = f.tables ?? [f.table!]
    const all = [...new Set(tables.flatMap(t => codes.editions(t).flatMap(e => codes.get(t, e).codes.map(c => c.code))))]
    if (all.length <= ENUM_MAX) schema.enum = nullable ? [...all, null] : all
    notes.push(`代码表 ${tables.join(' 或 ')}${f.editionKey ? `（版本由 ${f.editionKey} 指定，不填为默认版本）` : ''}：GET /api/v1/codes/${tables[0]}`)
  }
  if (f.kind === 'date') schema.format = 'date'
  if (f.kind === 'ym') schema.pattern = '^[0-9]{4}-(0[1-9]|1[0-2])$'
  if (f.kind === 'text' || f.kind === 'student_no' || f.kind === 'id_number') schema.maxLength = f.max ?? 200
  if (f.kind === 'ref') schema.format = 'uuid'
  schema.description = notes.filter(Boolean).join('；')
  return Type.Unsafe(schema)
}

/**
 * The documented body of a create (`required` = what the validator requires and the node does not
 * fill) or of an update (nothing required, but a required field cannot be set to null).
 */
export function docInputSchema(spec: ResourceSpec, withGroups: boolean, create: boolean, codes: CodeRegistry): ReturnType<typeof Type.Object> {
  const props: Record<string, TSchema> = {}
  for (const f of fieldsOf(spec.table)) {
    if (spec.owner?.viaPath && f.key === spec.owner.key) continue
    const needed = !!f.required && !(f.key in FILLED_BY_NODE)
    const schema = docFieldSchema(f, codes, !needed)
    props[f.key] = create && needed ? schema : Type.Optional(schema)
  }
  if (withGroups) {
    for (const sub of ownedBy(spec.table).filter(s => s.owner!.viaPath && !s.verified)) {
      const item = docInputSchema(sub, false, true, codes)
      const description = `${sub.label}（${sub.requirement}），与${spec.label}一并写入`
      props[sub.group!] = sub.single ? Type.Unsafe({ anyOf: [{ type: 'null' }, item], description }) : Type.Array(item, { maxItems: 200, description })
    }
  }
  return Type.Object(props, { additionalProperties: false })
}

function columnSchema(spec: ResourceSpec): Record<string, TSchema> {
  const props: Record<string, TSchema> = {}
  for (const c of spec.columns) {
    const base = c.type === 'number' ? Type.Number() : c.type === 'boolean' ? Type.Boolean() : Type.String()
    props[c.key] = c.notNull ? base : Nullable(base)
  }
  return props
}

const GradeCount = Type.Object({ grade: Type.Integer(), count: Type.Integer() })

/** A record as read: every column, plus sub-records of a person or derived figures of a school. */
function outputSchema(spec: ResourceSpec, full: boolean): TSchema {
  const props = columnSchema(spec)
  if (spec.table.endsWith('_teachers')) props.age = Nullable(Type.Integer({ description: '年龄（由出生年月计算）' }))
  if (full && spec.table === 'schools') {
    props.derived = Type.Object({
      year: Type.Integer(), classesTotal: Type.Integer(), classesByGrade: Type.Array(GradeCount), studentsTotal: Type.Integer(),
      studentsByGrade: Type.Array(GradeCount), graduatesThisYear: Type.Integer(), enrolmentThisYear: Type.Integer(),
    }, { description: 'R-8.1 由学生和班级记录统计，不能录入' })
  }
  if (full && spec.table === 'kindergartens') {
    props.derived = Type.Object({
      classesTotal: Type.Integer(), classesByGrade: Type.Array(GradeCount), childrenTotal: Type.Integer(),
      childrenByAge: Type.Array(Type.Object({ age: Type.Integer(), count: Type.Integer() })),
    }, { description: 'R-8.3 由幼儿和班级记录统计' })
  }
  if (full && (spec.table === 'students' || spec.table === 'children')) {
    for (const sub of ownedBy(spec.table)) {
      const item = outputSchema(sub, false)
      props[sub.group!] = sub.single ? Nullable(item) : Type.Array(item)
    }
    props.problems = Type.Array(Type.Object(columnSchema(resource('problem_records'))), { description: '未处理的查重问题' })
  }
  return Type.Object(props)
}

/** A list item: the record's fields, all of them unless `fields` names some; the id always. */
function listItemSchema(spec: ResourceSpec): TSchema {
  const { properties } = outputSchema(spec, false) as TObject
  return Type.Object(Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, k === 'id' ? v : Type.Optional(v)])))
}

/** Masks the sensitive fields of a record and of its sub-records (R-27.1). */
function masked(spec: ResourceSpec, rec: Rec): Rec {
  const out = maskRecord(spec.table, rec)
  for (const sub of ownedBy(spec.table)) {
    const v = out[sub.group!]
    if (Array.isArray(v)) out[sub.group!] = v.map(item => maskRecord(sub.table, item as Rec))
    else if (v && typeof v === 'object') out[sub.group!] = maskRecord(sub.table, v as Rec)
  }
  return out
}

function listQuerySchema(spec: ResourceSpec): TSchema {
  const props: Record<string, TSchema> = {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT })),
    offset: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
    q: Type.Optional(Type.String({ maxLength: 50, description: spec.personSearch ? '姓名、拼音（全拼或首字母）、身份证号或学籍号' : '名称（包含）' })),
    fields: Type.Optional(Type.String({ maxLength: 2000, description: '只返回这些字段（逗号分隔，如 name,gender,birthDate）；id 总会返回；缺省返回全部字段' })),
  }
  for (const [name, f] of Object.entries(spec.filters)) props[name] = Type.Optional(f.type === 'integer' ? Type.Integer({ description: f.description }) : Type.String({ maxLength: 64, description: f.description }))
  return Type.Object(props, { additionalProperties: false })
}

/** A person registered while the parent could not be asked: listed for the school and bureau. */
export function flagUnchecked(app: FastifyInstance, table: string, id: string): void {
  app.sync.recordFeedback([{ kind: 'unchecked', table, recordId: id, code: 'SYNC_PARENT_UNAVAILABLE', reason: 'person_lookup' }])
  app.log.warn({ table, record: id }, 'person registered without the federation duplicate check: parent unreachable')
}

const recordsRoutes: FastifyPluginAsync = async app => {
  const svc = app.records

  for (const spec of RESOURCES) {
    const owner = spec.owner?.viaPath ? resource(spec.owner.table) : undefined
    const ownerParam = spec.owner?.viaPath ? spec.owner.key : undefined
    const base = owner ? `/api/v1/${owner.path}/:${ownerParam}/${spec.path}` : `/api/v1/${spec.path}`
    const tags = [owner ? `${owner.label}：${spec.label}` : spec.label]
    const summary = (what: string) => `${what}${spec.label}（${spec.requirement}）`
    const ownerParams = ownerParam ? { [ownerParam]: Id } : {}
    const Params = Type.Object({ ...ownerParams, id: Id })
    const withGroups = spec.table === 'students' || spec.table === 'children'
    const Full = outputSchema(spec, true)
    const ownerIdOf = (params: unknown) => (ownerParam ? (params as Record<string, string>)[ownerParam] : undefined)
    const audit = (req: FastifyRequest, id?: string, fields?: string[]) => {
      req.audit.targetTable = spec.table
      if (id) req.audit.targetId = id
      if (fields) req.audit.fields = fields
    }

    app.get(base, {
      config: { permission: spec.permissions.read },
      schema: {
        tags, summary: summary('列出'), params: Type.Object(ownerParams), querystring: listQuerySchema(spec),
        response: { 200: Type.Object({ items: Type.Array(listItemSchema(spec)), total: Type.Integer(), limit: Type.Integer(), offset: Type.Integer() }), ...Replies },
      },
    }, async (req, reply) => {
      // An empty search box would otherwise list everyone: refused, so a client sees its mistake.
      const q = (req.query as { q?: string }).q
      if (q !== undefined && q.trim() === '') throw nodeError('QUERY_EMPTY', '查询条件为空：请输入姓名、拼音、身份证号或学籍号，或去掉 q 以列出全部')
      // Already JSON of the response schema's shape, masked (services/records/list-items.ts).
      const body = await svc.listPage(actorFor(req), spec.table, req.query as Record<string, unknown>, ownerIdOf(req.params))
      return reply.type('application/json; charset=utf-8').send(body)
    })

    // Status changes are created by applying for them (node/status-changes/routes.ts, same path).
    if (!STATUS_CHANGE_TABLES.has(spec.table)) app.post(base, {
      config: { permission: spec.permissions.write, openapi: { body: docInputSchema(spec, withGroups, true, app.codes) } },
      schema: { tags, summary: summary('新建'), params: Type.Object(ownerParams), body: inputSchema(spec, withGroups), response: { 201: Full, ...Replies } },
    }, async (req, reply) => {
      const body = req.body as RecordInput
      audit(req, undefined, Object.keys(body))
      const federation = await checkAcrossFederation(app.sync.askParent, spec.table, body)
      // The service notes the new record's id in the audit entry it commits with the record.
      const rec = svc.create(actorFor(req), spec.table, body, ownerIdOf(req.params))
      if (federation === 'unchecked') flagUnchecked(app, spec.table, String(rec.id))
      return reply.code(201).send(masked(spec, rec))
    })

    app.get(`${base}/:id`, {
      config: { permission: spec.permissions.read },
      schema: { tags, summary: summary('读取'), params: Params, response: { 200: Full, ...Replies } },
    }, async req => {
      const { id } = req.params as { id: string }
      return masked(spec, svc.get(actorFor(req), spec.table, id, ownerIdOf(req.params)))
    })

    const UpdateBody = inputSchema(spec, false) as ReturnType<typeof Type.Object>
    const UpdateDoc = docInputSchema(spec, false, false, app.codes)
    app.patch(`${base}/:id`, {
      config: { permission: spec.permissions.write, openapi: { body: Type.Object({ ...UpdateDoc.properties, version: Type.Integer({ minimum: 1, description: '读取时的版本号（乐观并发）' }) }, { additionalProperties: false }) } },
      schema: {
        tags, summary: summary('修改'), params: Params,
        body: Type.Object({ ...UpdateBody.properties, version: Type.Integer({ minimum: 1, description: '读取时的版本号（乐观并发）' }) }, { additionalProperties: false }),
        response: { 200: Full, ...Replies },
      },
    }, async req => {
      const { id } = req.params as { id: string }
      const body = req.body as RecordInput & { version: number }
      audit(req, id, Object.keys(body).filter(k => k !== 'version'))
      // A new ID number or 学籍号 is a new identity to check across the federation, and so is a
      // number filed under another document type: the number is asked about with the type it
      // will be filed under (the record's own when the edit leaves one of them alone).
      const idEdited = (spec.table === 'students' || spec.table === 'children') && (body.idNumber !== undefined || body.idDocType !== undefined)
      const changed = idEdited || body.studentNo !== undefined
      const current = idEdited ? svc.get(actorFor(req), spec.table, id, ownerIdOf(req.params)) : undefined
      const asked = current ? { ...body, idNumber: body.idNumber !== undefined ? body.idNumber : current.idNumber, idDocType: body.idDocType !== undefined ? body.idDocType : current.idDocType } : body
      const federation = changed ? await checkAcrossFederation(app.sync.askParent, spec.table, asked) : 'clear'
      const rec = svc.update(actorFor(req), spec.table, id, body, ownerIdOf(req.params))
      if (federation === 'unchecked') flagUnchecked(app, spec.table, id)
      return masked(spec, rec)
    })

    app.delete(`${base}/:id`, {
      config: { permission: spec.permissions.delete },
      schema: {
        tags, summary: summary('删除'), params: Params,
        querystring: Type.Object({ version: Type.Optional(Type.Integer({ minimum: 1, description: '读取时的版本号；给出时不符即拒绝' })) }, { additionalProperties: false }),
        response: { 204: Type.Null(), ...Replies },
      },
    }, async (req, reply) => {
      const { id } = req.params as { id: string }
      audit(req, id)
      svc.remove(actorFor(req), spec.table, id, { version: (req.query as { version?: number }).version, ownerId: ownerIdOf(req.params) })
      return reply.code(204).send()
    })
  }
}

export default recordsRoutes
