/**
 * The record pages other than students: 主管单位, 学校, 幼儿园, teachers and classes of both, and
 * 幼儿 — one list (search, filters, server-side pages, export) and one detail (every field, the
 * verification state with its actions, 显示 for masked fields, 修改 / 删除, and what the record
 * holds: a school's teachers and classes, a child's sub-records) per kind, all from the kinds'
 * data below and the field lists the API validates with (node/records/fields.ts).
 */
import { useCallback, useEffect, useState, type ReactNode } from 'react'
import { Alert, App, Button, Card, Descriptions, Form, Input, Popconfirm, Result, Segmented, Select, Space, Spin, Table, Tabs, Tag } from 'antd'
import { api, get, post, qs } from '../api.ts'
import { can, useSession } from '../session.ts'
import { Link, navigate } from '../router.tsx'
import { typedFields } from '../fieldform.tsx'
import { CodeSelect } from '../codes.tsx'
import { ExportButton, type ExportKind } from '../exporting.tsx'
import { FIELDS } from '../../../records/fields.ts'
import { CHILD_SUBRECORDS, RecordForm, RefName, SubRecordSection, Value, VerifyActions, VerifyTag, fieldFor, revealable } from '../records.tsx'

type Json = Record<string, any>

interface Owner {
  /** Body field naming the owner (`schoolId`), also the list's filter. */
  key: string
  /** API path of the owner's list. */
  api: string
  label: string
}

export interface Kind {
  table: string
  /** Path under /api/v1. */
  api: string
  /** Path of the page in the app. */
  route: string
  title: string
  /** Columns of the list (field keys). */
  columns: string[]
  search: string
  owner?: Owner
  perms: { read: string; write: string; delete: string; verify?: string }
  exportKind: ExportKind
  /** Code filters of the list (query parameter = field key). */
  codeFilters?: Array<{ key: string; table: string; label: string }>
  grades?: Array<{ value: number; label: string }>
  person?: boolean
  /** Lists reached from the detail page: the kind and its filter key. */
  holds?: Array<{ kind: string; key: string }>
  /** Same list of the other school type (学校教师 ↔ 幼儿园教师). */
  sibling?: { kind: string; label: string; own: string }
}

const SCHOOL: Owner = { key: 'schoolId', api: 'schools', label: '学校' }
const KG: Owner = { key: 'kindergartenId', api: 'kindergartens', label: '幼儿园' }
const SCHOOL_PERMS = { read: 'school:read', write: 'school:write', delete: 'school:write', verify: 'school:verify' }
const TEACHER_PERMS = { read: 'school:read', write: 'school:write', delete: 'school:write' }
const CLASS_PERMS = { read: 'class:read', write: 'class:write', delete: 'class:write', verify: 'class:verify' }
const SCHOOL_GRADES = Array.from({ length: 12 }, (_, i) => ({ value: i + 1, label: `${i + 1} 年级` }))
export const KG_GRADES = ['托班', '小班', '中班', '大班'].map((label, value) => ({ value, label }))
const CHILD_STATE: Record<string, string> = { in_kindergarten: '在园', suspended: '休园', left: '离园', deceased: '死亡', all: '全部' }

export const KINDS: Record<string, Kind> = {
  units: {
    table: 'supervising_units', api: 'units', route: '/units', title: '主管单位', columns: ['unitCode', 'name', 'divisionCode', 'contactPerson', 'phone'],
    search: '单位名称', perms: { read: 'unit:read', write: 'unit:write', delete: 'unit:write', verify: 'unit:verify' }, exportKind: 'supervising_units',
  },
  schools: {
    table: 'schools', api: 'schools', route: '/schools', title: '学校', columns: ['schoolCode', 'name', 'category', 'principal', 'phone'],
    search: '学校名称', perms: SCHOOL_PERMS, exportKind: 'schools', codeFilters: [{ key: 'category', table: 'school_category', label: '学校类别' }],
    holds: [{ kind: 'classes', key: 'schoolId' }, { kind: 'teachers', key: 'schoolId' }],
  },
  kindergartens: {
    table: 'kindergartens', api: 'kindergartens', route: '/kindergartens', title: '幼儿园', columns: ['kindergartenCode', 'name', 'nature', 'director', 'phone'],
    search: '幼儿园名称', perms: SCHOOL_PERMS, exportKind: 'kindergartens',
    holds: [{ kind: 'kgClasses', key: 'kindergartenId' }, { kind: 'kgTeachers', key: 'kindergartenId' }, { kind: 'children', key: 'kindergartenId' }],
  },
  teachers: {
    table: 'school_teachers', api: 'school-teachers', route: '/teachers', title: '学校教师', columns: ['name', 'gender', 'birthYm', 'post', 'title', 'education'],
    search: '姓名', owner: SCHOOL, perms: TEACHER_PERMS, exportKind: 'school_teachers', sibling: { kind: 'kgTeachers', label: '幼儿园教师', own: '学校教师' },
  },
  kgTeachers: {
    table: 'kindergarten_teachers', api: 'kindergarten-teachers', route: '/kindergarten-teachers', title: '幼儿园教师', columns: ['name', 'gender', 'birthYm', 'post', 'title', 'education'],
    search: '姓名', owner: KG, perms: TEACHER_PERMS, exportKind: 'kindergarten_teachers', sibling: { kind: 'teachers', label: '学校教师', own: '幼儿园教师' },
  },
  classes: {
    table: 'school_classes', api: 'classes', route: '/classes', title: '学校班级', columns: ['classCode', 'name', 'grade', 'headTeacher', 'foundedYm'],
    search: '班级名称', owner: SCHOOL, perms: CLASS_PERMS, exportKind: 'school_classes', grades: SCHOOL_GRADES, sibling: { kind: 'kgClasses', label: '幼儿园班级', own: '学校班级' },
  },
  kgClasses: {
    table: 'kindergarten_classes', api: 'kindergarten-classes', route: '/kindergarten-classes', title: '幼儿园班级', columns: ['classCode', 'name', 'grade', 'headTeacher', 'foundedYm'],
    search: '班级名称', owner: KG, perms: CLASS_PERMS, exportKind: 'kindergarten_classes', grades: KG_GRADES, sibling: { kind: 'classes', label: '学校班级', own: '幼儿园班级' },
  },
  children: {
    table: 'children', api: 'children', route: '/children', title: '幼儿学籍', columns: ['name', 'gender', 'birthDate', 'idNumber', 'entryYm'],
    search: '姓名、拼音、身份证件号', owner: KG, perms: { read: 'student:read', write: 'student:write', delete: 'student:delete', verify: 'student:verify' },
    exportKind: 'children', grades: KG_GRADES, person: true,
  },
}

const fieldOf = (table: string, key: string) => (FIELDS[table] ?? []).find(f => f.key === key)

/** The owner's records for a drop-down (the account's scope; one request). */
function useOwners(owner: Owner | undefined): Json[] {
  const [rows, setRows] = useState<Json[]>([])
  useEffect(() => {
    if (owner) get(`/api/v1/${owner.api}?limit=500`).then(r => setRows(r.items), () => setRows([]))
  }, [owner])
  return rows
}

function useClasses(kindergartenId: string | undefined): Json[] {
  const [rows, setRows] = useState<Json[]>([])
  useEffect(() => {
    if (kindergartenId) get(`/api/v1/kindergarten-classes${qs({ kindergartenId, limit: 500 })}`).then(r => setRows(r.items), () => setRows([]))
    else setRows([])
  }, [kindergartenId])
  return rows
}

/** The owner and (for a child) class controls of a record's form. */
function OwnerFields({ kind, owners, creating }: { kind: Kind; owners: Json[]; creating: boolean }) {
  const form = Form.useFormInstance()
  const ownerId = Form.useWatch(kind.owner?.key ?? '_', form) as string | undefined
  const classes = useClasses(kind.person ? ownerId : undefined)
  // An account with one school (or kindergarten) in reach enters for it: chosen once the list is in.
  useEffect(() => {
    if (creating && kind.owner && !form.getFieldValue(kind.owner.key) && owners.length === 1) form.setFieldValue(kind.owner.key, owners[0].id)
  }, [creating, kind, owners, form])
  if (!kind.owner) return null
  return (
    <Space wrap>
      <Form.Item label={kind.owner.label} name={kind.owner.key} required style={{ marginBottom: 10, minWidth: 300 }}>
        <Select id="rec-owner" disabled={!creating} showSearch={{ optionFilterProp: 'label' }} options={owners.map(o => ({ value: o.id, label: o.name }))} />
      </Form.Item>
      {kind.person && (
        <Form.Item label="班级" name="classId" style={{ marginBottom: 10, minWidth: 200 }}>
          <Select id="rec-classId" allowClear showSearch={{ optionFilterProp: 'label' }} options={classes.map(c => ({ value: c.id, label: c.name }))} />
        </Form.Item>
      )}
    </Space>
  )
}

/** A record list of one kind: search, filters, server-side pages, export, 新建. `fixed` filters an embedded list (a school's classes). */
export function RecordList({ kind, fixed, embedded }: { kind: Kind; fixed?: Json; embedded?: boolean }) {
  const { me } = useSession()
  const [filter, setFilter] = useState<Json>({})
  const [page, setPage] = useState({ current: 1, pageSize: 20 })
  const [data, setData] = useState<{ items: Json[]; total: number } | null>(null)
  const [creating, setCreating] = useState(false)
  const [tick, setTick] = useState(0)
  const owners = useOwners(kind.owner)
  const query = { ...filter, ...fixed }
  const key = JSON.stringify(query)

  useEffect(() => {
    setData(null)
    const offset = (page.current - 1) * page.pageSize
    get(`/api/v1/${kind.api}${qs({ ...JSON.parse(key), limit: page.pageSize, offset })}`).then(setData, () => setData({ items: [], total: 0 }))
  }, [kind, key, page, tick])

  const set = (k: string, v: unknown) => {
    setPage(p => ({ ...p, current: 1 }))
    setFilter(f => ({ ...f, [k]: v === '' || v === null ? undefined : v }))
  }
  const ownerNames = new Map(owners.map(o => [o.id, o.name]))
  const column = (k: string) => {
    const f = fieldOf(kind.table, k)!
    return {
      title: k === 'grade' ? '年级' : f.label,
      dataIndex: k,
      render: (v: unknown, r: Json) =>
        k === 'name' ? <Link to={`${kind.route}/${r.id}`}>{String(v)}</Link> : k === 'grade' && kind.grades ? (kind.grades.find(g => g.value === v)?.label ?? String(v)) : <Value field={f} value={v} />,
    }
  }
  const title = kind.sibling && !embedded ? <Segmented value={kind.sibling.own} options={[kind.sibling.own, kind.sibling.label]} onChange={v => v !== kind.sibling!.own && navigate(KINDS[kind.sibling!.kind].route)} /> : kind.title
  return (
    <Card
      title={title}
      size="small"
      id={`list-${kind.api}`}
      extra={
        <Space className="xj-no-print">
          {can(me, 'stats:read') && <ExportButton kind={kind.exportKind} query={query} />}
          {can(me, kind.perms.write) && (
            <Button type="primary" onClick={() => setCreating(true)} id={`new-${kind.api}`}>
              新建
            </Button>
          )}
        </Space>
      }
    >
      <Space wrap style={{ marginBottom: 12 }}>
        <Input.Search id={`search-${kind.api}`} allowClear placeholder={kind.search} style={{ width: 240 }} onSearch={v => set('q', v.trim())} />
        {kind.owner && !fixed?.[kind.owner.key] && owners.length > 1 && (
          <Select allowClear showSearch={{ optionFilterProp: 'label' }} placeholder={kind.owner.label} style={{ width: 220 }} value={filter[kind.owner.key]} onChange={v => set(kind.owner!.key, v)} options={owners.map(o => ({ value: o.id, label: o.name }))} />
        )}
        {kind.codeFilters?.map(c => (
          <div key={c.key} style={{ width: 180 }}>
            <CodeSelect table={c.table} placeholder={c.label} value={filter[c.key]} onChange={v => set(c.key, v)} />
          </div>
        ))}
        {kind.grades && <Select allowClear placeholder="年级" style={{ width: 110 }} value={filter.grade} onChange={v => set('grade', v)} options={kind.grades} />}
        {kind.person && <Select allowClear placeholder="状态" style={{ width: 100 }} value={filter.state} onChange={v => set('state', v)} options={Object.entries(CHILD_STATE).map(([value, label]) => ({ value, label }))} />}
        {kind.perms.verify && (
          <Select allowClear placeholder="核对状态" style={{ width: 110 }} value={filter.verifyState} onChange={v => set('verifyState', v)} options={[{ value: 'entered', label: '待核对' }, { value: 'verified', label: '已核对' }, { value: 'returned', label: '已退回' }]} />
        )}
      </Space>
      <Table
        id={`table-${kind.api}`}
        size="small"
        rowKey="id"
        loading={!data}
        dataSource={data?.items ?? []}
        scroll={{ x: 900 }}
        pagination={{ ...page, total: data?.total ?? 0, showSizeChanger: true, pageSizeOptions: [20, 50, 100], showTotal: t => `共 ${t} 条`, onChange: (current, pageSize) => setPage({ current, pageSize }) }}
        columns={[
          ...kind.columns.map(column),
          ...(kind.owner && !fixed?.[kind.owner.key] ? [{ title: kind.owner.label, dataIndex: kind.owner.key, render: (id: string) => ownerNames.get(id) ?? '' }] : []),
          ...(kind.table === 'schools' ? [{ title: '学生总数', dataIndex: 'studentsTotal' }, { title: '班级总数', dataIndex: 'classesTotal' }] : []),
          ...(kind.person
            ? [
                { title: '班级', dataIndex: 'classId', render: (id: string) => <RefName api="kindergarten-classes" id={id} /> },
                { title: '状态', dataIndex: 'state', width: 70, render: (st: string) => CHILD_STATE[st] ?? st },
              ]
            : []),
          ...(kind.perms.verify ? [{ title: '核对', dataIndex: 'verifyState', width: 90, render: (s: string) => <VerifyTag state={s} /> }] : []),
          {
            title: '',
            key: 'open',
            width: 110,
            render: (_v: unknown, r: Json) => (
              <Space size="small">
                <Link to={`${kind.route}/${r.id}`}>查看</Link>
                {kind.table === 'school_classes' && <Link to={`/classes/${r.id}/roster`}>花名册</Link>}
              </Space>
            ),
          },
        ]}
      />
      {can(me, kind.perms.write) && (
        <RecordForm
          title={`新建${kind.title.replace('学籍', '')}`}
          table={kind.table}
          route={`/api/v1/${kind.api}`}
          open={creating}
          initial={kind.owner ? { [kind.owner.key]: fixed?.[kind.owner.key] ?? filter[kind.owner.key] } : {}}
          onClose={() => setCreating(false)}
          onSaved={rec => (embedded ? setTick(t => t + 1) : navigate(`${kind.route}/${rec.id}`))}
          extra={<OwnerFields kind={kind} owners={owners} creating />}
        />
      )}
    </Card>
  )
}

/** One record: every field, verification, 显示, 修改, 删除, and what it holds. */
export function RecordDetail({ kind, id }: { kind: Kind; id: string }) {
  const { me } = useSession()
  const { message } = App.useApp()
  const [rec, setRec] = useState<Json | null | undefined>(undefined)
  const [revealed, setRevealed] = useState<Json>({})
  const [editing, setEditing] = useState(false)
  const owners = useOwners(kind.owner)
  const load = useCallback(() => {
    get(`/api/v1/${kind.api}/${id}`).then(setRec, () => setRec(null))
  }, [kind, id])
  useEffect(load, [load])

  if (rec === undefined) return <Spin />
  if (rec === null) return <Result status="404" title={`没有找到该${kind.title.replace('学籍', '')}，或不在您的权限范围内`} />
  const reveal = async (field: string) => {
    try {
      const r = await post(`/api/v1/reveal/${kind.table}/${id}`, { fields: [field] })
      setRevealed(v => ({ ...v, ...r.values }))
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const remove = async () => {
    try {
      await api('DELETE', `/api/v1/${kind.api}/${id}?version=${rec.version}`)
      message.success('已删除')
      navigate(kind.route)
    } catch (e) {
      message.error((e as Error).message)
    }
  }
  const fields = typedFields(kind.table)
  const holds: ReactNode = kind.holds && (
    <Tabs
      style={{ marginTop: 12 }}
      items={kind.holds
        .filter(h => can(me, KINDS[h.kind].perms.read))
        .map(h => ({ key: h.kind, label: KINDS[h.kind].title, children: <RecordList kind={KINDS[h.kind]} fixed={{ [h.key]: id }} embedded /> }))}
    />
  )
  const derived = rec.derived as Json | undefined
  return (
    <>
      <Card
        size="small"
        id="record-card"
        title={
          <Space>
            <span>
              {kind.title.replace('学籍', '')}：{rec.name}
            </span>
            <VerifyTag state={rec.verifyState} id="verify-state" />
            {kind.person && <Tag>{CHILD_STATE[rec.state] ?? rec.state}</Tag>}
          </Space>
        }
        extra={
          <Space className="xj-no-print">
            {kind.perms.verify && <VerifyActions table={kind.table} record={rec} verify={kind.perms.verify} write={kind.perms.write} onDone={load} />}
            {can(me, kind.perms.write) && (
              <Button onClick={() => setEditing(true)} id="record-edit">
                修改
              </Button>
            )}
            {can(me, kind.perms.delete) && (
              <Popconfirm title="删除该记录？已核对过的人员记录不能删除。" okText="删除" cancelText="取消" onConfirm={remove}>
                <Button danger>删除</Button>
              </Popconfirm>
            )}
            <Button onClick={() => window.print()}>打印</Button>
            <Button onClick={() => navigate(kind.route)}>返回</Button>
          </Space>
        }
      >
        {rec.verifyState === 'returned' && rec.returnReason && <Alert type="warning" showIcon title={`退回原因：${rec.returnReason}`} style={{ marginBottom: 8 }} />}
        <Descriptions size="small" bordered column={{ xs: 1, sm: 2, lg: 3 }} id="record-fields">
          {kind.owner && (
            <Descriptions.Item label={kind.owner.label}>
              <Link to={`/${kind.owner.api}/${rec[kind.owner.key]}`}>
                <RefName api={kind.owner.api} id={rec[kind.owner.key]} />
              </Link>
            </Descriptions.Item>
          )}
          {kind.person && (
            <Descriptions.Item label="班级">
              <RefName api="kindergarten-classes" id={rec.classId} />
            </Descriptions.Item>
          )}
          {fields.map(f => (
            <Descriptions.Item key={f.key} label={f.label}>
              <Value field={fieldFor(f, rec)} value={f.key in revealed ? revealed[f.key] : rec[f.key]} />
              {!(f.key in revealed) && revealable(me, kind.table, f.key, rec[f.key]) && (
                <Button type="link" size="small" className="xj-no-print" onClick={() => reveal(f.key)}>
                  显示
                </Button>
              )}
            </Descriptions.Item>
          ))}
          {rec.age !== undefined && <Descriptions.Item label="年龄">{rec.age ?? '—'}</Descriptions.Item>}
        </Descriptions>
        {derived && (
          <Descriptions size="small" bordered column={3} title="统计数据（由学生、幼儿和班级记录统计）" style={{ marginTop: 12 }} id="record-derived">
            {'studentsTotal' in derived && <Descriptions.Item label="学生总数">{derived.studentsTotal}</Descriptions.Item>}
            {'childrenTotal' in derived && <Descriptions.Item label="幼儿数">{derived.childrenTotal}</Descriptions.Item>}
            <Descriptions.Item label="班级总数">{derived.classesTotal}</Descriptions.Item>
            {'graduatesThisYear' in derived && <Descriptions.Item label="本年毕业生数">{derived.graduatesThisYear}</Descriptions.Item>}
            {'enrolmentThisYear' in derived && <Descriptions.Item label="本年招生数">{derived.enrolmentThisYear}</Descriptions.Item>}
          </Descriptions>
        )}
        {kind.person &&
          CHILD_SUBRECORDS.map(s => (
            <SubRecordSection key={s.key} spec={s} ownerRoute={`/api/v1/children/${id}`} rows={([] as Json[]).concat(rec[s.key] ?? [])} write={can(me, 'student:write')} onChanged={load} />
          ))}
      </Card>
      {holds}
      {can(me, kind.perms.write) && (
        <RecordForm
          title={`修改${kind.title.replace('学籍', '')}`}
          table={kind.table}
          route={`/api/v1/${kind.api}`}
          record={rec}
          open={editing}
          onClose={() => setEditing(false)}
          onSaved={load}
          extra={<OwnerFields kind={kind} owners={owners} creating={false} />}
        />
      )}
    </>
  )
}

/** The page of a kind: its list, or one record when `id` is given. */
export default function Records({ kind, id }: { kind: string; id?: string }) {
  const k = KINDS[kind]
  return id ? <RecordDetail kind={k} id={id} /> : <RecordList kind={k} />
}
