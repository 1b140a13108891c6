/**
 * The transfer certificate (转学证明, R-19.5; a kindergarten child's, R-12.5): a printable HTML
 * page for a 转出 (21) the bureau has approved or carried out. A transfer out of the province is
 * this status change and its certificate, with no handoff of the record. Pure: the route loads the
 * rows and decides whether the identifier (a student's 学籍号, a child's ID number) is shown in
 * clear (an audited reveal) or masked.
 */
import { chinaToday } from '../../schema/ids.ts'
import { statusChangeError } from './errors.ts'
import { PROCESSING, type PersonKind } from './rules.ts'

/** Change type of a transfer out (转出). */
export const TRANSFER_OUT = '21'

export interface CertificateInput {
  kind: PersonKind
  change: Record<string, unknown>
  student: Record<string, unknown>
  school: { name: string; schoolCode: string } | undefined
  /** Issuing bureau (this node's name). */
  bureau: string
  gender: string | undefined
  /** The person's identifier as printed (clear or masked): a student's 学籍号, a child's ID number. */
  identifier: string
  /**
   * Code of the school (kindergarten) gone to where the change does not name it: a child's 转出
   * has no such field, and a transfer between nodes names the receiving kindergarten.
   */
  destination?: string | null
}

/** The certificate's wording per kind of person (R-10.10 for students, R-12.5 for children). */
const WORDS: Record<PersonKind, { name: string; identifier: string; from: string; to: string }> = {
  student: { name: '学生姓名', identifier: '全国学籍号', from: '原就读学校', to: '转入学校代码' },
  child: { name: '幼儿姓名', identifier: '身份证件号', from: '原就读幼儿园', to: '转入幼儿园代码' },
}

/** The China day (YYYY-MM-DD) of a UTC instant. */
const chinaDay = (iso: unknown) => (typeof iso === 'string' && iso !== '' ? chinaToday(new Date(iso)) : '')

const esc = (v: unknown) =>
  String(v ?? '').replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/** Refuses a change that has no certificate: not a 转出, or not approved yet. */
export function assertCertifiable(change: { changeType: unknown; processingStatus: unknown }): void {
  if (change.changeType !== TRANSFER_OUT) {
    throw statusChangeError('STATUS_CHANGE_NO_CERTIFICATE', '只有“转出”异动可以打印转学证明', { changeType: change.changeType, rule: 'transfer_out_only' })
  }
  if (change.processingStatus !== PROCESSING.approved && change.processingStatus !== PROCESSING.carriedOut) {
    throw statusChangeError('STATUS_CHANGE_NO_CERTIFICATE', '转出申请经教育行政部门批准后才能打印转学证明', { processingStatus: change.processingStatus, rule: 'approved_only' })
  }
}

/** The certificate page (A4, print styles inline: the page must print the same anywhere). */
export function certificateHtml(i: CertificateInput): string {
  const c = i.change
  const s = i.student
  const w = WORDS[i.kind]
  const rows: [string, unknown][] = [
    [w.name, s.name],
    ['性别', i.gender ?? s.gender],
    ['出生日期', s.birthDate],
    [w.identifier, i.identifier],
    [w.from, i.school ? `${i.school.name}（${i.school.schoolCode}）` : ''],
    [w.to, c.currentSchoolCode ?? i.destination],
    ['转学原因', c.reason],
    ['转出日期', c.changeDate],
    // A child's change keeps no 审批日期 of its own: the day of its approval is the day of its review.
    ['审批日期', c.approvalDate ?? chinaDay(c.reviewedAt)],
    // Nor a 审批文号 (R-12.5 lists none): printed for students only.
    ...(i.kind === 'student' ? [['审批文号', c.approvalDocNo] as [string, unknown]] : []),
    ['证明材料文号', c.documentNos],
    ['办理状态', c.processingStatus === PROCESSING.carriedOut ? '已办理' : '已批准'],
  ]
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>转学证明</title>
<style>
@page { size: A4; margin: 25mm 20mm; }
body { font-family: "SimSun", "Songti SC", serif; font-size: 14pt; color: #000; }
h1 { text-align: center; letter-spacing: 1em; font-size: 22pt; }
table { width: 100%; border-collapse: collapse; margin-top: 12mm; }
th, td { border: 1px solid #000; padding: 3mm 4mm; text-align: left; }
th { width: 32%; font-weight: normal; }
.sign { margin-top: 20mm; text-align: right; line-height: 2; }
</style></head>
<body>
<h1>转学证明</h1>
<table>
${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n')}
</table>
<div class="sign">${esc(i.bureau)}（盖章）<br>证明编号：${esc(c.id)}</div>
</body></html>
`
}
