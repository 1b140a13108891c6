import { sqliteTable, text, index } from 'drizzle-orm/sqlite-core'
import { recordColumns } from './columns.ts'

/**
 * 问题记录 from duplicate detection (查重): the same ID number twice, or the same name, gender and
 * birth date among students without an ID. Resolved by evidence (佐证), correction or deletion.
 */
export const problemRecords = sqliteTable(
  'problem_records',
  {
    ...recordColumns(),
    /** duplicate_id_number | duplicate_name_gender_birth */
    kind: text('kind', { enum: ['duplicate_id_number', 'duplicate_name_gender_birth'] }).notNull(),
    /** students | children */
    subjectTable: text('subject_table', { enum: ['students', 'children'] }).notNull(),
    /** The record found to be a duplicate … */
    subjectId: text('subject_id').notNull(),
    /** … of this one (may belong to another school of the node). */
    otherId: text('other_id').notNull(),
    /** School or kindergarten code of the subject, for the school's list. */
    schoolCode: text('school_code').notNull(),
    /** open | resolved */
    status: text('status', { enum: ['open', 'resolved'] }).notNull().default('open'),
    /** evidence | corrected | deleted */
    resolution: text('resolution', { enum: ['evidence', 'corrected', 'deleted'] }),
    /** Evidence text or document number (佐证说明). */
    resolutionNote: text('resolution_note'),
    resolvedBy: text('resolved_by'),
    resolvedAt: text('resolved_at'),
  },
  t => [index('problem_records_school').on(t.schoolCode, t.status), index('problem_records_subject').on(t.subjectId), index('problem_records_other').on(t.otherId)],
)
