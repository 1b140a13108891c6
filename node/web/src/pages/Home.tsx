import { useCallback, useEffect, useState } from 'react'
import { App, Button, Card, Col, Empty, Row, Table, Tag } from 'antd'
import { get, post, type StatusChange } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link } from '../router.tsx'
import { DEADLINE_STATE, PROCESSING, TABLE_NAMES } from '../labels.ts'
import { CodeName } from '../codes.tsx'

type Json = Record<string, any>

/** The signed-in role's work: what waits for it, what is late, and what must be acknowledged. */
export default function Home() {
  const { me } = useSession()
  const { message } = App.useApp()
  const [queue, setQueue] = useState<Json[] | null>(null)
  const [changes, setChanges] = useState<StatusChange[] | null>(null)
  const [deaths, setDeaths] = useState<Json[] | null>(null)
  const [alerts, setAlerts] = useState<Json[] | null>(null)
  const [deadlines, setDeadlines] = useState<Json[] | null>(null)
  const [problems, setProblems] = useState<Json[] | null>(null)
  const verifier = can(me, 'student:verify') || can(me, 'class:verify') || can(me, 'school:verify') || can(me, 'unit:verify')
  const workflow = can(me, 'status_change:write') || can(me, 'status_change:approve') || can(me, 'status_change:verify')

  const load = useCallback(() => {
    if (verifier) get('/api/v1/verification/queue?state=entered').then(r => setQueue(r.items), () => setQueue([]))
    if (workflow) get('/api/v1/status-changes').then(r => setChanges(r.items), () => setChanges([]))
    if (can(me, 'status_change:approve')) {
      get('/api/v1/death-reports?status=unacknowledged').then(r => setDeaths(r.items), () => setDeaths([]))
      get('/api/v1/status-changes/alerts').then(r => setAlerts(r.items), () => setAlerts([]))
    }
    if (can(me, 'school:read')) get('/api/v1/calendar/deadlines').then(r => setDeadlines(r.items), () => setDeadlines([]))
    if (can(me, 'student:read')) get('/api/v1/problems?status=open').then(r => setProblems(r.items), () => setProblems([]))
  }, [me, verifier, workflow])
  useEffect(load, [load])

  const acknowledge = async (id: string) => {
    try {
      await post(`/api/v1/death-reports/${id}/acknowledge`)
      message.success('已确认')
      load()
    } catch (e) {
      message.error((e as Error).message)
    }
  }

  return (
    <Row gutter={[12, 12]}>
      {verifier && (
        <Col span={24} xl={12}>
          <Card title={`待核对（${queue?.length ?? '…'}）`} size="small" id="verification-queue">
            <Table
              size="small"
              rowKey="id"
              loading={!queue}
              dataSource={queue ?? []}
              pagination={{ pageSize: 8 }}
              columns={[
                { title: '类别', dataIndex: 'table', render: t => TABLE_NAMES[t] ?? t },
                { title: '录入时间', dataIndex: 'enteredAt', render: v => (v ? new Date(v).toLocaleString('zh-CN', { timeZone: 'Asia/Shanghai' }) : '') },
                { title: '', dataIndex: 'id', render: (id, r) => (r.table === 'students' ? <Link to={`/students/${id}`}>核对</Link> : null) },
              ]}
            />
          </Card>
        </Col>
      )}
      {workflow && (
        <Col span={24} xl={12}>
          <Card title={`学籍异动待办（${changes?.length ?? '…'}）`} size="small" extra={<Link to="/status-changes">全部</Link>}>
            <Table
              size="small"
              rowKey="id"
              loading={!changes}
              dataSource={changes ?? []}
              pagination={{ pageSize: 8 }}
              columns={[
                { title: '异动类别', dataIndex: 'changeType', render: c => <CodeName table="status_change_type" code={c} /> },
                { title: '状态', dataIndex: 'processingStatus', render: s => PROCESSING[s] ?? s },
                { title: '已等待', dataIndex: 'ageWorkingDays', render: d => (d === null ? '' : `${d} 个工作日`) },
                { title: '审核期限', render: (_v, r) => <span>{r.deadlines.reviewBy}{r.overdue && <Tag color="red" style={{ marginLeft: 4 }}>逾期</Tag>}</span> },
              ]}
            />
          </Card>
        </Col>
      )}
      {deaths && (
        <Col span={24} xl={12}>
          <Card title={`死亡报告待确认（${deaths.length}）`} size="small" id="death-reports">
            {deaths.length === 0 ? (
              <Empty description="没有待确认的报告" />
            ) : (
              <Table
                size="small"
                rowKey="id"
                dataSource={deaths}
                pagination={false}
                columns={[
                  { title: '姓名', dataIndex: 'name' },
                  { title: '报告单位', dataIndex: 'origin' },
                  { title: '死亡日期', dataIndex: 'eventDate' },
                  { title: '', dataIndex: 'id', render: id => <Button size="small" onClick={() => acknowledge(id)}>确认</Button> },
                ]}
              />
            )}
          </Card>
        </Col>
      )}
      {alerts && alerts.length > 0 && (
        <Col span={24} xl={12}>
          <Card title={`逾期提醒（${alerts.length}）`} size="small">
            <Table size="small" rowKey="id" dataSource={alerts} pagination={false} columns={[
              { title: '学校', dataIndex: 'schoolCode' },
              { title: '期限', dataIndex: 'deadline' },
              { title: '提出时间', dataIndex: 'raisedAt', render: v => new Date(v).toLocaleDateString('zh-CN', { timeZone: 'Asia/Shanghai' }) },
            ]} />
          </Card>
        </Col>
      )}
      {deadlines && deadlines.length > 0 && (
        <Col span={24}>
          <Card title="录入进度与期限" size="small">
            <Table
              size="small"
              rowKey="schoolId"
              dataSource={deadlines}
              pagination={{ pageSize: 10 }}
              columns={[
                { title: '学校', dataIndex: 'name' },
                ...(['newStudents', 'completions'] as const).map(k => ({
                  title: k === 'newStudents' ? '新生信息（录入/核对，截止）' : '毕业结业信息（录入/核对，截止）',
                  dataIndex: k,
                  render: (v: Json) => (
                    <span>
                      {v.entered}/{v.verified}，{v.deadline}（{v.daysLeft >= 0 ? `剩 ${v.daysLeft} 天` : `已过 ${-v.daysLeft} 天`}） <Tag color={DEADLINE_STATE[v.state]?.color}>{DEADLINE_STATE[v.state]?.text ?? v.state}</Tag>
                    </span>
                  ),
                })),
              ]}
            />
          </Card>
        </Col>
      )}
      {problems && problems.length > 0 && (
        <Col span={24} xl={12}>
          <Card title={`查重问题（${problems.length}）`} size="small">
            <Table size="small" rowKey="id" dataSource={problems} pagination={{ pageSize: 8 }} columns={[
              { title: '类别', dataIndex: 'kind' },
              { title: '学校', dataIndex: 'schoolCode' },
              { title: '重复记录所在学校', dataIndex: 'otherSchoolCode', render: (code, r) => (code && code !== r.schoolCode ? code : '') },
              // A school sees the problems that name its own student: the record of the other school is not its to read.
              { title: '记录', dataIndex: 'subjectId', render: (id, r) => {
                const own = me.scope.kind === 'schools' && !me.scope.schools.includes(r.schoolCode) ? r.otherId : id
                return r.subjectTable === 'students' ? <Link to={`/students/${own}`}>查看</Link> : own
              } },
            ]} />
          </Card>
        </Col>
      )}
    </Row>
  )
}
