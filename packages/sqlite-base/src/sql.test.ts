import { describe, expect, it } from 'vitest'
import { BEGIN_SQL, CHECKPOINT_SQL, pragmaSql, quoteIdentifier, SAVEPOINT_SQL, SQL } from './sql.js'

describe('SQL constants', () => {
  it('are frozen', () => {
    for (const constant of [BEGIN_SQL, CHECKPOINT_SQL, SAVEPOINT_SQL, SQL])
      expect(Object.isFrozen(constant)).toBe(true)
  })

  it('render BEGIN modes, savepoints and pragmas', () => {
    expect(BEGIN_SQL).toEqual({
      deferred: 'BEGIN DEFERRED',
      immediate: 'BEGIN IMMEDIATE',
      exclusive: 'BEGIN EXCLUSIVE',
    })
    expect(SAVEPOINT_SQL.create('sp_1')).toBe('SAVEPOINT "sp_1"')
    expect(SAVEPOINT_SQL.release('a"b')).toBe('RELEASE "a""b"')
    expect(SAVEPOINT_SQL.rollbackTo('x')).toBe('ROLLBACK TO "x"')
    expect(quoteIdentifier('')).toBe('""')
    expect(pragmaSql('foreign_keys', true)).toBe('PRAGMA foreign_keys = ON')
    expect(pragmaSql('cache_size', -2000)).toBe('PRAGMA cache_size = -2000')
    expect(CHECKPOINT_SQL.TRUNCATE).toBe('PRAGMA wal_checkpoint(TRUNCATE)')
  })
})
