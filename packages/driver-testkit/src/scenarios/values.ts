import { DatabaseError } from '@litepool/pool-core'
import { expect } from 'vitest'
import { type Scenario, scenarios } from '../scenario.js'

const roundTrip = (values: readonly unknown[], type: string): Scenario['run'] => {
  return async (t) => {
    const c = await t.open()
    c.exec(`create table v(id integer primary key, x ${type === 'null' ? 'any' : type}) strict`)
    for (const value of values) c.run('insert into v(x) values (?)', [value as never])
    const rows = c.all<{ x: unknown; t: string }>('select x, typeof(x) as t from v order by id')
    expect(rows.map((r) => r.t)).toEqual(values.map(() => type))
    expect(rows.map((r) => r.x)).toEqual(values)
  }
}

/** Values in and out: every SQLite storage class, bigint handling, plain-object rows. */
export const typeScenarios: readonly Scenario[] = scenarios('types', [
  {
    key: 'integer',
    title: 'integers round-trip as numbers',
    run: roundTrip([0, 42, -7, 2 ** 53 - 1, -(2 ** 53 - 1)], 'integer'),
  },
  {
    key: 'real',
    title: 'reals round-trip',
    run: roundTrip([3.25, -0.5, 0.1 + 0.2, 1e300], 'real'),
  },
  {
    key: 'real-subnormal',
    title: 'subnormal doubles (5e-324) bind and read back exactly',
    run: roundTrip([5e-324, 1e-310], 'real'),
  },
  {
    key: 'text',
    title: 'text round-trips (unicode, empty)',
    run: roundTrip(['héllo ☃ 😀', '', 'a\nb'], 'text'),
  },
  { key: 'null', title: 'null round-trips', run: roundTrip([null], 'null') },
  {
    key: 'blob',
    title: 'blobs go in as Uint8Array or Buffer and come out as Uint8Array with the same bytes',
    async run(t) {
      const c = await t.open()
      c.exec('create table v(id integer primary key, x blob)')
      c.run('insert into v(x) values (?)', [new Uint8Array([0, 1, 255])])
      c.run('insert into v(x) values (?)', [Buffer.from('litepool')])
      c.run('insert into v(x) values (?)', [new Uint8Array(0)])
      const rows = c.all<{ x: Uint8Array; t: string }>(
        'select x, typeof(x) as t from v order by id',
      )
      expect(rows.map((r) => r.t)).toEqual(['blob', 'blob', 'blob'])
      for (const row of rows) expect(row.x).toBeInstanceOf(Uint8Array)
      expect([...(rows[0]?.x ?? [])]).toEqual([0, 1, 255])
      expect(Buffer.from(rows[1]?.x ?? []).toString()).toBe('litepool')
      expect(rows[2]?.x.byteLength).toBe(0)
    },
  },
  {
    key: 'bigint-parameter',
    title: 'bigint parameters bind as integers (read back as numbers by default)',
    async run(t) {
      const c = await t.open()
      expect(c.get('select ? as x, typeof(?) as t', [5n, 5n])).toEqual({ x: 5, t: 'integer' })
    },
  },
  {
    key: 'safe-integers',
    title: 'safeIntegers: integers read as bigint beyond 2^53, lastInsertRowid is a bigint',
    async run(t) {
      const c = await t.open('writer', { safeIntegers: true })
      c.exec('create table v(id integer primary key, x)')
      const info = c.run('insert into v(x) values (?)', [9007199254740993n])
      expect(info).toEqual({ changes: 1, lastInsertRowid: 1n })
      expect(typeof info.changes).toBe('number')
      expect(c.get('select x, 2.5 as r from v')).toEqual({ x: 9007199254740993n, r: 2.5 })
      const plain = await t.open('writer')
      expect(plain.get('select 7 as x')).toEqual({ x: 7 })
    },
  },
])

/** Rows and parameters. */
export const rowScenarios: readonly Scenario[] = [
  ...scenarios('rows', [
    {
      key: 'plain-objects',
      title: 'rows are plain objects with columns in select order (get, all, iterate)',
      async run(t) {
        const c = await t.open()
        const sql = 'select 1 as b, 2 as a'
        const rows = [c.get(sql), ...c.all(sql), ...c.iterate(sql)]
        for (const row of rows) {
          expect(Object.getPrototypeOf(row)).toBe(Object.prototype)
          expect(Object.keys(row as object)).toEqual(['b', 'a'])
        }
      },
    },
  ]),
  ...scenarios('params', [
    {
      key: 'positional',
      title: 'positional parameters come as one array',
      async run(t) {
        const c = await t.open()
        expect(c.get('select ? as a, ? as b', [1, 'x'])).toEqual({ a: 1, b: 'x' })
      },
    },
    {
      key: 'named',
      title: 'named parameters (:a, @b, $c) come as one object with bare keys',
      async run(t) {
        const c = await t.open()
        expect(c.get('select :a as a, @b as b, $c as c', { a: 1, b: 'two', c: null })).toEqual({
          a: 1,
          b: 'two',
          c: null,
        })
      },
    },
    {
      key: 'extra-named-keys-ignored',
      title: 'keys of a named-parameter object that the statement does not use are ignored',
      async run(t) {
        const c = await t.open()
        expect(c.get('select :a as a', { a: 1, unused: 2 })).toEqual({ a: 1 })
      },
    },
    {
      key: 'missing-positional-throws',
      title: 'too few positional parameters is an error, not a silent NULL',
      async run(t) {
        const c = await t.open()
        expect(() => c.get('select ? as a, ? as b', [1])).toThrow(DatabaseError)
      },
    },
    {
      key: 'unsupported-value-throws',
      title: 'a value SQLite cannot bind throws a classified misuse error',
      async run(t) {
        const c = await t.open()
        // A Date is the usual mistake: SQLite has no date type, pass an ISO string or a number.
        const error = catchError(() => c.get('select ? as a', [new Date(0) as never]))
        expect(error).toBeInstanceOf(DatabaseError)
        expect((error as DatabaseError).kind).toBe('misuse')
      },
    },
  ]),
  ...scenarios('run', [
    {
      key: 'changes-and-last-insert-rowid',
      title: 'run reports changes and lastInsertRowid',
      async run(t) {
        const c = await t.open()
        c.exec('create table v(id integer primary key, x)')
        expect(c.run('insert into v(x) values (?)', ['a'])).toEqual({
          changes: 1,
          lastInsertRowid: 1,
        })
        expect(c.run('insert into v(x) values (?), (?)', ['b', 'c'])).toEqual({
          changes: 2,
          lastInsertRowid: 3,
        })
        expect(c.run('update v set x = x || ?', ['!']).changes).toBe(3)
        expect(c.run('delete from v where id = ?', [99]).changes).toBe(0)
      },
    },
  ]),
  ...scenarios('get', [
    {
      key: 'undefined-without-row',
      title: 'get returns undefined when there is no row; all returns []',
      async run(t) {
        const c = await t.open()
        expect(c.get('select 1 as x where 0')).toBeUndefined()
        expect(c.all('select 1 as x where 0')).toEqual([])
      },
    },
    {
      key: 'statement-without-rows',
      title: 'get/all/iterate on a statement without rows run it and return nothing',
      async run(t) {
        const c = await t.open()
        c.exec('create table v(x)')
        expect(c.get('insert into v values (1)')).toBeUndefined()
        expect(c.all('insert into v values (2)')).toEqual([])
        expect([...c.iterate('insert into v values (3)')]).toEqual([])
        expect(c.get('select count(*) as n from v')).toEqual({ n: 3 })
      },
    },
    {
      key: 'returning',
      title: 'INSERT … RETURNING returns rows through get and all',
      async run(t) {
        const c = await t.open()
        c.exec('create table v(id integer primary key, x)')
        expect(c.get('insert into v(x) values (?) returning id, x', ['a'])).toEqual({
          id: 1,
          x: 'a',
        })
        expect(c.all('insert into v(x) values (?), (?) returning id', ['b', 'c'])).toEqual([
          { id: 2 },
          { id: 3 },
        ])
      },
    },
  ]),
]

/** Runs `fn` and returns what it threw (fails the test when it does not throw). */
export function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  expect.fail('expected an error to be thrown')
}
