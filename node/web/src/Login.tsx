import { useState } from 'react'
import { Alert, Button, Card, Form, Input, Typography } from 'antd'
import { ApiError, post, setCsrf } from './api.ts'

type Stage = 'password' | 'totp' | 'totp_enrol'

/** Password, then the TOTP code (or first the enrolment of an authenticator) where the account requires it. */
export function Login({ onSignedIn }: { onSignedIn: () => void }) {
  const [stage, setStage] = useState<Stage>('password')
  const [secret, setSecret] = useState<{ secret: string; uri: string } | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)

  const run = async (fn: () => Promise<void>) => {
    setBusy(true)
    setError(null)
    try {
      await fn()
    } catch (e) {
      setError(e instanceof ApiError ? e.message : '无法连接服务器，请稍后重试')
    } finally {
      setBusy(false)
    }
  }

  const signIn = (v: { username: string; password: string }) =>
    run(async () => {
      const r = await post<{ stage: 'ok' | 'totp' | 'totp_enrol'; csrfToken: string }>('/api/v1/auth/login', v)
      setCsrf(r.csrfToken)
      if (r.stage === 'ok') return onSignedIn()
      if (r.stage === 'totp_enrol') setSecret(await post('/api/v1/auth/totp/enrol'))
      setStage(r.stage)
    })

  const sendCode = (v: { code: string }) =>
    run(async () => {
      const r = await post<{ csrfToken: string }>('/api/v1/auth/totp/verify', { code: v.code.trim() })
      setCsrf(r.csrfToken)
      onSignedIn()
    })

  return (
    <div className="xj-login">
      <Card title="学生电子学籍系统 登录">
        {error && <Alert type="error" title={error} showIcon style={{ marginBottom: 16 }} />}
        {stage === 'password' ? (
          <Form layout="vertical" onFinish={signIn}>
            <Form.Item label="用户名" name="username" rules={[{ required: true, message: '请输入用户名' }]}>
              <Input id="login-username" autoFocus autoComplete="username" />
            </Form.Item>
            <Form.Item label="密码" name="password" rules={[{ required: true, message: '请输入密码' }]}>
              <Input.Password id="login-password" autoComplete="current-password" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy}>
              登录
            </Button>
          </Form>
        ) : (
          <Form layout="vertical" onFinish={sendCode}>
            {stage === 'totp_enrol' && secret && (
              <Alert
                type="info"
                style={{ marginBottom: 16 }}
                title="管理员账号须绑定动态口令"
                description={
                  <>
                    在验证器（手机动态口令应用）中添加账号，密钥：
                    <Typography.Text code copyable id="totp-secret">
                      {secret.secret}
                    </Typography.Text>
                    然后输入它显示的 6 位数字。
                  </>
                }
              />
            )}
            <Form.Item label="动态口令" name="code" rules={[{ required: true, pattern: /^\s*\d{6}\s*$/, message: '请输入 6 位数字' }]}>
              <Input id="login-totp" autoFocus inputMode="numeric" maxLength={8} autoComplete="one-time-code" />
            </Form.Item>
            <Button type="primary" htmlType="submit" block loading={busy}>
              验证
            </Button>
          </Form>
        )}
      </Card>
    </div>
  )
}
