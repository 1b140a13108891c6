import { createContext, useContext } from 'react'
import type { Me } from './api.ts'

export const SessionContext = createContext<{ me: Me; logout: () => void } | null>(null)

export function useSession(): { me: Me; logout: () => void } {
  const s = useContext(SessionContext)
  if (!s) throw new Error('useSession outside a signed-in page')
  return s
}

/**
 * Entry drafts kept in this browser (localStorage) hold a child's personal data: each is
 * under its account's key, and all are deleted at sign-out and when another account signs in here.
 */
const DRAFT_PREFIX = 'xueji.draft.'
export const draftKey = (me: Me, what: string) => `${DRAFT_PREFIX}${me.accountId}.${what}`
/** Deletes the drafts in this browser, except those of account `keep`. */
export function clearDrafts(keep?: string): void {
  for (let i = localStorage.length - 1; i >= 0; i--) {
    const k = localStorage.key(i)
    if (k?.startsWith(DRAFT_PREFIX) && !(keep && k.startsWith(`${DRAFT_PREFIX}${keep}.`))) localStorage.removeItem(k)
  }
}

export const can = (me: Me, permission: string) => (me.permissions as string[]).includes(permission)

export const ROLE_NAMES: Record<string, string> = {
  bureau_admin: '教育行政部门管理员',
  bureau_user: '教育行政部门普通用户',
  central_school_admin: '中心学校管理员',
  school_admin: '学校管理员',
  grade_admin: '年级管理员',
  class_admin: '班级管理员',
  teacher: '学校普通用户',
  student: '学生',
}
