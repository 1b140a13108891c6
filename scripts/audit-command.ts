/**
 * `xueji audit verify`: checks the keyed chain of the node's audit log (node/auth/audit.ts) and,
 * when the node is enrolled and its parent answers, every anchor of it the parent holds, so a
 * chain rewritten by someone who has the node's key fails too.
 */
import { verifyWithParent } from '../node/auth/audit.ts'
import { withSync, type CliHelpers } from './sync-commands.ts'

type Out = { out: (s: string) => void; err: (s: string) => void }
type Env = Record<string, string | undefined>

export const AUDIT_USAGE = `
  xueji audit verify --data DIR
          check the keyed hash chain of the audit log, and against the anchors the parent holds
          when it answers; exit 1 if an entry was changed, deleted, reordered or rewritten
`

const PROBLEMS = {
  CHANGED: 'was changed',
  MISSING_OR_REORDERED: 'is missing or out of order (an entry was deleted or moved)',
  BROKEN_LINK: 'does not link to the entry before it (an entry was deleted or moved)',
  ANCHOR_MISMATCH: 'differs from the anchor the parent holds (the chain was rewritten)',
  ANCHOR_MISSING: 'was anchored at the parent but is gone here (entries were deleted from the end)',
} as const

export function auditCommand(h: CliHelpers) {
  return async (args: string[], io: Out, env: Env): Promise<number> => {
    const [sub, ...rest] = args
    if (sub !== 'verify') throw h.usage('usage: xueji audit verify --data DIR')
    const v = h.parse(rest, { data: { type: 'string' } })
    if (typeof v.data !== 'string' || v.data === '') throw h.usage('missing --data')
    return withSync(v.data, env, async sync => {
      const { check, anchors, parentError } = await verifyWithParent(sync.storage, () => sync.auditAnchors())
      const against =
        parentError === null ? `${anchors} anchors of the parent` : parentError.code === 'SYNC_NOT_ENROLLED' ? 'no parent anchors (no parent, or not enrolled)' : `parent anchors NOT checked [${parentError.code}]: ${parentError.message}`
      if (check.ok) {
        io.out(`audit log OK: ${check.entries} entries, head ${check.head}; ${against}\n`)
        return 0
      }
      io.err(`audit log BROKEN [AUDIT_CHAIN_BROKEN]: entry ${check.seq} ${PROBLEMS[check.problem]}; ${check.entries} entries read; ${against}\n`)
      return 1
    })
  }
}
