/** The registration record (Articles 7–12): every table a registrar fills. */
export * from './units.ts'
export * from './schools.ts'
export * from './kindergartens.ts'
export * from './students.ts'
export * from './children.ts'
export * from './problems.ts'
export * from './alerts.ts'
export * from './growth.ts'
