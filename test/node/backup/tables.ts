import Database from 'better-sqlite3'

type Row = Record<string, unknown>

/** Every row of every table of the database file (read-only), in rowid order: to compare two nodes whole. */
export function dumpAll(file: string): Record<string, Row[]> {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    const tables = db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all() as string[]
    return Object.fromEntries(tables.map(t => [t, db.prepare(`select * from "${t}" order by rowid`).all() as Row[]]))
  } catch {
    // Tables WITHOUT ROWID have no rowid: order them by every column instead.
    return Object.fromEntries(
      (db.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").pluck().all() as string[]).map(t => {
        const cols = (db.prepare(`select name from pragma_table_info(?)`).pluck().all(t) as string[]).map(c => `"${c}"`).join(', ')
        return [t, db.prepare(`select * from "${t}" order by ${cols}`).all() as Row[]]
      }),
    )
  } finally {
    db.close()
  }
}
