import { addDays, dateBetween, kindergartenBirthRange, ym } from './calendar.ts'
import { namePinyin, personName } from './names.ts'
import { cityWeb, documents, family, landline, location, person, postcode, recent, verification, type SeedContext } from './people.ts'
import { codeSequence, teacher } from './schools.ts'
import { Weighted } from './random.ts'
import type { Row } from './writer.ts'

const NATURE = new Weighted<string>([['1', 50], ['7', 35], ['6', 6], ['4', 4], ['2', 3], ['3', 2]])
const RATING = new Weighted<string>([['1', 20], ['2', 45], ['3', 25], ['4', 5], ['9', 5]])
const WORDS = ['实验幼儿园', '中心幼儿园', '阳光幼儿园', '蓝天幼儿园', '育英幼儿园', '艺术幼儿园', '第一幼儿园', '第二幼儿园']
const PLACES = ['文新', '翠苑', '星洲', '西溪', '紫金', '三墩', '留下', '转塘', '古荡', '蒋村', '双浦', '之江', '城东', '城西', '桂花', '新城', '湖畔', '春蕾']
const GRADE_NAME = ['托', '小', '中', '大']

/**
 * Kindergartens with their director and full-time teachers, classes
 * and children (R-12.1 … ). A generator that yields after each child, so the caller
 * commits in batches however many children there are.
 */
export function* kindergartens(ctx: SeedContext, o: { count: number; unitCode: string }): Generator<void> {
  const { rng, area, cal } = ctx
  const codes = codeSequence(area.tier)
  const used = new Set<string>()
  for (let i = 0; i < o.count; i++) {
    const county = i < area.counties.length && area.tier !== 'county' ? area.counties[i] : rng.pick(area.counties)
    const nature = NATURE.draw(rng)
    const publicSector = nature !== '7'
    const id = ctx.newId()
    const code = codes.next(county)
    let name = ''
    for (let attempt = 0; !name || used.has(name); attempt++) name = `${county.cityName}${county.name}${rng.pick(PLACES)}${attempt > 10 ? attempt : ''}${rng.pick(WORDS)}`
    used.add(name)

    // Classes: 小班 中班 大班, one to four of each, and a 托班 in some.
    const classes: { id: string; code: string; grade: number; number: number; children: number }[] = []
    const perGrade = county.urban ? rng.int(2, 4) : rng.int(1, 3)
    for (let grade = rng.chance(0.3) ? 0 : 1; grade <= 3; grade++) {
      const n = grade === 0 ? 1 : perGrade
      const entryYear = cal.year - Math.max(0, grade - 1)
      for (let k = 1; k <= n; k++) classes.push({ id: ctx.newId(), code: `${entryYear}${grade}${String(k).padStart(2, '0')}`, grade, number: k, children: grade === 0 ? rng.int(10, 20) : rng.int(20, 25 + grade * 5) })
    }
    const fullTime = classes.length * 2
    const administrators = rng.int(2, 4)
    const nursery = classes.length
    const workers = rng.int(2, 6)
    const teachers: Row[] = [{ kindergarten_id: id, ...teacher(ctx, county, { post: '01', head: true, stage: 'kindergarten', publicSector }) }]
    for (let t = 0; t < fullTime; t++) teachers.push({ kindergarten_id: id, ...teacher(ctx, county, { post: t === 0 ? '02' : '10', head: false, stage: 'kindergarten', publicSector }) })
    const founded = rng.int(1950, cal.year - 5)
    const py = namePinyin(name).initials
    const serial = code.slice(-4)
    ctx.writer.insert('kindergartens', {
      id,
      kindergarten_code: code,
      registration_no: `浙幼${county.code}${serial}`,
      licence_no: publicSector ? `教${county.code}${serial}号` : `教民1${county.code}7${serial}号`,
      approving_authority: `${county.fullName}教育局`,
      unit_code: o.unitCode,
      name,
      ...location(ctx, county),
      director: teachers[0].name as string,
      sponsor: publicSector ? `${county.fullName}${nature === '1' ? '教育局' : '人民政府'}` : `${personName(rng, '1')}（个人）`,
      founded_ym: `${founded}-${String(rng.int(1, 12)).padStart(2, '0')}`,
      nature,
      form: rng.chance(0.95) ? '1' : rng.pick(['2', '3']),
      rating: RATING.draw(rng),
      main_language: '01',
      second_language: rng.chance(0.2) ? '04' : null,
      staff_count: administrators + fullTime + nursery + workers,
      full_time_teachers: fullTime,
      administrators,
      nursery_staff: nursery,
      workers,
      part_time_teachers: rng.int(0, 3),
      staff_pay_policy: publicSector ? '在编教师按事业单位工资标准，非在编教师参照执行' : '按劳动合同约定，不低于当地最低工资标准',
      staff_income: `专任教师年均收入约 ${rng.int(8, 18)} 万元`,
      premises: `独立园舍，户外活动场地 ${rng.int(800, 4000)} 平方米`,
      premises_area: rng.int(1500, 9000),
      facilities: '活动室、午睡室、盥洗室齐全，配有多功能厅和户外大型玩具',
      funding: publicSector ? '财政拨款与保育教育费' : '举办者投入与保育教育费',
      fees: `保育教育费每生每月 ${publicSector ? rng.int(3, 9) * 100 : rng.int(12, 40) * 100} 元`,
      honours: rng.chance(0.4) ? rng.pick(['浙江省一级幼儿园', '市级示范幼儿园', '区（县）文明单位', '市级平安校园']) : null,
      postcode: postcode(rng, county),
      phone: landline(rng, county),
      fax: null,
      email: `${py}${serial}@${cityWeb(county)}.edu.cn`,
      homepage: null,
      ...verification(ctx),
    })
    for (const t of teachers) ctx.writer.insert('kindergarten_teachers', t)
    const heads = teachers.slice(1).map(t => t.name as string)
    for (const [n, c] of classes.entries()) {
      ctx.writer.insert('kindergarten_classes', {
        id: c.id, kindergarten_id: id, kindergarten_code: code, class_code: c.code,
        name: `${GRADE_NAME[c.grade]}(${c.number})班`, founded_ym: `${c.code.slice(0, 4)}-09`, head_teacher: heads[(n * 2) % heads.length], grade: c.grade, ...verification(ctx),
      })
    }
    for (const c of classes) {
      for (let k = 0; k < c.children; k++) {
        writeChild(ctx, { kindergartenId: id, code, county, cls: c })
        yield
      }
    }
  }
}

const LEAVE_REASONS = ['随父母迁居外地', '转入其他幼儿园', '回户籍地入园']

function writeChild(ctx: SeedContext, o: { kindergartenId: string; code: string; county: import('./area.ts').County; cls: { id: string; code: string; grade: number } }): void {
  const { rng, cal, writer } = ctx
  const gender = rng.chance(0.52) ? '1' : '2'
  const [from, to] = kindergartenBirthRange(cal.year, o.cls.grade)
  const birthDate = dateBetween(rng, from, to)
  const county = rng.chance(0.85) ? o.county : rng.pick(ctx.area.counties)
  const p = person(ctx, { birthDate, gender, county })
  const docs = documents(ctx, p, o.county.code, false)
  const childId = ctx.newId()
  const classEntry = `${o.cls.code.slice(0, 4)}-09-01`
  const lateEntry = rng.chance(0.04) && addDays(classEntry, 30) < cal.asOf
  const entryDate = lateEntry ? recent(ctx, 300, addDays(classEntry, 30)) : classEntry
  const r = rng.float()
  const state = r < 0.0002 ? 'deceased' : r < 0.01 ? 'left' : 'in_kindergarten'
  const leaveDate = state === 'in_kindergarten' ? null : recent(ctx, 200, addDays(entryDate, 1))

  writer.insert('children', {
    id: childId, kindergarten_id: o.kindergartenId, kindergarten_code: o.code, class_id: o.cls.id,
    ...docs,
    entry_ym: ym(entryDate),
    child_category: p.row.health === '6' ? rng.pick(['11', '12', '13', '19']) : '00',
    state,
  }, verification(ctx), p.row)
  const sub = (table: string, row: Row) => {
    row.child_id = childId
    writer.insert(table, row)
  }
  const fam = family(ctx, p, county, (p.row.only_child as boolean | null) ?? null)
  for (const g of fam.guardians) sub('child_guardians', g)
  for (const m of fam.members) sub('child_family_members', m)
  if (state === 'in_kindergarten' && entryDate <= cal.current.start) {
    const registered = rng.chance(0.97)
    sub('child_registrations', {
      term: cal.current.code, class_code: o.cls.code, status: registered ? '1' : '3', due_date: cal.current.due,
      actual_date: registered ? dateBetween(rng, cal.current.start, cal.current.due < cal.asOf ? cal.current.due : cal.asOf) : null,
      late_reason: registered ? null : '因病请假，暂缓注册',
    })
  }
  const reason = state === 'left' ? rng.pick(LEAVE_REASONS) : state === 'deceased' ? '死亡' : null
  sub('child_attendances', {
    kindergarten_code: o.code, entry_ym: ym(entryDate), source_area: p.row.household_registration ?? o.county.code,
    attendance_way: rng.chance(0.98) ? '1' : '2',
    leave_ym: leaveDate ? ym(leaveDate) : null, leave_reason: reason,
  })
  if (state === 'left') {
    sub('child_status_changes', { change_type: '21', change_date: leaveDate, reason, processing_status: '5', result: '已离园', unit_code: o.code, ...verification(ctx) })
  } else if (state === 'deceased') {
    sub('child_status_changes', {
      change_type: '51', change_date: leaveDate, reason: '死亡', processing_status: '5', result: '注销学籍',
      death_date: leaveDate, death_cause: rng.pick(['疾病（重症肺炎）', '溺水', '交通事故']), responsibility: '1', review_opinion: '经核查属实，同意注销。', unit_code: o.code, ...verification(ctx),
    })
  }
}
