import { describe, expect, it } from 'vitest'
import { measure, runConcurrent, sampleFn } from './measure.js'
import type { Op } from './workloads.js'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

describe('runConcurrent', () => {
  it('runs exactly `batch` operations with at most `callers` in flight', async () => {
    let inFlight = 0
    let peak = 0
    const seen: number[] = []
    let cursor = 0
    await runConcurrent(
      async (i) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        seen.push(i)
        await tick()
        inFlight--
      },
      50,
      8,
      () => cursor++,
    )
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i))
    expect(peak).toBe(8)
  })

  it('stops taking operations after a failure, and rejects only once those in flight settled', async () => {
    let started = 0
    let finished = 0
    let cursor = 0
    const run = runConcurrent(
      async (i) => {
        started++
        await tick()
        await tick()
        finished++
        if (i === 3) throw new TypeError('boom')
      },
      1000,
      4,
      () => cursor++,
    )
    await expect(run).rejects.toThrow('boom')
    expect(started).toBeLessThan(20)
    expect(finished).toBe(started)
  })
})

describe('sampleFn', () => {
  it('uses the plain sync loop only for one caller on a sync subject', () => {
    const op: Op = { sync: () => {}, async: async () => {} }
    expect(sampleFn(op, 10, 1).async).toBe(false)
    expect(sampleFn(op, 10, 8).async).toBe(true)
    expect(sampleFn({ sync: undefined, async: async () => {} }, 10, 1).async).toBe(true)
  })

  it('gives consecutive samples consecutive keys (every subject sees the same sequence)', async () => {
    const seen: number[] = []
    const { fn } = sampleFn({ sync: (i) => void seen.push(i), async: async () => {} }, 3, 1)
    fn()
    fn()
    expect(seen).toEqual([0, 1, 2, 3, 4, 5])
  })
})

describe('measure', () => {
  it('reports ops/s for the whole batch and rejects when an operation fails', async () => {
    const ok = await measure('ok', { sync: undefined, async: async () => {} }, 16, 4, {
      timeMs: 20,
      warmupMs: 5,
    })
    expect(ok.batch).toBe(16)
    expect(ok.opsPerSec).toBeGreaterThan(0)
    expect(ok.samples).toBeGreaterThan(0)
    let n = 0
    const failing: Op = {
      sync: undefined,
      async: async () => {
        if (++n === 40) throw new RangeError('wrong row')
      },
    }
    await expect(measure('bad', failing, 16, 1, { timeMs: 20, warmupMs: 5 })).rejects.toThrow(
      'wrong row',
    )
  })
})
