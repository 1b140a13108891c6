import t from 'tap'
import { canonicalJson, isSha256Hex, parseCanonicalJson, sha256Hex } from '../../sync/canonical.ts'

t.test('keys are sorted at every depth, no whitespace, null kept', async (t) => {
  const a = { b: 1, a: { d: 2, c: [3, { f: 1, e: null }] }, 学籍号: 'G1', s: 'x"y' }
  const b = { s: 'x"y', 学籍号: 'G1', a: { c: [3, { e: null, f: 1 }], d: 2 }, b: 1 }
  const text = canonicalJson(a)
  t.equal(text, '{"a":{"c":[3,{"e":null,"f":1}],"d":2},"b":1,"s":"x\\"y","学籍号":"G1"}')
  t.equal(canonicalJson(b), text, 'insertion order does not matter')
  t.equal(sha256Hex(canonicalJson(b)), sha256Hex(text))
})

t.test('objects that share a first key and a key count but not their keys or order each get their own order', async (t) => {
  // The writer keeps each key order it has seen (by first key and count): none may stand for another.
  const seen = [
    [{ id: 1, z: 2, a: 3 }, '{"a":3,"id":1,"z":2}'],
    [{ id: 1, y: 2, b: 3 }, '{"b":3,"id":1,"y":2}'],
    [{ id: 1, a: 3, z: 2 }, '{"a":3,"id":1,"z":2}'],
    [{ id: 1, z: 2, a: 3 }, '{"a":3,"id":1,"z":2}'],
    [{ id: 1, z: 2, c: 3 }, '{"c":3,"id":1,"z":2}'],
    [{}, '{}'],
  ] as const
  for (let round = 0; round < 2; round++) for (const [value, text] of seen) t.equal(canonicalJson(value), text)
})

t.test('numbers, booleans and arrays as JSON writes them', async (t) => {
  t.equal(canonicalJson([1.5, -0, 1e21, 0.1, true, false, 'é']), '[1.5,0,1e+21,0.1,true,false,"é"]')
  t.equal(canonicalJson(null), 'null')
  t.equal(canonicalJson(Object.assign(Object.create(null), { z: 1, a: 2 })), '{"a":2,"z":1}')
})

t.test('what JSON cannot carry faithfully is refused, not dropped', async (t) => {
  const cyclic: Record<string, unknown> = {}
  cyclic.self = cyclic
  const bad: [string, unknown][] = [
    ['undefined', undefined],
    ['undefined property', { a: undefined }],
    ['array hole', [1, , 3]], // eslint-disable-line no-sparse-arrays
    ['function', { f: () => 1 }],
    ['NaN', { n: NaN }],
    ['Infinity', [Infinity]],
    ['-Infinity', -Infinity],
    ['bigint', { n: 1n }],
    ['symbol', Symbol('x')],
    ['Date', { d: new Date(0) }],
    ['Map', new Map()],
    ['Uint8Array', new Uint8Array(2)],
    ['cycle', cyclic],
  ]
  for (const [what, v] of bad) t.throws(() => canonicalJson(v), { code: 'SYNC_MALFORMED' }, what)
  t.throws(() => canonicalJson({ a: { b: [0, NaN] } }), { code: 'SYNC_MALFORMED', details: { path: '$.a.b[1]' } }, 'names the path')
})

t.test('a shared (non-cyclic) sub-object is fine', async (t) => {
  const shared = { x: 1 }
  t.equal(canonicalJson({ a: shared, b: shared }), '{"a":{"x":1},"b":{"x":1}}')
})

t.test('parseCanonicalJson accepts canonical text only', async (t) => {
  t.same(parseCanonicalJson('{"a":1,"b":[null]}'), { a: 1, b: [null] })
  for (const text of ['{"b":1,"a":2}', '{"a": 1}', '{"a":1.0}', '{"a":1,"a":2}', '{"a":"\\u0041"}', 'nope', '']) {
    t.throws(() => parseCanonicalJson(text), { code: 'SYNC_MALFORMED' }, text)
  }
  // Key lists found sorted are remembered: the same keys in another order, at any depth, are still refused.
  t.same(parseCanonicalJson('[{"a":1,"b":2,"c":3},{"a":4,"b":5,"c":6}]'), [{ a: 1, b: 2, c: 3 }, { a: 4, b: 5, c: 6 }])
  for (const text of ['[{"a":1,"b":2,"c":3},{"a":4,"c":6,"b":5}]', '{"x":[{"a":1,"b":2,"c":3}],"y":{"b":1,"a":2,"c":3}}']) {
    t.throws(() => parseCanonicalJson(text), { code: 'SYNC_MALFORMED', details: { reason: 'not-canonical' } }, text)
  }
})

t.test('sha256Hex over strings (UTF-8) and bytes', async (t) => {
  const abc = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
  t.equal(sha256Hex('abc'), abc)
  t.equal(sha256Hex(new TextEncoder().encode('abc')), abc)
  t.equal(sha256Hex('学'), sha256Hex(Buffer.from('学', 'utf8')))
  t.ok(isSha256Hex(abc))
  t.notOk(isSha256Hex(abc.toUpperCase()))
})
