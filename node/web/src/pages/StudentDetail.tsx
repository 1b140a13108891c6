import { useCallback, useEffect, useState } from 'react'
import { Alert, App, Button, Card, Descriptions, Form, Input, Modal, Result, Space, Spin, Tag, Typography } from 'antd'
import { ApiError, get, post, type Student } from '../api.ts'
import { can, useSession } from '../session.ts'
import { navigate } from '../router.tsx'
import { FIELDS } from '../../../records/fields.ts'
import { STUDENT_STATE, VERIFY_STATE } from '../labels.ts'
import { FieldItem, cleanValues, showFieldErrors } from '../fieldform.tsx'
import { ChangeRecord } from '../ChangeRecord.tsx'
import { STUDENT_SUBRECORDS, SubRecordSection, Value, revealable } from '../records.tsx'

type Json = Record<string, any>

/**
 * One student's 学籍卡: every field and sub-record, the verification state with the verifier's
 * actions, sensitive fields masked with 显示, a status-change application, and printing.
 */
export default function StudentDetail({ id }: { id: string }) {
  const { me } = useSession()
  const { message } = App.useApp()
  const [student, setStudent] = useState<Student | null | undefined>(undefined)
  const [revealed, setRevealed] = useState<Json>({})
  const [returning, setReturning] = useState(false)
  const [applying, setApplying] = useState(false)
  const [changing, setChanging] = useState(false)
  const [applyForm] = Form.useForm()
  const [applyError, setApplyError] = useState<string | null>(null)

  const load = useCallback(() => {
    get<Student>(`/api/v1/students/${id}`).then(setStudent, () => setStudent(null))
  }, [id])
  useEffect(load, [load])

  if (student === undefined) return <Spin />
  if (student === null) return <Result status="404" title="没有找到该学生，或不在您的权限范围内" />
  const s = student as Json

  const reveal = async (field: string) => {
    try {
      const r = await post(`/api/v1/reveal/students/${id}`, { fields: [field] })
      setRevealed(v => ({ ...v, ...r.values }))
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const verify = async () => {
    try {
      await post(`/api/v1/verification/students/${id}/verify`)
      message.success('已审核通过')
      load()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const giveBack = async (v: { reason: string }) => {
    try {
      await post(`/api/v1/verification/students/${id}/return`, { reason: v.reason })
      setReturning(false)
      message.success('已退回')
      load()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const apply = async (v: Json) => {
    setApplyError(null)
    try {
      await post(`/api/v1/students/${id}/status-changes`, cleanValues(v))
      setApplying(false)
      applyForm.resetFields()
      message.success('异动申请已提交')
      load()
    } catch (e) {
      setApplyError(showFieldErrors(applyForm, e) ?? (e instanceof ApiError ? e.message : '请按提示修改'))
    }
  }

  const fields = (FIELDS.students ?? []).filter(f => f.kind !== 'edition' && f.kind !== 'ref')
  const vs = VERIFY_STATE[s.verifyState]
  const applyFields = (FIELDS.student_status_changes ?? []).filter(f => ['changeType', 'changeDate', 'reason', 'deathDate', 'deathCause', 'responsibility', 'reviewOpinion', 'documentNos'].includes(f.key))
  return (
    <Card
      size="small"
      id="student-card"
      title={
        <Space>
          <span>学籍卡：{s.name}</span>
          <Tag color={vs?.color} id="verify-state">{vs?.text ?? s.verifyState}</Tag>
          <Tag>{STUDENT_STATE[s.state] ?? s.state}</Tag>
        </Space>
      }
      extra={
        <Space className="xj-no-print">
          {can(me, 'student:verify') && s.verifyState === 'entered' && (
            <>
              <Button type="primary" onClick={verify} id="verify-ok">
                审核通过
              </Button>
              <Button danger onClick={() => setReturning(true)}>
                退回
              </Button>
            </>
          )}
          {can(me, 'student:write') && <Button id="change-record-open" onClick={() => setChanging(true)}>修改</Button>}
          {can(me, 'status_change:write') && s.state !== 'deceased' && <Button onClick={() => setApplying(true)}>申请学籍异动</Button>}
          <Button onClick={() => window.print()}>打印学籍卡</Button>
          {me.role !== 'student' && <Button onClick={() => navigate('/students')}>返回</Button>}
        </Space>
      }
    >
      {s.verifyState === 'returned' && s.returnReason && <Alert type="warning" showIcon title={`退回原因：${s.returnReason}`} style={{ marginBottom: 8 }} />}
      <Typography.Title level={4} className="xj-print-only" style={{ textAlign: 'center' }}>
        学生学籍卡
      </Typography.Title>
      <Descriptions size="small" bordered column={{ xs: 1, sm: 2, lg: 3 }} id="student-fields">
        {fields.map(f => (
          <Descriptions.Item key={f.key} label={f.label}>
            <Value field={f} value={f.key in revealed ? revealed[f.key] : s[f.key]} />
            {!(f.key in revealed) && revealable(me, 'students', f.key, s[f.key]) && (
              <Button type="link" size="small" className="xj-no-print" onClick={() => reveal(f.key)}>
                显示
              </Button>
            )}
          </Descriptions.Item>
        ))}
      </Descriptions>
      {STUDENT_SUBRECORDS.map(r => (
        <SubRecordSection key={r.key} spec={r} ownerRoute={`/api/v1/students/${id}`} rows={([] as Json[]).concat(s[r.key] ?? [])} write={can(me, 'student:write')} onChanged={load} />
      ))}
      <Modal title="退回（须写明原因）" open={returning} onCancel={() => setReturning(false)} footer={null} destroyOnHidden>
        <Form onFinish={giveBack} layout="vertical">
          <Form.Item name="reason" label="退回原因" rules={[{ required: true, message: '请填写退回原因' }]}>
            <Input.TextArea id="return-reason" rows={3} />
          </Form.Item>
          <Button type="primary" htmlType="submit">
            退回
          </Button>
        </Form>
      </Modal>
      <ChangeRecord table="students" route="/api/v1/students" id={s.id} version={s.version} open={changing} onClose={() => setChanging(false)} onSaved={load} />
      <Modal title="申请学籍异动" open={applying} onCancel={() => setApplying(false)} footer={null} width={640} destroyOnHidden>
        {applyError && <Alert type="error" showIcon title={applyError} style={{ marginBottom: 8 }} />}
        <Form form={applyForm} onFinish={apply} layout="vertical" size="small">
          {applyFields.map(f => (
            <FieldItem key={f.key} field={f} prefix="apply-" />
          ))}
          <Button type="primary" htmlType="submit" id="apply-submit">
            提交申请
          </Button>
        </Form>
      </Modal>
    </Card>
  )
}
