import fp from 'fastify-plugin'
import { datesFor } from '../../config/calendar.ts'
import { nodeCodes, type CodeRegistry } from '../../schema/codes/index.ts'
import { createReadPool } from '../services/records/read-pool.ts'
import { createRecordsService, type RecordsService } from '../services/records/service.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** The registration record (Articles 7–12): node/services/records/service.ts. */
    records: RecordsService
    /** This node's code tables: the shipped national ones plus local codes. */
    codes: CodeRegistry
  }
}

/**
 * Exposes the records service, judging locks on expiry by this node's calendar dates. Code tables are the shipped national ones plus, when
 * `codes.localDir` is configured, the province's or city's local codes; a malformed
 * local file stops start-up with CODE_TABLE_INVALID naming the file.
 */
export default fp(
  async app => {
    const codes = nodeCodes(app.config.codes.localDir)
    app.decorate('codes', codes)
    const { dates, local } = app.config.calendar
    // Lists and searches on read-only connections in worker threads (server.readWorkers).
    const file = app.storage.sqlite.name
    const reads = app.config.server.readWorkers > 0 && !app.storage.sqlite.memory ? createReadPool(file, app.config.server.readWorkers) : undefined
    if (reads) app.addHook('onClose', () => reads.close())
    app.decorate('records', createRecordsService({ storage: app.storage, identity: app.identity, codes, dates: datesFor(app.identity.code, dates, local), reads }))
  },
  { name: 'records', dependencies: ['errors'] },
)
