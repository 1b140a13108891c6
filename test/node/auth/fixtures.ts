import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { schoolClasses, schools, students, studentGuardians, studentStatusChanges, supervisingUnits } from '../../../schema/records/index.ts'
import { idCheckChar } from '../../../schema/ids.ts'

/**
 * A small registry for access tests: two schools of this county (A with classes A1 and A2, B with
 * B1) and one school of another county (C, a replica as an upper tier would hold it), a student
 * in each class, a guardian and a status change of student A1.
 */
export interface World {
  unit: string
  A: { code: string; id: string; classes: { A1: string; A2: string } }
  B: { code: string; id: string; classes: { B1: string } }
  C: { code: string; id: string; classes: { C1: string } }
  students: { A1: string; A2: string; B1: string; C1: string }
  guardianA1: string
  statusChangeA1: string
  /** Clear personal values used in the fixtures, for the leak scan. */
  secrets: { idNumber: string; name: string; address: string; guardianName: string }
}

export const ID_NUMBER = (() => {
  const first17 = '33010620100101123'
  return first17 + idCheckChar(first17)
})()

export function seedWorld(app: FastifyInstance, opts: { home?: string; other?: string } = {}): World {
  const home = opts.home ?? app.identity.code
  const other = opts.other ?? '330108'
  const now = new Date().toISOString()
  const rec = (homeNode: string) => ({ id: randomUUID(), homeNode, createdAt: now, updatedAt: now })
  const db = app.storage.db
  const secrets = { idNumber: ID_NUMBER, name: '王小明', address: '杭州市西湖区文三路478号', guardianName: '王大海' }
  const unit = rec(home)
  db.insert(supervisingUnits).values({ ...unit, unitCode: 'U330106', name: '西湖区教育局', divisionCode: home }).run()
  const school = (code: string, homeNode: string) => {
    const r = rec(homeNode)
    db.insert(schools).values({ ...r, schoolCode: code, unitCode: homeNode === home ? 'U330106' : null, name: `学校${code}`, divisionCode: homeNode, category: '211' }).run()
    return r.id
  }
  const klass = (schoolId: string, schoolCode: string, classCode: string, homeNode: string) => {
    const r = rec(homeNode)
    db.insert(schoolClasses).values({ ...r, schoolId, schoolCode, classCode, name: `${classCode}班`, foundedYm: '2024-09', schoolingLength: '6', classType: '1', grade: 3 }).run()
    return r.id
  }
  let n = 0
  const student = (schoolId: string, schoolCode: string, classId: string, homeNode: string) => {
    const r = rec(homeNode)
    n++
    db.insert(students).values({
      ...r, schoolId, schoolCode, classId, studentNo: `L3301062010010100${n}`.padEnd(19, '0').slice(0, 19), name: n === 1 ? secrets.name : `学生${n}`,
      namePinyin: 'wang xiao ming', pinyinInitials: 'wxm', idNumber: n === 1 ? secrets.idNumber : null, gender: '1', birthDate: '2010-01-01', ethnicity: '01',
      enrolmentYm: '2016-09', studentCategory: '1', currentAddress: n === 1 ? secrets.address : null, phone: '13812345678', health: '1',
    }).run()
    return r.id
  }
  const A = { code: '3301060001', id: school('3301060001', home), classes: { A1: '', A2: '' } }
  A.classes.A1 = klass(A.id, A.code, 'A1', home)
  A.classes.A2 = klass(A.id, A.code, 'A2', home)
  const B = { code: '3301060002', id: school('3301060002', home), classes: { B1: '' } }
  B.classes.B1 = klass(B.id, B.code, 'B1', home)
  const C = { code: '3301080001', id: school('3301080001', other), classes: { C1: '' } }
  C.classes.C1 = klass(C.id, C.code, 'C1', other)
  const st = {
    A1: student(A.id, A.code, A.classes.A1, home),
    A2: student(A.id, A.code, A.classes.A2, home),
    B1: student(B.id, B.code, B.classes.B1, home),
    C1: student(C.id, C.code, C.classes.C1, other),
  }
  const g = rec(home)
  db.insert(studentGuardians).values({ ...g, studentId: st.A1, name: secrets.guardianName, relationship: '11', phone: '13900001111' }).run()
  const sc = rec(home)
  db.insert(studentStatusChanges).values({ ...sc, studentId: st.A1, changeType: '51', changeDate: '2026-03-01', processingStatus: '1', deathDate: '2026-03-01', deathCause: '意外' }).run()
  return { unit: unit.id, A, B, C, students: st, guardianA1: g.id, statusChangeA1: sc.id, secrets }
}
