import { describe, expect, it, vi } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  DatabaseError,
  LockTimeoutError,
  retryWhileBusy,
} from './index.js'
import { expectIdle, settle, ticks, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

/** A pool whose driver counts BEGIN attempts (each retry of a busy lock is one). */
function poolCountingBegins(acquireTimeoutMs: number) {
  const begins = { count: 0 }
  const made = makePool(
    { acquireTimeoutMs },
    {
      patch: (d) => ({
        ...d,
        transactions: {
          ...d.transactions,
          begin: (c, mode) => {
            begins.count++
            return d.transactions.begin(c, mode)
          },
        },
      }),
    },
  )
  return { ...made, begins }
}

const busy = () =>
  new DatabaseError('database is locked', { kind: 'busy', driverCode: 'SQLITE_BUSY' })

describe('another process holds the write lock', () => {
  it('retries BEGIN with asynchronous backoff and succeeds once the lock is released', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ acquireTimeoutMs: 5_000 })
    db.externalLock = true
    let timerFired = false
    // This timer can only fire if the event loop keeps running while the write waits for the lock.
    setTimeout(() => {
      timerFired = true
      db.externalLock = false
    }, 300)
    const write = settle(pool.write((c) => c.set('a', 1)))
    await vi.advanceTimersByTimeAsync(250)
    expect(timerFired).toBe(false)
    expect(db.committed.has('a')).toBe(false)
    expect(pool.status().writer.holder?.purpose).toBe('write')
    // the backoff is capped at 50 ms (x0.5–1.5 jitter), so the next attempt comes within 75 ms
    await vi.advanceTimersByTimeAsync(130)
    expect(timerFired).toBe(true)
    expect(await write).toEqual({ value: undefined })
    expect(db.committed.get('a')).toBe(1)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT'])
    expectIdle(pool, db)
  })

  it('backs off: few attempts over a long wait, not a busy loop', async () => {
    vi.useFakeTimers()
    const { pool, db, begins } = poolCountingBegins(2_000)
    db.externalLock = true
    const write = settle(pool.write(() => {}))
    await vi.advanceTimersByTimeAsync(2_100)
    expect((await write).error).toBeInstanceOf(LockTimeoutError)
    // 1 ms doubling to a 50 ms cap: about 45 attempts in 2 s; a loop without backoff makes thousands
    expect(begins.count).toBeGreaterThan(10)
    expect(begins.count).toBeLessThan(100)
  })

  it('fails with LockTimeoutError at the deadline, naming the database, and frees the writer', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ acquireTimeoutMs: 1_000 })
    db.externalLock = true
    const started = performance.now()
    const write = settle(pool.write((c) => c.set('a', 1), { timeoutMs: 400 }))
    await vi.advanceTimersByTimeAsync(399)
    expect(pool.status().writer.inUse).toBe(true)
    await vi.advanceTimersByTimeAsync(60)
    const { error } = await write
    expect(error).toBeInstanceOf(LockTimeoutError)
    expect(error).toBeInstanceOf(AcquireTimeoutError)
    const lock = error as LockTimeoutError
    expect(lock.code).toBe('LITEPOOL_LOCK_TIMEOUT')
    expect(lock.message).toContain('fake.db stayed locked')
    expect(lock.message).toContain('BEGIN IMMEDIATE')
    expect(lock.cause).toBeInstanceOf(DatabaseError)
    expect(lock.status.target).toBe('fake.db')
    expect(performance.now() - started).toBeGreaterThanOrEqual(400)
    expect(db.committed.size).toBe(0)
    expectIdle(pool, db)
    db.externalLock = false
    await pool.write((c) => c.set('b', 2))
    expect(db.committed.get('b')).toBe(2)
  })

  it('an abort while waiting for the lock rejects with AcquireAbortedError', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool()
    db.externalLock = true
    const controller = new AbortController()
    const write = settle(pool.write(() => {}, { signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(20)
    controller.abort(new RangeError('stop'))
    await vi.advanceTimersByTimeAsync(200)
    const { error } = await write
    expect(error).toBeInstanceOf(AcquireAbortedError)
    expect((error as AcquireAbortedError).cause).toBeInstanceOf(RangeError)
    expectIdle(pool, db)
  })

  it('retries a busy COMMIT too, and async drivers take the same path', async () => {
    vi.useFakeTimers()
    let commitFailures = 2
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            begin: async (c, mode) => {
              await ticks(1)
              return d.transactions.begin(c, mode)
            },
            commit: async (c) => {
              if (commitFailures-- > 0) throw busy()
              return d.transactions.commit(c)
            },
          },
        }),
      },
    )
    db.externalLock = true
    setTimeout(() => {
      db.externalLock = false
    }, 30)
    const write = settle(pool.write((c) => c.set('a', 1)))
    await vi.advanceTimersByTimeAsync(500)
    expect(await write).toEqual({ value: undefined })
    expect(commitFailures).toBe(-1)
    expect(db.committed.get('a')).toBe(1)
    expectIdle(pool, db)
  })

  it('an abort during a long backoff is answered at once, not at the next attempt', async () => {
    vi.useFakeTimers()
    const { pool, db, begins } = poolCountingBegins(10_000)
    db.externalLock = true
    const controller = new AbortController()
    const write = settle(pool.write(() => {}, { signal: controller.signal }))
    await vi.advanceTimersByTimeAsync(1_000) // the backoff has grown to its 50 ms cap
    const before = begins.count
    controller.abort(new RangeError('stop'))
    await ticks() // no timer advances: only the abort itself can end the wait
    const { error } = await write
    expect(error).toBeInstanceOf(AcquireAbortedError)
    expect((error as AcquireAbortedError).cause).toBeInstanceOf(RangeError)
    expect(begins.count).toBe(before) // no further BEGIN after the abort
    expectIdle(pool, db)
  })

  it('a non-busy error during the retries is rethrown as is', async () => {
    vi.useFakeTimers()
    let calls = 0
    const fatal = new DatabaseError('disk I/O error', { kind: 'other', driverCode: 'IO' })
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            begin: () => {
              if (++calls === 1) throw busy()
              throw fatal
            },
          },
        }),
      },
    )
    const write = settle(pool.write(() => {}))
    await vi.advanceTimersByTimeAsync(50)
    expect((await write).error).toBe(fatal)
    expectIdle(pool, db)
  })
})

describe('retryWhileBusy (shared with @litepool/migrate)', () => {
  it('retries while busy and returns the first success', async () => {
    let attempts = 0
    const value = await retryWhileBusy(
      () => {
        if (++attempts < 4) throw busy()
        return 'done'
      },
      { deadline: performance.now() + 5_000, what: 'a test lock', onDeadline: (e) => e },
    )
    expect([value, attempts]).toEqual(['done', 4])
  })

  it('throws other errors at once, and onDeadline at the deadline', async () => {
    const other = new RangeError('not busy')
    let attempts = 0
    await expect(
      retryWhileBusy(
        () => {
          attempts++
          throw other
        },
        { deadline: performance.now() + 5_000, what: 'x', onDeadline: (e) => e },
      ),
    ).rejects.toBe(other)
    expect(attempts).toBe(1)
    const late = new TypeError('gave up')
    await expect(
      retryWhileBusy(
        () => {
          throw busy()
        },
        { deadline: performance.now() + 20, what: 'x', onDeadline: () => late },
      ),
    ).rejects.toBe(late)
  })
})
