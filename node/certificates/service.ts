/**
 * Student history and 学籍证明. Every tier keeps the complete record of every student of
 * its subtree, ended ones included, so a lookup at any tier finds the history; a certificate is
 * signed with the issuing node's own key, whose key record chains to the province's key through
 * the parents that enrolled it (sync/registry.ts): anyone holding the province key and the
 * published key records can check it without asking the issuer.
 */
import { randomUUID } from 'node:crypto'
import { asc, eq } from 'drizzle-orm'
import { compactVerify } from 'jose'
import { toString as qrSvg } from 'qrcode'
import type { Storage } from '../../schema/db.ts'
import { schools, studentCompletions, studentEnrolments, studentResumes, students, studentStatusChanges } from '../../schema/records/index.ts'
import { importPublicJwk, openCompactJws, readHeldKeyRecord, signJws, type KeyLike } from '../../sync/keys.ts'
import { loadSigner } from '../../sync/signers.ts'
import { ALLOWED_ALGORITHMS, type Tier } from '../../sync/keys.ts'
import { inArea } from '../../sync/area.ts'
import { maskRecord } from '../auth/sensitive.ts'
import { PROCESSING } from '../status-changes/rules.ts'
import { CERTIFICATE_TYP, certificateClaims, certificatePage, type CertificateClaims, type VerifyOutcome } from './rules.ts'

type StudentRow = typeof students.$inferSelect

/** One student's history as the lookup answers it (sensitive fields masked). */
export interface StudentHistory {
  student: Record<string, unknown>
  school: { schoolCode: string; name: string } | null
  enrolment: Record<string, unknown> | null
  resumes: Record<string, unknown>[]
  statusChanges: Record<string, unknown>[]
  completion: Record<string, unknown> | null
}

export function createCertificatesService(deps: { storage: Storage; identity: { code: string; name: string; tier: Tier } }) {
  const { storage } = deps
  const db = storage.db
  const schoolOf = (id: string) => db.select({ schoolCode: schools.schoolCode, name: schools.name }).from(schools).where(eq(schools.id, id)).get() ?? null
  const raw = (s: StudentRow) => ({
    school: schoolOf(s.schoolId),
    enrolment: db.select().from(studentEnrolments).where(eq(studentEnrolments.studentId, s.id)).get() ?? null,
    resumes: db.select().from(studentResumes).where(eq(studentResumes.studentId, s.id)).orderBy(asc(studentResumes.fromYm)).all(),
    statusChanges: db.select().from(studentStatusChanges).where(eq(studentStatusChanges.studentId, s.id)).orderBy(asc(studentStatusChanges.changeDate)).all(),
    completion: db.select().from(studentCompletions).where(eq(studentCompletions.studentId, s.id)).get() ?? null,
  })

  /**
   * Public key of `node`'s key `kid`, whatever its seq range (a certificate outlives a key
   * rotation), and when the key was closed (its closing record's time, as signed by the parent
   * that closed it), null while it is current. This node's own key not vouched for above yet is
   * read from node_keys: current.
   */
  const keyOf = async (node: string, kid: string): Promise<{ key: KeyLike; closedAt: string | null } | undefined> => {
    const held = storage.sqlite.prepare('select public_jwk, valid_until_seq, record from sync_keys where node = ? and kid = ?').get(node, kid) as
      | { public_jwk: string; valid_until_seq: number | null; record: string }
      | undefined
    if (held) return { key: await importPublicJwk(JSON.parse(held.public_jwk)), closedAt: held.valid_until_seq === null ? null : (await readHeldKeyRecord(held.record)).issuedAt }
    const own = node === deps.identity.code ? (storage.sqlite.prepare('select public_jwk from node_keys where kid = ?').get(kid) as { public_jwk: string } | undefined) : undefined
    return own ? { key: await importPublicJwk(JSON.parse(own.public_jwk)), closedAt: null } : undefined
  }
  /** The nodes from the province down to `node`, as the key records held here link them. */
  const chainOf = (node: string): string[] => {
    const chain: string[] = []
    let at: string | null = node
    while (at !== null && !chain.includes(at)) {
      chain.unshift(at)
      if (at === deps.identity.code && deps.identity.tier === 'province') break
      at = (storage.sqlite.prepare('select parent from sync_keys where node = ? limit 1').pluck().get(at) as string | null | undefined) ?? null
    }
    return chain
  }

  /**
   * Whether the school a certificate names is one its issuer may certify: held here, and owned
   * by a node in the issuer's area (a county's own schools, a city's and its counties'). The
   * certificate carries only the school's code, so without this a county's key would certify a
   * student of any school. Undefined when it is; else the refusal.
   */
  const schoolRefusal = (iss: string, schoolCode: string): VerifyOutcome | undefined => {
    const home = storage.sqlite.prepare('select home_node from schools where school_code = ?').pluck().get(schoolCode) as string | undefined
    if (home === undefined) return { ok: false, code: 'CERT_SCHOOL_UNKNOWN', reason: `本节点未登记学校 ${schoolCode}，无法核对其是否属于签发单位；请在省级节点核验` }
    const tier = iss === deps.identity.code ? deps.identity.tier : (storage.sqlite.prepare('select tier from sync_keys where node = ? limit 1').pluck().get(iss) as Tier)
    if (!inArea({ code: iss, tier }, home)) return { ok: false, code: 'CERT_SCHOOL_OUTSIDE_ISSUER', reason: `学校 ${schoolCode} 不在签发单位 ${iss} 的管辖范围内，该单位无权为其学生出具学籍证明` }
    return undefined
  }

  return {
    /** Students whose ID number or 学籍号 is `value` (raw rows: the caller filters by scope). */
    find(by: { idNumber?: string; studentNo?: string }): StudentRow[] {
      return db.select().from(students).where(by.idNumber !== undefined ? eq(students.idNumber, by.idNumber) : eq(students.studentNo, by.studentNo!)).all()
    },

    /** One student's schools, status changes and completion, masked. */
    history(s: StudentRow): StudentHistory {
      const h = raw(s)
      return {
        student: maskRecord('students', s as unknown as Record<string, unknown>),
        school: h.school,
        enrolment: h.enrolment ? maskRecord('student_enrolments', h.enrolment as unknown as Record<string, unknown>) : null,
        resumes: h.resumes.map(r => maskRecord('student_resumes', r as unknown as Record<string, unknown>)),
        statusChanges: h.statusChanges.map(r => maskRecord('student_status_changes', r as unknown as Record<string, unknown>)),
        completion: h.completion ? maskRecord('student_completions', h.completion as unknown as Record<string, unknown>) : null,
      }
    },

    /** Signs a certificate of `s` with this node's current key; returns the token, its claims and the printable page. */
    async issue(s: StudentRow): Promise<{ token: string; claims: CertificateClaims; html: string }> {
      const h = raw(s)
      const claims = certificateClaims(
        // Only the status changes carried out (办理): an application pending, rejected or withdrawn changed nothing.
        { student: s, school: h.school ?? { schoolCode: s.schoolCode, name: s.schoolCode }, statusChanges: h.statusChanges.filter(c => c.processingStatus === PROCESSING.carriedOut), completion: h.completion },
        deps.identity,
        new Date(),
        randomUUID(),
      )
      const token = await signJws(claims, CERTIFICATE_TYP, await loadSigner(storage))
      // Low error correction: the token is long, and a printed page is read from close up.
      const svg = await qrSvg(token, { type: 'svg', errorCorrectionLevel: 'L', margin: 2 })
      return { token, claims, html: certificatePage(claims, svg, token) }
    },

    /**
     * Verifies a certificate with the key records held here (each verified up to the province
     * key when it arrived): header gate, the issuer's registered key, the signature, the claims,
     * and that the school it names is the issuer's (`schoolRefusal`).
     */
    async verify(token: string): Promise<VerifyOutcome> {
      let iss: string
      let kid: string
      try {
        const opened = openCompactJws(token.trim(), CERTIFICATE_TYP)
        iss = String(opened.unverifiedPayload.iss)
        kid = opened.header.kid
      } catch {
        return { ok: false, code: 'CERT_INVALID', reason: '不是学籍证明（格式不符）' }
      }
      const found = await keyOf(iss, kid)
      if (!found) return { ok: false, code: 'CERT_INVALID', reason: '签发单位的密钥未在省级密钥链中登记' }
      try {
        const { payload } = await compactVerify(token.trim(), found.key, { algorithms: [...ALLOWED_ALGORITHMS] })
        const claims = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload)) as CertificateClaims
        if (claims.v !== 1 || claims.iss !== iss || typeof claims.iat !== 'string' || typeof claims.school?.code !== 'string') return { ok: false, code: 'CERT_INVALID', reason: '证明内容不完整' }
        // A key closed (rotated, or revoked at re-enrolment) signs no certificate after its closing.
        if (found.closedAt !== null && !(claims.iat < found.closedAt)) return { ok: false, code: 'CERT_INVALID', reason: `签发单位的该密钥已于 ${found.closedAt} 停用，此后以其签名的证明无效` }
        return schoolRefusal(iss, claims.school.code) ?? { ok: true, claims, chain: chainOf(iss) }
      } catch {
        return { ok: false, code: 'CERT_INVALID', reason: '签名不符：证明已被篡改或伪造' }
      }
    },

    /** What a verifier needs offline: the province key (the root) and every key record held here, parents first. */
    publishedKeys(): { root: { node: string; kid: string; publicJwk: unknown } | null; records: string[] } {
      const rows = storage.sqlite.prepare("select node, kid, parent, public_jwk, record from sync_keys order by case tier when 'province' then 0 when 'city' then 1 else 2 end, node, valid_from_seq").all() as {
        node: string; kid: string; parent: string | null; public_jwk: string; record: string
      }[]
      const root = rows.find(r => r.parent === null)
      return { root: root ? { node: root.node, kid: root.kid, publicJwk: JSON.parse(root.public_jwk) } : null, records: rows.map(r => r.record) }
    },
  }
}

export type CertificatesService = ReturnType<typeof createCertificatesService>
