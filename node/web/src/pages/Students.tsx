import { useEffect, useState } from 'react'
import { Button, Card, Input, Select, Space, Table, Tag } from 'antd'
import { get, qs, type StudentRow } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link, navigate } from '../router.tsx'
import { STUDENT_STATE, VERIFY_STATE } from '../labels.ts'
import { CodeName } from '../codes.tsx'
import { ExportButton } from '../exporting.tsx'

type Json = Record<string, any>

/** The fields the table shows: a page carries only these (and the id), not whole records. */
const LIST_FIELDS = 'name,gender,birthDate,studentNo,idNumber,classId,state,verifyState'

/** Students within the account's scope: search, filters and server-side pages (a 3,000-student school stays quick). */
export default function Students() {
  const { me } = useSession()
  const [filter, setFilter] = useState<{ q?: string; schoolId?: string; classId?: string; state?: string; verifyState?: string }>({})
  const [page, setPage] = useState({ current: 1, pageSize: 20 })
  const [data, setData] = useState<{ items: StudentRow[]; total: number } | null>(null)
  const [schools, setSchools] = useState<Json[]>([])
  const [classes, setClasses] = useState<Json[]>([])

  useEffect(() => {
    get('/api/v1/schools?limit=500').then(r => setSchools(r.items), () => setSchools([]))
  }, [])
  useEffect(() => {
    get(`/api/v1/classes${qs({ schoolId: filter.schoolId, limit: 500 })}`).then(r => setClasses(r.items), () => setClasses([]))
  }, [filter.schoolId])
  useEffect(() => {
    setData(null)
    const offset = (page.current - 1) * page.pageSize
    get(`/api/v1/students${qs({ ...filter, limit: page.pageSize, offset, fields: LIST_FIELDS })}`).then(setData, () => setData({ items: [], total: 0 }))
  }, [filter, page])

  const set = (k: keyof typeof filter, v: string | undefined) => {
    setPage(p => ({ ...p, current: 1 }))
    setFilter(f => ({ ...f, [k]: v || undefined, ...(k === 'schoolId' ? { classId: undefined } : {}) }))
  }
  const classNames = new Map(classes.map(c => [c.id, c.name]))
  return (
    <Card
      title="学生学籍"
      size="small"
      extra={
        <Space className="xj-no-print">
          {filter.classId && <Button onClick={() => navigate(`/classes/${filter.classId}/roster`)}>花名册</Button>}
          {can(me, 'stats:read') && <ExportButton kind="students" query={filter} />}
          {can(me, 'student:write') && (
            <Button type="primary" onClick={() => navigate(`/students/new${qs({ schoolId: filter.schoolId, classId: filter.classId })}`)}>
              录入学生
            </Button>
          )}
        </Space>
      }
    >
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search id="student-search" allowClear placeholder="姓名、拼音、身份证件号、学籍号" style={{ width: 260 }} onSearch={v => set('q', v.trim())} />
        {schools.length > 1 && (
          <Select id="student-school" allowClear showSearch={{ optionFilterProp: 'label' }} placeholder="学校" style={{ width: 220 }} value={filter.schoolId} onChange={v => set('schoolId', v)} options={schools.map(s => ({ value: s.id, label: s.name }))} />
        )}
        <Select allowClear showSearch={{ optionFilterProp: 'label' }} placeholder="班级" style={{ width: 160 }} value={filter.classId} onChange={v => set('classId', v)} options={classes.map(c => ({ value: c.id, label: c.name }))} />
        <Select allowClear placeholder="学籍状态" style={{ width: 110 }} value={filter.state} onChange={v => set('state', v)} options={Object.entries(STUDENT_STATE).map(([value, label]) => ({ value, label }))} />
        <Select allowClear placeholder="核对状态" style={{ width: 110 }} value={filter.verifyState} onChange={v => set('verifyState', v)} options={Object.entries(VERIFY_STATE).map(([value, v]) => ({ value, label: v.text }))} />
      </Space>
      <Table
        id="students-table"
        size="small"
        rowKey="id"
        loading={!data}
        dataSource={data?.items ?? []}
        scroll={{ x: 900 }}
        pagination={{ ...page, total: data?.total ?? 0, showSizeChanger: true, pageSizeOptions: [20, 50, 100], showTotal: t => `共 ${t} 人`, onChange: (current, pageSize) => setPage({ current, pageSize }) }}
        columns={[
          { title: '姓名', dataIndex: 'name', render: (v, r) => <Link to={`/students/${r.id}`}>{v}</Link> },
          { title: '性别', dataIndex: 'gender', width: 60, render: c => <CodeName table="gender" code={c} /> },
          { title: '出生日期', dataIndex: 'birthDate', width: 110 },
          { title: '学籍号', dataIndex: 'studentNo' },
          { title: '身份证件号', dataIndex: 'idNumber' },
          { title: '班级', dataIndex: 'classId', render: id => classNames.get(id) ?? '' },
          { title: '学籍状态', dataIndex: 'state', width: 90, render: s => STUDENT_STATE[s] ?? s },
          { title: '核对', dataIndex: 'verifyState', width: 90, render: s => <Tag color={VERIFY_STATE[s]?.color}>{VERIFY_STATE[s]?.text ?? s}</Tag> },
        ]}
      />
    </Card>
  )
}
