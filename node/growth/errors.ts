import { errorFactory } from '../../config/errors.ts'

/**
 * Stable error codes of the growth records and the comprehensive evaluation.
 * Each refusal changes nothing. Tests assert the code.
 */
export const growthErrors = {
  GROWTH_NOT_SENIOR_HIGH: { status: 409, doc: 'Growth records are kept for students of senior high schools in grades 10–12 only (R-13.1; school categories and grades in node/growth/data); check the student\'s school and class.' },
  GROWTH_MODULE_UNKNOWN: { status: 400, doc: 'The moduleCode is not a module of table growth_module (or is a course kind N/L/S itself); choose a module, or add a local or school-based course by a code-table extension (R-30.1).' },
  GROWTH_SCORE_OUT_OF_SCALE: { status: 400, doc: 'A score is outside its scale or not on its step (details.scale: exam, proficiency, dimension; practice evaluations must be one of the scale\'s grades); the scales are in node/growth/data.' },
  GROWTH_CREDIT_OUT_OF_RULE: { status: 400, doc: 'The credits are not a value the module kind\'s credit rule allows, or credits were given for a failed exam, or a national module\'s class hours differ from the rule (details.rule).' },
  GROWTH_FIELD_NOT_ALLOWED: { status: 400, doc: 'A field was given where it does not apply (a 会考 score for a local or school-based course, members for community service …, details.field).' },
  GROWTH_GENERATED_READONLY: { status: 400, doc: 'A generated figure of the comprehensive evaluation (course status, credits, proficiency levels, project scores, R-15.2/R-15.3) was typed; only overallComment is written, the rest follows from the growth records.' },
  GROWTH_REPORTED_LOCKED: { status: 409, doc: 'The student\'s growth records were reported (details.stage: bureau = by the school, province = by the bureau) and are locked (R-24.2); a change needs the school\'s application, the bureau\'s agreement and, once at the province, its approval (the change-request chain).' },
  GROWTH_NOT_VERIFIED: { status: 409, doc: 'A report was asked while growth records or evaluations of the grade are not verified (details.unverified counts them); the evaluation leading group verifies them first (R-23.1).' },
  GROWTH_ALREADY_REPORTED: { status: 409, doc: 'The grade was already reported for that school year (details.reported); nothing to report again.' },
  GROWTH_PUBLICITY_INVALID: { status: 400, doc: 'The 公示 period is not two dates YYYY-MM-DD with from ≤ to (details.rule: dates), starts before today by the node\'s clock (not_before_today, details.today), or would end a running period sooner (not_shortened, details.publicFrom and publicTo: the period that has opened; it can only be extended).' },
  GROWTH_PUBLICITY_PENDING: { status: 409, doc: 'A report was asked before the 公示 period of every evaluation of the grade ended, or with an objection not yet answered (details.rule: publicity | objection); wait for the period\'s end and answer the objections.' },
  GROWTH_NOT_IN_PUBLICITY: { status: 409, doc: 'An objection can be raised only during the evaluation\'s 公示 period (details.publicFrom, details.publicTo).' },
  GROWTH_OBJECTION_ANSWERED: { status: 409, doc: 'The objection was already answered.' },
} as const

export const growthError = errorFactory(growthErrors)
