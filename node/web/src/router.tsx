/** The app's paths in the address bar (history API; the node answers index.html for them). */
import { useEffect, useState, type ReactNode, type MouseEvent } from 'react'

const listeners = new Set<() => void>()

export function navigate(to: string): void {
  if (to === location.pathname + location.search) return
  history.pushState(null, '', to)
  listeners.forEach(l => l())
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, setTick] = useState(0)
  useEffect(() => {
    const on = () => setTick(t => t + 1)
    listeners.add(on)
    window.addEventListener('popstate', on)
    return () => {
      listeners.delete(on)
      window.removeEventListener('popstate', on)
    }
  }, [])
  return { path: location.pathname, query: new URLSearchParams(location.search) }
}

/** `match('/students/:id', path)` → `{ id }` or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const a = pattern.split('/')
  const b = path.replace(/\/$/, '').split('/')
  if (a.length !== b.length) return null
  const out: Record<string, string> = {}
  for (let i = 0; i < a.length; i++) {
    if (a[i].startsWith(':')) out[a[i].slice(1)] = decodeURIComponent(b[i])
    else if (a[i] !== b[i]) return null
  }
  return out
}

export function Link({ to, children }: { to: string; children: ReactNode }) {
  const onClick = (e: MouseEvent) => {
    if (e.ctrlKey || e.metaKey || e.shiftKey) return
    e.preventDefault()
    navigate(to)
  }
  return (
    <a href={to} onClick={onClick}>
      {children}
    </a>
  )
}
