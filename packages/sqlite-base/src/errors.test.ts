import { DatabaseError, PoolError, TransactionError } from '@litepool/pool-core'
import { describe, expect, it } from 'vitest'
import { classifySqliteError, sqliteCodeName, sqliteErrorKind } from './errors.js'
import { SQLITE_RESULT_CODES } from './result-codes.js'

// Real binding errors are classified in the driver contract suite (constraint, syntax, busy,
// readonly, closed) against both drivers. Here: the mapping tables and both error shapes as data.

describe('result codes', () => {
  it('names numeric extended codes the way better-sqlite3 does', () => {
    expect(sqliteCodeName(5)).toBe('SQLITE_BUSY')
    expect(sqliteCodeName(517)).toBe('SQLITE_BUSY_SNAPSHOT')
    expect(sqliteCodeName(2067)).toBe('SQLITE_CONSTRAINT_UNIQUE')
    expect(sqliteCodeName(1555)).toBe('SQLITE_CONSTRAINT_PRIMARYKEY')
    expect(sqliteCodeName(19 | (99 << 8))).toBe('SQLITE_CONSTRAINT') // unknown extension → primary
    expect(sqliteCodeName(999)).toBe('SQLITE_UNKNOWN_999')
  })

  it('every extended code carries its primary code in the low byte', () => {
    for (const [name, code] of Object.entries(SQLITE_RESULT_CODES)) {
      const primary = name.match(/^SQLITE_[A-Z]+/)?.[0] ?? ''
      expect(SQLITE_RESULT_CODES[primary], name).toBe(code & 0xff)
    }
  })

  it.each([
    ['SQLITE_BUSY', 'busy'],
    ['SQLITE_BUSY_SNAPSHOT', 'busy'],
    ['SQLITE_LOCKED_SHAREDCACHE', 'locked'],
    ['SQLITE_CONSTRAINT_FOREIGNKEY', 'constraint'],
    ['SQLITE_READONLY_DBMOVED', 'readonly'],
    ['SQLITE_CORRUPT_INDEX', 'corrupt'],
    ['SQLITE_NOTADB', 'corrupt'],
    ['SQLITE_FULL', 'full'],
    ['SQLITE_MISUSE', 'misuse'],
    ['SQLITE_RANGE', 'misuse'],
    ['SQLITE_IOERR_SHORT_READ', 'broken'],
    ['SQLITE_CANTOPEN', 'broken'],
    ['SQLITE_ERROR', 'other'],
    ['SQLITE_INTERRUPT', 'other'],
  ] as const)('%s is %s', (code, kind) => {
    expect(sqliteErrorKind(code)).toBe(kind)
  })
})

describe('classifySqliteError', () => {
  it("classifies node:sqlite's shape (numeric errcode) with the better-sqlite3 name", () => {
    const native = Object.assign(new Error('UNIQUE constraint failed: t.a'), {
      code: 'ERR_SQLITE_ERROR',
      errcode: 2067,
      errstr: 'constraint failed',
    })
    const e = classifySqliteError(native, 'insert into t(a) values (?)') as DatabaseError
    expect(e).toBeInstanceOf(DatabaseError)
    expect(e).toMatchObject({
      kind: 'constraint',
      driverCode: 'SQLITE_CONSTRAINT_UNIQUE',
      errno: 2067,
      code: 'LITEPOOL_DB_CONSTRAINT',
    })
    expect(e.cause).toBe(native)
    expect(e.message).toBe(
      'UNIQUE constraint failed: t.a (SQLITE_CONSTRAINT_UNIQUE) in: insert into t(a) values (?)',
    )
  })

  it("classifies better-sqlite3's shape (string code) and adds the errno", () => {
    const native = Object.assign(new Error('database is locked'), {
      name: 'SqliteError',
      code: 'SQLITE_BUSY',
    })
    expect(classifySqliteError(native)).toMatchObject({
      kind: 'busy',
      driverCode: 'SQLITE_BUSY',
      errno: 5,
    })
  })

  it('binding errors without an SQLite code are misuse, closed handles are broken', () => {
    expect(
      classifySqliteError(new RangeError('Too few parameter values were provided')),
    ).toMatchObject({
      kind: 'misuse',
      driverCode: 'RangeError',
      errno: undefined,
    })
    const closed = Object.assign(new Error('database is not open'), { code: 'ERR_INVALID_STATE' })
    expect(classifySqliteError(closed)).toMatchObject({
      kind: 'broken',
      driverCode: 'ERR_INVALID_STATE',
    })
    expect(classifySqliteError(new TypeError('The database connection is not open'))).toMatchObject(
      { kind: 'broken' },
    )
    expect(classifySqliteError('a string')).toMatchObject({
      kind: 'misuse',
      message: 'a string (Error)',
    })
  })

  it('passes PoolErrors through and shortens long SQL in the message', () => {
    const pool = new TransactionError('nope')
    expect(classifySqliteError(pool)).toBe(pool)
    const e = classifySqliteError(new RangeError('x'), `select ${'a, '.repeat(100)}1`)
    expect(e).toBeInstanceOf(PoolError)
    expect(e.message.length).toBeLessThan(150)
    expect(e.message.endsWith('...')).toBe(true)
  })
})
