import { DatabaseError } from '@litepool/pool-core'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { expect } from 'vitest'
import type { ScenarioContext } from '../harness.js'
import { type Scenario, scenarios } from '../scenario.js'

/**
 * A writer with rows 1..3 in `v` and a reader. While a statement on the reader is not reset, the
 * reader keeps its old read snapshot (WAL); `snapshotIsFresh` tells whether it sees new writes.
 */
async function snapshotFixture(t: ScenarioContext) {
  const writer = await t.open('writer')
  writer.exec('create table v(id integer primary key); insert into v values (1), (2), (3)')
  const reader = await t.open('reader')
  const snapshotIsFresh = () => {
    const before = reader.get<{ n: number }>('select count(*) as n from v')?.n ?? 0
    writer.run('insert into v default values')
    return (reader.get<{ n: number }>('select count(*) as n from v')?.n ?? 0) === before + 1
  }
  return { writer, reader, snapshotIsFresh }
}

const iterateScenarios = scenarios('iterate', [
  {
    key: 'yields-rows',
    title: 'iterate yields every row in order, lazily',
    async run(t) {
      const c = await t.open()
      const rows = c.iterate<{ x: number }>(
        'with recursive n(x) as (select 1 union all select x + 1 from n where x < 5) select x from n',
      )
      expect([...rows].map((r) => r.x)).toEqual([1, 2, 3, 4, 5])
    },
  },
  {
    key: 'break-resets-statement',
    title: 'breaking out of iterate resets the statement (its read snapshot ends)',
    async run(t) {
      const { reader, snapshotIsFresh } = await snapshotFixture(t)
      for (const _row of reader.iterate('select id from v order by id')) break
      expect(snapshotIsFresh()).toBe(true)
    },
  },
  {
    key: 'throw-resets-statement',
    title: 'a throw inside the loop resets the statement too',
    async run(t) {
      const { reader, snapshotIsFresh } = await snapshotFixture(t)
      expect(() => {
        for (const _row of reader.iterate('select id from v order by id'))
          throw new RangeError('stop')
      }).toThrow('stop')
      expect(snapshotIsFresh()).toBe(true)
    },
  },
  {
    key: 'open-iteration-holds-snapshot',
    title: 'an unfinished iteration holds its snapshot until the driver resets the connection',
    async run(t) {
      const { reader, snapshotIsFresh } = await snapshotFixture(t)
      const rows = reader.iterate('select id from v order by id')
      rows.next()
      // Proves the probe can fail: a live statement keeps the old snapshot.
      expect(snapshotIsFresh()).toBe(false)
      await t.driver().reset(reader)
      expect(snapshotIsFresh()).toBe(true)
    },
  },
  {
    key: 'write-during-iteration',
    title: 'the connection can run writes while an iteration is open',
    async run(t) {
      const c = await t.open()
      c.exec('create table v(id integer primary key, x); insert into v(x) values (1), (2), (3)')
      for (const row of c.iterate<{ id: number }>('select id from v order by id')) {
        c.run('update v set x = x * 10 where id = ?', [row.id])
      }
      expect(c.get('select sum(x) as s from v')).toEqual({ s: 60 })
    },
  },
])

const execScenarios = scenarios('exec', [
  {
    key: 'multiple-statements',
    title: 'exec runs several statements separated by semicolons',
    async run(t) {
      const c = await t.open()
      c.exec(`
        create table a(x);
        insert into a values (1);
        insert into a values (2);
      `)
      expect(c.get('select count(*) as n from a')).toEqual({ n: 2 })
    },
  },
])

const cached = (c: SqliteConnection, sql: string) => c.prepare(sql)

const prepareScenarios = scenarios('prepare', [
  {
    key: 'cache-reuses-statement',
    title: 'the same SQL gets the same prepared statement from the connection cache',
    async run(t) {
      const c = await t.open()
      const first = cached(c, 'select ? as x')
      expect(c.get('select ? as x', [1])).toEqual({ x: 1 })
      expect(cached(c, 'select ? as x')).toBe(first)
      expect(first.get([2])).toEqual({ x: 2 })
    },
  },
  {
    key: 'cache-evicts-least-recently-used',
    title: 'a full cache evicts the least recently used statement',
    async run(t) {
      const c = await t.open('writer', { statementCacheSize: 2 })
      const a = cached(c, 'select 1')
      const b = cached(c, 'select 2')
      expect(cached(c, 'select 1')).toBe(a) // a is now the most recent
      cached(c, 'select 3') // evicts b
      expect(cached(c, 'select 1')).toBe(a)
      expect(cached(c, 'select 2')).not.toBe(b)
    },
  },
  {
    key: 'cache-repeat-and-evict-with-one-slot',
    title: 'with one cache slot, a repeated query reuses its statement and another one replaces it',
    async run(t) {
      const c = await t.open('writer', { statementCacheSize: 1 })
      const a = cached(c, 'select 1 as x')
      expect(cached(c, 'select 1 as x')).toBe(a)
      const pragma = 'pragma cache_size = -2000' // changes connection state: never cached
      expect(cached(c, pragma)).not.toBe(cached(c, pragma))
      expect(cached(c, 'select 1 as x')).toBe(a)
      const b = cached(c, 'select 2 as x') // evicts a
      expect(c.get('select 2 as x')).toEqual({ x: 2 })
      const a2 = cached(c, 'select 1 as x')
      expect(a2).not.toBe(a)
      expect(a2.get()).toEqual({ x: 1 })
      expect(cached(c, 'select 2 as x')).not.toBe(b)
    },
  },
  {
    key: 'cache-size-zero-disables-cache',
    title: 'statementCacheSize 0 prepares every time',
    async run(t) {
      const c = await t.open('writer', { statementCacheSize: 0 })
      expect(cached(c, 'select 1')).not.toBe(cached(c, 'select 1'))
    },
  },
  {
    key: 'rejects-multiple-statements',
    title: 'preparing two statements at once is an error (not a silently dropped tail)',
    async run(t) {
      const c = await t.open()
      c.exec('create table v(x)')
      expect(() => c.run('insert into v values (1); insert into v values (2)')).toThrow(
        DatabaseError,
      )
    },
  },
])

/** Statements: iterate, exec and the statement cache. */
export const statementScenarios: readonly Scenario[] = [
  ...iterateScenarios,
  ...execScenarios,
  ...prepareScenarios,
]
