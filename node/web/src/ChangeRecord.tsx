/**
 * 修改 of one field of a record: the record's own PATCH route; when the API refuses it as locked
 * (CALENDAR_RECORD_LOCKED, GROWTH_REPORTED_LOCKED: details.changeRequest names the route) the same
 * change becomes a change request with the applicant's reason.
 */
import { useState } from 'react'
import { Alert, App, Button, Form, Input, Modal, Select } from 'antd'
import { ApiError, patch, post } from './api.ts'
import { FieldItem, cleanValues, showFieldErrors, typedFields } from './fieldform.tsx'
import { navigate } from './router.tsx'

const LOCKS = new Set(['CALENDAR_RECORD_LOCKED', 'GROWTH_REPORTED_LOCKED'])
const APPROVERS: Record<string, string> = { bureau: '教育局', province: '省级教育行政部门' }

export function ChangeRecord({ table, route, id, version, open, onClose, onSaved }: { table: string; route: string; id: string; version: number; open: boolean; onClose: () => void; onSaved: () => void }) {
  const { message } = App.useApp()
  const [form] = Form.useForm()
  const [key, setKey] = useState<string | undefined>()
  const [locked, setLocked] = useState<{ message: string; approvals: string[]; patch: Record<string, unknown> } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const fields = typedFields(table)
  const field = fields.find(f => f.key === key)

  const close = () => {
    setKey(undefined)
    setLocked(null)
    setError(null)
    form.resetFields()
    onClose()
  }

  const save = async (v: Record<string, unknown>) => {
    setError(null)
    if (locked) {
      try {
        await post('/api/v1/change-requests', { table, id, version, patch: locked.patch, reason: v.reason })
        message.success('修改申请已提交，等待审批')
        close()
        navigate('/change-requests')
      } catch (e) {
        setError((e as Error).message)
      }
      return
    }
    const change = cleanValues({ [key!]: v[key!] })
    try {
      await patch(`${route}/${id}`, { version, ...change })
      message.success('已修改')
      close()
      onSaved()
    } catch (e) {
      if (e instanceof ApiError && LOCKS.has(e.code)) setLocked({ message: e.message, approvals: (e.details?.approvals as string[] | undefined) ?? ['bureau'], patch: change })
      else setError(showFieldErrors(form, e))
    }
  }

  return (
    <Modal title={locked ? '记录已锁定：申请修改' : '修改'} open={open} onCancel={close} footer={null} destroyOnHidden>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 8 }} />}
      <Form form={form} layout="vertical" onFinish={save} id="change-record">
        <Form.Item label="要修改的项目">
          <Select id="change-record-field" showSearch={{ optionFilterProp: 'label' }} disabled={!!locked} value={key} onChange={setKey} options={fields.map(f => ({ value: f.key, label: f.label }))} />
        </Form.Item>
        {field && (
          <fieldset disabled={!!locked} style={{ border: 0, padding: 0, margin: 0 }}>
            <FieldItem field={field} prefix="change-" />
          </fieldset>
        )}
        {locked && (
          <>
            <Alert
              id="change-record-locked"
              type="warning"
              showIcon
              style={{ marginBottom: 8 }}
              title={locked.message}
              description={`须提交修改申请，经${locked.approvals.map(a => APPROVERS[a] ?? a).join('、')}批准后修改。`}
            />
            <Form.Item label="申请原因" name="reason" rules={[{ required: true, message: '请填写申请原因' }]}>
              <Input.TextArea id="change-record-reason" rows={3} />
            </Form.Item>
          </>
        )}
        <Button type="primary" htmlType="submit" disabled={!field} id="change-record-submit">
          {locked ? '提交修改申请' : '保存'}
        </Button>
      </Form>
    </Modal>
  )
}
