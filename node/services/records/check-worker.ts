/**
 * The checking thread of received change sets (check-pool.ts): the body's hash, length and
 * canonical form against its verified manifest, the change-set shape, and the checks of its rows
 * that need no database (sync/apply.ts `precheckRows`, with the records' field validation), and
 * the body compressed as it is stored unless it came compressed. It answers what it found, not
 * the rows: the applying thread parses the same text itself.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { nodeCodes } from '../../../schema/codes/index.ts'
import { precheckRows } from '../../../sync/apply.ts'
import { assertChangeSetBody, openSignedBody, packBody } from '../../../sync/changeset.ts'
import { workerError } from '../../worker-pool.ts'
import type { CheckReply, CheckRequest } from './check-pool.ts'
import { createFieldCheck } from './replica-rules.ts'

const fields = createFieldCheck(nodeCodes((workerData as { codesDir: string | null }).codesDir))

parentPort!.on('message', (m: CheckRequest & { id: number }) => {
  let reply: CheckReply
  try {
    const times = { verify: 0, parse: 0 }
    let t = performance.now()
    const body = assertChangeSetBody(openSignedBody(m, m.manifest, { origin: m.manifest.origin, seq: m.manifest.seq }, times))
    times.parse += performance.now() - t
    t = performance.now()
    const now = new Date(m.now)
    const prechecked = precheckRows(body.rows, m.origin, (table, row, origin) => fields(table, row, origin, now))
    const fieldsMs = performance.now() - t
    t = performance.now()
    const stored = m.pack ? packBody(m.body) : undefined
    reply = { id: m.id, prechecked, ...(stored ? { stored } : {}), ms: { verify: times.verify, parse: times.parse, fields: fieldsMs, pack: performance.now() - t } }
  } catch (err) {
    reply = { id: m.id, error: workerError(err) }
  }
  parentPort!.postMessage(reply)
})
