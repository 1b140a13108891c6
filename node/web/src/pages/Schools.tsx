import { useEffect, useState } from 'react'
import { Card, Input, Table, Tag } from 'antd'
import { get, qs } from '../api.ts'
import { Link } from '../router.tsx'
import { CodeName } from '../codes.tsx'
import { VERIFY_STATE } from '../labels.ts'

type Json = Record<string, any>

/** The schools of the account's scope and, for the chosen school, its classes with their rosters. */
export default function Schools() {
  const [q, setQ] = useState('')
  const [schools, setSchools] = useState<{ items: Json[]; total: number } | null>(null)
  const [page, setPage] = useState(1)
  const [school, setSchool] = useState<Json | null>(null)
  const [classes, setClasses] = useState<Json[] | null>(null)

  useEffect(() => {
    get(`/api/v1/schools${qs({ q, limit: 20, offset: (page - 1) * 20 })}`).then(setSchools, () => setSchools({ items: [], total: 0 }))
  }, [q, page])
  useEffect(() => {
    if (school) get(`/api/v1/classes${qs({ schoolId: school.id, limit: 500 })}`).then(r => setClasses(r.items), () => setClasses([]))
  }, [school])

  const state = (s: string) => <Tag color={VERIFY_STATE[s]?.color}>{VERIFY_STATE[s]?.text ?? s}</Tag>
  return (
    <>
      <Card title="学校" size="small" extra={<Input.Search allowClear placeholder="学校名称、代码" onSearch={v => { setPage(1); setQ(v.trim()) }} style={{ width: 220 }} />}>
        <Table
          size="small"
          rowKey="id"
          loading={!schools}
          dataSource={schools?.items ?? []}
          pagination={{ current: page, pageSize: 20, total: schools?.total ?? 0, onChange: setPage }}
          onRow={r => ({ onClick: () => setSchool(r), style: { cursor: 'pointer' } })}
          columns={[
            { title: '学校代码', dataIndex: 'schoolCode' },
            { title: '学校名称', dataIndex: 'name' },
            { title: '学校类别', dataIndex: 'category', render: c => <CodeName table="school_category" code={c} /> },
            { title: '学生总数', dataIndex: 'studentsTotal' },
            { title: '班级总数', dataIndex: 'classesTotal' },
            { title: '核对', dataIndex: 'verifyState', render: state },
          ]}
        />
      </Card>
      {school && (
        <Card title={`${school.name} 的班级`} size="small" style={{ marginTop: 12 }}>
          <Table
            size="small"
            rowKey="id"
            loading={!classes}
            dataSource={classes ?? []}
            pagination={false}
            columns={[
              { title: '班级代码', dataIndex: 'classCode' },
              { title: '班级名称', dataIndex: 'name' },
              { title: '年级', dataIndex: 'grade' },
              { title: '班主任', dataIndex: 'headTeacher' },
              { title: '核对', dataIndex: 'verifyState', render: state },
              { title: '', dataIndex: 'id', render: id => <Link to={`/classes/${id}/roster`}>花名册</Link> },
            ]}
          />
        </Card>
      )}
    </>
  )
}
