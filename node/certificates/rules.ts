/**
 * Pure rules of the 学籍证明 (R-26.1): what a certificate states, and its printable and
 * verification pages. No Fastify, no database. What the QR code carries is exactly the claims
 * below, signed: masked identifiers only, since anyone who scans it may read it.
 */
import { maskValue } from '../auth/sensitive.ts'

/** `typ` of a certificate JWS, so no other signed object of a node passes for one. */
export const CERTIFICATE_TYP = 'xueji-cert+jws'

/** What a 学籍证明 states. */
export interface CertificateClaims {
  v: 1
  /** Issuing node (division code) and bureau name. */
  iss: string
  issName: string
  /** Issued at (UTC ISO) and a random id. */
  iat: string
  jti: string
  student: { studentNo: string; name: string; gender: string; birthDate: string }
  school: { code: string; name: string }
  enrolmentYm: string
  state: string
  statusChanges: { type: string; date: string }[]
  completion: { ym: string; schoolCode: string } | null
}

export interface HistoryInput {
  student: { studentNo: string; name: string; gender: string; birthDate: string; enrolmentYm: string; state: string }
  school: { schoolCode: string; name: string }
  statusChanges: { changeType: string; changeDate: string }[]
  completion: { completionYm: string; graduatingSchoolCode: string } | null
}

export function certificateClaims(h: HistoryInput, issuer: { code: string; name: string }, at: Date, jti: string): CertificateClaims {
  return {
    v: 1,
    iss: issuer.code,
    issName: issuer.name,
    iat: at.toISOString(),
    jti,
    student: { studentNo: String(maskValue('id_number', h.student.studentNo)), name: h.student.name, gender: h.student.gender, birthDate: h.student.birthDate },
    school: { code: h.school.schoolCode, name: h.school.name },
    enrolmentYm: h.student.enrolmentYm,
    state: h.student.state,
    statusChanges: [...h.statusChanges].sort((a, b) => a.changeDate.localeCompare(b.changeDate)).map(s => ({ type: s.changeType, date: s.changeDate })),
    completion: h.completion ? { ym: h.completion.completionYm, schoolCode: h.completion.graduatingSchoolCode } : null,
  }
}

const esc = (s: unknown) => String(s).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
const GENDER: Record<string, string> = { '1': '男', '2': '女' }
const STATE: Record<string, string> = { in_school: '在籍在校', suspended: '休学', stopped: '停学', transferred_out: '转出', graduated: '毕业', withdrawn: '退学', expelled: '开除学籍', deceased: '死亡' }

function claimsTable(c: CertificateClaims): string {
  const rows: [string, string][] = [
    ['姓名', c.student.name], ['性别', GENDER[c.student.gender] ?? c.student.gender], ['出生日期', c.student.birthDate], ['学籍号', c.student.studentNo],
    ['就读学校', `${c.school.name}（${c.school.code}）`], ['入学年月', c.enrolmentYm], ['学籍状态', STATE[c.state] ?? c.state],
    ['学籍异动', c.statusChanges.length ? c.statusChanges.map(s => `${s.date} 类别 ${s.type}`).join('；') : '无'],
    ['结业', c.completion ? `${c.completion.ym}，学校 ${c.completion.schoolCode}` : '在读'],
    ['出具单位', `${c.issName}（${c.iss}）`], ['出具时间', c.iat], ['证明编号', c.jti],
  ]
  return `<table>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</table>`
}

const STYLE = '<style>body{font-family:serif;max-width:720px;margin:2em auto}table{border-collapse:collapse;width:100%}th,td{border:1px solid #333;padding:.4em;text-align:left}th{width:8em}.qr{float:right;width:200px}.ok{color:#060}.bad{color:#a00}textarea{width:100%;height:8em}@media print{form,.noprint{display:none}}</style>'

/**
 * The printable 学籍证明: the claims as a table, the QR code (an SVG) of the signed token, and the
 * token in small print for a verifier without a camera.
 */
export function certificatePage(c: CertificateClaims, qrSvg: string, token: string): string {
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>学籍证明</title>${STYLE}</head><body>
<h1>学籍证明</h1><div class="qr">${qrSvg}</div>
<p>兹证明以下学生的学籍信息如下。扫描二维码，可在任一学籍系统节点的 /verify 页面或用省级公钥离线核验本证明的真伪。</p>
${claimsTable(c)}<p class="token" style="font-size:6pt;word-break:break-all">核验码：${esc(token)}</p></body></html>`
}

export type VerifyOutcome = { ok: true; claims: CertificateClaims; chain: string[] } | { ok: false; code: string; reason: string }

/** The public verification page: a form to paste what the QR code holds, and the result. */
export function verifyPage(outcome: VerifyOutcome | null): string {
  const result =
    outcome === null
      ? ''
      : outcome.ok
        ? `<h2 class="ok">✔ 证明有效：由 ${esc(outcome.claims.issName)} 签发，签名经 ${esc(outcome.chain.join(' → '))} 的密钥链核验至省级根密钥</h2>${claimsTable(outcome.claims)}`
        : `<h2 class="bad">✘ 证明无效（${esc(outcome.code)}）：${esc(outcome.reason)}</h2>`
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>学籍证明核验</title>${STYLE}</head><body>
<h1>学籍证明核验</h1>${result}
<form method="post" action="/verify"><p>粘贴二维码中的内容：</p><textarea name="t" required></textarea><p><button type="submit">核验</button></p></form>
<p class="noprint">离线核验：省级公钥与各节点密钥记录见 <a href="/verify/keys">/verify/keys</a>。</p></body></html>`
}
