import type { RecordsService } from '../../node/services/records/service.ts'
import type { StatusChangeService } from '../../node/status-changes/service.ts'
import type { NodeArea, County } from './area.ts'
import { birthDivision } from './area.ts'
import { addDays, dateBetween, type SchoolCalendar } from './calendar.ts'
import type { NumberAllocator } from './idnumbers.ts'
import { drawSurname, namePinyin, personName } from './names.ts'
import { Weighted, type Rng } from './random.ts'
import { SEED_ACTOR, type Row, type SeedWriter } from './writer.ts'

/** Everything the generators share for one seeding run. */
export interface SeedContext {
  rng: Rng
  /** A second stream for fields added after the first edition (户口性质, 留守儿童): drawing them leaves every earlier field of a seed as it was. */
  extra: Rng
  area: NodeArea
  cal: SchoolCalendar
  /** ISO timestamp written as created_at / updated_at / entered_at. */
  now: string
  numbers: NumberAllocator
  writer: SeedWriter
  /** A new record id (UUID), increasing through the run. */
  newId: () => string
  /**
   * The node's own services, for what only they may do: status changes (applied, verified by the
   * school leadership, reviewed and carried out, which moves the student's state) and completions
   * (which graduate). `clock` is the day they believe it is, moved to each change's history.
   */
  services: {
    statusChanges: StatusChangeService
    records: RecordsService
    /** The school leadership of `schoolCode` verifies a status change; answers its version after it. */
    verifyChange: (id: string, schoolCode: string) => number
    clock: { at: string }
  }
}

const RETURN_REASONS = ['家庭住址不完整，请补充门牌号', '监护人联系电话有误', '户口所在地与证件不一致，请核对']
const verificationStates = new Map<string, Row[]>()

/**
 * Verification state: most seeded records checked, some waiting, a few returned. The
 * few possible groups are shared (read-only) objects: this runs for every record.
 */
export function verification(ctx: SeedContext): Readonly<Row> {
  let states = verificationStates.get(ctx.now)
  if (!states) {
    const entered = { entered_by: SEED_ACTOR, entered_at: ctx.now }
    states = [
      { ...entered, verify_state: 'verified', verified_by: SEED_ACTOR, verified_at: ctx.now, first_verified_at: ctx.now },
      { ...entered, verify_state: 'entered' },
      ...RETURN_REASONS.map(reason => ({ ...entered, verify_state: 'returned', return_reason: reason })),
    ]
    verificationStates.set(ctx.now, states)
  }
  const r = ctx.rng.float()
  return r < 0.88 ? states[0] : r < 0.985 ? states[1] : states[2 + ctx.rng.int(0, RETURN_REASONS.length - 1)]
}

const CITY = {
  '330100': { postcode: '310', phone: '0571', web: 'hz' },
  '330200': { postcode: '315', phone: '0574', web: 'nb' },
  '330300': { postcode: '325', phone: '0577', web: 'wz' },
  '330400': { postcode: '314', phone: '0573', web: 'jx' },
  '330500': { postcode: '313', phone: '0572', web: 'hu' },
  '330600': { postcode: '312', phone: '0575', web: 'sx' },
  '330700': { postcode: '321', phone: '0579', web: 'jh' },
  '330800': { postcode: '324', phone: '0570', web: 'qz' },
  '330900': { postcode: '316', phone: '0580', web: 'zs' },
  '331000': { postcode: '318', phone: '0576', web: 'tz' },
  '331100': { postcode: '323', phone: '0578', web: 'ls' },
} as Record<string, { postcode: string; phone: string; web: string }>

export const postcode = (rng: Rng, county: County) => CITY[county.city].postcode + String(rng.int(0, 999)).padStart(3, '0')
export const landline = (rng: Rng, county: County) => `${CITY[county.city].phone}-${rng.int(2, 8)}${String(rng.int(0, 9_999_999)).padStart(7, '0')}`
export const cityWeb = (county: County) => CITY[county.city].web
export const mobile = (rng: Rng) => `1${rng.pick(['3', '5', '7', '8', '9'])}${rng.int(0, 9)}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`

const STREETS = ['文一西路', '文三路', '古墩路', '天目山路', '学院路', '教工路', '解放路', '人民路', '中山路', '建设路', '东风路', '新华路', '环城北路', '和平路', '体育场路', '凤起路', '湖滨路', '江南大道', '滨江路', '育才路', '文化路', '振兴路', '工业路', '青年路']
const VILLAGES = ['前村', '后宅', '上塘', '下洋', '溪口', '山头', '桥头', '新塘', '白沙', '东岙', '西坞', '南岸']

/** A street or village address within the county. */
export function address(rng: Rng, county: County): string {
  if (county.urban || rng.chance(0.5)) {
    const flat = rng.chance(0.7) ? `${rng.int(1, 30)}幢${rng.int(1, 4)}单元${rng.int(1, 28)}0${rng.int(1, 4)}室` : ''
    return `${county.fullName}${rng.pick(STREETS)}${rng.int(1, 999)}号${flat}`
  }
  return `${county.fullName}${rng.pick(['城关镇', '新城镇', '白石镇', '青山乡', '大溪镇', '临江街道'])}${rng.pick(VILLAGES)}村${rng.int(1, 300)}号`
}

/** 城乡类型 (JY/T 1001) mostly, the 2007 所在地区类别 on a few older records, both editions named. */
export function location(ctx: SeedContext, county: County): Row {
  const rng = ctx.rng
  const old = rng.chance(0.08)
  const areaCategory = old
    ? county.urban ? '1' : rng.pick(['2', '3'])
    : county.urban ? rng.pick(['111', '111', '112']) : rng.pick(['121', '122', '210', '220'])
  return {
    division_code: county.code,
    address: address(rng, county),
    area_category: areaCategory,
    area_category_edition: old ? 'area_category/moe2007' : 'urban_rural_type/jyt1001-2012',
    // Zhejiang has had no poverty-listed county since 2015.
    economic_attribute: '0',
    // 景宁畲族自治县 is Zhejiang's only ethnic autonomous county.
    ethnic_attribute: county.code === '331127' ? '2' : '1',
  }
}

const ETHNICITY = new Weighted<string>([['01', 975], ['22', 8], ['06', 4], ['15', 3], ['08', 3], ['03', 2], ['09', 2], ['12', 1], ['11', 1], ['10', 1]])
const SHE = new Weighted<string>([['01', 70], ['22', 30]])
export const ethnicity = (rng: Rng, county: County) => (county.code === '331127' ? SHE.draw(rng) : ETHNICITY.draw(rng))

const HOUSEHOLD_URBAN = new Weighted<string>([['1', 25], ['2', 35], ['3', 40]])
const HOUSEHOLD_RURAL = new Weighted<string>([['1', 65], ['2', 10], ['3', 25]])
const LEFT_BEHIND_URBAN = new Weighted<string>([['0', 96], ['1', 3], ['2', 1]])
const LEFT_BEHIND_RURAL = new Weighted<string>([['0', 85], ['1', 10], ['2', 5]])

const BLOOD = new Weighted<string>([['0', 25], ['1', 21], ['2', 18], ['3', 7], ['4', 27], ['9', 2]])

export interface PersonOptions {
  birthDate: string
  gender: '1' | '2'
  /** Where the person lives (and mostly was born). */
  county: County
  surname?: string
}

export interface Person {
  /** The personal columns (schema/records/person.ts) under their SQL names. */
  row: Row
  surname: string
  /** Division of the ID number (birthplace). */
  birthDivision: string
}

/**
 * The personal fields of a student or child except the ID document, which the
 * caller chooses (a 学籍号 form depends on it). Household registration and birthplace are the
 * ID number's division, so a record agrees with itself.
 */
export function person(ctx: SeedContext, o: PersonOptions): Person {
  const rng = ctx.rng
  const surname = o.surname ?? drawSurname(rng)
  const name = personName(rng, o.gender, surname)
  const py = namePinyin(name)
  const division = birthDivision(o.county, o.birthDate, rng)
  const floating = rng.float()
  // 省内流动: registered elsewhere in Zhejiang, living here.
  const elsewhere = floating < 0.08 ? rng.pick(ctx.area.counties) : undefined
  const health = rng.float()
  const addr = address(rng, o.county)
  return {
    surname,
    birthDivision: division,
    row: {
      name,
      name_pinyin: py.pinyin,
      pinyin_initials: py.initials,
      former_name: rng.chance(0.01) ? personName(rng, o.gender, surname) : null,
      gender: o.gender,
      blood_type: BLOOD.draw(rng),
      birth_date: o.birthDate,
      birthplace: division,
      only_child: rng.chance(o.county.urban ? 0.55 : 0.3),
      native_place: rng.chance(0.8) ? o.county.code : rng.pick(ctx.area.counties).code,
      ethnicity: ethnicity(rng, o.county),
      hmt: '00',
      hmt_edition: 'jyt1001-2012',
      health: health < 0.95 ? '1' : health < 0.985 ? '2' : health < 0.995 ? '3' : '6',
      current_address: addr,
      household_registration: elsewhere && elsewhere.code !== o.county.code ? elsewhere.code : division,
      floating_status: elsewhere && elsewhere.code !== o.county.code ? '2' : '1',
      household_type: (o.county.urban ? HOUSEHOLD_URBAN : HOUSEHOLD_RURAL).draw(ctx.extra),
      // A child living away from its registration lives with its parents.
      left_behind: elsewhere ? '0' : (o.county.urban ? LEFT_BEHIND_URBAN : LEFT_BEHIND_RURAL).draw(ctx.extra),
      country: 'CHN',
      phone: mobile(rng),
      postal_address: addr,
      postcode: postcode(rng, o.county),
      photo: null,
    },
  }
}

/**
 * The ID document and 学籍号 of a pupil. Mostly a citizen ID and a formal G number (G + ID); some
 * temporary L numbers (ID known, national check pending); some J numbers for pupils without a
 * usable mainland ID (Hong Kong, Macao, Taiwan, foreign, or no document yet).
 */
export function documents(ctx: SeedContext, p: Person, schoolDivision: string, wantStudentNo: boolean): Row {
  const rng = ctx.rng
  const birth = p.row.birth_date as string
  const gender = p.row.gender as '1' | '2'
  const r = rng.float()
  if (!wantStudentNo || r < 0.975) {
    const id = ctx.numbers.idNumber(rng, p.birthDivision, birth, gender)
    if (!wantStudentNo) return { id_doc_type: '1', id_number: id }
    if (r < 0.94) return { id_doc_type: '1', id_number: id, student_no: 'G' + id }
    return { id_doc_type: '1', id_number: id, student_no: ctx.numbers.temporaryStudentNo(rng, schoolDivision, birth) }
  }
  const studentNo = 'J' + ctx.numbers.idNumber(rng, schoolDivision, birth, gender)
  const kind = rng.pick(['6', '7', '8', 'A', 'Z', 'Z'])
  const digits = (n: number) => String(rng.int(0, 10 ** n - 1)).padStart(n, '0')
  switch (kind) {
    case '6':
      return { id_doc_type: '6', id_number: 'H' + digits(8), student_no: studentNo, hmt: '01', household_registration: null, floating_status: '9' }
    case '7':
      return { id_doc_type: '7', id_number: 'M' + digits(8), student_no: studentNo, hmt: '03', household_registration: null, floating_status: '9' }
    case '8':
      return { id_doc_type: '8', id_number: digits(8), student_no: studentNo, hmt: '05', household_registration: null, floating_status: '9' }
    case 'A':
      return {
        id_doc_type: 'A', id_number: 'E' + digits(8), student_no: studentNo, hmt: rng.pick(['41', '51']), household_registration: null, floating_status: '9',
        country: rng.pick(['USA', 'CAN', 'AUS', 'JPN', 'KOR', 'SGP', 'GBR', 'DEU', 'FRA', 'ITA', 'NZL']),
      }
    default:
      // No document yet (a late birth registration): the school asks for one, the J number waits.
      return { id_doc_type: 'Z', id_number: null, student_no: studentNo }
  }
}

const EMPLOYERS = ['个体经营', '务农', '自由职业', '杭州某科技有限公司', '某区人民医院', '某街道办事处', '某建设集团', '某银行支行', '某中学', '某物流有限公司', '某商贸有限公司', '某制造有限公司', '某餐饮店', '某超市', '待业']

export interface Family {
  guardians: Row[]
  members: Row[]
}

/**
 * Guardians and family members of a pupil, coded by GB/T 4761 as the member's
 * relationship to the pupil: 51 父亲, 52 母亲, 61/62 paternal and 63/64 maternal grandparents,
 * 71 兄 73 弟 75 姐姐 77 妹妹. A left-behind child (留守) has a grandparent as guardian.
 */
export function family(ctx: SeedContext, p: Person, county: County, onlyChild: boolean | null): Family {
  const rng = ctx.rng
  const birthYear = +(p.row.birth_date as string).slice(0, 4)
  const ethnic = p.row.ethnicity as string
  const fatherSurname = rng.chance(0.95) ? p.surname : drawSurname(rng)
  const father = personName(rng, '1', fatherSurname)
  const mother = personName(rng, '2')
  const home = p.row.current_address as string
  const code = p.row.postcode as string
  const parentMarital = rng.pick(['20', '21', '21', '21', '22', '40'])
  const member = (relationship: string, name: string, marital: string, phone: string | null): Row => ({
    relationship, name, employer: rng.pick(EMPLOYERS), phone, ethnicity: ethnic, marital_status: marital,
    residence_abroad: rng.chance(0.003) ? rng.pick(['USA', 'ITA', 'ESP', 'FRA']) : null,
  })
  const members: Row[] = [member('51', father, parentMarital, mobile(rng)), member('52', mother, parentMarital, mobile(rng))]
  const guardians: Row[] = []
  const guardian = (relationship: string, name: string): Row => ({
    relationship, name, address: home, phone: mobile(rng), postcode: code, email: rng.chance(0.1) ? `${namePinyin(name).pinyin.replaceAll(' ', '')}${rng.int(1, 999)}@163.com` : null,
  })
  const leftBehind = !county.urban && rng.chance(0.08)
  if (leftBehind) {
    const gf = personName(rng, '1', fatherSurname)
    const gm = personName(rng, '2')
    members.push(member('61', gf, '20', null), member('62', gm, '20', mobile(rng)))
    guardians.push(guardian('62', gm), guardian('61', gf))
  } else {
    guardians.push(guardian('51', father))
    if (rng.chance(0.9)) guardians.push(guardian('52', mother))
  }
  if (onlyChild === false) {
    const older = rng.chance(0.5)
    const sibGender = rng.chance(0.5) ? '1' : '2'
    const rel = sibGender === '1' ? (older ? '71' : '73') : older ? '75' : '77'
    const sibling = personName(rng, sibGender, fatherSurname)
    const adult = older && birthYear < new Date(ctx.now).getUTCFullYear() - 14
    members.push({ ...member(rel, sibling, adult ? rng.pick(['10', '20']) : '10', null), employer: adult ? rng.pick(['学生', ...EMPLOYERS]) : '学生' })
  }
  return { guardians, members }
}

/** A date in the last `days` days before `asOf`, not before `notBefore`. */
export function recent(ctx: SeedContext, days: number, notBefore: string): string {
  const to = addDays(ctx.cal.asOf, -1)
  let from = addDays(ctx.cal.asOf, -days)
  if (notBefore > from) from = notBefore
  if (from > to) from = to
  return dateBetween(ctx.rng, from, to)
}
