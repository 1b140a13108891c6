import { useCallback, useEffect, useState } from 'react'
import { Alert, App, Button, Card, Popconfirm, Select, Space, Table, Tag } from 'antd'
import { get, post, qs, type Reply } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link } from '../router.tsx'

type Plan = Reply<'/api/v1/calendar/rollover', 'get'>
type Unit = Plan['items'][number]

const STATE: Record<string, { text: string; color: string }> = {
  ready: { text: '可以升级', color: 'green' },
  blocked: { text: '有阻碍', color: 'red' },
  done: { text: '已升级', color: 'default' },
}
/** Where a blocker is resolved. */
const RESOLVE: Record<string, { to: string; label: string }> = {
  pending_status_change: { to: '/status-changes', label: '学籍异动' },
  pending_change_request: { to: '/change-requests', label: '修改申请' },
}

/**
 * 学年升级: the dry run per school and kindergarten of this node (the classes that move up
 * or complete, the pupils, the blockers with where to resolve them), for the school year of today
 * or the next; the bureau administrator runs it for all units or one.
 */
export default function Rollover() {
  const { me } = useSession()
  const { message } = App.useApp()
  const [next, setNext] = useState(false)
  const [plan, setPlan] = useState<Plan | null>(null)
  const [failure, setFailure] = useState<string | null>(null)
  const [running, setRunning] = useState<string | null>(null)

  const load = useCallback(() => {
    setPlan(null)
    setFailure(null)
    get<Plan>('/api/v1/calendar/rollover')
      .then(today => (next ? get<Plan>(`/api/v1/calendar/rollover${qs({ schoolYear: today.schoolYear + 1 })}`) : today))
      .then(setPlan, e => setFailure((e as Error).message))
  }, [next])
  useEffect(load, [load])

  const run = async (unit?: Unit) => {
    setRunning(unit?.unitId ?? 'all')
    try {
      const r = await post<Plan>('/api/v1/calendar/rollover', unit ? { schoolId: unit.unitId } : {})
      const done = r.items.filter(i => i.state === 'done').length
      message.success(`学年升级完成：${done} 所已升级，${r.items.filter(i => i.state === 'blocked').length} 所有阻碍`)
      load()
    } catch (e) {
      message.error((e as Error).message)
    } finally {
      setRunning(null)
    }
  }

  const mayRun = can(me, 'calendar:rollover') && !next
  return (
    <Card
      id="rollover-page"
      size="small"
      title={plan ? `学年升级：升入 ${plan.schoolYear}–${plan.schoolYear + 1} 学年（升级日 ${plan.day}，学期 ${plan.term}）` : '学年升级'}
      extra={
        <Space>
          <Select id="rollover-year" showSearch={{ optionFilterProp: 'label' }} value={next} onChange={setNext} style={{ width: 140 }} options={[{ value: false, label: '本学年' }, { value: true, label: '预览下一学年' }]} />
          {mayRun && (
            <Popconfirm title="为所有没有阻碍的学校和幼儿园执行学年升级？" onConfirm={() => run()}>
              <Button type="primary" id="rollover-run" loading={running === 'all'}>
                全部执行
              </Button>
            </Popconfirm>
          )}
        </Space>
      }
    >
      <Alert type="info" showIcon style={{ marginBottom: 12 }} title="以下为预览，不做任何修改。有阻碍的学校（幼儿园）不会升级，须先办结其学籍异动和修改申请、处理休学停学者等。" />
      {failure && <Alert type="error" showIcon title={failure} style={{ marginBottom: 12 }} />}
      <Table
        id="rollover-table"
        size="small"
        rowKey="unitId"
        loading={!plan && !failure}
        dataSource={plan?.items ?? []}
        pagination={{ pageSize: 50 }}
        expandable={{
          rowExpandable: u => u.classes.length > 0,
          expandedRowRender: u => (
            <Table
              size="small"
              rowKey="classId"
              pagination={false}
              dataSource={u.classes}
              columns={[
                { title: '班级', dataIndex: 'name' },
                { title: '升级后', render: (_v, c) => (c.action === 'complete' ? <Tag>{u.kind === 'school' ? '毕业' : '离园'}</Tag> : c.toName) },
                { title: '人数', dataIndex: 'pupils' },
              ]}
            />
          ),
        }}
        columns={[
          { title: '学校（幼儿园）', dataIndex: 'name' },
          { title: '代码', dataIndex: 'unitCode' },
          { title: '状态', dataIndex: 'state', render: (s, u) => <Tag color={STATE[s]?.color}>{STATE[s]?.text ?? s}{u.rolledOn ? ` ${u.rolledOn}` : ''}</Tag> },
          { title: '升级', dataIndex: 'promoted' },
          { title: '毕业（离园）', dataIndex: 'completing' },
          {
            title: '阻碍',
            dataIndex: 'blockers',
            render: (blockers: Unit['blockers']) => (
              <ul style={{ margin: 0, paddingLeft: 16 }}>
                {blockers.map((b, i) => (
                  <li key={i}>
                    {b.message}
                    {RESOLVE[b.code] && (
                      <>
                        {' '}
                        <Link to={RESOLVE[b.code].to}>去处理（{RESOLVE[b.code].label}）</Link>
                      </>
                    )}
                  </li>
                ))}
              </ul>
            ),
          },
          ...(mayRun
            ? [{ title: '操作', key: 'run', render: (_v: unknown, u: Unit) => (u.state === 'ready' ? <Button size="small" loading={running === u.unitId} onClick={() => run(u)}>执行</Button> : null) }]
            : []),
        ]}
      />
    </Card>
  )
}
