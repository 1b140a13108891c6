import { errorFactory } from '../../config/errors.ts'

/** Stable error codes of the registration calendar. Each refusal changes nothing. */
export const calendarErrors = {
  CALENDAR_RECORD_LOCKED: {
    status: 409,
    doc: 'The record is locked on expiry (details.rule R-22.1–R-22.4, details.lockedFrom, details.lastOpenDay); the school applies for the change with a reason and the higher bureau approves it (R-22.5; with the province too where R-24.2 applies).',
  },
  CALENDAR_ROLLOVER_YEAR: {
    status: 400,
    doc: 'The rollover dry run previews only the school year of today or the next one (details.current); the real run always rolls into the school year of today.',
  },
  CALENDAR_ROLLOVER_UNIT: {
    status: 400,
    doc: 'No school or kindergarten of this node has that id (the rollover runs at the home node of a school).',
  },
} as const

export const calendarError = errorFactory(calendarErrors)
