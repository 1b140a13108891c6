/**
 * Valid records for the records tests: one of each table, with every field filled, so a test can
 * write it and compare what it reads back field by field.
 */
import { idCheckChar } from '../../schema/ids.ts'

/** A valid ID number for a birth date (YYYY-MM-DD), gender 1/2 and sequence. */
export function idNumber(birthDate: string, gender: '1' | '2', seq = 1, division = '330106'): string {
  const s = String(seq * 2 + (gender === '1' ? 1 : 0)).padStart(3, '0').slice(-3)
  const first17 = division + birthDate.replaceAll('-', '') + s
  return first17 + idCheckChar(first17)
}

/** The smallest valid JPEG header, base64: enough for the photo rule (JPEG magic, ≤ 60 KB). */
export const PHOTO = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]).toString('base64')

export const unit = (over: Record<string, unknown> = {}) => ({
  unitCode: '3301060001', name: '杭州市西湖区教育局', divisionCode: '330106', address: '杭州市西湖区文三路 1 号',
  areaCategory: '1', areaCategoryEdition: 'area_category/moe2007', economicAttribute: '0', ethnicAttribute: '1',
  contactPerson: '王建国', postcode: '310012', phone: '0571-87000000', fax: '0571-87000001', email: 'jyj@xihu.gov.cn', homepage: 'http://jyj.xihu.gov.cn',
  ...over,
})

export const school = (over: Record<string, unknown> = {}) => ({
  schoolCode: '3301060101', unitCode: '3301060001', name: '杭州市西湖区文三路小学', attendanceZone: '文三路以北、学院路以西',
  divisionCode: '330106', address: '杭州市西湖区文三路 88 号', areaCategory: '111', areaCategoryEdition: 'urban_rural_type/jyt1001-2012',
  economicAttribute: '0', ethnicAttribute: '1', principal: '李校长', foundedYm: '1956-09', runType: '21', runTypeEdition: 'jyt1001-2012',
  category: '211', mainLanguage: '01', secondLanguage: '04', siteArea: 25000.5, buildingArea: 18000, books: 60000, computers: 320,
  labCompliant: true, postcode: '310012', phone: '0571-88000000', fax: '0571-88000001', email: 'office@wslxx.edu.cn', homepage: 'www.wslxx.edu.cn',
  ...over,
})

export const teacher = (over: Record<string, unknown> = {}) => ({
  name: '陈老师', birthYm: '1980-05', gender: '2', post: '01', title: '02', ethnicity: '01', political: '01', workStartYm: '2002-08',
  education: '21', major: '小学教育', qualification: '小学教师资格', establishment: '1', isHead: true,
  ...over,
})

export const klass = (over: Record<string, unknown> = {}) => ({
  classCode: '2020001', name: '四年级（1）班', foundedYm: '2020-09', schoolingLength: '6', classType: '10', headTeacher: '赵老师', grade: 4,
  ...over,
})

const BIRTH = '2016-03-15'

export const student = (over: Record<string, unknown> = {}) => {
  const id = idNumber(BIRTH, '1', 1)
  return {
    studentNo: `G${id}`, schoolStudentNo: '20200101', name: '曾小明', namePinyin: 'zeng xiao ming', formerName: '曾明',
    idDocType: '1', idNumber: id, gender: '1', bloodType: '1', birthDate: BIRTH, birthplace: '330106', onlyChild: true,
    nativePlace: '浙江杭州', ethnicity: '01', hmt: '00', hmtEdition: 'jyt1001-2012', health: '1', currentAddress: '杭州市西湖区文一路 1 号',
    householdRegistration: '330106', floatingStatus: '1', country: 'CHN', phone: '13800000000', postalAddress: '杭州市西湖区文一路 1 号',
    postcode: '310012', photo: PHOTO, enrolmentYm: '2022-09', studentCategory: '00', political: '14', email: 'xm@example.com', homepage: 'http://xm.example.com',
    ...over,
  }
}

export const subRecords = {
  resumes: [{ fromYm: '2019-09', toYm: '2022-07', schoolName: '西湖区第一幼儿园', post: '班长', witness: '周老师', remarks: '表现良好' }],
  guardians: [{ name: '曾大海', relationship: '51', address: '杭州市西湖区文一路 1 号', phone: '13900000000', postcode: '310012', email: 'dh@example.com' }],
  familyMembers: [{ relationship: '52', name: '林小燕', employer: '杭州某公司', phone: '13700000000', ethnicity: '01', maritalStatus: '20', residenceAbroad: null }],
  registrations: [{ term: '2025-1', classCode: '2020001', status: '1', dueDate: '2025-09-05', actualDate: '2025-09-08', lateReason: '病假' }],
  exams: [{ term: '2025-1', examDate: '2026-01-15', course: '语文', examForm: '1', examCategory: '3', score: 95.5, gradeLetter: 'A', termComment: '进步明显' }],
  awards: [{ name: '三好学生', level: '5', category: '1', reason: '品学兼优', amount: 100, documentNo: '西文小〔2025〕3号', awardYm: '2025-06', awardingUnit: '文三路小学' }],
  punishments: [{ name: '1', reason: '多次迟到', punishedOn: '2025-10-10', revokedOn: '2026-01-10' }],
  enrolment: { previousSchoolCode: null, enrolmentYm: '2022-09', enrolmentWay: '1', sourceArea: '330106', studentSource: '1', studyWay: '1', financialAid: '0' },
}

export const completion = (over: Record<string, unknown> = {}) => ({ graduatingSchoolCode: '3301060101', completionYm: '2028-06', reason: '毕业', comment: '德智体全面发展', ...over })

/** A status-change application as a school sends it: without what only the workflow writes. */
export const application = (over: Record<string, unknown> = {}) => {
  const { processingStatus: _s, result: _r, approvalDate: _d, approvalDocNo: _n, ...fields } = statusChange()
  return { ...fields, ...over }
}

/** What the workflow adds to a new application (node/status-changes), applied today. */
/** What the status-change engine writes at an application; `unitCode` is the person's school (kindergarten). */
export const applied = (late: boolean, unitCode: string) => ({
  processingStatus: '1', result: null, approvalDate: null, approvalDocNo: null, documentNos: null, targetClassId: null,
  appliedOn: new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10), late,
  reviewedBy: null, reviewedAt: null, carriedOutBy: null, carriedOutAt: null, escalatedAt: null, unitCode,
})

export const statusChange = (over: Record<string, unknown> = {}) => ({
  changeType: '21', changeDate: '2026-03-02', reason: '随父母迁居', processingStatus: '1', result: null, deathDate: null, deathCause: null,
  responsibility: null, reviewOpinion: null, approvalDate: '2026-03-05', approvalDocNo: '西教〔2026〕8号', previousSchoolCode: '3301060101',
  currentSchoolCode: '3301060102', previousStudentNo: null, currentStudentNo: null,
  ...over,
})

export const kindergarten = (over: Record<string, unknown> = {}) => ({
  kindergartenCode: '3301060901', registrationNo: 'ZJ-XH-001', licenceNo: '教民33010600001', approvingAuthority: '西湖区教育局', unitCode: '3301060001',
  name: '西湖区文三路幼儿园', divisionCode: '330106', address: '杭州市西湖区文三路 99 号', areaCategory: '1', areaCategoryEdition: 'area_category/moe2007',
  economicAttribute: '0', ethnicAttribute: '1', director: '孙园长', sponsor: '西湖区教育局', foundedYm: '1990-09', nature: '1', form: '1', rating: '1',
  mainLanguage: '01', secondLanguage: null, staffCount: 40, fullTimeTeachers: 20, administrators: 4, nurseryStaff: 10, workers: 5, partTimeTeachers: 1,
  staffPayPolicy: '按事业单位标准', staffIncome: '年均 10 万元', premises: '独立园舍', premisesArea: 5000, facilities: '多功能厅、户外场地',
  funding: '财政拨款', fees: '每月 1000 元', honours: '省一级幼儿园', postcode: '310012', phone: '0571-89000000', fax: null, email: 'kg@example.com', homepage: null,
  ...over,
})

export const kgClass = (over: Record<string, unknown> = {}) => ({ classCode: 'K2025001', name: '小一班', foundedYm: '2025-09', headTeacher: '吴老师', grade: 1, ...over })

const CHILD_BIRTH = '2022-05-20'

export const child = (over: Record<string, unknown> = {}) => {
  const id = idNumber(CHILD_BIRTH, '2', 7)
  return {
    name: '单晓雨', namePinyin: 'shan xiao yu', formerName: null, idDocType: '1', idNumber: id, gender: '2', bloodType: '4', birthDate: CHILD_BIRTH,
    birthplace: '330106', onlyChild: false, nativePlace: '浙江绍兴', ethnicity: '01', hmt: '00', hmtEdition: 'jyt1001-2012', health: '1',
    currentAddress: '杭州市西湖区文二路 2 号', householdRegistration: '330106', floatingStatus: '1', country: 'CHN', phone: '13600000000',
    postalAddress: '杭州市西湖区文二路 2 号', postcode: '310012', photo: PHOTO, entryYm: '2025-09', childCategory: '00',
    ...over,
  }
}

export const childSubRecords = {
  guardians: [{ name: '单国强', relationship: '51', address: '杭州市西湖区文二路 2 号', phone: '13500000000', postcode: '310012', email: null }],
  familyMembers: [{ relationship: '52', name: '何丽', employer: '西湖区医院', phone: '13400000000', ethnicity: '01', maritalStatus: '20', residenceAbroad: null }],
  registrations: [{ term: '2025-1', classCode: 'K2025001', status: '1', dueDate: '2025-09-05', actualDate: '2025-09-01', lateReason: null }],
}
