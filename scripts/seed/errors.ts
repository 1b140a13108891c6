import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of the seed generator (`xueji seed`). */
export const seedErrors = {
  SEED_SIZE_INVALID: { status: 400, doc: 'The student count is outside 100 … 1,000,000; choose a size in range.' },
  SEED_NODE_NOT_EMPTY: { status: 409, doc: 'The node already holds units, schools or kindergartens; seed a freshly initialised node.' },
} as const

export const seedError = errorFactory(seedErrors)
