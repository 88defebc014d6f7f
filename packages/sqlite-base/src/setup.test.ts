import { describe, expect, it } from 'vitest'
import { resolveSqliteOptions } from './options.js'
import { connectionPragmas } from './setup.js'

describe('connectionPragmas', () => {
  const options = resolveSqliteOptions({ filename: 'a.db', pragmas: { synchronous: 'FULL' } }, 's')

  it('gives the writer wal_autocheckpoint and readers query_only; user pragmas come last', () => {
    expect(connectionPragmas('writer', options)).toEqual([
      'PRAGMA busy_timeout = 5',
      'PRAGMA synchronous = NORMAL',
      'PRAGMA foreign_keys = ON',
      'PRAGMA journal_size_limit = 67108864',
      'PRAGMA wal_autocheckpoint = 0',
      'PRAGMA synchronous = FULL',
    ])
    expect(connectionPragmas('reader', options)).toContain('PRAGMA query_only = ON')
    expect(connectionPragmas('reader', options)).not.toContain('PRAGMA wal_autocheckpoint = 0')
  })

  it('skips journal_size_limit for in-memory databases', () => {
    const memory = resolveSqliteOptions({ filename: ':memory:' }, 's')
    expect(connectionPragmas('writer', memory).some((p) => p.includes('journal_size_limit'))).toBe(
      false,
    )
  })
})
