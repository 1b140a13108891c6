import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of the status-change workflow (学籍异动, R-10.10, R-12.5, R-19.4, R-20.1).
 * Each refusal changes nothing. Tests assert the code.
 */
export const statusChangeErrors = {
  STATUS_CHANGE_PROCESSING_RESERVED: { status: 400, doc: 'A write tried to set processingStatus (or another workflow field); only the workflow sets it: apply, then the bureau reviews and carries out.' },
  STATUS_CHANGE_NOT_PENDING: { status: 409, doc: 'The step does not fit the application\'s processing status (details.processingStatus): review needs 申请, carrying out needs 已批准, editing, deleting and withdrawing need 申请.' },
  STATUS_CHANGE_FIELD_FIXED: { status: 400, doc: 'The change type and date of an application cannot be edited; withdraw it and apply again.' },
  STATUS_CHANGE_STATE_INVALID: { status: 409, doc: 'The change does not fit the person\'s current state (details.state), e.g. 复学 for a student in school, a completion for a student who has left; check the record.' },
  STATUS_CHANGE_PENDING_EXISTS: { status: 409, doc: 'The person already has an application that is not finished (details.id); carry it out, reject or withdraw it first.' },
  STATUS_CHANGE_CLASS_INVALID: { status: 400, doc: 'targetClassId is missing where the change places the person in a class (留级, 降级, 跳级, 转入 …), or it is not a class of the person\'s school.' },
  STATUS_CHANGE_NOT_ALLOWED: { status: 409, doc: 'The change is forbidden by rule: 开除学籍 in compulsory education (grades 1–9).' },
  STATUS_CHANGE_PERSON_DECEASED: { status: 409, doc: 'The person\'s death has been carried out: their pending business is frozen and no other change proceeds. A death recorded in error is undone by applying for 其他 (99), the death reversal, with its reason and documents.' },
  DEATH_REPORT_OWN: { status: 409, doc: 'A node cannot acknowledge its own death report; the bureau of the tier above acknowledges it.' },
  DEATH_REPORT_ACKED: { status: 409, doc: 'This node\'s bureau has acknowledged the death report already (details.ackedAt).' },
  STATUS_CHANGE_NO_CERTIFICATE: { status: 409, doc: 'A transfer certificate (转学证明) is printed only for a 转出 (21) the bureau has approved or carried out (details.rule).' },
  STATUS_CHANGE_REASON_REQUIRED: { status: 400, doc: 'A rejection needs its reason.' },
  STATUS_CHANGE_NOT_VERIFIED: { status: 409, doc: 'R-18.1: an application reaches the bureau\'s review once the school leadership has verified it (核对, POST /api/v1/verification/{student|child}_status_changes/{id}/verify); details.verifyState is where it stands.' },
  STATUS_CHANGE_BY_TRANSFER: { status: 409, doc: 'The 转出 was applied by a transfer between nodes that is waiting for the sending bureau (details.transferId): it is approved or rejected as that transfer (POST /api/v1/transfers/{id}/approve or /reject), and is not reviewed, carried out, corrected, withdrawn or deleted on its own.' },
  RECORD_DELETE_VERIFIED: { status: 409, doc: 'A person record that was ever verified, or whose state a status change or completion moved, is never deleted (R-26.1); end it through a status change (转出, 退学, 死亡 …) or completion.' },
} as const

export const statusChangeError = errorFactory(statusChangeErrors)
