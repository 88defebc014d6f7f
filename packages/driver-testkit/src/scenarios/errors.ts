import { DatabaseError, isBusyError, PoolError } from '@litepool/pool-core'
import { expect } from 'vitest'
import { type Scenario, scenarios } from '../scenario.js'
import { catchError } from './values.js'

function expectDatabaseError(
  error: unknown,
  expected: { kind: DatabaseError['kind']; driverCode: string | RegExp; errno?: number },
): DatabaseError {
  expect(error).toBeInstanceOf(DatabaseError)
  expect(error).toBeInstanceOf(PoolError)
  const e = error as DatabaseError
  expect(e.kind).toBe(expected.kind)
  expect(e.code).toBe(`LITEPOOL_DB_${expected.kind.toUpperCase()}`)
  expect(e.driverCode).toMatch(expected.driverCode)
  if (expected.errno !== undefined) expect(e.errno).toBe(expected.errno)
  expect(e.cause).toBeDefined()
  return e
}

/** Every native error comes out as a classified `DatabaseError`. */
export const errorScenarios: readonly Scenario[] = scenarios('errors', [
  {
    key: 'constraint',
    title: 'constraint violations: kind constraint, the extended SQLite code and errno',
    async run(t) {
      const c = await t.open()
      c.exec(`
        create table parent(id integer primary key);
        create table child(id integer primary key, name text not null unique,
                           parent integer references parent(id));
        insert into child(name) values ('a');
      `)
      expectDatabaseError(
        catchError(() => c.run('insert into child(name) values (?)', ['a'])),
        { kind: 'constraint', driverCode: /^SQLITE_CONSTRAINT_UNIQUE$/, errno: 2067 },
      )
      expectDatabaseError(
        catchError(() => c.run('insert into child(name) values (null)')),
        { kind: 'constraint', driverCode: /^SQLITE_CONSTRAINT_NOTNULL$/, errno: 1299 },
      )
      // foreign_keys is ON on every connection
      expectDatabaseError(
        catchError(() => c.run('insert into child(name, parent) values (?, ?)', ['b', 42])),
        { kind: 'constraint', driverCode: /^SQLITE_CONSTRAINT_FOREIGNKEY$/, errno: 787 },
      )
    },
  },
  {
    key: 'syntax',
    title: 'a syntax error is SQLITE_ERROR, kind other, with the SQL in the message',
    async run(t) {
      const c = await t.open()
      const e = expectDatabaseError(
        catchError(() => c.get('selec 1')),
        { kind: 'other', driverCode: /^SQLITE_ERROR$/, errno: 1 },
      )
      expect(e.message).toMatch(/syntax error/)
      expect(e.message).toContain('selec 1')
      expectDatabaseError(
        catchError(() => c.exec('create table a(x); select * from missing_table')),
        { kind: 'other', driverCode: /^SQLITE_ERROR$/ },
      )
    },
  },
  {
    key: 'busy',
    title: 'BEGIN IMMEDIATE while another connection holds the write lock fails fast with busy',
    async run(t) {
      const holder = await t.open('writer')
      const driver = t.driver()
      const other = await driver.open('writer')
      t.defer(() => driver.close(other))
      holder.run('BEGIN IMMEDIATE')
      const started = performance.now()
      const error = expectDatabaseError(
        catchError(() => driver.transactions.begin(other, 'immediate')),
        { kind: 'busy', driverCode: /^SQLITE_BUSY/, errno: 5 },
      )
      expect(isBusyError(error)).toBe(true)
      // busy_timeout is short (5 ms by default): SQLite does not sleep long on the JS thread
      expect(performance.now() - started).toBeLessThan(1_000)
      expect(other.inTransaction).toBe(false)
      holder.run('COMMIT')
      driver.transactions.begin(other, 'immediate')
      driver.transactions.commit(other)
    },
  },
  {
    key: 'readonly-reader',
    title: 'a reader (query_only) refuses writes with kind readonly',
    async run(t) {
      const writer = await t.open('writer')
      writer.exec('create table v(x)')
      const reader = await t.open('reader')
      expectDatabaseError(
        catchError(() => reader.run('insert into v values (1)')),
        { kind: 'readonly', driverCode: /^SQLITE_READONLY/ },
      )
      expect(reader.get('select count(*) as n from v')).toEqual({ n: 0 })
    },
  },
  {
    key: 'closed-connection',
    title: 'using a closed connection throws kind broken (the pool evicts such connections)',
    async run(t) {
      const c = await t.open()
      const statement = c.prepare('select 1 as x')
      await t.close(c)
      expect(c.closed).toBe(true)
      expectDatabaseError(
        catchError(() => c.get('select 1')),
        { kind: 'broken', driverCode: /./ },
      )
      expectDatabaseError(
        catchError(() => statement.get()),
        { kind: 'broken', driverCode: /./ },
      )
    },
  },
])
