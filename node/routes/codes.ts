import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@fastify/type-provider-typebox'
import { notFound } from '../plugins/auth.ts'
import { ERROR_CATALOGUES, ErrorReply } from './schemas.ts'

const TableInfo = Type.Object({ table: Type.String(), edition: Type.String(), title: Type.String(), standard: Type.String(), default: Type.Boolean() })
const Entry = Type.Object({
  code: Type.String(),
  name: Type.String(),
  parent: Type.Optional(Type.String()),
  retired: Type.Optional(Type.String({ description: 'Year-month the code stopped being issued; old records keep it.' })),
  replacedBy: Type.Optional(Type.String()),
  note: Type.Optional(Type.String()),
  local: Type.Optional(Type.Boolean({ description: 'Added by this province, city or county (R-30.1).' })),
})

/**
 * The reference data a client needs beside the records: the code tables of this node (national
 * editions plus local codes, R-30.1) that every code field names, and the error catalogue. Public:
 * neither holds personal data, and a client generator or a login page may want them.
 */
const codeRoutes: FastifyPluginAsyncTypebox = async app => {
  app.get('/api/v1/codes', {
    config: { permission: 'public' },
    schema: { tags: ['reference'], summary: '代码表目录：每个代码表及其版本', response: { 200: Type.Object({ tables: Type.Array(TableInfo) }) } },
  }, async () => ({ tables: app.codes.tables() }))

  app.get('/api/v1/codes/:table', {
    config: { permission: 'public' },
    schema: {
      tags: ['reference'],
      summary: '一个代码表的全部版本和代码',
      params: Type.Object({ table: Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 }) }),
      response: { 200: Type.Object({ table: Type.String(), defaultEdition: Type.String(), editions: Type.Array(Type.Object({ ...TableInfo.properties, codes: Type.Array(Entry) })) }), 404: ErrorReply },
    },
  }, async req => {
    const { table } = req.params
    if (!app.codes.tables().some(t => t.table === table)) throw notFound()
    const editions = app.codes.editions(table).map(edition => {
      const t = app.codes.get(table, edition)
      return { table, edition, title: t.title, standard: t.standard, default: edition === app.codes.defaultEdition(table), codes: t.codes }
    })
    return { table, defaultEdition: app.codes.defaultEdition(table), editions }
  })

  app.get('/api/v1/errors', {
    config: { permission: 'public' },
    schema: {
      tags: ['reference'],
      summary: '错误代码目录：每个 code 的 HTTP 状态、原因和处理办法',
      response: { 200: Type.Object({ errors: Type.Array(Type.Object({ code: Type.String(), area: Type.String(), status: Type.Integer(), doc: Type.String() })) }) },
    },
  }, async () => ({ errors: Object.entries(ERROR_CATALOGUES).flatMap(([area, c]) => Object.entries(c).map(([code, spec]) => ({ code, area, status: spec.status, doc: spec.doc }))) }))
}

export default codeRoutes
