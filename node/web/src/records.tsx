/**
 * Pieces every record page shares: a field's value as read, the create/edit form of a record or
 * sub-record (the record's own POST/PATCH route, the API's field errors under their fields), the
 * verification state with the verifier's actions (`/api/v1/verification/<table>/:id/…`), and the
 * sub-record sections of a 学籍卡 with 新增 / 编辑 / 删除 and 显示 for masked values.
 */
import { useEffect, useState } from 'react'
import { Alert, App, Button, Col, Form, Input, Modal, Popconfirm, Row, Space, Table, Tag, Typography } from 'antd'
import { ApiError, api, get, patch, post, type Me } from './api.ts'
import { SENSITIVE_FIELDS } from '../../auth/sensitive.ts'
import { can, useSession } from './session.ts'
import { FIELDS, type Field } from '../../records/fields.ts'
import { CodeName } from './codes.tsx'
import { FieldInput, cleanValues, showFieldErrors, typedFields } from './fieldform.tsx'
import { PROCESSING, VERIFY_STATE } from './labels.ts'

type Json = Record<string, any>

/**
 * Whether 显示 is offered for a field: the API masks it (node/auth/sensitive.ts, the same
 * classification), it has a value, and the account may reveal its class (a grant, or a student's
 * own record); the clear value comes from POST /api/v1/reveal (audited). The photo is an image, not shown here.
 */
export function revealable(me: Me, table: string, field: string, value: unknown): boolean {
  const cls = SENSITIVE_FIELDS[table]?.[field]
  return !!cls && field !== 'photo' && value !== null && value !== undefined && can(me, 'sensitive:reveal') && (me.role === 'student' || me.grants.includes(cls))
}

/**
 * A field as it applies to a record: a code whose edition property names its table
 * (`areaCategoryEdition` = `urban_rural_type/…`, the JY/T 城乡类型 instead of the 2007 所在地区类别)
 * takes its codes from that table.
 */
export function fieldFor(field: Field, rec: Json | null | undefined): Field {
  const edition = field.tables && field.editionKey ? rec?.[field.editionKey] : undefined
  return typeof edition === 'string' && edition.includes('/') ? { ...field, table: edition.split('/')[0] } : field
}

export function Value({ field, value }: { field: Field; value: unknown }) {
  if (value === null || value === undefined || value === '') return <>—</>
  if (field.kind === 'code' && field.table) return <CodeName table={field.table} code={String(value)} />
  if (field.kind === 'bool') return <>{value ? '是' : '否'}</>
  if (field.kind === 'photo') return <>已上传</>
  return <>{String(value)}</>
}

export function VerifyTag({ state, id }: { state: string | null | undefined; id?: string }) {
  if (!state) return null
  const vs = VERIFY_STATE[state]
  return (
    <Tag color={vs?.color} id={id}>
      {vs?.text ?? state}
    </Tag>
  )
}

/** The fields of `values` that differ from `initial` (an edit sends only what was changed: masked values stay untouched). */
export function changed(values: Json, initial: Json): Json {
  const out: Json = {}
  for (const [k, v] of Object.entries(cleanValues(values))) if ((v ?? null) !== (initial[k] ?? null)) out[k] = v
  return out
}

/**
 * The form of one record: `fields` laid out three to a row, `extra` controls above them (owner,
 * class), saved by POST `route` (new) or PATCH `route/:id` with the version read (edit). The API's
 * field errors go under their fields; anything else shows above the form.
 */
export function RecordForm(props: {
  title: string
  table: string
  route: string
  record?: Json | null
  open: boolean
  onClose: () => void
  onSaved: (rec: Json) => void
  extra?: React.ReactNode
  fields?: Field[]
  initial?: Json
  idPrefix?: string
}) {
  const { message } = App.useApp()
  const [form] = Form.useForm()
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const initial = props.record ?? props.initial ?? {}
  const fields = (props.fields ?? typedFields(props.table)).map(f => fieldFor(f, initial))
  // On opening: the record's values (or the given ones); undefined ones are left alone, so a
  // control above the fields (the one school in reach) may have set its value already.
  useEffect(() => {
    if (props.open) {
      form.setFieldsValue(Object.fromEntries(Object.entries(initial).filter(([, v]) => v !== undefined)))
      setError(null)
    }
  }, [props.open]) // eslint-disable-line react-hooks/exhaustive-deps
  const close = () => {
    form.resetFields()
    props.onClose()
  }

  const save = async (v: Json) => {
    setError(null)
    setBusy(true)
    try {
      const rec = props.record
        ? await patch(`${props.route}/${props.record.id}`, { ...changed(v, props.record), version: props.record.version })
        : await post(props.route, cleanValues(v))
      message.success('已保存')
      props.onSaved(rec)
      close()
    } catch (e) {
      // Issues placed under their fields are counted above the form (a long form scrolls); anything else is shown as it is.
      setError(showFieldErrors(form, e) ?? `有 ${e instanceof ApiError ? e.issues().length : 1} 处需要修改，见各字段下的提示`)
    } finally {
      setBusy(false)
    }
  }
  const prefix = props.idPrefix ?? 'rec-'
  return (
    <Modal title={props.title} open={props.open} onCancel={close} footer={null} width={960} destroyOnHidden>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 8 }} id={`${prefix}error`} />}
      <Form form={form} onFinish={save} layout="vertical" size="small" id={`${prefix}form`}>
        {props.extra}
        <Row gutter={12}>
          {fields.map(f => (
            <Col span={8} key={f.key}>
              <Form.Item label={f.label} name={f.key} required={f.required} style={{ marginBottom: 10 }}>
                <FieldInput field={f} id={`${prefix}${f.key}`} />
              </Form.Item>
            </Col>
          ))}
        </Row>
        <Button type="primary" htmlType="submit" loading={busy} id={`${prefix}submit`}>
          保存
        </Button>
      </Form>
    </Modal>
  )
}

/** The verification state of a record with 审核通过 / 退回（原因） for the verifying role and 重新提交 for the enterer. */
export function VerifyActions({ table, record, verify, write, onDone }: { table: string; record: Json; verify: string; write: string; onDone: () => void }) {
  const { me } = useSession()
  const { message } = App.useApp()
  const [returning, setReturning] = useState(false)
  const step = async (what: 'verify' | 'return' | 'resubmit', body?: unknown) => {
    try {
      await post(`/api/v1/verification/${table}/${record.id}/${what}`, body)
      message.success(what === 'verify' ? '已审核通过' : what === 'return' ? '已退回' : '已重新提交')
      setReturning(false)
      onDone()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  return (
    <>
      {can(me, verify) && record.verifyState === 'entered' && (
        <>
          <Button type="primary" onClick={() => step('verify')} id="verify-ok">
            审核通过
          </Button>
          <Button danger onClick={() => setReturning(true)} id="verify-return">
            退回
          </Button>
        </>
      )}
      {can(me, write) && record.verifyState === 'returned' && <Button onClick={() => step('resubmit')}>重新提交</Button>}
      <Modal title="退回（须写明原因）" open={returning} onCancel={() => setReturning(false)} footer={null} destroyOnHidden>
        <Form onFinish={v => step('return', { reason: v.reason })} layout="vertical">
          <Form.Item name="reason" label="退回原因" rules={[{ required: true, message: '请填写退回原因' }]}>
            <Input.TextArea id="return-reason" rows={3} />
          </Form.Item>
          <Button type="primary" htmlType="submit" id="return-submit">
            退回
          </Button>
        </Form>
      </Modal>
    </>
  )
}

export interface SubRecordSpec {
  /** Property of the person's record (`guardians`, `enrolment` …). */
  key: string
  table: string
  /** Path under the person's route (`guardians`, `family-members` …). */
  path: string
  title: string
  /** At most one per person (read back as an object). */
  single?: boolean
  /** Written through its own workflow (status changes): shown, not edited here. */
  readOnly?: boolean
}

export const STUDENT_SUBRECORDS: SubRecordSpec[] = [
  { key: 'guardians', table: 'student_guardians', path: 'guardians', title: '监护人' },
  { key: 'familyMembers', table: 'student_family_members', path: 'family-members', title: '家庭成员' },
  { key: 'resumes', table: 'student_resumes', path: 'resumes', title: '个人简历' },
  { key: 'registrations', table: 'student_registrations', path: 'registrations', title: '注册信息' },
  { key: 'exams', table: 'student_exams', path: 'exams', title: '考试成绩' },
  { key: 'awards', table: 'student_awards', path: 'awards', title: '奖励' },
  { key: 'punishments', table: 'student_punishments', path: 'punishments', title: '处分' },
  { key: 'enrolment', table: 'student_enrolments', path: 'enrolments', title: '入学信息', single: true },
  { key: 'completion', table: 'student_completions', path: 'completions', title: '毕业结业', single: true },
  { key: 'statusChanges', table: 'student_status_changes', path: 'status-changes', title: '学籍异动', readOnly: true },
]

export const CHILD_SUBRECORDS: SubRecordSpec[] = [
  { key: 'guardians', table: 'child_guardians', path: 'guardians', title: '监护人' },
  { key: 'familyMembers', table: 'child_family_members', path: 'family-members', title: '家庭成员' },
  { key: 'registrations', table: 'child_registrations', path: 'registrations', title: '注册信息' },
  { key: 'attendance', table: 'child_attendances', path: 'attendances', title: '入园与离园', single: true },
  { key: 'statusChanges', table: 'child_status_changes', path: 'status-changes', title: '异动', readOnly: true },
]

/**
 * One sub-record of a person (`ownerRoute` = `/api/v1/students/:id`): its rows, 显示 for masked
 * values (audited), and for an account that writes the person 新增 / 编辑 / 删除 through the
 * sub-record's own routes, each with the API's field errors.
 */
export function SubRecordSection({ spec, ownerRoute, rows, write, onChanged }: { spec: SubRecordSpec; ownerRoute: string; rows: Json[]; write: boolean; onChanged: () => void }) {
  const { me } = useSession()
  const { message } = App.useApp()
  const [clear, setClear] = useState<Record<string, Json>>({})
  const [editing, setEditing] = useState<Json | null | undefined>(undefined)
  const editable = write && !spec.readOnly
  if (rows.length === 0 && !editable) return null
  const fields = (FIELDS[spec.table] ?? []).filter(f => f.kind !== 'edition' && f.kind !== 'ref')
  const masked = (r: Json) => fields.filter(f => !(f.key in (clear[r.id] ?? {})) && revealable(me, spec.table, f.key, r[f.key])).map(f => f.key)
  const route = `${ownerRoute}/${spec.path}`
  const reveal = async (r: Json) => {
    try {
      const got = await post(`/api/v1/reveal/${spec.table}/${r.id}`, { fields: masked(r) })
      setClear(c => ({ ...c, [r.id]: got.values }))
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const remove = async (r: Json) => {
    try {
      await api('DELETE', `${route}/${r.id}?version=${r.version}`)
      message.success('已删除')
      onChanged()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const shown = rows.map(r => ({ ...r, ...clear[r.id] }))
  const anyMasked = rows.some(r => masked(r).length > 0)
  return (
    <div style={{ marginTop: 12 }} id={`sub-${spec.key}`}>
      <Space style={{ marginBottom: 4 }}>
        <Typography.Title level={5} style={{ margin: 0 }}>
          {spec.title}
        </Typography.Title>
        {editable && !(spec.single && rows.length > 0) && (
          <Button size="small" className="xj-no-print" onClick={() => setEditing(null)} id={`sub-${spec.key}-add`}>
            新增
          </Button>
        )}
      </Space>
      <Table
        size="small"
        rowKey="id"
        pagination={false}
        dataSource={shown}
        scroll={{ x: 'max-content' }}
        locale={{ emptyText: '暂无' }}
        columns={[
          ...fields.map(f => ({ title: f.label, dataIndex: f.key, render: (v: unknown) => <Value field={f} value={v} /> })),
          ...(spec.readOnly && spec.table.endsWith('status_changes') ? [{ title: '处理状态', dataIndex: 'processingStatus', render: (s: string) => PROCESSING[s] ?? s }] : []),
          ...(rows.some(r => r.verifyState) ? [{ title: '核对', dataIndex: 'verifyState', render: (s: string) => <VerifyTag state={s} /> }] : []),
          ...(anyMasked || editable
            ? [
                {
                  title: '',
                  key: 'actions',
                  render: (_v: unknown, r: Json) => (
                    <Space size={0} className="xj-no-print">
                      {anyMasked && masked(r).length > 0 && (
                        <Button type="link" size="small" onClick={() => reveal(r)}>
                          显示
                        </Button>
                      )}
                      {editable && (
                        <Button type="link" size="small" className="xj-sub-edit" onClick={() => setEditing(shown.find(x => x.id === r.id)!)}>
                          编辑
                        </Button>
                      )}
                      {editable && (
                        <Popconfirm title={`删除这条${spec.title}？`} okText="删除" cancelText="取消" onConfirm={() => remove(r)}>
                          <Button type="link" size="small" danger>
                            删除
                          </Button>
                        </Popconfirm>
                      )}
                    </Space>
                  ),
                },
              ]
            : []),
        ]}
      />
      {editable && (
        <RecordForm
          title={`${editing ? '编辑' : '新增'}${spec.title}`}
          table={spec.table}
          route={route}
          record={editing ?? null}
          open={editing !== undefined}
          onClose={() => setEditing(undefined)}
          onSaved={onChanged}
          idPrefix={`sub-${spec.key}-`}
        />
      )}
    </div>
  )
}

/** The name of a referenced record (`/api/v1/schools/:id` → its name), read once per page load. */
const names = new Map<string, Promise<string>>()
export function RefName({ api: path, id }: { api: string; id: string | null | undefined }) {
  const [name, setName] = useState<string>('')
  useEffect(() => {
    if (!id) return
    const key = `${path}/${id}`
    let p = names.get(key)
    if (!p) {
      p = get<Json>(`/api/v1/${path}/${id}`).then(r => String(r.name ?? id), () => id)
      names.set(key, p)
    }
    p.then(setName)
  }, [path, id])
  if (!id) return <>—</>
  return <>{name || '…'}</>
}
