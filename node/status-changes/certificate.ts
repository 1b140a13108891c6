/**
 * The transfer certificate (转学证明, R-19.5): a printable HTML page for a 转出 (21) the bureau
 * has approved or carried out. A transfer out of the province is this status change and its
 * certificate, with no handoff of the record. Pure: the route loads the rows and decides whether
 * the 学籍号 is shown in clear (an audited reveal) or masked.
 */
import { statusChangeError } from './errors.ts'
import { PROCESSING } from './rules.ts'

/** Change type of a transfer out (转出). */
export const TRANSFER_OUT = '21'

export interface CertificateInput {
  change: Record<string, unknown>
  student: Record<string, unknown>
  school: { name: string; schoolCode: string } | undefined
  /** Issuing bureau (this node's name). */
  bureau: string
  gender: string | undefined
  /** The 学籍号 as printed (clear or masked). */
  studentNo: string
}

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
  const rows: [string, unknown][] = [
    ['学生姓名', s.name],
    ['性别', i.gender ?? s.gender],
    ['出生日期', s.birthDate],
    ['全国学籍号', i.studentNo],
    ['原就读学校', i.school ? `${i.school.name}（${i.school.schoolCode}）` : ''],
    ['转入学校代码', c.currentSchoolCode],
    ['转学原因', c.reason],
    ['转出日期', c.changeDate],
    ['审批日期', c.approvalDate],
    ['审批文号', c.approvalDocNo],
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
