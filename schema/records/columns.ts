import { text, integer } from 'drizzle-orm/sqlite-core'

/**
 * Columns every replicated record carries (DESIGN.md §2–3). `id` is a UUID made by the home node:
 * the key other tiers use, stable across a 学籍号 change and a transfer between nodes.
 */
export const recordColumns = () => ({
  id: text('id').primaryKey(),
  /** Division code of the node that owns (alone writes) this record. */
  homeNode: text('home_node').notNull(),
  /** Incremented by every write at the home node. */
  version: integer('version').notNull().default(1),
  /** Ownership epoch, raised by one when a transfer hands the record to another node. */
  epoch: integer('epoch').notNull().default(0),
  /** UTC ISO timestamps. */
  createdAt: text('created_at').notNull(),
  updatedAt: text('updated_at').notNull(),
})

/** Entry and same-level verification: who entered, who checked, or why it was returned. */
export const verifyColumns = () => ({
  /** entered (unverified) | verified | returned */
  verifyState: text('verify_state', { enum: ['entered', 'verified', 'returned'] }).notNull().default('entered'),
  /** Account id (at the home node) of the last writer. */
  enteredBy: text('entered_by'),
  enteredAt: text('entered_at'),
  verifiedBy: text('verified_by'),
  verifiedAt: text('verified_at'),
  /** Why the verifier returned it; cleared when resubmitted. */
  returnReason: text('return_reason'),
  /** When it was first verified; kept through later edits. A record ever verified is never deleted. */
  firstVerifiedAt: text('first_verified_at'),
})

/** Contact block shared by units, schools and kindergartens. */
export const contactColumns = () => ({
  postcode: text('postcode'),
  phone: text('phone'),
  fax: text('fax'),
  email: text('email'),
  homepage: text('homepage'),
})

/** Location attributes (code tables area_category, economic_attribute, ethnic_attribute). */
export const locationColumns = () => ({
  /** GB/T 2260 division code of the location. */
  divisionCode: text('division_code').notNull(),
  address: text('address'),
  /** 所在地区类别 (area_category, 2007) — or 城乡类型 (urban_rural_type) per `areaCategoryEdition`. */
  areaCategory: text('area_category'),
  /** Code table the area category was chosen from: area_category/moe2007 or urban_rural_type/jyt1001-2012. */
  areaCategoryEdition: text('area_category_edition'),
  /** 所在地经济属性 (economic_attribute). */
  economicAttribute: text('economic_attribute'),
  /** 所在地民族属性 (ethnic_attribute). */
  ethnicAttribute: text('ethnic_attribute'),
})
