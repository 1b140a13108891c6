import { useEffect, useState } from 'react'
import { Alert, App, Button, Card, Form, Input, Modal, Radio, Select, Space, Steps, Tag } from 'antd'
import { get, post, postForText, qs, type Reply } from '../api.ts'
import { can, useSession } from '../session.ts'
import { DecisionModal, QueueTable, useQueue, type Decision } from '../queue.tsx'

type Transfer = Reply<'/api/v1/transfers', 'get'>['items'][number]
type Json = Record<string, any>

const STATUS: Record<string, { text: string; color: string }> = {
  requested: { text: '已申请', color: 'blue' },
  sent: { text: '已报送', color: 'blue' },
  received: { text: '转出方已受理', color: 'orange' },
  approved: { text: '转出方已批准', color: 'green' },
  completed: { text: '已转入', color: 'green' },
  rejected: { text: '转出方驳回', color: 'red' },
  withdrawn: { text: '已撤回', color: 'default' },
  expired: { text: '已过期', color: 'default' },
  not_found: { text: '未找到学籍', color: 'red' },
  refused: { text: '转出方拒绝', color: 'red' },
}
/** Each role's steps in order, as the API records them (`steps[].step`). */
const PATH: Record<string, Array<{ step: string; title: string }>> = {
  receiver: [
    { step: 'requested', title: '转入学校申请' },
    { step: 'sent', title: '转入地教育局报送' },
    { step: 'received', title: '转出方受理' },
    { step: 'completed', title: '转入完成' },
  ],
  sender: [
    { step: 'received', title: '收到转学申请' },
    { step: 'approved', title: '转出地教育局批准' },
  ],
}
const OPEN = new Set(['requested', 'sent', 'received'])
const at = (iso: string) => new Date(iso).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })

/** The steps of one transfer for its role: done ones with their time, the end it came to. */
function TransferSteps({ t }: { t: Transfer }) {
  const done = new Map(t.steps.map(s => [s.step, s.at]))
  const path = PATH[t.role] ?? []
  const ended = !OPEN.has(t.status) && !path.some(p => p.step === t.status) && t.status !== 'approved'
  const items: Array<{ title: string; status: 'wait' | 'finish' | 'error'; content?: string }> = path.map(p => ({ title: p.title, status: done.has(p.step) ? 'finish' : 'wait', content: done.has(p.step) ? at(done.get(p.step)!) : undefined }))
  if (ended) items.push({ title: STATUS[t.status]?.text ?? t.status, status: 'error', content: t.reason ?? (done.has(t.status) ? at(done.get(t.status)!) : undefined) })
  return <Steps size="small" items={items} />
}

/**
 * Transfers between schools of different nodes: the receiving school requests by
 * ID number or 学籍号 into one of its classes, its bureau sends it; the sending bureau approves
 * (the file is handed over) or rejects; both sides follow each step; the sending school prints the
 * 转学证明 of the approved 转出.
 */
export default function Transfers() {
  const { me } = useSession()
  const { message } = App.useApp()
  const [role, setRole] = useState<string>('')
  const { items, load, act } = useQueue<Transfer>(`/api/v1/transfers${qs({ role })}`)
  const [requesting, setRequesting] = useState(false)
  const [deciding, setDeciding] = useState<Transfer | null>(null)
  // Every transfer shows its steps unless folded (the table's defaultExpandAllRows only sees the first, empty render).
  const [folded, setFolded] = useState<ReadonlySet<string>>(new Set())
  const [classes, setClasses] = useState<Json[]>([])
  const [error, setError] = useState<string | null>(null)
  const [requestForm] = Form.useForm()

  useEffect(() => {
    if (requesting) get('/api/v1/classes?limit=500').then(r => setClasses(r.items), () => setClasses([]))
  }, [requesting])

  const request = async (v: { by: 'idNumber' | 'studentNo'; number: string; targetClassId: string; reason?: string }) => {
    setError(null)
    try {
      await post('/api/v1/transfers', { kind: 'student', [v.by]: v.number.trim().toUpperCase(), targetClassId: v.targetClassId, reason: v.reason || null })
      message.success('转学申请已提交')
      setRequesting(false)
      requestForm.resetFields()
      load()
    } catch (e) {
      setError((e as Error).message)
    }
  }

  const decide = (v: { decision: Decision; approvalDocNo?: string; reason?: string }) =>
    act(v.decision === 'approve' ? '已批准并移交学籍' : '已驳回', async () => {
      if (v.decision === 'approve') await post(`/api/v1/transfers/${deciding!.id}/approve`, deciding!.kind === 'student' ? { approvalDocNo: v.approvalDocNo || null } : {})
      else await post(`/api/v1/transfers/${deciding!.id}/reject`, { reason: v.reason })
      setDeciding(null)
    })

  /** The 转学证明 (HTML of the 转出's certificate route) in a new window to print. */
  const certificate = async (t: Transfer) => {
    const win = window.open('', '_blank')
    try {
      const html = await postForText(`/api/v1/status-changes/${t.statusChangeId}/certificate`)
      win?.location.replace(URL.createObjectURL(new Blob([html], { type: 'text/html' })))
    } catch (e) {
      win?.close()
      message.error((e as Error).message)
    }
  }

  return (
    <Card
      title="转学"
      size="small"
      extra={
        <Space>
          <Select id="transfer-role" value={role} onChange={setRole} style={{ width: 120 }} options={[{ value: '', label: '全部' }, { value: 'receiver', label: '转入' }, { value: 'sender', label: '转出' }]} />
          {can(me, 'status_change:write') && (
            <Button type="primary" id="transfer-new" onClick={() => setRequesting(true)}>
              申请转入
            </Button>
          )}
        </Space>
      }
    >
      <QueueTable
        id="transfer-table"
        items={items}
        expandable={{
          expandedRowRender: t => <TransferSteps t={t} />,
          expandedRowKeys: (items ?? []).map(t => t.id).filter(id => !folded.has(id)),
          onExpand: (open, t) => setFolded(f => new Set([...f].filter(id => id !== t.id).concat(open ? [] : [t.id]))),
        }}
        columns={[
          { title: '方向', dataIndex: 'role', render: r => (r === 'receiver' ? '转入' : '转出') },
          { title: '学生', dataIndex: 'name', render: n => n ?? '—' },
          { title: '转入学校', dataIndex: 'receiverUnitCode' },
          { title: '转出学校', dataIndex: 'senderUnitCode', render: c => c ?? '—' },
          { title: '申请时间', dataIndex: 'createdAt', render: at },
          { title: '状态', dataIndex: 'status', render: s => <Tag color={STATUS[s]?.color}>{STATUS[s]?.text ?? s}</Tag> },
          {
            title: '操作',
            render: (_v, t) => (
              <Space>
                {t.role === 'receiver' && t.status === 'requested' && can(me, 'status_change:approve') && (
                  <Button size="small" type="primary" onClick={() => act('已报送', () => post(`/api/v1/transfers/${t.id}/send`))}>报送</Button>
                )}
                {t.role === 'receiver' && OPEN.has(t.status) && can(me, 'status_change:write') && (
                  <Button size="small" onClick={() => act('已撤回', () => post(`/api/v1/transfers/${t.id}/withdraw`))}>撤回</Button>
                )}
                {t.role === 'sender' && t.status === 'received' && can(me, 'status_change:approve') && (
                  <Button size="small" type="primary" className="xj-transfer-decide" onClick={() => setDeciding(t)}>审批</Button>
                )}
                {t.role === 'sender' && t.status === 'approved' && t.statusChangeId && can(me, 'certificate:issue') && (
                  <Button size="small" onClick={() => certificate(t)}>打印转学证明</Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <Modal title="申请转入" open={requesting} onCancel={() => setRequesting(false)} footer={null} destroyOnHidden>
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 8 }} />}
        <Form form={requestForm} layout="vertical" onFinish={request} initialValues={{ by: 'idNumber' }}>
          <Form.Item name="by" label="按">
            <Radio.Group options={[{ value: 'idNumber', label: '身份证件号' }, { value: 'studentNo', label: '学籍号' }]} />
          </Form.Item>
          <Form.Item name="number" label="号码" rules={[{ required: true, message: '请填写身份证件号或学籍号' }]}>
            <Input id="transfer-number" />
          </Form.Item>
          <Form.Item name="targetClassId" label="转入班级" rules={[{ required: true, message: '请选择转入班级' }]}>
            <Select id="transfer-class" showSearch={{ optionFilterProp: 'label' }} options={classes.map(c => ({ value: c.id, label: c.name }))} />
          </Form.Item>
          <Form.Item name="reason" label="转学原因">
            <Input.TextArea rows={2} />
          </Form.Item>
          <Button type="primary" htmlType="submit" id="transfer-submit">提交申请</Button>
        </Form>
      </Modal>
      <DecisionModal
        title="审批转出"
        open={!!deciding}
        onClose={() => setDeciding(null)}
        onFinish={decide}
        labels={['批准（移交学籍档案）', '驳回']}
        submitId="transfer-decide-submit"
        fields={decision =>
          decision === 'reject' ? (
            <Form.Item label="驳回理由" name="reason" rules={[{ required: true, message: '请填写驳回理由' }]}>
              <Input.TextArea rows={3} />
            </Form.Item>
          ) : deciding?.kind === 'student' ? (
            <Form.Item label="批准文号" name="approvalDocNo">
              <Input id="transfer-doc-no" />
            </Form.Item>
          ) : null
        }
      />
    </Card>
  )
}
