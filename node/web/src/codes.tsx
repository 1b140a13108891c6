/** Code tables from `GET /api/v1/codes/{table}` (cached per page load) and their searchable drop-down. */
import { useEffect, useState } from 'react'
import { Select } from 'antd'
import { get } from './api.ts'

export interface Code {
  code: string
  name: string
  retired?: boolean
}

const cache = new Map<string, Promise<Code[]>>()

export function loadCodes(table: string): Promise<Code[]> {
  let p = cache.get(table)
  if (!p) {
    p = get<{ defaultEdition: string; editions: Array<{ edition: string; codes: Code[] }> }>(`/api/v1/codes/${table}`).then(r => {
      const ed = r.editions.find(e => e.edition === r.defaultEdition) ?? r.editions[0]
      return (ed?.codes ?? []).filter(c => !c.retired)
    })
    p.catch(() => cache.delete(table))
    cache.set(table, p)
  }
  return p
}

export function useCodes(table: string | undefined): Code[] {
  const [codes, setCodes] = useState<Code[]>([])
  useEffect(() => {
    if (table) loadCodes(table).then(setCodes, () => setCodes([]))
  }, [table])
  return codes
}

/** The name of a code, or the code itself while the table loads. */
export function CodeName({ table, code }: { table: string; code: string | null | undefined }) {
  const codes = useCodes(code ? table : undefined)
  if (!code) return <>—</>
  return <>{codes.find(c => c.code === code)?.name ?? code}</>
}

export function CodeSelect(props: { table: string; value?: string | null; onChange?: (v: string | null) => void; id?: string; placeholder?: string; allowClear?: boolean }) {
  const codes = useCodes(props.table)
  return (
    <Select
      id={props.id}
      showSearch={{ optionFilterProp: 'label' }}
      allowClear={props.allowClear ?? true}
      placeholder={props.placeholder ?? '输入名称或代码查找'}
      value={props.value ?? undefined}
      onChange={v => props.onChange?.(v ?? null)}
      options={codes.map(c => ({ value: c.code, label: `${c.code} ${c.name}` }))}
    />
  )
}
