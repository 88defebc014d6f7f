import { describe, expect, it, vi } from 'vitest'
import { captureBorrowStack } from './leak.js'
import { gate, ticks, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

describe('leak detection', () => {
  it('warns with the borrower stack after leakDetectionMs, and again when the connection returns', async () => {
    vi.useFakeTimers()
    const { pool, logger } = makePool({ leakDetectionMs: 2_000 })
    async function borrowAndForget() {
      return pool.acquire()
    }
    const lease = await borrowAndForget()
    await vi.advanceTimersByTimeAsync(1_999)
    expect(logger.events('leak')).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(1)
    const [leak] = logger.events('leak')
    expect(leak?.level).toBe('warn')
    expect(leak?.fields).toMatchObject({
      pool: 'fake.db',
      role: 'reader',
      purpose: 'acquire',
      heldMs: 2_000,
    })
    expect(String(leak?.fields.stack)).toContain('borrowAndForget')
    expect(String(leak?.fields.stack)).toContain('leak.test.ts')
    expect(leak?.message).toContain('possible leak')
    expect(leak?.message).toContain('borrowAndForget')
    // the holder is visible in status() too
    expect(pool.status().writer.holder).toBeUndefined()

    await vi.advanceTimersByTimeAsync(500)
    await lease.release()
    const [back] = logger.events('leak-returned')
    expect(back?.fields).toMatchObject({ heldMs: 2_500 })
    expect(logger.events('leak')).toHaveLength(1)
  })

  it('records the stack of a write that had to wait, and shows it as the writer holder', async () => {
    vi.useFakeTimers()
    const { pool, logger } = makePool({ leakDetectionMs: 1_000 })
    const first = gate()
    const blocker = pool.write(() => first.promise)
    const second = gate()
    function queuedWriteFromHere() {
      return pool.write(() => second.promise)
    }
    const queued = queuedWriteFromHere()
    await ticks()
    first.open()
    await blocker
    await ticks()
    expect(pool.status().writer.holder?.stack).toContain('queuedWriteFromHere')
    await vi.advanceTimersByTimeAsync(1_000)
    expect(logger.events('leak').map((r) => String(r.fields.stack))).toEqual([
      expect.stringContaining('queuedWriteFromHere'),
    ])
    second.open()
    await queued
    expect(logger.events('leak-returned')).toHaveLength(1)
  })

  it('stays silent for connections returned in time, and when off (0)', async () => {
    vi.useFakeTimers()
    const on = makePool({ leakDetectionMs: 1_000 })
    const off = makePool({ leakDetectionMs: 0 })
    for (const { pool } of [on, off]) {
      const lease = await pool.acquire()
      await vi.advanceTimersByTimeAsync(999)
      await lease.release()
      await pool.read(() => {})
    }
    const held = await off.pool.acquire()
    await vi.advanceTimersByTimeAsync(60_000)
    await held.release()
    expect([...on.logger.records, ...off.logger.records].filter((r) => r.level === 'warn')).toEqual(
      [],
    )
    expect(off.pool.status().writer.holder).toBeUndefined()
  })

  it('captureBorrowStack starts at its caller', () => {
    function callerOfCapture() {
      return captureBorrowStack()
    }
    const stack = callerOfCapture()
    expect(stack.split('\n')[0]).toContain('callerOfCapture')
    expect(stack).not.toContain('captureBorrowStack')
  })
})
