import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of statistics. A refused query changes nothing. Tests assert the code. */
export const statisticsErrors = {
  STATS_UNIT_UNKNOWN: { status: 404, doc: 'The unit asked for (division code, school code or class id) does not exist here or is outside the account\'s scope; ask for a unit the account may see, or none for its whole scope.' },
  STATS_DIMENSION_UNKNOWN: { status: 400, doc: 'The dimension (`by`) is not one of the subject\'s dimensions (details.dimensions lists them).' },
  STATS_STATE_UNKNOWN: { status: 400, doc: 'The state is not one of the subject\'s states (details.states), or the subject has no states (teachers); use `all` for every state.' },
  STATS_SCOPE_TOO_NARROW: { status: 403, doc: 'Teachers, schools and kindergartens are counted per school; an account scoped to classes sees the figures of its classes\' students and children only.' },
  STATS_PERIOD_INVALID: { status: 400, doc: 'The period needs `from` and `to` as YYYY-MM-DD with from ≤ to.' },
} as const

export const statisticsError = errorFactory(statisticsErrors)
