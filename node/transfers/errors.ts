import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of transfers between schools of different nodes. Each
 * refusal changes nothing. Tests assert the code.
 */
export const transferErrors = {
  TRANSFER_PAUSED: { status: 409, doc: 'The national system pauses transfers between schools in this window every year (details.from, details.to, config calendar.transferPause); apply after it.' },
  TRANSFER_CLASS_INVALID: { status: 400, doc: 'The target class is a replica of another node\'s class: the receiving school is one of this node\'s schools (kindergartens). At a handoff (details.rule deleted): the target class no longer exists.' },
  TRANSFER_PERSON_REQUIRED: { status: 400, doc: 'Name the person by ID number (idNumber) or 学籍号 (studentNo).' },
  TRANSFER_PERSON_INVALID: { status: 400, doc: 'The ID number (idNumber) or 学籍号 (studentNo) is not a valid one (details.field, details.rule): a masked number as the API shows it, or a mistyped one, finds nobody; give the full number.' },
  TRANSFER_SAME_NODE: { status: 409, doc: 'The person is registered on this node already: a move between its schools is a status change (转出, then 转入), not a transfer between nodes.' },
  TRANSFER_OPEN_EXISTS: { status: 409, doc: 'A transfer of this person is already under way (details.id); withdraw it first.' },
  TRANSFER_NOT_FOUND: { status: 409, doc: 'No node of the federation holds the person named (by ID number or 学籍号); check them.' },
  TRANSFER_PENDING_BUSINESS: { status: 409, doc: 'The sending school has an unfinished status change of the person (details.id); it is finished or withdrawn there first.' },
  TRANSFER_STATE_INVALID: { status: 409, doc: 'The person is not in school at the sending school (details.state): a person who left, died or graduated is not transferred.' },
  TRANSFER_STEP_INVALID: { status: 409, doc: 'The step does not fit the transfer\'s status (details.status) or this node\'s part in it (details.role): the receiving bureau sends, the sending bureau approves or rejects, the receiving side withdraws until the sender approved.' },
  TRANSFER_HANDOFF_UNEXPECTED: { status: 409, doc: 'A handoff arrived for a transfer this node did not request or has completed already (a replayed handoff); it is refused and changes nothing.' },
} as const

export const transferError = errorFactory(transferErrors)
