import { describe, expect, it } from 'vitest'
import { blankOut, planRawSql } from './classify.js'

describe('planRawSql', () => {
  const cases: [string, string, string][] = [
    ['select * from t', 'read', 'rows'],
    ['  -- comment\n  SELECT 1', 'read', 'rows'],
    ['/* lead */ values (1), (2)', 'read', 'rows'],
    ['with x as (select 1) select * from x', 'read', 'rows'],
    ["with x as (select replace(a, 'b', 'c') from t) select * from x", 'read', 'rows'],
    ['with x as (select 1) insert into t select * from x', 'write', 'rows'],
    ['with x as (select 1) replace into t select * from x', 'write', 'rows'],
    ['explain query plan select * from t', 'read', 'rows'],
    ['insert into t values (1)', 'write', 'changes'],
    ['insert into t values (1) returning id', 'write', 'rows'],
    ["insert into t values ('returning')", 'write', 'changes'],
    ['update t set "returning" = 1', 'write', 'changes'],
    ['delete from t returning *', 'write', 'rows'],
    ['replace into t values (1)', 'write', 'changes'],
    ['create table t (id integer)', 'write', 'changes'],
    ['drop table t', 'write', 'changes'],
    ['pragma table_info(person)', 'read', 'rows'],
    ['PRAGMA main.index_list("t")', 'read', 'rows'],
    ['pragma user_version', 'read', 'rows'],
    ['pragma user_version = 3', 'session', 'rows'],
    ['pragma journal_mode(delete)', 'session', 'rows'],
    ['pragma foreign_keys = off', 'session', 'rows'],
    ['pragma optimize', 'session', 'rows'],
    ['vacuum', 'session', 'changes'],
    ["attach 'x.db' as x", 'session', 'changes'],
    ['begin', 'refuse', 'changes'],
    ['COMMIT', 'refuse', 'changes'],
    ['savepoint a', 'refuse', 'changes'],
    ['select 1; delete from t', 'write', 'rows'],
    ['select 1;', 'read', 'rows'],
    ["select ';delete from t'", 'read', 'rows'],
    ['something new', 'write', 'rows'],
  ]
  for (const [sql, route, shape] of cases) {
    it(`${JSON.stringify(sql)} → ${route}/${shape}`, () => {
      expect(planRawSql(sql)).toEqual({ route, shape })
    })
  }
})

describe('blankOut', () => {
  it('blanks comments, strings and quoted identifiers, keeping keywords', () => {
    expect(blankOut(`select 'a''b', "x""y", \`z\`, [w] -- c\nfrom t /* d */`)).toBe(
      'select  ,  ,  ,    \nfrom t  ',
    )
  })
  it('handles unterminated tokens', () => {
    expect(blankOut("select 'open")).toBe('select  ')
    expect(blankOut('select 1 /* open')).toBe('select 1  ')
  })
})
