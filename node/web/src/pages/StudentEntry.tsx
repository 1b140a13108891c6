import { useEffect, useRef, useState, type MutableRefObject } from 'react'
import { Alert, App, Button, Card, Col, Form, Input, Row, Select, Space, Typography, type InputRef } from 'antd'
import { get, post, qs } from '../api.ts'
import { useLocation, navigate } from '../router.tsx'
import { FIELDS } from '../../../records/fields.ts'
import { FieldItem, cleanValues, showFieldErrors, typedFields } from '../fieldform.tsx'
import { readIdNumber } from '../idnumber.ts'
import { draftKey, useSession } from '../session.ts'

type Json = Record<string, any>

const GUARDIAN_FIELDS = FIELDS.student_guardians

/** New entries start from the values most students share; the school and class come from the page. */
function blank(schoolId?: string, classId?: string): Json {
  return { schoolId, classId, idDocType: '1', country: 'CHN', ethnicity: '01', studentCategory: '00', enrolmentYm: `${new Date().getFullYear()}-09`, guardians: [{}] }
}

/**
 * Fast entry of students (paper-form order, Tab between fields): Enter saves and opens the next
 * blank record in the same class; the birth date and gender follow the ID number as it is typed;
 * the unsaved entry is kept in this browser (localStorage, the account's own key: session.ts
 * `draftKey`) until it is saved or the account signs out.
 */
export default function StudentEntry() {
  const DRAFT_KEY = draftKey(useSession().me, 'student')
  const { query } = useLocation()
  const { message } = App.useApp()
  const [form] = Form.useForm()
  const [schools, setSchools] = useState<Json[]>([])
  const [classes, setClasses] = useState<Json[]>([])
  const [saved, setSaved] = useState<Json[]>([])
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const nameRef = useRef<HTMLElement | null>(null)
  const schoolId = Form.useWatch('schoolId', form)

  // The draft this browser kept, else a blank entry for the class the list was showing.
  const [initial] = useState<Json>(() => {
    const draft = localStorage.getItem(DRAFT_KEY)
    return draft ? (JSON.parse(draft) as Json) : blank(query.get('schoolId') ?? undefined, query.get('classId') ?? undefined)
  })
  useEffect(() => {
    get('/api/v1/schools?limit=500').then(r => {
      setSchools(r.items)
      if (!form.getFieldValue('schoolId') && r.items.length === 1) form.setFieldValue('schoolId', r.items[0].id)
    })
  }, [form])
  useEffect(() => {
    if (!schoolId) return
    get(`/api/v1/classes${qs({ schoolId, limit: 500 })}`).then(r => {
      setClasses(r.items)
      if (!form.getFieldValue('classId') && r.items.length === 1) form.setFieldValue('classId', r.items[0].id)
    })
  }, [schoolId, form])

  const onValuesChange = (changed: Json, all: Json) => {
    if ('idNumber' in changed && form.getFieldValue('idDocType') === '1') {
      const facts = readIdNumber(String(changed.idNumber ?? ''))
      if (facts.birthDate) form.setFieldValue('birthDate', facts.birthDate)
      if (facts.gender) form.setFieldValue('gender', facts.gender)
    }
    localStorage.setItem(DRAFT_KEY, JSON.stringify({ ...all, ...form.getFieldsValue() }))
  }

  /** Every field emptied, then the shared defaults and the same school and class. */
  const startBlank = (schoolId?: string, classId?: string) => {
    form.setFieldsValue({ ...Object.fromEntries(typedFields('students').map(f => [f.key, undefined])), ...blank(schoolId, classId) })
    form.setFields(typedFields('students').map(f => ({ name: f.key, errors: [] })))
  }

  const save = async (values: Json) => {
    setBusy(true)
    setError(null)
    try {
      const body = cleanValues({ ...values, guardians: (values.guardians ?? []).filter((g: Json) => Object.values(g ?? {}).some(v => v !== undefined && v !== '' && v !== null)) })
      const created = await post('/api/v1/students', body)
      localStorage.removeItem(DRAFT_KEY)
      setSaved(s => [created, ...s])
      message.success(`已保存：${created.name}`)
      startBlank(values.schoolId, values.classId)
      nameRef.current?.focus()
    } catch (e) {
      const rest = showFieldErrors(form, e)
      setError(rest ?? '请按红字提示修改后再保存')
    } finally {
      setBusy(false)
    }
  }

  const fields = typedFields('students')
  return (
    <Card title="录入学生" size="small" extra={<Button onClick={() => navigate('/students')}>返回列表</Button>}>
      {error && <Alert type="error" showIcon title={error} style={{ marginBottom: 12 }} id="entry-error" />}
      <Form form={form} layout="vertical" initialValues={initial} onFinish={save} onValuesChange={onValuesChange} size="small" id="student-entry">
        <Row gutter={12}>
          <Col span={12}>
            <Form.Item label="学校" name="schoolId" rules={[{ required: true, message: '请选择学校' }]} style={{ marginBottom: 10 }}>
              <Select id="schoolId" showSearch={{ optionFilterProp: 'label' }} options={schools.map(s => ({ value: s.id, label: s.name }))} />
            </Form.Item>
          </Col>
          <Col span={12}>
            <Form.Item label="班级" name="classId" style={{ marginBottom: 10 }}>
              <Select id="classId" allowClear showSearch={{ optionFilterProp: 'label' }} options={classes.map(c => ({ value: c.id, label: c.name }))} />
            </Form.Item>
          </Col>
          {fields.map(f => (
            <Col key={f.key} xs={12} md={8} xl={6}>
              {f.key === 'studentNo' ? (
                <Form.Item label={f.label} name="studentNo" style={{ marginBottom: 10 }}>
                  <Input id="studentNo" placeholder="留空则由系统生成" autoComplete="off" />
                </Form.Item>
              ) : f.key === 'name' ? (
                <Form.Item label={f.label} name="name" required style={{ marginBottom: 10 }}>
                  <NameInput inputRef={nameRef} />
                </Form.Item>
              ) : (
                <FieldItem field={f} />
              )}
            </Col>
          ))}
        </Row>
        <Typography.Title level={5}>监护人</Typography.Title>
        <Form.List name="guardians">
          {(items, { add, remove }) => (
            <>
              {items.map(item => (
                <Row gutter={12} key={item.key}>
                  {GUARDIAN_FIELDS.map(f => (
                    <Col key={f.key} xs={12} md={8} xl={4}>
                      <FieldItem field={f} name={[item.name, f.key]} prefix={`guardians-${item.name}-`} />
                    </Col>
                  ))}
                  <Col xs={12} md={8} xl={4} style={{ paddingTop: 28 }}>
                    <Button onClick={() => remove(item.name)} tabIndex={-1}>
                      删除
                    </Button>
                  </Col>
                </Row>
              ))}
              <Button onClick={() => add({})} style={{ marginBottom: 12 }}>
                添加监护人
              </Button>
            </>
          )}
        </Form.List>
        <Space style={{ display: 'flex' }}>
          <Button type="primary" htmlType="submit" loading={busy} id="entry-save">
            保存并录入下一名（Enter）
          </Button>
          <Button
            tabIndex={-1}
            onClick={() => {
              localStorage.removeItem(DRAFT_KEY)
              startBlank(form.getFieldValue('schoolId'), form.getFieldValue('classId'))
            }}
          >
            清空
          </Button>
        </Space>
      </Form>
      {saved.length > 0 && (
        <Alert
          style={{ marginTop: 12 }}
          type="success"
          title={`本次已录入 ${saved.length} 人`}
          description={saved.map(s => s.name).join('、')}
          id="entry-saved"
        />
      )}
    </Card>
  )
}

function NameInput(props: { inputRef: MutableRefObject<HTMLElement | null>; value?: string; onChange?: (e: unknown) => void; id?: string }) {
  return (
    <Input
      id="name"
      autoFocus
      autoComplete="off"
      value={props.value}
      onChange={props.onChange as never}
      ref={(r: InputRef | null) => {
        props.inputRef.current = r?.input ?? null
      }}
    />
  )
}
