/**
 * Form inputs for the fields of a record table, from the one field list the API validates with
 * (node/records/fields.ts): labels are the regulation's, code fields are searchable drop-downs.
 */
import { Form, Input, InputNumber, Select } from 'antd'
import type { FormInstance } from 'antd'
import { FIELDS, type Field } from '../../records/fields.ts'
import { ApiError } from './api.ts'
import { CodeSelect } from './codes.tsx'

/** Fields a registrar types on this form (not references, editions or the photo, which have their own controls). */
export function typedFields(table: string): Field[] {
  return (FIELDS[table] ?? []).filter(f => f.kind !== 'ref' && f.kind !== 'edition' && f.kind !== 'photo')
}

const PLACEHOLDER: Partial<Record<Field['kind'], string>> = { date: 'YYYY-MM-DD', ym: 'YYYY-MM', term: 'YYYY-1 或 YYYY-2', place: '6 位行政区划代码', division: '6 位行政区划代码' }

/** The control of one field; Form.Item hands it `value` and `onChange`, passed on to the input. */
export function FieldInput({ field, id, ...control }: { field: Field; id?: string; value?: any; onChange?: (v: any) => void }) {
  switch (field.kind) {
    case 'code':
      return <CodeSelect table={field.table!} id={id} {...control} />
    case 'bool':
      return <Select id={id} allowClear options={[{ value: true, label: '是' }, { value: false, label: '否' }]} {...control} />
    case 'int':
    case 'number':
      return <InputNumber id={id} style={{ width: '100%' }} min={field.min} max={field.maxValue} {...control} />
    default:
      return <Input id={id} maxLength={field.max} placeholder={PLACEHOLDER[field.kind]} autoComplete="off" {...control} />
  }
}

export function FieldItem({ field, name, prefix = '' }: { field: Field; name?: Array<string | number>; prefix?: string }) {
  return (
    <Form.Item label={field.label} name={name ?? field.key} required={field.required} style={{ marginBottom: 10 }}>
      <FieldInput field={field} id={`${prefix}${field.key}`} />
    </Form.Item>
  )
}

/** `guardians[1].phone` → ['guardians', 1, 'phone']. */
export function fieldPath(field: string): Array<string | number> {
  return field.split(/[.[\]]+/).filter(Boolean).map(p => (/^\d+$/.test(p) ? Number(p) : p))
}

/** Puts the API's field-level errors on the form's fields; answers the messages it could not place. */
export function showFieldErrors(form: FormInstance, err: unknown): string | null {
  if (!(err instanceof ApiError)) return (err as Error).message
  const issues = err.issues()
  if (issues.length === 0) return err.message
  const byField = new Map<string, string[]>()
  for (const i of issues) byField.set(i.field, [...(byField.get(i.field) ?? []), i.message])
  form.setFields([...byField].map(([f, errors]) => ({ name: fieldPath(f), errors })))
  return null
}

/** Empty strings become null: the API takes null for a field left blank. */
export function cleanValues<T extends Record<string, unknown>>(v: T): T {
  const out: Record<string, unknown> = {}
  for (const [k, x] of Object.entries(v)) {
    if (Array.isArray(x)) out[k] = x.map(e => (e && typeof e === 'object' ? cleanValues(e as Record<string, unknown>) : e))
    else out[k] = x === '' || x === undefined ? null : x
  }
  return out as T
}
