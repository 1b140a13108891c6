import { pinyin } from 'pinyin-pro'

/**
 * 姓名拼音 of a name: lower-case syllables without tones, separated by spaces ("zeng xiao ming").
 * Surname mode reads a leading surname with its surname reading (曾 zeng, 单 shan, 解 xie, 区 ou,
 * 尉迟 yu chi); ü is written v, as registrars type it.
 */
export function namePinyin(name: string): string {
  return pinyin(name, { surname: 'head', toneType: 'none', type: 'array', v: true, nonZh: 'consecutive' })
    .map(s => s.trim().toLowerCase())
    .filter(s => s !== '')
    .join(' ')
}

/** First letters of the syllables, for search by initials ("zxm"). */
export function pinyinInitials(pinyinText: string): string {
  return pinyinText
    .toLowerCase()
    .split(/[\s'-]+/)
    .filter(s => s !== '')
    .map(s => s[0])
    .join('')
}

/** A search text as stored pinyin compares: lower case, no spaces or apostrophes. */
export function compactPinyin(text: string): string {
  return text.toLowerCase().replace(/[\s'-]+/g, '')
}
