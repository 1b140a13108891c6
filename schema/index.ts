/** Every drizzle table of a node, for `drizzle({ schema })` and drizzle-kit. */
export * from './node.ts'
