/** Helpers of the export tests. */
import type { FastifyInstance } from 'fastify'
import type { TestLogin } from '../../helper.ts'

type Row = Record<string, any>

/** Asks for an export, waits for its job, and downloads the file. */
export async function exportFile(app: FastifyInstance, login: TestLogin, body: object): Promise<{ record: Row; file: Buffer; polls: number }> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/exports', headers: login.headers, payload: body })
  if (res.statusCode !== 202) throw new Error(`export refused: ${res.statusCode} ${res.body}`)
  const id = res.json().id
  let record: Row = res.json()
  let polls = 0
  while (record.state === 'queued' || record.state === 'running') {
    await new Promise(r => setTimeout(r, 100))
    record = (await app.inject({ method: 'GET', url: `/api/v1/exports/${id}`, headers: login.headers })).json()
    polls++
  }
  if (record.state !== 'done') throw new Error(`export ${record.state}: ${record.errorCode}`)
  const file = await app.inject({ method: 'GET', url: `/api/v1/exports/${id}/file`, headers: login.headers })
  if (file.statusCode !== 200) throw new Error(`download: ${file.statusCode} ${file.body}`)
  return { record, file: file.rawPayload, polls }
}

