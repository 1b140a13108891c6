/**
 * What the workflow queues share (学籍异动, 修改申请, 转学): the list of one API route, loaded again
 * after each action; its table; and the 批准 / 不批准 form of one item.
 */
import { useCallback, useEffect, useState, type ReactNode } from 'react'
import { App, Button, Form, Modal, Radio, Table, type TableProps } from 'antd'
import { get } from './api.ts'

/** The items of `url` (`{items}`), `load` to read them again, and `act`: an action, its message, then a reload. */
export function useQueue<T>(url: string) {
  const { message } = App.useApp()
  const [items, setItems] = useState<T[] | null>(null)
  const load = useCallback(() => {
    setItems(null)
    get(url).then(r => setItems(r.items), () => setItems([]))
  }, [url])
  useEffect(load, [load])
  const act = async (what: string, fn: () => Promise<unknown>) => {
    try {
      await fn()
      message.success(what)
      load()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  return { items, load, act }
}

/** A queue's table: pages of 20, a spinner until the items arrive. */
export function QueueTable<T extends object>({ id, items, columns, expandable }: { id: string; items: T[] | null; columns: TableProps<T>['columns']; expandable?: TableProps<T>['expandable'] }) {
  return <Table<T> id={id} size="small" rowKey="id" loading={!items} dataSource={items ?? []} scroll={{ x: 1000 }} pagination={{ pageSize: 20 }} expandable={expandable} columns={columns} />
}

export type Decision = 'approve' | 'reject'

/** The decision on one item: 批准 or 不批准 (the labels may say more), then the fields that decision asks for. */
export function DecisionModal<V extends { decision: Decision }>({ title, open, onClose, onFinish, labels = ['批准', '不批准'], fields, submitId }: {
  title: string
  open: boolean
  onClose: () => void
  onFinish: (v: V) => unknown
  labels?: [string, string]
  fields: (decision: Decision) => ReactNode
  submitId: string
}) {
  const [form] = Form.useForm()
  return (
    <Modal title={title} open={open} onCancel={onClose} footer={null} destroyOnHidden>
      <Form form={form} layout="vertical" onFinish={onFinish} initialValues={{ decision: 'approve' }}>
        <Form.Item name="decision" label="审批意见">
          <Radio.Group options={[{ value: 'approve', label: labels[0] }, { value: 'reject', label: labels[1] }]} />
        </Form.Item>
        <Form.Item noStyle shouldUpdate>
          {() => fields(form.getFieldValue('decision'))}
        </Form.Item>
        <Button type="primary" htmlType="submit" id={submitId}>
          提交
        </Button>
      </Form>
    </Modal>
  )
}
