import { lazy, Suspense, useCallback, useEffect, useState, type ReactNode } from 'react'
import { Layout, Menu, Button, Spin, Result, Space, Tag } from 'antd'
import { get, post, setCsrf, type Me } from './api.ts'
import { SessionContext, can, clearDrafts, ROLE_NAMES } from './session.ts'
import { match, navigate, useLocation } from './router.tsx'
import { Login } from './Login.tsx'

const Home = lazy(() => import('./pages/Home.tsx'))
const Students = lazy(() => import('./pages/Students.tsx'))
const StudentEntry = lazy(() => import('./pages/StudentEntry.tsx'))
const StudentDetail = lazy(() => import('./pages/StudentDetail.tsx'))
const StatusChanges = lazy(() => import('./pages/StatusChanges.tsx'))
const Statistics = lazy(() => import('./pages/Statistics.tsx'))
const Records = lazy(() => import('./pages/Records.tsx'))
const Roster = lazy(() => import('./pages/Roster.tsx'))
const SyncStatus = lazy(() => import('./pages/SyncStatus.tsx'))
const Accounts = lazy(() => import('./pages/Accounts.tsx'))
const Import = lazy(() => import('./pages/Import.tsx'))
const ChangeRequests = lazy(() => import('./pages/ChangeRequests.tsx'))
const Transfers = lazy(() => import('./pages/Transfers.tsx'))
const Rollover = lazy(() => import('./pages/Rollover.tsx'))

/** The pages, in the side menu's order, with the permission that shows each one. */
const MENU: Array<{ key: string; label: string; show: (me: Me) => boolean }> = [
  { key: '/', label: '工作台', show: () => true },
  { key: '/students', label: '学生学籍', show: me => can(me, 'student:read') && me.role !== 'student' },
  { key: '/children', label: '幼儿学籍', show: me => can(me, 'student:read') && me.role !== 'student' },
  { key: '/schools', label: '学校', show: me => can(me, 'school:read') },
  { key: '/kindergartens', label: '幼儿园', show: me => can(me, 'school:read') },
  { key: '/classes', label: '班级', show: me => can(me, 'class:read') },
  { key: '/teachers', label: '教师', show: me => can(me, 'school:read') },
  { key: '/units', label: '主管单位', show: me => can(me, 'unit:read') },
  { key: '/imports', label: 'Excel 导入', show: me => me.role !== 'student' && ['student:write', 'class:write', 'school:write'].some(p => can(me, p)) },
  { key: '/status-changes', label: '学籍异动', show: me => can(me, 'status_change:write') || can(me, 'status_change:approve') || can(me, 'status_change:verify') },
  { key: '/change-requests', label: '修改申请', show: me => can(me, 'change_request:write') || can(me, 'change_request:approve') },
  { key: '/transfers', label: '转学', show: me => can(me, 'status_change:write') || can(me, 'status_change:approve') },
  { key: '/rollover', label: '学年升级', show: me => can(me, 'calendar:rollover') || me.role === 'school_admin' || me.role === 'central_school_admin' },
  { key: '/statistics', label: '统计分析', show: me => can(me, 'stats:read') },
  { key: '/sync', label: '同步状态', show: me => can(me, 'sync:operate') },
  { key: '/accounts', label: '账号管理', show: me => can(me, 'account:manage') },
]

/** Record pages (pages/Records.tsx): the kind and its path; `/<path>/:id` is one record. */
const RECORD_PAGES: Array<[string, string]> = [
  ['units', '/units'], ['schools', '/schools'], ['kindergartens', '/kindergartens'], ['teachers', '/teachers'], ['kgTeachers', '/kindergarten-teachers'],
  ['classes', '/classes'], ['kgClasses', '/kindergarten-classes'], ['children', '/children'],
]

function page(path: string, me: Me): ReactNode {
  let m: Record<string, string> | null
  if (path === '/' || path === '') return me.role === 'student' && me.scope.kind === 'student' ? <StudentDetail id={me.scope.studentId} /> : <Home />
  if (path === '/students') return <Students />
  if (path === '/students/new') return <StudentEntry />
  if ((m = match('/students/:id', path))) return <StudentDetail id={m.id} />
  if (path === '/imports') return <Import />
  if (path === '/status-changes') return <StatusChanges />
  if (path === '/change-requests') return <ChangeRequests />
  if (path === '/transfers') return <Transfers />
  if (path === '/rollover') return <Rollover />
  if (path === '/statistics') return <Statistics />
  if ((m = match('/classes/:id/roster', path))) return <Roster classId={m.id} />
  for (const [kind, route] of RECORD_PAGES) {
    if (path === route) return <Records key={kind} kind={kind} />
    if ((m = match(`${route}/:id`, path))) return <Records key={`${kind}/${m.id}`} kind={kind} id={m.id} />
  }
  if (path === '/sync') return <SyncStatus />
  if (path === '/accounts') return <Accounts />
  return <Result status="404" title="没有这个页面" extra={<Button onClick={() => navigate('/')}>回到工作台</Button>} />
}

export function App() {
  const [me, setMe] = useState<Me | null | undefined>(undefined)
  const { path } = useLocation()
  const refresh = useCallback(() => {
    get<Me>('/api/v1/auth/me').then(
      m => {
        setCsrf(m.csrfToken)
        clearDrafts(m.accountId)
        setMe(m)
      },
      // Not signed in (401), or the session ended: the login page.
      () => setMe(null),
    )
  }, [])
  useEffect(refresh, [refresh])
  const logout = useCallback(() => {
    post('/api/v1/auth/logout').finally(() => {
      clearDrafts()
      setCsrf('')
      setMe(null)
      navigate('/')
    })
  }, [])

  if (me === undefined) return <Spin style={{ display: 'block', marginTop: '30vh' }} />
  if (me === null) return <Login onSignedIn={refresh} />
  const items = MENU.filter(i => i.show(me)).map(i => ({ key: i.key, label: i.label }))
  const selected = items.map(i => i.key).filter(k => k !== '/' && path.startsWith(k))[0] ?? '/'
  return (
    <SessionContext.Provider value={{ me, logout }}>
      <Layout style={{ minHeight: '100vh' }}>
        <Layout.Header className="xj-header">
          <span className="xj-title">学生电子学籍系统</span>
          <Space>
            <span>{me.username}</span>
            <Tag>{ROLE_NAMES[me.role] ?? me.role}</Tag>
            <Button size="small" onClick={logout}>
              退出
            </Button>
          </Space>
        </Layout.Header>
        <Layout>
          <Layout.Sider width={160} theme="light" breakpoint="lg" collapsedWidth={0}>
            <Menu mode="inline" selectedKeys={[selected]} items={items} onClick={e => navigate(e.key)} />
          </Layout.Sider>
          <Layout.Content className="xj-content">
            <Suspense fallback={<Spin />}>{page(path, me)}</Suspense>
          </Layout.Content>
        </Layout>
      </Layout>
    </SessionContext.Provider>
  )
}
