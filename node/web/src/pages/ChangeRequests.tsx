import { useState } from 'react'
import { Button, Card, Form, Input, Select, Space, Tag, Timeline } from 'antd'
import { post, qs, type Reply } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link } from '../router.tsx'
import { FIELDS } from '../../../records/fields.ts'
import { DecisionModal, QueueTable, useQueue, type Decision } from '../queue.tsx'

type ChangeRequest = Reply<'/api/v1/change-requests', 'get'>['items'][number]

const STATUS: Record<string, { text: string; color: string }> = {
  pending_bureau: { text: '待教育局审批', color: 'orange' },
  pending_province: { text: '待省级审批', color: 'orange' },
  carried_out: { text: '已修改', color: 'green' },
  rejected: { text: '未批准', color: 'red' },
  withdrawn: { text: '已撤回', color: 'default' },
  failed: { text: '未能修改', color: 'red' },
}
const STEP: Record<string, string> = { apply: '申请', bureau: '教育局审批', province: '省级审批', carry_out: '修改完成', withdraw: '撤回', fail: '未能修改' }
const STATUS_FILTER = [{ value: 'open', label: '未办结' }, ...Object.entries(STATUS).map(([value, s]) => ({ value, label: s.text })), { value: 'all', label: '全部' }]

/** The label of a field of a table of records/fields.ts, else the key itself. */
const fieldLabel = (table: string, key: string) => (FIELDS[table] ?? []).find(f => f.key === key)?.label ?? key

/**
 * Change requests for locked records (R-22.5, R-24.2), applied for from the record's 修改 when the
 * API refuses it as locked (ChangeRecord.tsx): the queue with each request's chain of decisions,
 * the bureau approves or rejects with a reason, the applicant withdraws while it is open.
 */
export default function ChangeRequests() {
  const { me } = useSession()
  const [status, setStatus] = useState('open')
  const { items, act } = useQueue<ChangeRequest>(`/api/v1/change-requests${qs({ status })}`)
  const [deciding, setDeciding] = useState<ChangeRequest | null>(null)

  const decide = (v: { decision: Decision; reason?: string }) =>
    act(v.decision === 'approve' ? '已批准' : '已不予批准', async () => {
      await post(`/api/v1/change-requests/${deciding!.id}/decide`, { version: deciding!.version, decision: v.decision, reason: v.reason || null })
      setDeciding(null)
    })

  return (
    <Card title="修改申请" size="small" extra={<Select id="change-request-status" value={status} onChange={setStatus} options={STATUS_FILTER} style={{ width: 140 }} />}>
      <QueueTable
        id="change-request-table"
        items={items}
        expandable={{
          expandedRowRender: r => (
            <Timeline
              items={r.decisions.map(d => ({
                color: d.decision === 'reject' || d.step === 'fail' ? 'red' : 'green',
                content: `${STEP[d.step] ?? d.step}${d.decision ? (d.decision === 'approve' ? '：批准' : '：不批准') : ''} · ${new Date(d.at).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' })}${d.reason ? ` · ${d.reason}` : ''}`,
              }))}
            />
          ),
        }}
        columns={[
          { title: '学生', dataIndex: 'personId', render: (id, r) => (r.personTable === 'students' ? <Link to={`/students/${id}`}>查看</Link> : '幼儿') },
          { title: '修改内容', dataIndex: 'patch', render: (p, r) => Object.entries(p as Record<string, unknown>).map(([k, v]) => `${fieldLabel(r.subjectTable, k)}：${v === null ? '（空）' : String(v)}`).join('；') },
          { title: '原因', dataIndex: 'reason' },
          { title: '申请日期', dataIndex: 'appliedOn' },
          { title: '已等待', dataIndex: 'ageWorkingDays', render: d => (d === null ? '' : `${d} 个工作日`) },
          { title: '审批期限', render: (_v, r) => <span>{r.deadline}{r.overdue && <Tag color="red" style={{ marginLeft: 4 }}>逾期</Tag>}</span> },
          { title: '状态', dataIndex: 'status', render: (s, r) => <Tag color={STATUS[s]?.color}>{STATUS[s]?.text ?? s}{r.failureMessage ? `：${r.failureMessage}` : ''}</Tag> },
          {
            title: '操作',
            render: (_v, r) => (
              <Space>
                {can(me, 'change_request:approve') && (r.status === 'pending_bureau' || r.status === 'pending_province') && !r.decisionSent && (
                  <Button size="small" type="primary" className="xj-decide" onClick={() => setDeciding(r)}>审批</Button>
                )}
                {can(me, 'change_request:write') && (r.status === 'pending_bureau' || r.status === 'pending_province') && (
                  <Button size="small" onClick={() => act('已撤回', () => post(`/api/v1/change-requests/${r.id}/withdraw`, { version: r.version }))}>撤回</Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <DecisionModal
        title="审批修改申请"
        open={!!deciding}
        onClose={() => setDeciding(null)}
        onFinish={decide}
        submitId="change-request-decide"
        fields={decision => (
          <Form.Item label="理由" name="reason" rules={[{ required: decision === 'reject', message: '不批准须填写理由' }]}>
            <Input.TextArea id="change-request-reason" rows={3} />
          </Form.Item>
        )}
      />
    </Card>
  )
}
