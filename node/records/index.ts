/**
 * The registration record's domain rules (Articles 7–12), pure: field lists, normalisation,
 * validation, pinyin. Shared by the API (node/services/records), imports, the seed generator and
 * the sync applier.
 */
export * from './errors.ts'
export * from './fields.ts'
export * from './pinyin.ts'
export * from './validate.ts'
