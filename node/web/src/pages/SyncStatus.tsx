import { useEffect, useState } from 'react'
import { Button, Card, Descriptions, Empty, Space, Spin, Table, Tag } from 'antd'
import { get } from '../api.ts'

type Json = Record<string, any>

/** The node's sync state for IT staff: links, lag, queues, quarantined change sets, conflicts and last errors. */
export default function SyncStatus() {
  const [s, setS] = useState<Json | null | undefined>(undefined)
  const load = () => get('/api/v1/sync/status').then(setS, () => setS(null))
  useEffect(() => {
    void load()
  }, [])
  if (s === undefined) return <Spin />
  if (s === null) return <Empty description="无法读取同步状态" />
  const rows = (v: unknown): Json[] => (Array.isArray(v) ? v : [])
  const generic = (items: Json[]) => {
    const keys = [...new Set(items.flatMap(i => Object.keys(i)))]
    return keys.map(k => ({ title: k, dataIndex: k, render: (v: unknown) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : String(v ?? '')) }))
  }
  return (
    <Space direction="vertical" style={{ width: '100%' }}>
      <Card title={`同步状态：${s.node?.name ?? ''}（${s.node?.code ?? ''}）`} size="small" extra={<Button onClick={() => void load()}>刷新</Button>}>
        <Descriptions size="small" bordered column={3}>
          <Descriptions.Item label="上级节点">{s.parent ? JSON.stringify(s.parent) : '无（本节点为根）'}</Descriptions.Item>
          <Descriptions.Item label="待打包变更">{s.outbox?.unpacked ?? 0}</Descriptions.Item>
          <Descriptions.Item label="隔离的变更集">
            <Tag color={s.quarantine?.held ? 'red' : 'green'}>{s.quarantine?.held ?? 0} 个（{s.quarantine?.rows ?? 0} 行）</Tag>
          </Descriptions.Item>
          <Descriptions.Item label="冲突">{rows(s.conflicts).length}</Descriptions.Item>
          <Descriptions.Item label="待执行指令">{s.commands?.toApply ?? 0}</Descriptions.Item>
          <Descriptions.Item label="死亡报告未送达">{s.deathReports?.undelivered ?? 0}</Descriptions.Item>
        </Descriptions>
      </Card>
      {[
        ['上行链路', rows(s.upstream)],
        ['下级节点', rows(s.children)],
        ['已接收', rows(s.applied)],
        ['隔离记录', rows(s.quarantine?.items)],
        ['冲突', rows(s.conflicts)],
        ['偏差', rows(s.drift)],
      ].map(([title, items]) => (
        <Card key={title as string} title={title as string} size="small">
          {(items as Json[]).length === 0 ? <Empty image={Empty.PRESENTED_IMAGE_SIMPLE} description="无" /> : <Table size="small" rowKey={(_r, i) => String(i)} pagination={false} dataSource={items as Json[]} columns={generic(items as Json[])} scroll={{ x: 'max-content' }} />}
        </Card>
      ))}
      <Card title="队列" size="small">
        <Table
          size="small"
          rowKey="queue"
          pagination={false}
          dataSource={Object.entries(s.queues ?? {}).map(([queue, q]) => ({ queue, ...(q as Json) }))}
          columns={[{ title: '队列', dataIndex: 'queue' }, { title: '等待', dataIndex: 'waiting' }, { title: '执行中', dataIndex: 'active' }, { title: '延迟', dataIndex: 'delayed' }, { title: '失败', dataIndex: 'failed' }]}
        />
      </Card>
    </Space>
  )
}
