import t from 'tap'
import { newRecordId } from '../../schema/record-ids.ts'

t.test('new record ids are version-7 UUIDs that sort by creation time and do not repeat', async t => {
  const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/
  const start = Date.parse('2026-09-01T00:00:00Z')
  const ids = Array.from({ length: 20000 }, (_, i) => newRecordId(start + Math.floor(i / 4)))
  t.ok(ids.every(id => v7.test(id)), 'RFC 9562 version 7, variant 10')
  t.equal(new Set(ids).size, ids.length, 'no id twice, four to a millisecond')
  t.ok(ids.every((id, i) => i === 0 || id.slice(0, 13) >= ids[i - 1].slice(0, 13)), 'later ids sort later')
  t.equal(parseInt(ids[0].slice(0, 8) + ids[0].slice(9, 13), 16), start, 'the first 48 bits are the Unix milliseconds')
  t.ok(newRecordId() > ids[ids.length - 1], 'one made now sorts after them')
})
