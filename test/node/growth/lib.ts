/**
 * A records node (test/records/setup.ts) with a senior high school (高级中学, category 342), a
 * grade-10 class (or `grade`) and one student in it, the class administrator who enters growth records
 * and a school leader of the evaluation group who verifies them.
 */
import type { Test } from 'tap'
import { loginAs, type TestLogin, type TestNodeOptions } from '../../helper.ts'
import * as fx from '../../records/fixtures.ts'
import { recordsNode, type Json, type RecordsNode } from '../../records/setup.ts'

export interface GrowthNode {
  node: RecordsNode
  school: Json
  klass: Json
  student: Json
  /** Class administrator of the grade-10 class (growth:write). */
  teacher: TestLogin
  /** A school leader (the evaluation leading group, growth:verify). */
  leader: TestLogin
  /** Base URL of the student's growth file. */
  base: string
}

export async function growthNode(t: Test, opts: TestNodeOptions & { grade?: number } = {}): Promise<GrowthNode> {
  const node = await recordsNode(t, opts)
  const ok = (r: { status: number; body: Json }, what: string) => {
    if (r.status !== 201) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`)
    return r.body
  }
  ok(await node.call('POST', '/api/v1/units', fx.unit(), node.bureau), 'unit')
  const school = ok(await node.call('POST', '/api/v1/schools', fx.school({ name: '杭州市西湖区文三路高级中学', category: '342' }), node.bureau), 'school')
  const klass = ok(await node.call('POST', '/api/v1/classes', { ...fx.klass({ classCode: '2026101', name: '高中（1）班', foundedYm: '2026-09', schoolingLength: '3', grade: opts.grade ?? 10 }), schoolId: school.id }), 'class')
  const student = ok(await node.call('POST', '/api/v1/students', { ...fx.student({ enrolmentYm: '2026-09' }), schoolId: school.id, classId: klass.id }), 'student')
  const teacher = await loginAs(node.app, 'class_admin', { kind: 'classes', school: school.schoolCode, classes: [klass.id] })
  const leader = await loginAs(node.app, 'school_admin', { kind: 'schools', schools: [school.schoolCode] }, { leader: true })
  return { node, school, klass, student, teacher, leader, base: `/api/v1/students/${student.id}/growth` }
}

/** A national module passed with its 2 credits (语文必修一). */
export const course = (over: Json = {}): Json => ({ term: '2026-1', moduleCode: 'N0101', name: '语文必修一', classHours: 36, examScore: 88, credits: 2, proficiencyScore: 90, ...over })
export const research = (over: Json = {}): Json => ({
  kind: 'research', term: '2026-1', topic: '西湖水质的季节变化', members: '曾小明、王小红、李华', outcome: '研究报告一篇', tasks: '采样与数据整理', fromDate: '2026-10-01', toDate: '2026-12-20', evaluation: '优秀', ...over,
})
export const service = (over: Json = {}): Json => ({ kind: 'community_service', term: '2026-1', topic: '社区图书角整理', place: '文三路社区', fromDate: '2026-11-05', evaluation: '良好', ...over })
export const practice = (over: Json = {}): Json => ({ kind: 'social_practice', term: '2026-1', topic: '茶园劳动体验', place: '龙井村', fromDate: '2026-10-12', toDate: '2026-10-13', evaluation: '合格', ...over })
export const quality = (over: Json = {}): Json => ({ term: '2026-1', moralDescription: '遵守纪律，乐于助人，积极参加班级活动。', aesthetics: 85, sport: 90, inquiry: 78.5, labour: 88, ...over })

/** Enters a course, a quality record and the comment, and has the leader verify them all: ready to report. */
export async function verifiedFile(g: GrowthNode): Promise<void> {
  const { node } = g
  const c = await node.call('POST', `${g.base}/courses`, course(), g.teacher)
  const q = await node.call('POST', `${g.base}/qualities`, quality(), g.teacher)
  await node.call('PUT', `${g.base}/evaluation`, { overallComment: '品学兼优' }, g.teacher)
  const ev = (await node.call('GET', g.base, undefined, g.teacher)).body.evaluation
  for (const [table, id] of [['growth_courses', c.body.id], ['growth_qualities', q.body.id], ['growth_evaluations', ev.id]]) {
    const r = await node.call('POST', `/api/v1/verification/${table}/${id}/verify`, undefined, g.leader)
    if (r.status !== 200) throw new Error(`verify ${table}: ${r.status} ${JSON.stringify(r.body)}`)
  }
}
