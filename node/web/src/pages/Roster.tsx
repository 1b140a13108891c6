import { useEffect, useState } from 'react'
import { Button, Card, Space, Spin } from 'antd'
import { get } from '../api.ts'
import { CodeName } from '../codes.tsx'
import { STUDENT_STATE } from '../labels.ts'

type Json = Record<string, any>

/** A class's 花名册 for printing (the print stylesheet hides the app around it). */
export default function Roster({ classId }: { classId: string }) {
  const [klass, setKlass] = useState<Json | null>(null)
  const [students, setStudents] = useState<Json[] | null>(null)
  useEffect(() => {
    get(`/api/v1/classes/${classId}`).then(setKlass, () => setKlass({}))
    const all: Json[] = []
    const page = (offset: number): Promise<void> =>
      get(`/api/v1/students?classId=${classId}&limit=200&offset=${offset}&fields=schoolStudentNo,name,gender,birthDate,ethnicity,studentNo,state`).then(r => {
        all.push(...r.items)
        return all.length < r.total && r.items.length > 0 ? page(all.length) : undefined
      })
    page(0).then(() => setStudents(all.sort((a, b) => String(a.schoolStudentNo ?? a.name).localeCompare(String(b.schoolStudentNo ?? b.name), 'zh-CN'))), () => setStudents([]))
  }, [classId])
  if (!klass || !students) return <Spin />
  return (
    <Card size="small" title={`${klass.name ?? ''} 花名册`} extra={<Space className="xj-no-print"><Button onClick={() => window.print()}>打印</Button></Space>}>
      <h2 className="xj-print-only" style={{ textAlign: 'center' }}>{klass.name} 学生花名册</h2>
      <table className="xj-card-table" id="roster">
        <thead>
          <tr>
            <th>序号</th><th>学号</th><th>姓名</th><th>性别</th><th>出生日期</th><th>民族</th><th>学籍号</th><th>学籍状态</th>
          </tr>
        </thead>
        <tbody>
          {students.map((s, i) => (
            <tr key={s.id}>
              <td>{i + 1}</td>
              <td>{s.schoolStudentNo ?? ''}</td>
              <td>{s.name}</td>
              <td><CodeName table="gender" code={s.gender} /></td>
              <td>{s.birthDate}</td>
              <td><CodeName table="ethnicity" code={s.ethnicity} /></td>
              <td>{s.studentNo}</td>
              <td>{STUDENT_STATE[s.state] ?? s.state}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <p>共 {students.length} 人</p>
    </Card>
  )
}
