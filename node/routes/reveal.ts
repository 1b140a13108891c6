import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { getTableColumns } from 'drizzle-orm'
import { REPLICATED_TABLES } from '../../schema/replicated.ts'
import { authError } from '../auth/errors.ts'
import { SENSITIVE_FIELDS, mayReveal, sensitiveClassOf } from '../auth/sensitive.ts'
import { loadRow, targetOfRow } from '../auth/targets.ts'
import { actorOf, assertInScope, notFound } from '../plugins/auth.ts'
import { ErrorReply, authErrorReplies } from './schemas.ts'

/**
 * The explicit reveal of sensitive fields: reads show them masked; this answers the
 * clear values of the named fields of one record, to an account granted their class, and the
 * audit log records who revealed which fields of which record (names, never values).
 */
const revealRoutes: FastifyPluginAsyncTypebox = async app => {
  const columnsOf = new Map(REPLICATED_TABLES.map(t => [t.name, getTableColumns(t.table)]))

  app.post(
    '/api/v1/reveal/:table/:id',
    {
      config: { permission: 'sensitive:reveal' },
      schema: {
        tags: ['sensitive'],
        params: Type.Object({ table: Type.String({ maxLength: 64 }), id: Type.String({ minLength: 1, maxLength: 64 }) }),
        body: Type.Object({ fields: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 20, uniqueItems: true }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ values: Type.Record(Type.String(), Type.Unknown()) }), 400: ErrorReply, ...authErrorReplies },
      },
    },
    async req => {
      const actor = actorOf(req)
      const { table, id } = req.params
      req.audit.action = 'reveal'
      req.audit.targetTable = table
      req.audit.targetId = id
      req.audit.fields = req.body.fields
      const columns = columnsOf.get(table)
      if (!columns || !SENSITIVE_FIELDS[table]) throw notFound()
      for (const f of req.body.fields) if (!sensitiveClassOf(table, f) || !columns[f]) throw authError('REVEAL_FIELD_UNKNOWN', `字段 ${f} 不是敏感字段`, { field: f })
      const row = loadRow(app.storage, table, id)
      if (!row) throw notFound()
      assertInScope(req, targetOfRow(app.storage, table, row))
      const refused = req.body.fields.filter(f => !mayReveal(actor, sensitiveClassOf(table, f)!))
      if (refused.length > 0) {
        req.audit.outcome = 'denied'
        throw authError('REVEAL_NOT_GRANTED', '您未被授权查看这些敏感信息', { fields: refused })
      }
      return { values: Object.fromEntries(req.body.fields.map(f => [f, row[columns[f].name] ?? null])) }
    },
  )
}

export default revealRoutes
