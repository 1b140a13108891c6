/** Export through the export jobs (`POST /api/v1/exports`, poll, then download the masked file). */
import { useState } from 'react'
import { App, Button, Dropdown } from 'antd'
import { get, post } from './api.ts'

/** The kinds of POST /api/v1/exports (node/exports/service.ts EXPORT_KINDS) that a page exports. */
export type ExportKind = 'students' | 'children' | 'school_teachers' | 'school_classes' | 'kindergarten_teachers' | 'kindergarten_classes' | 'schools' | 'kindergartens' | 'supervising_units' | 'statistics'

export function ExportButton({ kind, query }: { kind: ExportKind; query: Record<string, unknown> }) {
  const { message } = App.useApp()
  const [busy, setBusy] = useState(false)
  const run = async (format: 'xlsx' | 'csv') => {
    setBusy(true)
    try {
      const clean = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined && v !== null && v !== ''))
      let job = await post<{ id: string; state: string }>('/api/v1/exports', { kind, format, query: clean })
      const deadline = Date.now() + 5 * 60_000
      while (job.state !== 'done' && job.state !== 'failed' && Date.now() < deadline) {
        await new Promise(r => setTimeout(r, 500))
        job = await get(`/api/v1/exports/${job.id}`)
      }
      if (job.state !== 'done') throw new Error('导出未完成，请稍后在导出记录中查看')
      const a = document.createElement('a')
      a.href = `/api/v1/exports/${job.id}/file`
      a.click()
    } catch (e) {
      message.error((e as Error).message)
    } finally {
      setBusy(false)
    }
  }
  return (
    <Dropdown menu={{ items: [{ key: 'xlsx', label: 'Excel（.xlsx）' }, { key: 'csv', label: 'CSV' }], onClick: e => run(e.key as 'xlsx' | 'csv') }}>
      <Button loading={busy}>导出</Button>
    </Dropdown>
  )
}
