import { useState } from 'react'
import { Button, Card, Form, Input, Select, Space, Tag } from 'antd'
import { post, type StatusChange } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link } from '../router.tsx'
import { CodeName } from '../codes.tsx'
import { PROCESSING, VERIFY_STATE } from '../labels.ts'
import { DecisionModal, QueueTable, useQueue, type Decision } from '../queue.tsx'

const STATUS_FILTER = [
  { value: 'open', label: '未办结' },
  { value: 'applied', label: '已申请' },
  { value: 'approved', label: '已批准' },
  { value: 'rejected', label: '未批准' },
  { value: 'carried_out', label: '已办理' },
  { value: 'withdrawn', label: '已撤回' },
]

/**
 * The status-change queue with each application's age and deadlines: the school's leader verifies,
 * the bureau reviews (批准 / 不批准, a student's with the approval document number: a child's
 * change keeps none) and carries out; the school withdraws its own open applications.
 */
export default function StatusChanges() {
  const { me } = useSession()
  const [status, setStatus] = useState('open')
  const { items, act } = useQueue<StatusChange>(`/api/v1/status-changes?status=${status}`)
  const [reviewing, setReviewing] = useState<StatusChange | null>(null)

  const review = (v: { decision: Decision; approvalDocNo?: string; reason?: string }) =>
    act(v.decision === 'approve' ? '已批准' : '已不予批准', async () => {
      await post(`/api/v1/status-changes/${reviewing!.id}/review`, {
        version: reviewing!.version,
        decision: v.decision,
        ...(reviewing!.kind === 'student' ? { approvalDocNo: v.approvalDocNo || null } : {}),
        reason: v.reason || null,
      })
      setReviewing(null)
    })

  return (
    <Card title="学籍异动" size="small" extra={<Select value={status} onChange={setStatus} options={STATUS_FILTER} style={{ width: 120 }} />}>
      <QueueTable
        id="status-change-table"
        items={items}
        columns={[
          { title: '学生', dataIndex: 'studentId', render: (sid, r) => (r.kind === 'student' ? <Link to={`/students/${sid}`}>查看</Link> : '幼儿') },
          { title: '异动类别', dataIndex: 'changeType', render: c => <CodeName table="status_change_type" code={c} /> },
          { title: '异动日期', dataIndex: 'changeDate' },
          { title: '原因', dataIndex: 'reason' },
          { title: '申请日期', dataIndex: 'appliedOn' },
          { title: '已等待', dataIndex: 'ageWorkingDays', render: d => (d === null ? '' : `${d} 个工作日`) },
          { title: '审核期限', render: (_v, r) => <span>{r.deadlines.reviewBy}{r.overdue && <Tag color="red" style={{ marginLeft: 4 }}>逾期</Tag>}</span> },
          { title: '学校核对', dataIndex: 'verifyState', render: s => <Tag color={VERIFY_STATE[s ?? '']?.color}>{VERIFY_STATE[s ?? '']?.text ?? s}</Tag> },
          { title: '处理状态', dataIndex: 'processingStatus', render: s => PROCESSING[s ?? ''] ?? s },
          {
            title: '操作',
            render: (_v, r) => (
              <Space>
                {can(me, 'status_change:verify') && r.verifyState === 'entered' && (
                  <Button size="small" onClick={() => act('已核对', () => post(`/api/v1/verification/${r.kind}_status_changes/${r.id}/verify`))}>核对</Button>
                )}
                {can(me, 'status_change:approve') && r.processingStatus === '1' && (r.verifyState === 'verified'
                  ? <Button size="small" type="primary" onClick={() => setReviewing(r)} className="xj-review">审批</Button>
                  : <Tag>待校领导核对</Tag>)}
                {can(me, 'status_change:approve') && r.processingStatus === '3' && (
                  <Button size="small" onClick={() => act('已办理', () => post(`/api/v1/status-changes/${r.id}/carry-out`, { version: r.version }))}>办理</Button>
                )}
                {can(me, 'status_change:write') && r.processingStatus === '1' && (
                  <Button size="small" danger onClick={() => act('已撤回', () => post(`/api/v1/status-changes/${r.id}/withdraw`, { version: r.version }))}>撤回</Button>
                )}
              </Space>
            ),
          },
        ]}
      />
      <DecisionModal
        title="审批学籍异动"
        open={!!reviewing}
        onClose={() => setReviewing(null)}
        onFinish={review}
        submitId="review-submit"
        fields={() => (
          <>
            {reviewing?.kind === 'student' && (
              <Form.Item name="approvalDocNo" label="批准文号">
                <Input id="approval-doc-no" />
              </Form.Item>
            )}
            <Form.Item name="reason" label="理由">
              <Input.TextArea rows={2} />
            </Form.Item>
          </>
        )}
      />
    </Card>
  )
}
