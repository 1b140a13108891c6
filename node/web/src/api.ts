/**
 * The node's public JSON API, as the browser calls it: the session cookie travels by itself, the
 * CSRF token of the login answer goes in x-csrf-token with every write. Errors arrive as
 * `{code, message, details}` and are thrown as ApiError.
 */
import type { paths } from './api-types.ts'

export interface Issue {
  code: string
  field: string
  rule?: string
  message: string
}

export class ApiError extends Error {
  readonly status: number
  readonly code: string
  readonly details: { field?: string; issues?: Issue[]; [k: string]: unknown } | undefined
  constructor(status: number, code: string, message: string, details?: ApiError['details']) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
  /** Every field-level problem the API named (a single field error counts as one). */
  issues(): Issue[] {
    if (this.details?.issues?.length) return this.details.issues
    return this.details?.field ? [{ code: this.code, field: this.details.field, message: this.message }] : []
  }
}

let csrfToken = ''
export const setCsrf = (token: string) => {
  csrfToken = token
}

/** The JSON answer of a route of the OpenAPI document (`Reply<'/api/v1/students', 'get'>`). */
export type Reply<P extends keyof paths, M extends keyof paths[P]> = paths[P][M] extends { responses: infer R }
  ? R extends { 200: { content: { 'application/json': infer J } } }
    ? J
    : R extends { 201: { content: { 'application/json': infer J } } }
      ? J
      : never
  : never

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const write = method !== 'GET'
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...(write && csrfToken ? { 'x-csrf-token': csrfToken } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  const json = text ? JSON.parse(text) : null
  if (!res.ok) throw new ApiError(res.status, json?.code ?? 'HTTP_' + res.status, json?.message ?? `请求失败（${res.status}）`, json?.details)
  return json as T
}

/** POSTs a file's bytes as they are (an Excel upload) with the CSRF token. */
export async function postFile<T = any>(path: string, file: Blob, type: string): Promise<T> {
  const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: { 'content-type': type, ...(csrfToken ? { 'x-csrf-token': csrfToken } : {}) }, body: file })
  const text = await res.text()
  const json = text ? JSON.parse(text) : null
  if (!res.ok) throw new ApiError(res.status, json?.code ?? 'HTTP_' + res.status, json?.message ?? `请求失败（${res.status}）`, json?.details)
  return json as T
}

/** POSTs with the CSRF token and answers the reply's text (an HTML document such as a certificate). */
export async function postForText(path: string): Promise<string> {
  const res = await fetch(path, { method: 'POST', credentials: 'same-origin', headers: csrfToken ? { 'x-csrf-token': csrfToken } : {} })
  const text = await res.text()
  if (!res.ok) {
    const json = text.startsWith('{') ? JSON.parse(text) : null
    throw new ApiError(res.status, json?.code ?? 'HTTP_' + res.status, json?.message ?? `请求失败（${res.status}）`, json?.details)
  }
  return text
}

export const get = <T = any>(path: string) => api<T>('GET', path)
export const post = <T = any>(path: string, body?: unknown) => api<T>('POST', path, body)
export const patch = <T = any>(path: string, body?: unknown) => api<T>('PATCH', path, body)

/** A query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | boolean | undefined | null>): string {
  const p = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') p.set(k, String(v))
  const s = p.toString()
  return s ? `?${s}` : ''
}

export type Me = Reply<'/api/v1/auth/me', 'get'>
export type Student = Reply<'/api/v1/students/{id}', 'get'>
export type StudentRow = Reply<'/api/v1/students', 'get'>['items'][number]
export type StatusChange = Reply<'/api/v1/status-changes', 'get'>['items'][number]
