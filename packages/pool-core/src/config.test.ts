import { describe, expect, it, vi } from 'vitest'
import { describe as describeValue, resolveOptions } from './config.js'
import { ConfigError, consoleLogger, createPool, type PoolOptions } from './index.js'
import { type FakeConnection, fakeDriver } from './test-utils/fake-driver.js'
import { expectIdle, useTestPools } from './test-utils/harness.js'

function configError(options: unknown): ConfigError {
  try {
    createPool(options as PoolOptions<FakeConnection>)
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }
  throw new RangeError('createPool accepted invalid options')
}

describe('createPool option validation', () => {
  it('reports every invalid field at once with path, expected and received', () => {
    const error = configError({
      driver: fakeDriver(),
      acquireTimeoutMs: -5,
      idleTimeoutMs: 'soon',
      maxLifetimeMs: 1.5,
      readers: { min: 3, max: 2 },
      logger: { warn: () => {} },
      name: '',
    })
    expect(error.code).toBe('LITEPOOL_CONFIG')
    expect(error.issues.map((i) => i.path).sort()).toEqual(
      [
        'acquireTimeoutMs',
        'idleTimeoutMs',
        'logger',
        'maxLifetimeMs',
        'name',
        'readers.min',
      ].sort(),
    )
    const acquire = error.issues.find((i) => i.path === 'acquireTimeoutMs')
    expect(acquire).toEqual({
      path: 'acquireTimeoutMs',
      expected: 'an integer number of milliseconds >= 1',
      received: 'number -5',
    })
    expect(error.issues.find((i) => i.path === 'idleTimeoutMs')?.received).toBe('"soon"')
    expect(error.issues.find((i) => i.path === 'readers.min')?.expected).toContain(
      '<= readers.max (2)',
    )
    // the message lists every issue, one per line
    expect(error.message).toContain('invalid pool options (6 issues)')
    for (const issue of error.issues) expect(error.message).toContain(`  - ${issue.path}: expected`)
  })

  it('reports unknown option names (typos) with the known ones', () => {
    const error = configError({ driver: fakeDriver(), acquireTimeout: 5, readers: { min: 1 } })
    expect(error.issues).toHaveLength(1)
    expect(error.issues[0]?.path).toBe('acquireTimeout')
    expect(error.issues[0]?.expected).toContain('no such option')
    expect(error.issues[0]?.expected).toContain('acquireTimeoutMs')
    expect(error.issues[0]?.received).toBe('number 5')
  })

  it('reports unknown reader option names', () => {
    const error = configError({ driver: fakeDriver(), readers: { mx: 8 } })
    expect(error.issues.map((i) => i.path)).toEqual(['readers.mx'])
  })

  it('reports only readers.min when only readers.min is wrong', () => {
    const error = configError({ driver: fakeDriver(), readers: { min: 'two' } })
    expect(error.issues.map((i) => i.path)).toEqual(['readers.min'])
  })

  it('rejects a missing driver, a non-object root and a non-object readers', () => {
    expect(configError({}).issues.map((i) => i.path)).toEqual(['driver'])
    expect(configError(null).issues).toEqual([
      { path: '(root)', expected: 'an options object', received: 'null' },
    ])
    expect(configError({ driver: fakeDriver(), readers: 3 }).issues.map((i) => i.path)).toEqual([
      'readers',
    ])
    expect(
      configError({ driver: fakeDriver(), readers: { max: 0 } }).issues.map((i) => i.path),
    ).toEqual(['readers.max'])
    expect(
      configError({ driver: fakeDriver(), readers: { min: -1 } }).issues.map((i) => i.path),
    ).toEqual(['readers.min'])
  })

  it('fills in defaults: readers {min: 1, max: 4}, HikariCP-like durations, driver target as name', () => {
    const resolved = resolveOptions({ driver: fakeDriver() })
    expect(resolved.readers).toEqual({ min: 1, max: 4 })
    expect(resolved).toMatchObject({
      name: 'fake.db',
      acquireTimeoutMs: 30_000,
      idleTimeoutMs: 600_000,
      maxLifetimeMs: 1_800_000,
      healthCheckIntervalMs: 30_000,
      validateAfterIdleMs: 500,
      leakDetectionMs: 0,
      maintenanceIntervalMs: 1_000,
      slowThresholdMs: 1_000,
      closeTimeoutMs: 10_000,
    })
    expect(resolved.logger).toBe(consoleLogger)
    expect(resolveOptions({ driver: fakeDriver(), readers: { min: 6 } }).readers).toEqual({
      min: 6,
      max: 6,
    })
    expect(resolveOptions({ driver: fakeDriver(), readers: { max: 2 } }).readers).toEqual({
      min: 1,
      max: 2,
    })
    expect(resolveOptions({ driver: fakeDriver(), name: 'main' }).name).toBe('main')
  })

  it('accepts 0 ("off") for every duration except acquireTimeoutMs', () => {
    const off = {
      idleTimeoutMs: 0,
      maxLifetimeMs: 0,
      healthCheckIntervalMs: 0,
      validateAfterIdleMs: 0,
      leakDetectionMs: 0,
      maintenanceIntervalMs: 0,
      slowThresholdMs: 0,
      closeTimeoutMs: 0,
    }
    expect(resolveOptions({ driver: fakeDriver(), ...off })).toMatchObject(off)
    expect(
      configError({ driver: fakeDriver(), acquireTimeoutMs: 0 }).issues.map((i) => i.path),
    ).toEqual(['acquireTimeoutMs'])
  })

  it('renders received values for humans', () => {
    expect(describeValue(undefined)).toBe('undefined')
    expect(describeValue(null)).toBe('null')
    expect(describeValue('x'.repeat(80))).toBe(JSON.stringify(`${'x'.repeat(57)}...`))
    expect(describeValue(true)).toBe('boolean true')
    expect(describeValue(10n)).toBe('bigint 10')
    expect(describeValue(() => 1)).toBe('a function')
    expect(describeValue([1, 2])).toBe('an array of 2')
    expect(describeValue({})).toBe('an object')
    expect(describeValue(Symbol('s'))).toBe('symbol')
  })
})

describe('consoleLogger', () => {
  it('writes warnings and errors to the console with a prefix', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const error = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      consoleLogger.warn({ a: 1 }, 'careful')
      consoleLogger.error({ b: 2 }, 'broken')
      expect(warn).toHaveBeenCalledWith('[litepool] careful', { a: 1 })
      expect(error).toHaveBeenCalledWith('[litepool] broken', { b: 2 })
    } finally {
      warn.mockRestore()
      error.mockRestore()
    }
  })
})

describe('call arguments', () => {
  const makePool = useTestPools()

  async function rejection(call: Promise<unknown>): Promise<ConfigError> {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(ConfigError)
    return error as ConfigError
  }

  it('a read with a bad callback or bad options fails with every issue named, borrowing nothing', async () => {
    const { pool, db } = makePool()
    const notFn = await rejection(pool.read('select 1' as never))
    expect(notFn.message).toContain('invalid pool.read() arguments')
    expect(notFn.issues).toEqual([
      { path: 'fn', expected: 'a function (connection) => …', received: '"select 1"' },
    ])
    const bad = await rejection(
      pool.read(() => 1, { timeoutMs: -5, signal: 'stop', retries: 3 } as never),
    )
    expect(bad.issues.map((i) => i.path).sort()).toEqual(['retries', 'signal', 'timeoutMs'])
    expect(bad.message).toContain('timeoutMs: expected an integer number of milliseconds >= 1')
    expectIdle(pool, db)
    expect(await pool.read(() => 1, { timeoutMs: 100, signal: new AbortController().signal })).toBe(
      1,
    )
  })

  it('write, transaction, acquire and close check their own options', async () => {
    const { pool, db } = makePool()
    const write = await rejection(pool.write(() => {}, { timeoutMs: 1.5 }))
    expect(write.issues.map((i) => i.path)).toEqual(['timeoutMs'])
    expect(write.message).toContain('pool.write()')
    const mode = await rejection(pool.transaction(() => {}, { mode: 'later' as never }))
    expect(mode.issues).toEqual([
      { path: 'mode', expected: 'one of deferred, immediate, exclusive', received: '"later"' },
    ])
    const role = await rejection(pool.acquire({ role: 'admin' as never }))
    expect(role.issues.map((i) => i.path)).toEqual(['role'])
    const modeOnRead = await rejection(pool.read(() => 1, { mode: 'deferred' } as never))
    expect(modeOnRead.issues[0]?.expected).toBe('no such option (known: signal, timeoutMs, thread)')
    const close = await rejection(pool.close({ timeoutMs: 'soon' as never }))
    expect(close.issues.map((i) => i.path)).toEqual(['timeoutMs'])
    expect(pool.status().state).toBe('open') // a rejected close() closes nothing
    expect(db.committed.size).toBe(0)
    expectIdle(pool, db)
  })
})
