import { codes } from '../../schema/codes/index.ts'
import type { Tier } from '../../config/schema.ts'
import type { Rng } from './random.ts'

export interface County {
  code: string
  name: string
  /** 杭州市西湖区: for addresses and school names. */
  fullName: string
  city: string
  cityName: string
  /** 区 (urban district) or not: drives area category and school size. */
  urban: boolean
  /** Retired codes replaced by this one, with the year-month they stopped being issued. */
  predecessors: { code: string; retired: string }[]
}

export interface NodeArea {
  tier: Tier
  code: string
  /** Name of the node's own area (西湖区, 杭州市, 浙江省). */
  name: string
  /** Current county-level divisions of the area: where its schools are. */
  counties: County[]
}

/**
 * The node's area from the division code table: a county node is its county, a city node the
 * counties of its city, the province all 90. Retired codes are kept as predecessors, because an
 * ID number issued before a merger still carries the old code (a 2015 birth in 下城区: 330103…).
 */
export function nodeArea(tier: Tier, code: string): NodeArea {
  const table = codes.get('division').codes
  const byCode = new Map(table.map(e => [e.code, e]))
  const own = byCode.get(code)
  if (!own) throw new Error(`division code ${code} is not in the Zhejiang division table`)
  const isCity = (c: string) => c.endsWith('00') && c !== '330000'
  const current = table.filter(e => !e.retired && e.parent && isCity(e.parent))
  const inArea = current.filter(e => (tier === 'province' ? true : tier === 'city' ? e.parent === code : e.code === code))
  if (inArea.length === 0) throw new Error(`no county-level division found for ${tier} node ${code}`)
  const counties = inArea.map((e): County => {
    const city = byCode.get(e.parent!)!
    return {
      code: e.code,
      name: e.name,
      fullName: city.name + e.name,
      city: city.code,
      cityName: city.name,
      urban: e.name.endsWith('区'),
      predecessors: table.filter(r => r.retired && r.replacedBy === e.code).map(r => ({ code: r.code, retired: r.retired! })),
    }
  })
  return { tier, code, name: own.name, counties }
}

/**
 * Division code for an ID number issued at birth in `county`: the code current at that date
 * (a predecessor if the birth came before the merger), else the county's own code.
 */
export function birthDivision(county: County, birthDate: string, rng: Rng): string {
  const older = county.predecessors.filter(p => birthDate < p.retired)
  // Only part of today's area came from each retired division, so mix the old and the new code.
  if (older.length > 0 && rng.chance(0.4)) return rng.pick(older).code
  return county.code
}
