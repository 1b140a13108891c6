import { namePinyin as recordPinyin, pinyinInitials } from '../../node/records/pinyin.ts'
import { Weighted, type Rng } from './random.ts'

/**
 * Surnames with rough frequencies (per mille, national figures with Zhejiang's 王 陈 张 李 吴 徐
 * at the top), including polyphonic surnames that only read right in surname mode (单 shan,
 * 曾 zeng, 解 xie, 仇 qiu, 区 ou, 查 zha, 朴 piao, 缪 miao, 覃 qin, 翟 zhai) and compound ones.
 */
const SURNAMES: ReadonlyArray<readonly [string, number]> = [
  ['王', 72], ['陈', 70], ['张', 62], ['李', 58], ['吴', 40], ['徐', 38], ['刘', 36], ['周', 34], ['杨', 30],
  ['黄', 28], ['朱', 26], ['林', 24], ['赵', 20], ['孙', 16], ['胡', 18], ['金', 16], ['沈', 15], ['郑', 15],
  ['何', 14], ['叶', 14], ['方', 12], ['潘', 11], ['钱', 10], ['俞', 10], ['蒋', 10], ['马', 10], ['高', 10],
  ['许', 10], ['邵', 8], ['汪', 8], ['章', 8], ['梁', 7], ['宋', 7], ['郭', 7], ['罗', 7], ['姚', 7],
  ['谢', 7], ['韩', 6], ['唐', 6], ['冯', 6], ['董', 6], ['程', 6], ['曹', 6], ['袁', 6], ['邓', 6], ['傅', 6],
  ['丁', 5], ['卢', 5], ['范', 5], ['施', 5], ['顾', 5], ['戴', 5], ['夏', 5], ['钟', 5], ['陆', 5], ['蔡', 5],
  ['应', 4], ['楼', 4], ['童', 4], ['毛', 4], ['严', 4], ['魏', 4], ['任', 4], ['余', 4], ['彭', 4], ['吕', 4],
  ['苏', 4], ['倪', 3], ['江', 3], ['鲍', 3], ['葛', 3], ['孔', 3], ['柳', 2], ['虞', 2], ['屠', 2],
  ['单', 2], ['曾', 3], ['解', 1], ['仇', 1], ['区', 0.5], ['查', 1], ['朴', 0.3], ['缪', 1], ['覃', 0.5], ['翟', 1],
  ['雷', 2], ['蓝', 1.5], ['欧阳', 0.8], ['司马', 0.3], ['诸葛', 0.3], ['上官', 0.3], ['司徒', 0.3],
  ['东方', 0.2], ['皇甫', 0.2], ['尉迟', 0.1], ['公孙', 0.1], ['慕容', 0.1], ['令狐', 0.1], ['端木', 0.1],
]

// Given-name characters without readings that pinyin-pro could get wrong in a name (乐 行 长 重 …).
const MALE = '浩宇轩子涵博文杰俊明辉伟强磊鹏飞天昊然睿泽凯航晨逸宸铭阳翔志勇建国华军毅峰宁康健诚信哲彬鑫'
const FEMALE = '雨欣怡婷佳琪梦瑶诗涵思雅静丽芳娜敏燕霞颖慧珊琳晓萱可馨若悦彤蕾洁雪婉妍倩莹欢月'
const NEUTRAL = '一安晨子宇文嘉梓语心景书言睿林清源'
const ONE_CHAR = 0.18

const surnames = new Weighted(SURNAMES)

/** A plausible name for gender '1' (male) or '2' (female). */
export function personName(rng: Rng, gender: '1' | '2', surname = surnames.draw(rng)): string {
  const pool = gender === '1' ? MALE : FEMALE
  const char = () => (rng.chance(0.2) ? NEUTRAL[rng.int(0, NEUTRAL.length - 1)] : pool[rng.int(0, pool.length - 1)])
  if (rng.chance(ONE_CHAR)) return surname + char()
  let second = char()
  const first = char()
  if (second === first && rng.chance(0.7)) second = char() // 叠字 are real (婷婷) but not that common
  return surname + first + second
}

export function drawSurname(rng: Rng): string {
  return surnames.draw(rng)
}

export interface NamePinyin {
  /** Lower-case syllables without tones, separated by spaces: "shan xiong xin". */
  pinyin: string
  /** First letters, no spaces: "sxx". */
  initials: string
}

const cache = new Map<string, NamePinyin>()

/**
 * Pinyin of a person's name by the records' own rule (node/records/pinyin.ts: pinyin-pro in
 * surname mode, 单 → shan, 曾 → zeng, 尉迟 → yu chi), so seeded names read as typed ones do.
 * Cached: a node holds many repeats of the same name and pinyin-pro costs ~10 µs per call.
 */
export function namePinyin(name: string): NamePinyin {
  let hit = cache.get(name)
  if (!hit) {
    const text = recordPinyin(name)
    hit = { pinyin: text, initials: pinyinInitials(text) }
    if (cache.size > 200_000) cache.clear() // bound memory on a million-student run
    cache.set(name, hit)
  }
  return hit
}
