import { useCallback, useEffect, useState } from 'react'
import { Alert, App, Button, Card, Form, Input, Modal, Select, Switch, Table, Tag } from 'antd'
import { get, patch, post } from '../api.ts'
import { ROLE_NAMES, useSession } from '../session.ts'

type Json = Record<string, any>

function scopeText(s: Json): string {
  switch (s.kind) {
    case 'bureau':
      return `本级及下级（${s.node}）`
    case 'schools':
      return `学校 ${s.schools.join('、')}`
    case 'classes':
      return `学校 ${s.school} 的 ${s.classes.length} 个班级`
    default:
      return `学生本人（${s.school}）`
  }
}

/** Accounts within the administrator's scope: list, create (roles it may create), disable, unlock. */
export default function Accounts() {
  const { me } = useSession()
  const { message } = App.useApp()
  const [accounts, setAccounts] = useState<Json[] | null>(null)
  const [creating, setCreating] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const [form] = Form.useForm()
  const role = Form.useWatch('role', form)
  const load = useCallback(() => {
    get('/api/v1/accounts').then(r => setAccounts(r.accounts), () => setAccounts([]))
  }, [])
  useEffect(load, [load])

  const create = async (v: Json) => {
    setError(null)
    const list = (x: string | undefined) => (x ?? '').split(/[,，\s]+/).filter(Boolean)
    const scope =
      v.role === 'bureau_user' ? { kind: 'bureau', node: me.scope.kind === 'bureau' ? me.scope.node : '' }
      : ['central_school_admin', 'school_admin'].includes(v.role) ? { kind: 'schools', schools: list(v.schools) }
      : v.role === 'student' ? { kind: 'student', school: v.school, studentId: v.studentId }
      : { kind: 'classes', school: v.school, classes: list(v.classes) }
    try {
      await post('/api/v1/accounts', { username: v.username, password: v.password, role: v.role, scope, leader: !!v.leader })
      setCreating(false)
      form.resetFields()
      message.success('账号已创建')
      load()
    } catch (e) {
      setError((e as Error).message)
    }
  }
  const change = async (write: () => Promise<unknown>, done?: string) => {
    try {
      await write()
      if (done) message.success(done)
      load()
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const setDisabled = (a: Json, disabled: boolean) => change(() => patch(`/api/v1/accounts/${a.id}`, { disabled }))
  // too many failed logins lock an account for the window; its administrator lifts that at once.
  const unlock = (a: Json) => change(() => post(`/api/v1/accounts/${a.id}/unlock`), `已解除 ${a.username} 的锁定`)

  return (
    <Card title="账号管理" size="small" extra={<Button type="primary" onClick={() => setCreating(true)}>新建账号</Button>}>
      <Table
        size="small"
        rowKey="id"
        loading={!accounts}
        dataSource={accounts ?? []}
        columns={[
          { title: '用户名', dataIndex: 'username' },
          { title: '角色', dataIndex: 'role', render: r => ROLE_NAMES[r] ?? r },
          { title: '范围', dataIndex: 'scope', render: scopeText },
          { title: '校领导', dataIndex: 'leader', render: l => (l ? '是' : '') },
          { title: '动态口令', dataIndex: 'totpEnrolled', render: t => (t ? <Tag color="green">已绑定</Tag> : '') },
          { title: '启用', dataIndex: 'disabled', render: (d, a) => <Switch size="small" checked={!d} disabled={a.id === me.accountId} onChange={on => setDisabled(a, !on)} /> },
          {
            title: '登录锁定',
            dataIndex: 'locked',
            render: (l, a) =>
              l && (
                <>
                  <Tag color="red">已锁定</Tag>
                  {a.id !== me.accountId && <Button size="small" className="account-unlock" onClick={() => unlock(a)}>解除锁定</Button>}
                </>
              ),
          },
        ]}
      />
      <Modal title="新建账号" open={creating} onCancel={() => setCreating(false)} footer={null} destroyOnHidden>
        {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 8 }} />}
        <Form form={form} layout="vertical" onFinish={create}>
          <Form.Item name="username" label="用户名" rules={[{ required: true }]}><Input /></Form.Item>
          <Form.Item name="password" label="初始密码" rules={[{ required: true }]} extra="至少 12 位，不得使用常见密码"><Input.Password /></Form.Item>
          <Form.Item name="role" label="角色" rules={[{ required: true }]}>
            <Select options={Object.entries(ROLE_NAMES).map(([value, label]) => ({ value, label }))} />
          </Form.Item>
          {['central_school_admin', 'school_admin'].includes(role) && <Form.Item name="schools" label="学校代码（多个用逗号分隔）" rules={[{ required: true }]}><Input /></Form.Item>}
          {['grade_admin', 'class_admin', 'teacher', 'student'].includes(role) && <Form.Item name="school" label="学校代码" rules={[{ required: true }]}><Input /></Form.Item>}
          {['grade_admin', 'class_admin', 'teacher'].includes(role) && <Form.Item name="classes" label="班级编号（多个用逗号分隔）" rules={[{ required: true }]}><Input /></Form.Item>}
          {role === 'student' && <Form.Item name="studentId" label="学生编号" rules={[{ required: true }]}><Input /></Form.Item>}
          {/* only the bureau administrator or a leader appoints the school leadership (the server refuses anyone else). */}
          {role && role !== 'bureau_user' && role !== 'student' && (me.role === 'bureau_admin' || me.leader) && <Form.Item name="leader" label="校领导" valuePropName="checked"><Switch /></Form.Item>}
          <Button type="primary" htmlType="submit">创建</Button>
        </Form>
      </Modal>
    </Card>
  )
}
