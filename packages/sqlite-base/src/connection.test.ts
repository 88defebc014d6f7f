import { describe, expect, it } from 'vitest'
import type { NativeDatabase, NativeStatement } from './adapter.js'
import { SqliteConnection } from './connection.js'
import { mayControlTransaction } from './statement.js'

describe('mayControlTransaction', () => {
  it.each([
    'BEGIN',
    'begin immediate',
    '  \n\tBEGIN',
    '/* hint */ BEGIN',
    '-- why\nbegin',
    '-- a\n/* b */\n  SAVEPOINT s1',
    'savepoint x',
    'COMMIT',
    'end',
    'ROLLBACK TO x',
    'RELEASE x',
    'create table t(x)',
    '', // nothing recognisable: unsafe
    '/* unterminated select 1',
    '(select 1)',
  ])('%j may begin or end a transaction', (sql) => {
    expect(mayControlTransaction(sql)).toBe(true)
  })

  it.each([
    'select 1',
    '  SELECT * from t',
    '/* c */ select 1',
    '-- c\nselect 1',
    'insert into t values (1)',
    'INSERT OR REPLACE INTO t VALUES (1)',
    'replace into t values (1)',
    'update t set x = 1',
    'delete from t',
    'with a as (select 1) select * from a',
    'values (1), (2)',
    'pragma user_version',
    'explain query plan select 1',
  ])('%j cannot', (sql) => {
    expect(mayControlTransaction(sql)).toBe(false)
  })

  it('answers in linear time on hostile input', () => {
    const started = performance.now()
    expect(mayControlTransaction(`${' '.repeat(50_000)}/*${'*'.repeat(50_000)}`)).toBe(true)
    expect(mayControlTransaction(`${'-- x\n'.repeat(20_000)}select 1`)).toBe(false)
    expect(performance.now() - started).toBeLessThan(2_000)
  })
})

/**
 * A native handle that records how often SQLite is asked whether a transaction is open. An
 * instrument, not a database: the drivers' contract scenarios prove the same rules on real SQLite;
 * only there the number of native calls cannot be observed.
 */
function instrumentedHandle() {
  const state = { open: false, asked: 0 }
  const statement = (sql: string): NativeStatement => {
    const head = sql.replace(/^(?:\s|--[^\n]*\n|\/\*[\s\S]*?\*\/)*/, '')
    const run = () => {
      if (/^(begin|savepoint)/i.test(head)) state.open = true
      if (/^(commit|end|rollback\s*$|release)/i.test(head)) state.open = false
      return { changes: 0, lastInsertRowid: 0 }
    }
    return {
      run,
      get: () => {
        run()
        return { x: 1 }
      },
      all: () => {
        run()
        return []
      },
      iterate: () => {
        run()
        return [][Symbol.iterator]()
      },
    }
  }
  const db: NativeDatabase<{ kind: 'raw' }> = {
    raw: { kind: 'raw' },
    get inTransaction() {
      state.asked++
      return state.open
    },
    prepare: statement,
    exec: (sql) => {
      if (/\bbegin\b/i.test(sql)) state.open = true
    },
    close: () => {},
  }
  return { state, connection: new SqliteConnection(db, 'writer', '/tmp/x.db', 10) }
}

describe('SqliteConnection.inTransaction', () => {
  it('asks SQLite once, then not again while only queries and DML run', () => {
    const { state, connection: c } = instrumentedHandle()
    expect(c.inTransaction).toBe(false)
    expect(state.asked).toBe(1)
    c.get('select 1')
    c.run('insert into t values (1)')
    c.all('-- c\nselect 1')
    for (const _ of c.iterate('select 1'));
    c.prepare('update t set x = 2').run()
    expect(c.inTransaction).toBe(false)
    expect(c.inTransaction).toBe(false)
    expect(state.asked).toBe(1)
  })

  it.each([
    ['run', (c: SqliteConnection) => c.run('BEGIN')],
    ['get', (c: SqliteConnection) => c.get('/* x */ savepoint a')],
    ['all', (c: SqliteConnection) => c.all('begin')],
    ['iterate', (c: SqliteConnection) => [...c.iterate('begin')]],
    ['exec', (c: SqliteConnection) => c.exec('select 1; begin')],
    ['control', (c: SqliteConnection) => c.runControl('BEGIN IMMEDIATE')],
    ['execControl', (c: SqliteConnection) => c.execControl('BEGIN')],
  ] as const)(
    'asks again after %s of transaction control, until SQLite says none is open',
    (_, begin) => {
      const { state, connection: c } = instrumentedHandle()
      expect(c.inTransaction).toBe(false)
      begin(c)
      expect(c.inTransaction).toBe(true)
      expect(c.inTransaction).toBe(true) // still open: keeps asking
      c.run('COMMIT')
      expect(c.inTransaction).toBe(false)
      const asked = state.asked
      expect(c.inTransaction).toBe(false)
      expect(state.asked).toBe(asked)
    },
  )

  it('a statement prepared earlier and run later is still seen', () => {
    const { connection: c } = instrumentedHandle()
    const begin = c.prepare('BEGIN')
    expect(c.inTransaction).toBe(false)
    begin.run()
    expect(c.inTransaction).toBe(true)
  })

  it.each([
    ['raw', (c: SqliteConnection): unknown => c.raw],
    ['a native statement', (c: SqliteConnection): unknown => c.prepare('select 1').native],
  ] as const)('always asks SQLite once %s was handed out', (_, expose) => {
    const { state, connection: c } = instrumentedHandle()
    expose(c)
    expect(c.inTransaction).toBe(false)
    state.open = true // as if SQL ran on the native handle, unseen
    expect(c.inTransaction).toBe(true)
    state.open = false
    expect(c.inTransaction).toBe(false)
    const asked = state.asked
    expect(c.inTransaction).toBe(false)
    expect(state.asked).toBe(asked + 1)
  })

  it('is false once closed, without asking', async () => {
    const { state, connection: c } = instrumentedHandle()
    c.run('BEGIN')
    await c.closeNative()
    expect(c.inTransaction).toBe(false)
    expect(state.asked).toBe(0)
  })
})
