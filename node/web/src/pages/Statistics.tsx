import { useEffect, useMemo, useState } from 'react'
import { Breadcrumb, Card, Col, Empty, Row, Select, Space, Spin, Table } from 'antd'
import { get, qs } from '../api.ts'
import { BarChart } from '../chart.tsx'
import { ExportButton } from '../exporting.tsx'

type Json = Record<string, any>

const SUBJECTS = [
  { value: 'students', label: '学生' },
  { value: 'children', label: '幼儿' },
  { value: 'school-teachers', label: '学校教师' },
  { value: 'kindergarten-teachers', label: '幼儿园教师' },
]

/**
 * Counts within the account's scope by one dimension, as a chart and a table, with the next
 * tier's units below: a click on a unit drills into it (province → city → county → school).
 */
export default function Statistics() {
  const [dimensions, setDimensions] = useState<Record<string, Array<{ key: string; label: string }>>>({})
  const [subject, setSubject] = useState('students')
  const [by, setBy] = useState('grade')
  const [path, setPath] = useState<Array<{ unit: string; name: string }>>([])
  const [data, setData] = useState<Json | null | undefined>(undefined)
  const unit = path.at(-1)?.unit

  useEffect(() => {
    get('/api/v1/statistics/dimensions').then(setDimensions, () => setDimensions({}))
  }, [])
  useEffect(() => {
    setData(undefined)
    get(`/api/v1/statistics/${subject}${qs({ by, unit, drill: true })}`).then(setData, () => setData(null))
  }, [subject, by, unit])

  const dims = dimensions[subject] ?? []
  const labels = useMemo(() => (data?.rows ?? []).map((r: Json) => r.label), [data])
  const values = useMemo(() => (data?.rows ?? []).map((r: Json) => r.count), [data])
  return (
    <Card
      title="统计分析"
      size="small"
      extra={
        <Space className="xj-no-print">
          <Select value={subject} options={SUBJECTS} style={{ width: 120 }} onChange={v => { setSubject(v); setBy(dimensions[v]?.[0]?.key ?? 'gender'); setPath([]) }} />
          <Select value={by} options={dims.map(d => ({ value: d.key, label: d.label }))} style={{ width: 200 }} onChange={setBy} id="stats-by" />
          <ExportButton kind="statistics" query={{ subject, by, unit, drill: true }} />
        </Space>
      }
    >
      <Breadcrumb
        style={{ marginBottom: 8 }}
        items={[{ title: <a onClick={() => setPath([])}>{data?.scope && path.length === 0 ? data.scope.name : '本级'}</a> }, ...path.map((p, i) => ({ title: <a onClick={() => setPath(path.slice(0, i + 1))}>{p.name}</a> }))]}
      />
      {data === undefined ? (
        <Spin />
      ) : data === null ? (
        <Empty description="无法读取统计数据" />
      ) : (
        <Row gutter={12}>
          <Col span={24} xl={14}>
            <BarChart labels={labels} values={values} title={`${data.scope?.name ?? ''} ${data.label}（合计 ${data.total}）`} />
          </Col>
          <Col span={24} xl={10}>
            <Table
              id="stats-table"
              size="small"
              rowKey="key"
              pagination={false}
              dataSource={data.rows}
              columns={[
                { title: data.label, dataIndex: 'label' },
                { title: '人数', dataIndex: 'count', align: 'right' },
              ]}
              summary={() => (
                <Table.Summary.Row>
                  <Table.Summary.Cell index={0}>合计</Table.Summary.Cell>
                  <Table.Summary.Cell index={1} align="right">
                    <span id="stats-total">{data.total}</span>
                  </Table.Summary.Cell>
                </Table.Summary.Row>
              )}
            />
          </Col>
          {data.units?.length > 0 && (
            <Col span={24} style={{ marginTop: 12 }}>
              <Table
                id="stats-units"
                size="small"
                rowKey="unit"
                pagination={false}
                dataSource={data.units}
                scroll={{ x: 'max-content' }}
                columns={[
                  { title: '下级单位', dataIndex: 'name', render: (n, u) => <a onClick={() => setPath([...path, { unit: u.unit, name: n }])}>{n}</a> },
                  { title: '合计', dataIndex: 'total', align: 'right' },
                  ...(data.rows as Json[]).map(r => ({ title: r.label, key: r.key, align: 'right' as const, render: (_v: unknown, u: Json) => u.counts?.[r.key] ?? 0 })),
                ]}
              />
            </Col>
          )}
        </Row>
      )}
    </Card>
  )
}
