/**
 * The access contract: who may do what (function check) and reach which records (object check).
 * Pure functions with no Fastify or database import, so HTTP handlers, the record service and the
 * applier of downward commands share one rule (DESIGN.md §11).
 *
 * Regulation: Art. 16 (bureau users reach all schools of their area, school users their own
 * school), Art. 17 (roles and their rights), Art. 18 (who enters and who verifies).
 */

export const ROLES = [
  'bureau_admin',
  'bureau_user',
  'central_school_admin',
  'school_admin',
  'grade_admin',
  'class_admin',
  'teacher',
  'student',
] as const
/** roles plus the central-school administrator of. `teacher` is the school ordinary user. */
export type Role = (typeof ROLES)[number]

export const BUREAU_ROLES: readonly Role[] = ['bureau_admin', 'bureau_user']
/** School staff roles (everyone below the bureau except students). */
export const SCHOOL_STAFF_ROLES: readonly Role[] = ['central_school_admin', 'school_admin', 'grade_admin', 'class_admin', 'teacher']

/** What an account may reach. */
export type Scope =
  /** The bureau's whole subtree: every school of this node, and the replicas below it at upper tiers. */
  | { kind: 'bureau'; node: string }
  /** School codes (school administrators, central-school administrators). */
  | { kind: 'schools'; schools: string[] }
  /** Class ids of one school (grade and class administrators, teachers). */
  | { kind: 'classes'; school: string; classes: string[] }
  /** One student's own record. */
  | { kind: 'student'; school: string; studentId: string }

/** The signed-in account, as every handler sees it on `req.actor`. */
export interface Actor {
  accountId: string
  username: string
  role: Role
  scope: Scope
  /** 校领导: may verify school info, status changes and growth records. */
  leader: boolean
  /** Sensitive field classes (see sensitive.ts) this account may reveal in clear. */
  grants: string[]
}

export const PERMISSIONS = [
  'unit:read', 'unit:write', 'unit:verify',
  'school:read', 'school:write', 'school:verify',
  'class:read', 'class:write', 'class:verify',
  'student:read', 'student:write', 'student:delete', 'student:verify',
  'status_change:write', 'status_change:verify', 'status_change:approve',
  'growth:write', 'growth:verify', 'growth:report', 'growth:object',
  'stats:read', 'account:manage', 'sensitive:reveal', 'audit:read', 'sync:operate', 'problem:resolve', 'problem:scan',
  // a school or bureau issues 学籍证明 (signed certificates).
  'certificate:issue',
  // the school applies to change a locked record; the bureau decides.
  'change_request:write', 'change_request:approve',
  // the bureau (node) administrator runs the rollover of the node's schools.
  'calendar:rollover',
] as const
export type Permission = (typeof PERMISSIONS)[number]

const READ_ALL: Permission[] = ['unit:read', 'school:read', 'class:read', 'student:read', 'stats:read']
const SCHOOL_ADMIN: Permission[] = [
  ...READ_ALL,
  // the supervising unit's info is entered by the central-school or school administrator.
  'unit:write',
  // school info and status changes, review, maintenance (数据维护), accounts.
  'school:write', 'class:write', 'student:write', 'student:delete', 'status_change:write',
  'account:manage', 'sensitive:reveal',
  // 查重: problem records are listed for the school and resolved there (by evidence, correction or
  // deletion), as well as by the bureau.
  'problem:resolve',
  'certificate:issue',
  // the school applies for the change of a locked record (and may withdraw it).
  'change_request:write',
]

/**
 * The function table. Verification rights that depend on the leader flag
 * (school info, status changes, growth records) are added in `can`, not here.
 */
const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = {
  // R-17.2 (and 数据维护, R-20.1/R-22.5: the bureau administrator carries out approved changes).
  bureau_admin: new Set<Permission>([
    ...READ_ALL, 'unit:write', 'unit:verify', 'school:write', 'class:write', 'student:write',
    'status_change:approve', 'account:manage', 'sensitive:reveal', 'audit:read', 'sync:operate', 'problem:resolve', 'problem:scan',
    'certificate:issue',
    // the bureau checks its area's growth records and reports them to the province.
    'growth:report',
    // the bureau approves or rejects a change request (the province too, where it must).
    'change_request:approve',
    'calendar:rollover',
  ]),
  // query and statistics only.
  bureau_user: new Set<Permission>([...READ_ALL]),
  central_school_admin: new Set<Permission>(SCHOOL_ADMIN),
  school_admin: new Set<Permission>(SCHOOL_ADMIN),
  // R-17.5 + R-18.1: enter class, student and growth info of their classes; the grade
  // administrator verifies class and student info.
  grade_admin: new Set<Permission>(['school:read', 'class:read', 'student:read', 'stats:read', 'class:write', 'student:write', 'growth:write', 'class:verify', 'student:verify', 'sensitive:reveal']),
  class_admin: new Set<Permission>(['school:read', 'class:read', 'student:read', 'stats:read', 'class:write', 'student:write', 'growth:write', 'sensitive:reveal']),
  // enter student info, query, statistics.
  teacher: new Set<Permission>(['school:read', 'class:read', 'student:read', 'stats:read', 'student:write', 'sensitive:reveal']),
  // read their own record.
  // during the 公示 period the student (and guardians, through the student's account)
  // may object to their own evaluation.
  student: new Set<Permission>(['student:read', 'sensitive:reveal', 'growth:object']),
}

/** Verifications reserved to the school leadership (校领导; the evaluation group is modelled as it). */
const LEADER_PERMISSIONS: ReadonlySet<Permission> = new Set(['school:verify', 'status_change:verify', 'growth:verify'])

/** Roles that may carry the leader flag. */
export function mayBeLeader(role: Role): boolean {
  return SCHOOL_STAFF_ROLES.includes(role)
}

/**
 * Does the scope reach whole schools (a bureau, or school and central-school administrators)?
 * A class-scoped account reaches only its classes, even with the leader flag.
 */
export function reachesWholeSchools(scope: Scope): boolean {
  return scope.kind === 'bureau' || scope.kind === 'schools'
}

/**
 * Function check: may this account do this at all (R-17.x)? Which records is a separate check.
 * School info is verified by the school's leadership as a whole: a leader bound to
 * some classes verifies status changes and growth records of those classes only, never the
 * school's own record (which its staff may read).
 */
export function can(actor: Actor, permission: Permission): boolean {
  if (permission === 'school:verify' && !reachesWholeSchools(actor.scope)) return false
  if (LEADER_PERMISSIONS.has(permission)) return actor.leader && mayBeLeader(actor.role)
  return ROLE_PERMISSIONS[actor.role].has(permission)
}

/**
 * May `actor` give an account the leader flag (or manage one that has it)? The leader flag makes
 * the verifier of what school administrators enter: an administrator without it who
 * could make one would verify their own entries through it. So leaders are appointed by the
 * bureau administrator (who opens the school's accounts, R-17.2) or by a leader (the leadership
 * names the members of its evaluation leading group).
 */
export function mayAppointLeader(actor: Actor): boolean {
  return actor.role === 'bureau_admin' || (actor.leader && mayBeLeader(actor.role))
}

/** All permissions of an actor (for `/me` and the UI). */
export function permissionsOf(actor: Actor): Permission[] {
  return PERMISSIONS.filter(p => can(actor, p))
}

/**
 * The record an object check is about. Pass every field the record has:
 * - a school record: `{ school, homeNode }`
 * - a class: `{ school, classId, homeNode }`
 * - a student or anything hanging off one (guardians, status changes, growth …):
 *   `{ school, classId, studentId, homeNode }`
 * - a supervising unit: `{ schools: [codes of the schools it supervises], homeNode }`
 */
export interface Target {
  school?: string
  classId?: string
  studentId?: string
  homeNode?: string
  /** For a record that belongs to several schools (a supervising unit): reachable through any one. */
  schools?: string[]
  /**
   * The action covers every record of `school` (a grade's growth records reported or published):
   * only a scope reaching the whole school passes, never one bound to classes or to a student.
   */
  wholeSchool?: boolean
}

/**
 * GB/T 2260 subtree test: 330000 (province) holds every 33xxxx, 330100 (city) every 3301xx,
 * 330106 (county) only itself.
 */
export function inSubtree(node: string, descendant: string): boolean {
  return descendant.startsWith(subtreePrefix(node))
}

/** The code prefix shared by a node and everything below it. */
export function subtreePrefix(node: string): string {
  if (node.endsWith('0000')) return node.slice(0, 2)
  if (node.endsWith('00')) return node.slice(0, 4)
  return node
}

/** Object check: is this record inside the account's scope? */
export function inScope(actor: Actor, target: Target): boolean {
  const s = actor.scope
  switch (s.kind) {
    case 'bureau':
      return target.homeNode === undefined || inSubtree(s.node, target.homeNode)
    case 'schools':
      if (target.school !== undefined) return s.schools.includes(target.school)
      return (target.schools ?? []).some(code => s.schools.includes(code))
    case 'classes':
      if (target.school !== s.school || target.wholeSchool) return false
      // A school-level record (the school's own info) is visible to its staff; anything that
      // belongs to a class must name it, so a teacher never reaches a sibling class.
      if (target.classId !== undefined) return s.classes.includes(target.classId)
      return target.studentId === undefined
    case 'student':
      return !target.wholeSchool && target.studentId === s.studentId && (target.school === undefined || target.school === s.school)
  }
}

/**
 * What a list query must be restricted to. Apply every present key (they combine with AND):
 * `homeNodePrefix` → `home_node LIKE prefix || '%'`; `schools` → `school_code IN (…)`;
 * `classes` → `class_id IN (…)`; `studentId` → the student's own rows. `all` is true when no
 * school, class or student restriction applies (a bureau account). The records service turns it
 * into SQL (`scopeSql` in node/services/records/service.ts).
 */
export interface ScopeFilter {
  all: boolean
  homeNodePrefix?: string
  schools?: string[]
  classes?: string[]
  studentId?: string
}

export function scopeFilter(actor: Actor): ScopeFilter {
  const s = actor.scope
  switch (s.kind) {
    case 'bureau':
      return { all: true, homeNodePrefix: subtreePrefix(s.node) }
    case 'schools':
      return { all: false, schools: [...s.schools] }
    case 'classes':
      return { all: false, schools: [s.school], classes: [...s.classes] }
    case 'student':
      return { all: false, schools: [s.school], studentId: s.studentId }
  }
}

/** The schools a scope reaches, or 'all' for a bureau. */
export function schoolsOf(scope: Scope): string[] | 'all' {
  switch (scope.kind) {
    case 'bureau':
      return 'all'
    case 'schools':
      return scope.schools
    case 'classes':
    case 'student':
      return [scope.school]
  }
}

/** The scope kind each role must have. */
export const SCOPE_KIND_OF_ROLE: Record<Role, Scope['kind']> = {
  bureau_admin: 'bureau',
  bureau_user: 'bureau',
  central_school_admin: 'schools',
  school_admin: 'schools',
  grade_admin: 'classes',
  class_admin: 'classes',
  teacher: 'classes',
  student: 'student',
}

/** Which roles each role may create. Nobody creates an account above their own rights. */
const MAY_CREATE: Record<Role, readonly Role[]> = {
  // names ordinary users and central-school administrators; a school administrator
  // (one school) is the same account bound to a single school, so the bureau creates it too.
  // Further bureau administrators are not created over the API (only `xueji init`): Art. 17 gives
  // no one the right to create them.
  bureau_admin: ['bureau_user', 'central_school_admin', 'school_admin'],
  // A central-school administrator manages its schools as their school administrator would,
  // and may appoint a school administrator for one of them (same rights, narrower scope).
  central_school_admin: ['school_admin', 'grade_admin', 'class_admin', 'teacher', 'student'],
  //
  school_admin: ['grade_admin', 'class_admin', 'teacher', 'student'],
  bureau_user: [],
  grade_admin: [],
  class_admin: [],
  teacher: [],
  student: [],
}

/** Is `inner` entirely inside `outer`? (Delegation never widens a scope.) */
export function scopeWithin(outer: Scope, inner: Scope): boolean {
  if (outer.kind === 'bureau') return inner.kind !== 'bureau' || inner.node === outer.node
  if (inner.kind === 'bureau') return false
  const outerSchools = schoolsOf(outer) as string[]
  if (outer.kind === 'schools') {
    return (inner.kind === 'schools' ? inner.schools : [inner.school]).every(s => outerSchools.includes(s))
  }
  if (outer.kind === 'classes') {
    if (inner.kind === 'schools') return false
    if (inner.school !== outer.school) return false
    if (inner.kind === 'classes') return inner.classes.every(c => outer.classes.includes(c))
    return false // a class-scoped account creates no student accounts
  }
  return false
}

export interface NewAccount {
  role: Role
  scope: Scope
  leader: boolean
  grants: string[]
}

export type DelegationRefusal = 'ROLE' | 'SCOPE_KIND' | 'SCOPE' | 'LEADER' | 'GRANTS'

/**
 * Delegation limits: may `actor` create (or change, or disable) an account like
 * `target`? Returns null when allowed, else why not. The caller still checks that the schools and
 * classes named exist on this node.
 */
export function delegationRefusal(actor: Actor, target: NewAccount): DelegationRefusal | null {
  if (!MAY_CREATE[actor.role].includes(target.role)) return 'ROLE'
  if (target.scope.kind !== SCOPE_KIND_OF_ROLE[target.role]) return 'SCOPE_KIND'
  if (target.scope.kind === 'schools' && target.scope.schools.length === 0) return 'SCOPE'
  if (target.scope.kind === 'classes' && target.scope.classes.length === 0) return 'SCOPE'
  if (target.role === 'school_admin' && target.scope.kind === 'schools' && target.scope.schools.length !== 1) return 'SCOPE'
  if (!scopeWithin(actor.scope, target.scope)) return 'SCOPE'
  // The leader flag lets an account verify what administrators enter: only school
  // staff carry it, and only the bureau administrator or a leader gives it (mayAppointLeader).
  if (target.leader && (!mayBeLeader(target.role) || !mayAppointLeader(actor))) return 'LEADER'
  if (!target.grants.every(g => actor.grants.includes(g))) return 'GRANTS'
  return null
}
