import type Database from 'better-sqlite3'

/**
 * `db.prepare` that keeps what it prepared: preparing a statement costs more than running a
 * simple one, so code on a request's path prepares each SQL text once. At most `max` statements
 * are kept (the oldest goes first), for callers whose SQL varies (lists with filters).
 */
export function statementCache(db: Database.Database, max = 256): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>()
  return sql => {
    let s = cache.get(sql)
    if (!s) {
      s = db.prepare(sql)
      if (cache.size >= max) cache.delete(cache.keys().next().value!)
      cache.set(sql, s)
    }
    return s
  }
}
