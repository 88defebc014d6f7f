import { describe, expect, it } from 'vitest'
import { isBusy } from './types.js'

describe('isBusy', () => {
  it('recognises BUSY and LOCKED from every library, also as a cause', () => {
    expect(isBusy(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }))).toBe(
      true,
    )
    expect(isBusy(Object.assign(new Error('x'), { code: 'SQLITE_BUSY_SNAPSHOT' }))).toBe(true)
    expect(isBusy(new Error('database is locked'))).toBe(true)
    expect(isBusy(Object.assign(new Error('x'), { code: 'LITEPOOL_LOCK_TIMEOUT' }))).toBe(true)
    expect(
      isBusy(
        new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'SQLITE_LOCKED' }) }),
      ),
    ).toBe(true)
  })

  it('does not mistake other errors for BUSY', () => {
    expect(
      isBusy(
        Object.assign(new Error('UNIQUE constraint failed'), { code: 'SQLITE_CONSTRAINT_UNIQUE' }),
      ),
    ).toBe(false)
    expect(isBusy(new TypeError('fn(...).then is not a function'))).toBe(false)
    expect(isBusy(undefined)).toBe(false)
  })
})
