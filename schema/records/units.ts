import { sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core'
import { recordColumns, verifyColumns, contactColumns, locationColumns } from './columns.ts'

/** 主管单位: the supervising unit of schools and kindergartens (R-7.1, Art. 6–7). */
export const supervisingUnits = sqliteTable(
  'supervising_units',
  {
    ...recordColumns(),
    /** 单位代码 */
    unitCode: text('unit_code').notNull(),
    /** 单位名称 */
    name: text('name').notNull(),
    ...locationColumns(),
    /** 联系人 */
    contactPerson: text('contact_person'),
    ...contactColumns(),
    ...verifyColumns(),
  },
  t => [uniqueIndex('supervising_units_code').on(t.unitCode)],
)
