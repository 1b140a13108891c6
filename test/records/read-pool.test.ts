import t, { type Test } from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openStorage } from '../../schema/db.ts'
import { createReadPool } from '../../node/services/records/read-pool.ts'

function setup(t: Test, size = 2) {
  const storage = openStorage(join(t.testdir(), 'x.db'))
  const reads = createReadPool(storage.sqlite.name, size)
  t.teardown(async () => {
    await reads.close()
    storage.close()
  })
  storage.sqlite.exec('create table items (id integer primary key, name text not null)')
  return { storage, reads }
}

t.test('the readers see every committed write, including those made after they started', async t => {
  const { storage, reads } = setup(t)
  storage.write(() => storage.sqlite.prepare('insert into items (name) values (?)').run('甲'))
  t.same(await reads.all('select name from items order by id', []), [{ name: '甲' }])
  storage.write(() => storage.sqlite.prepare('insert into items (name) values (?)').run('乙'))
  t.same(await reads.all('select name from items where id >= ? order by id', [1]), [{ name: '甲' }, { name: '乙' }])
})

t.test('concurrent queries each get their own answer', async t => {
  const { storage, reads } = setup(t, 3)
  const insert = storage.sqlite.prepare('insert into items (id, name) values (?, ?)')
  storage.write(() => {
    for (let i = 1; i <= 200; i++) insert.run(i, `n${i}`)
  })
  const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => reads.all('select name from items where id = ?', [i + 1])))
  t.same(answers.map(a => a[0].name), Array.from({ length: 200 }, (_, i) => `n${i + 1}`))
})

t.test('a query the database refuses fails alone; the readers stay usable; they are read-only', async t => {
  const { reads } = setup(t)
  await t.rejects(reads.all('select nope from items', []), { message: /no such column: nope/ })
  await t.rejects(reads.all('insert into items (name) values (?) returning id', ['x']), { code: 'SQLITE_READONLY' })
  t.same(await reads.all('select count(*) n from items', []), [{ n: 0 }])
  await reads.close()
  await t.rejects(reads.all('select 1', []), { message: /closed/ })
})

t.test('the main thread keeps running while a long query runs on a reader', async t => {
  const { reads } = setup(t, 1)
  let ticks = 0
  const timer = setInterval(() => ticks++, 1)
  const [row] = await reads.all('with recursive c(i) as (select 1 union all select i + 1 from c where i < 3000000) select count(*) n from c', [])
  clearInterval(timer)
  t.equal(row.n, 3000000)
  t.ok(ticks > 0, `the event loop turned ${ticks} times during the query (it would not, were the query on this thread)`)
})

t.test('the readers run below the main thread\'s priority (Linux: each thread has its own nice value)', { skip: process.platform !== 'linux' && 'threads have no priority of their own here' }, async t => {
  const { reads } = setup(t, 2)
  await Promise.all([reads.all('select 1', []), reads.all('select 2', [])])
  const nice = (tid: string) => Number(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8').split(') ')[1].split(' ')[16])
  const threads = readdirSync('/proc/self/task')
  t.equal(nice(String(process.pid)), 0, 'the main thread keeps the process\'s priority')
  t.equal(threads.filter(tid => nice(tid) === 10).length, 2, 'both readers run at nice 10')
})
