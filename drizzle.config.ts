import { defineConfig } from 'drizzle-kit'

// `npm run db:generate` writes a new SQL migration into schema/migrations after a table changes.
export default defineConfig({
  dialect: 'sqlite',
  schema: './schema/index.ts',
  out: './schema/migrations',
})
