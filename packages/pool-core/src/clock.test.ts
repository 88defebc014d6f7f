import { afterEach, describe, expect, it, vi } from 'vitest'
import { now, turnNow } from './clock.js'
import { createPool } from './index.js'
import { fakeDatabase, fakeDriver } from './test-utils/fake-driver.js'

afterEach(() => {
  vi.useRealTimers()
})

function spin(ms: number): void {
  const until = now() + ms
  while (now() < until) {}
}

describe('turnNow: the clock read once per event-loop turn', () => {
  it('returns the same time for the rest of the turn, and a fresh one in the next', async () => {
    await new Promise((resolve) => setImmediate(resolve)) // start of a turn
    const first = turnNow()
    spin(5)
    expect(turnNow()).toBe(first) // 5 ms later, same turn
    await Promise.resolve()
    expect(turnNow()).toBe(first) // microtasks belong to the same turn
    await new Promise((resolve) => setImmediate(resolve))
    expect(turnNow()).toBeGreaterThanOrEqual(first + 5)
  })

  it('follows a swapped clock at once (fake timers): time bases never mix', () => {
    const real = turnNow()
    vi.useFakeTimers({ now: 0, toFake: ['performance', 'setTimeout', 'setImmediate'] })
    vi.advanceTimersByTime(7)
    expect(turnNow()).toBe(performance.now())
    expect(turnNow()).not.toBe(real)
  })
})

describe('timed borrows', () => {
  it('records use time precisely once metrics() was called, and reads no clock before', async () => {
    const pool = createPool({ driver: fakeDriver(fakeDatabase()) })
    try {
      const clock = vi.spyOn(performance, 'now')
      await pool.read(() => 1) // turnNow re-reads once: the spy is a new clock source
      const before = clock.mock.calls.length
      for (let i = 0; i < 10; i++) await pool.read(() => 1)
      expect(clock.mock.calls.length).toBe(before) // same turn: no clock read at all
      clock.mockRestore()
      expect(pool.metrics()['db.client.connection.use_time'].count).toBe(0)
      await pool.read(() => spin(20))
      const use = pool.metrics()['db.client.connection.use_time']
      expect(use.count).toBe(1)
      expect(use.sum).toBeGreaterThanOrEqual(0.019)
      expect(use.sum).toBeLessThan(5)
    } finally {
      await pool.close()
    }
  })
})
