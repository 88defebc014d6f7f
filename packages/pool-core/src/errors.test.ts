import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it, vi } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  ConfigError,
  ConnectionHealthError,
  ConnectionReleasedError,
  DatabaseError,
  isBusyError,
  LockTimeoutError,
  PoolClosedError,
  PoolError,
  TransactionError,
} from './index.js'
import type { PoolStatus } from './status.js'
import { describeStatus } from './status.js'

const status: PoolStatus = {
  state: 'open',
  closed: false,
  target: 'app.db',
  readers: { open: 2, idle: 1, inUse: 1, opening: 0, waiting: 3, min: 1, max: 2 },
  workers: { open: 0, idle: 0, inUse: 0, opening: 0, waiting: 0, min: 0, max: 0 },
  writer: {
    open: true,
    inUse: true,
    queued: 4,
    holder: { role: 'writer', purpose: 'transaction', heldForMs: 1234.4 },
  },
  waiting: 7,
  lastConnectError: undefined,
}

describe('error hierarchy', () => {
  const cause = new RangeError('root cause')
  const cases: [PoolError, string, string][] = [
    [new PoolError('x'), 'PoolError', 'LITEPOOL_ERROR'],
    [new PoolClosedError(), 'PoolClosedError', 'LITEPOOL_CLOSED'],
    [
      new AcquireTimeoutError('x', { status, cause }),
      'AcquireTimeoutError',
      'LITEPOOL_ACQUIRE_TIMEOUT',
    ],
    [new LockTimeoutError('x', { status, cause }), 'LockTimeoutError', 'LITEPOOL_LOCK_TIMEOUT'],
    [new AcquireAbortedError('x', { cause }), 'AcquireAbortedError', 'LITEPOOL_ACQUIRE_ABORTED'],
    [
      new ConnectionHealthError('x', { cause }),
      'ConnectionHealthError',
      'LITEPOOL_CONNECTION_HEALTH',
    ],
    [new ConnectionReleasedError(), 'ConnectionReleasedError', 'LITEPOOL_RELEASED'],
    [new TransactionError('x', { cause }), 'TransactionError', 'LITEPOOL_TRANSACTION'],
    [new ConfigError('thing', []), 'ConfigError', 'LITEPOOL_CONFIG'],
    [
      new DatabaseError('x', { kind: 'busy', driverCode: 'SQLITE_BUSY', errno: 5, cause }),
      'DatabaseError',
      'LITEPOOL_DB_BUSY',
    ],
  ]

  it.each(cases)(
    '%s has its name and stable code, and is a PoolError and an Error',
    (error, name, code) => {
      expect(error.name).toBe(name)
      expect(error.code).toBe(code)
      expect(error).toBeInstanceOf(PoolError)
      expect(error).toBeInstanceOf(Error)
      expect(String(error)).toMatch(new RegExp(`^${name}: `))
    },
  )

  it('chains cause only when given one', () => {
    const cause = new RangeError('low level')
    expect(new ConnectionHealthError('x', { cause }).cause).toBe(cause)
    expect(new TransactionError('x').cause).toBeUndefined()
    expect('cause' in new PoolError('x')).toBe(false)
  })

  it('subclass checks follow the hierarchy, not just the brand of PoolError', () => {
    const lock = new LockTimeoutError('x', { status })
    expect(lock).toBeInstanceOf(AcquireTimeoutError)
    expect(lock.status).toBe(status)
    expect(new AcquireTimeoutError('x', { status })).not.toBeInstanceOf(LockTimeoutError)
    expect(new PoolClosedError()).not.toBeInstanceOf(AcquireTimeoutError)
    expect(new Error('plain')).not.toBeInstanceOf(PoolError)
    const notObjects: unknown[] = [null, undefined, 'PoolError', 42]
    for (const value of notObjects) expect((value as object) instanceof PoolError).toBe(false)
  })

  it('DatabaseError carries kind, driver code and errno; isBusyError checks the kind', () => {
    const busy = new DatabaseError('locked', { kind: 'busy', driverCode: 'SQLITE_BUSY', errno: 5 })
    expect(busy).toMatchObject({ kind: 'busy', driverCode: 'SQLITE_BUSY', errno: 5 })
    expect(isBusyError(busy)).toBe(true)
    expect(isBusyError(new DatabaseError('x', { kind: 'constraint', driverCode: 'C' }))).toBe(false)
    expect(isBusyError({ kind: 'busy' })).toBe(false)
  })

  it('ConfigError lists issues in its message and keeps them', () => {
    const issue = { path: 'a.b', expected: 'a number', received: 'string "x"' }
    const error = new ConfigError('things', [issue])
    expect(error.issues).toEqual([issue])
    expect(error.message).toBe(
      'invalid things (1 issue):\n  - a.b: expected a number, received string "x"',
    )
  })

  it('describeStatus names the writer holder, its hold time and the waiting counts', () => {
    expect(describeStatus(status)).toBe(
      'writer held 1234 ms by transaction, 4 queued; readers 1 in use, 1 idle, 0 opening (max 2), 3 waiting; 7 waiting in total',
    )
    expect(
      describeStatus({
        ...status,
        writer: { open: false, inUse: false, queued: 0, holder: undefined },
      }),
    ).toContain('writer not open, 0 queued')
  })
})

describe('instanceof across copies of the package', () => {
  it('matches a look-alike carrying the global brand', () => {
    const alike = Object.assign(new Error('from another copy'), {
      code: 'LITEPOOL_ACQUIRE_TIMEOUT',
    })
    Object.defineProperty(alike, Symbol.for('litepool.error.brands'), {
      value: ['AcquireTimeoutError', 'PoolError'],
    })
    expect(alike).toBeInstanceOf(AcquireTimeoutError)
    expect(alike).toBeInstanceOf(PoolError)
    expect(alike).not.toBeInstanceOf(LockTimeoutError)
  })

  it('matches errors built by a second, freshly evaluated copy of the module', async () => {
    vi.resetModules()
    const copy = await import('./errors.js')
    expect(copy.PoolError).not.toBe(PoolError)
    const fromCopy = new copy.LockTimeoutError('x', { status })
    expect(fromCopy).toBeInstanceOf(LockTimeoutError)
    expect(fromCopy).toBeInstanceOf(AcquireTimeoutError)
    expect(fromCopy).toBeInstanceOf(PoolError)
    expect(new LockTimeoutError('x', { status })).toBeInstanceOf(copy.AcquireTimeoutError)
    expect(new PoolClosedError()).not.toBeInstanceOf(copy.AcquireTimeoutError)
  })

  const dist = fileURLToPath(new URL('../dist/index.mjs', import.meta.url))
  it('matches errors built by the bundled dist (run `pnpm --filter @litepool/pool-core build` first)', async () => {
    expect(existsSync(dist), `${dist} is missing: build the package first`).toBe(true)
    const built = (await import(/* @vite-ignore */ dist)) as typeof import('./index.js')
    expect(built.PoolClosedError).not.toBe(PoolClosedError)
    const error = new built.PoolClosedError()
    expect(error).toBeInstanceOf(PoolClosedError)
    expect(error).toBeInstanceOf(PoolError)
    expect(error).not.toBeInstanceOf(TransactionError)
    expect(new ConnectionHealthError('x')).toBeInstanceOf(built.PoolError)
    expect(error.code).toBe('LITEPOOL_CLOSED')
    expect(error.name).toBe('PoolClosedError')
  })
})
