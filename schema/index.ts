/** Every drizzle table of a node, for `drizzle({ schema })` and drizzle-kit. */
export * from './node.ts'
export * from './outbox.ts'
export * from './records/index.ts'
export * from './sync.ts'
export * from './auth.ts'
export * from './exports.ts'
export * from './transfers.ts'
