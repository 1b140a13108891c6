import { main } from './cli.ts'

// Entry point of the `xueji` command (see scripts/xueji.js). Kept apart from cli.ts so tests can
// import `main` without running it.
const code = await main(process.argv.slice(2), process.env, { out: s => process.stdout.write(s), err: s => process.stderr.write(s) })
// Exit explicitly: a closed node must not linger on a stray handle.
process.exit(code)
