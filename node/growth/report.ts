/**
 * The printable growth record and comprehensive evaluation (the document an admission office
 * reads, R-13.1): plain HTML with a print stylesheet, one page group per student, so a class
 * export is the students' reports one after another. Pure: a growth file in, a string out.
 */
import type { GrowthFile } from './service.ts'

const esc = (v: unknown): string =>
  v === null || v === undefined ? '' : String(v).replace(/[&<>"']/g, c => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

const PRACTICE_KIND: Record<string, string> = { research: '研究性学习', community_service: '社区服务', social_practice: '社会实践' }
const STATUS: Record<string, string> = { complete: '已修满', incomplete: '未修满' }
const VERIFY: Record<string, string> = { entered: '待核对', verified: '已核对', returned: '已退回' }

const table = (head: string[], rows: unknown[][]) =>
  `<table><thead><tr>${head.map(h => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${
    rows.length === 0 ? `<tr><td colspan="${head.length}">（无）</td></tr>` : rows.map(r => `<tr>${r.map(c => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')
  }</tbody></table>`

/** One student's report, as a <section> (a page group when printed). */
export function studentSection(f: GrowthFile): string {
  const ev = f.evaluation
  const levels = ev ? (JSON.parse(String(ev.proficiencyLevels)) as Record<string, number>) : {}
  return `<section class="student">
<h1>普通高中学生成长记录与综合素质评价</h1>
<p class="who">姓名：${esc(f.student.name)}　学籍号：${esc(f.student.studentNo)}　学校：${esc(f.student.schoolName)}（${esc(f.student.schoolCode)}）　班级：${esc(f.student.className)}</p>
<h2>一、课程修习（R-14.1）</h2>
${table(['学期', '模块代码', '课程（模块）', '学时', '考试成绩', '学分', '会考成绩'], f.courses.map(c => [c.term, c.moduleCode, c.name, c.classHours, c.examScore, c.credits, c.proficiencyScore]))}
<h3>在校考试</h3>
${table(['学期', '日期', '课程', '成绩', '等级'], f.exams.map(e => [e.term, e.examDate, e.course, e.score, e.gradeLetter]))}
<h2>二、综合实践活动（R-14.2）</h2>
${table(['类别', '学期', '课题或内容', '成员', '成果', '承担任务', '地点', '时间', '评价'], f.practices.map(p => [PRACTICE_KIND[String(p.kind)], p.term, p.topic, p.members, p.outcome, p.tasks, p.place, p.toDate ? `${String(p.fromDate)}至${String(p.toDate)}` : p.fromDate, p.evaluation]))}
<h2>三、素质发展（R-14.3）</h2>
${table(['学期', '思想品德', '审美与艺术', '运动与健康', '探究与实践', '劳动与技能'], f.qualities.map(q => [q.term, q.moralDescription, q.aesthetics, q.sport, q.inquiry, q.labour]))}
<h2>四、综合素质评价（R-15.1–R-15.3）</h2>
${ev ? `<p class="comment">综合评语：${esc(ev.overallComment) || '（未填写）'}</p>
${table(['课程修习状态', '已获学分', '应修学分', ...Object.keys(levels).map(l => `水平等级 ${l}`)], [[STATUS[String(ev.courseStatus)], ev.totalCredits, ev.requiredCredits, ...Object.values(levels)]])}
${table(['审美与艺术', '运动与健康', '探究与实践', '劳动与技能'], [[ev.aestheticsScore, ev.sportScore, ev.inquiryScore, ev.labourScore]])}
<p class="note">以上学分、等级和四项分数由系统依据成长记录按《${esc(f.rules.title)}》（${esc(ev.rulesEdition)}）生成。核对状态：${esc(VERIFY[String(ev.verifyState)])}</p>` : '<p>（尚无成长记录）</p>'}
</section>`
}

/** A whole printable document of one or more students' reports. */
export function reportDocument(title: string, files: readonly GrowthFile[]): string {
  return `<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body { font-family: "SimSun", "Songti SC", serif; margin: 2em; }
h1 { font-size: 1.4em; text-align: center; }
h2 { font-size: 1.1em; margin-top: 1.2em; }
table { border-collapse: collapse; width: 100%; margin: .4em 0; }
th, td { border: 1px solid #000; padding: .2em .4em; font-size: .9em; }
.note { font-size: .8em; }
@media print {
  @page { size: A4; margin: 15mm; }
  body { margin: 0; }
  section.student { page-break-after: always; break-after: page; }
  section.student:last-child { page-break-after: auto; break-after: auto; }
  tr { break-inside: avoid; }
}
</style></head><body>
${files.map(studentSection).join('\n')}
</body></html>
`
}
