/**
 * Resolves with `p`'s value, or with `undefined` when `p` has not settled within `ms`; rejects
 * when `p` rejects in time. The one bounded wait of the project (Redis answers, queue counts,
 * shutdown steps). Its timer never keeps the process alive.
 */
export function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms)
    timer.unref()
    p.then(
      v => (clearTimeout(timer), resolve(v)),
      e => (clearTimeout(timer), reject(e)),
    )
  })
}
