import { useEffect, useRef, useState, type ChangeEvent } from 'react'
import { Alert, App, Button, Card, Descriptions, Select, Space, Statistic, Table, Tag } from 'antd'
import { api, get, post, postFile, type Reply } from '../api.ts'
import { can, useSession } from '../session.ts'

type Preview = Reply<'/api/v1/imports/students/preview', 'post'>
type Committed = Reply<'/api/v1/imports/{importId}/commit', 'post'>
type Kind = 'students' | 'children' | 'classes' | 'teachers'

const XLSX_TYPE = 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet'

/** The record types, the permission that writes each, and where its owner is listed. */
const KINDS: Array<{ kind: Kind; label: string; permission: string; owners: string; ownerLabel: string }> = [
  { kind: 'students', label: '学生', permission: 'student:write', owners: '/api/v1/schools?limit=500', ownerLabel: '学校' },
  { kind: 'children', label: '幼儿', permission: 'student:write', owners: '/api/v1/kindergartens?limit=500', ownerLabel: '幼儿园' },
  { kind: 'classes', label: '班级', permission: 'class:write', owners: '/api/v1/schools?limit=500', ownerLabel: '学校' },
  { kind: 'teachers', label: '教师', permission: 'school:write', owners: '/api/v1/schools?limit=500', ownerLabel: '学校' },
]

const ACTION: Record<string, { text: string; color: string }> = {
  create: { text: '新增', color: 'green' },
  update: { text: '修改', color: 'blue' },
  unchanged: { text: '不变', color: 'default' },
  error: { text: '错误', color: 'red' },
}

/**
 * Excel import: the template of a record type, an upload previewed row by row (what each
 * row would do and its errors in Chinese), the commit of the valid rows, and the rows in error as
 * a file to fix and upload again.
 */
export default function Import() {
  const { me } = useSession()
  const { message } = App.useApp()
  const kinds = KINDS.filter(k => can(me, k.permission))
  const [kind, setKind] = useState<Kind>(kinds[0]?.kind ?? 'students')
  const spec = KINDS.find(k => k.kind === kind)!
  const [owners, setOwners] = useState<Array<{ id: string; name: string }>>([])
  const [ownerId, setOwnerId] = useState<string | undefined>()
  const [preview, setPreview] = useState<Preview | null>(null)
  const [committed, setCommitted] = useState<Committed | null>(null)
  const [busy, setBusy] = useState(false)
  const [failure, setFailure] = useState<string | null>(null)
  const fileInput = useRef<HTMLInputElement>(null)

  useEffect(() => {
    setOwners([])
    setOwnerId(undefined)
    get(spec.owners).then(
      r => {
        setOwners(r.items)
        if (r.items.length === 1) setOwnerId(r.items[0].id)
      },
      () => setOwners([]),
    )
  }, [spec.owners])

  const reset = () => {
    setPreview(null)
    setCommitted(null)
    setFailure(null)
  }

  /** Deletes what the node kept of a preview not committed (its rows hold ID numbers in clear). */
  const discard = async () => {
    if (preview && !committed) await api('DELETE', `/api/v1/imports/${preview.importId}`).catch(() => undefined)
  }

  const cancel = async () => {
    setBusy(true)
    try {
      await api('DELETE', `/api/v1/imports/${preview!.importId}`)
      reset()
      message.success('已取消导入：上传的文件内容已删除')
    } catch (err) {
      setFailure((err as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const upload = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0]
    e.target.value = ''
    if (!file || !ownerId) return
    // Another file replaces the preview shown: the node forgets the earlier one.
    await discard()
    reset()
    setBusy(true)
    try {
      setPreview(await postFile<Preview>(`/api/v1/imports/${kind}/preview?schoolId=${encodeURIComponent(ownerId)}`, file, XLSX_TYPE))
    } catch (err) {
      setFailure((err as Error).message)
    } finally {
      setBusy(false)
    }
  }

  const commit = async () => {
    if (!preview) return
    setBusy(true)
    try {
      const r = await post<Committed>(`/api/v1/imports/${preview.importId}/commit`)
      setCommitted(r)
      message.success(`已导入：新增 ${r.created}，修改 ${r.updated}`)
    } catch (err) {
      setFailure((err as Error).message)
    } finally {
      setBusy(false)
    }
  }

  if (!kinds.length) return <Alert type="info" showIcon title="当前账号没有可导入的记录类型" />
  const errorRows = preview ? preview.rows.filter(r => r.action === 'error') : []
  const shown = preview ? preview.rows.filter(r => r.action !== 'unchanged') : []
  return (
    <Card id="import-page" title="Excel 导入" size="small">
      <Space wrap style={{ marginBottom: 12 }}>
        <Select
          id="import-kind"
          value={kind}
          style={{ width: 120 }}
          onChange={v => {
            setKind(v)
            reset()
          }}
          options={kinds.map(k => ({ value: k.kind, label: k.label }))}
        />
        <Select
          id="import-owner"
          showSearch={{ optionFilterProp: 'label' }}
          placeholder={spec.ownerLabel}
          style={{ width: 260 }}
          value={ownerId}
          onChange={v => {
            setOwnerId(v)
            reset()
          }}
          options={owners.map(o => ({ value: o.id, label: o.name }))}
        />
        <Button id="import-template" href={`/api/v1/imports/templates/${kind}`} download>
          下载{spec.label}导入模板
        </Button>
        <Button type="primary" disabled={!ownerId} loading={busy} onClick={() => fileInput.current?.click()}>
          上传 Excel 文件
        </Button>
        <input ref={fileInput} id="import-file" type="file" accept=".xlsx" onChange={upload} style={{ display: 'none' }} />
      </Space>
      <Alert
        type="info"
        style={{ marginBottom: 12 }}
        title="先下载模板填写（身份证件号、电话列已设为文本，代码列从下拉列表选择），上传后先预览，确认后只导入没有错误的行；有错误的行可下载、改正后重新上传。同一文件重复导入不会重复写入。"
      />
      {failure && <Alert id="import-failure" type="error" showIcon title={failure} style={{ marginBottom: 12 }} />}
      {preview && (
        <>
          <Space id="import-counts" size="large" style={{ display: 'flex', marginBottom: 12 }}>
            <Statistic title="新增" value={preview.counts.create} styles={{ content: { color: '#389e0d' } }} />
            <Statistic title="修改" value={preview.counts.update} styles={{ content: { color: '#0958d9' } }} />
            <Statistic title="不变" value={preview.counts.unchanged} />
            <Statistic title="错误" value={preview.counts.error} styles={{ content: { color: '#cf1322' } }} />
          </Space>
          <Space style={{ display: 'flex', marginBottom: 12 }} wrap>
            <Button id="import-commit" type="primary" loading={busy} disabled={!!committed || preview.counts.create + preview.counts.update + preview.counts.unchanged === 0} onClick={commit}>
              确认导入无错误的 {preview.counts.create + preview.counts.update + preview.counts.unchanged} 行
            </Button>
            {!committed && (
              <Button id="import-cancel" loading={busy} onClick={cancel}>
                取消导入
              </Button>
            )}
            {errorRows.length > 0 && (
              <Button id="import-errors-file" danger href={`/api/v1/imports/${preview.importId}/errors.xlsx`} download>
                下载有错误的 {errorRows.length} 行
              </Button>
            )}
          </Space>
          {committed && (
            <Descriptions id="import-result" size="small" bordered column={4} style={{ marginBottom: 12 }}>
              <Descriptions.Item label="新增">{committed.created}</Descriptions.Item>
              <Descriptions.Item label="修改">{committed.updated}</Descriptions.Item>
              <Descriptions.Item label="不变">{committed.unchanged}</Descriptions.Item>
              <Descriptions.Item label="未导入（有错误）">{committed.errorRows}</Descriptions.Item>
            </Descriptions>
          )}
          <Table
            id="import-rows"
            size="small"
            rowKey="row"
            dataSource={[...errorRows, ...shown.filter(r => r.action !== 'error')]}
            pagination={{ pageSize: 50, showSizeChanger: false }}
            columns={[
              { title: '行号', dataIndex: 'row', width: 80 },
              { title: '处理', dataIndex: 'action', width: 80, render: a => <Tag color={ACTION[a]?.color}>{ACTION[a]?.text ?? a}</Tag> },
              {
                title: '错误',
                dataIndex: 'errors',
                render: (errors: Preview['rows'][number]['errors']) => (
                  <ul className="xj-import-errors" style={{ margin: 0, paddingLeft: 16 }}>
                    {errors.map((e, i) => (
                      <li key={i}>
                        {e.column ? <b>{e.column}：</b> : null}
                        {e.message}
                      </li>
                    ))}
                  </ul>
                ),
              },
            ]}
          />
        </>
      )}
    </Card>
  )
}
