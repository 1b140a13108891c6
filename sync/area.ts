/**
 * Division-code areas (GB/T 2260): which codes lie within a node's area. Pure.
 *
 * A county node's area is its own code; a city's is every code sharing its first four digits
 * (its districts and counties); the province's every code sharing its first two (33xxxx).
 */
import type { Tier } from './keys.ts'

/** Digits of the code that an area of this tier fixes. */
const PREFIX: Record<Tier, number> = { province: 2, city: 4, county: 6 }

/** Whether `code` lies within the area of node `node` of tier `tier` (a node's own code does). */
export function inArea(node: { code: string; tier: Tier }, code: string): boolean {
  const n = PREFIX[node.tier]
  return typeof code === 'string' && code.length === 6 && code.slice(0, n) === node.code.slice(0, n)
}

/** Whether node `code` is strictly below `node` (in its area, and not itself). */
export function isBelow(node: { code: string; tier: Tier }, code: string): boolean {
  return code !== node.code && inArea(node, code)
}

/** The division code of the next tier up (GB/T 2260): county → city → province; the province is its own. */
export function parentDivision(code: string): string {
  if (code.endsWith('0000')) return code
  if (code.endsWith('00')) return `${code.slice(0, 2)}0000`
  return `${code.slice(0, 4)}00`
}

/** The tier one level below; `undefined` for a county. */
export function childTier(tier: Tier): 'city' | 'county' | undefined {
  return tier === 'province' ? 'city' : tier === 'city' ? 'county' : undefined
}
