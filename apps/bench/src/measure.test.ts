import { describe, expect, it } from 'vitest'
import { measure, runConcurrent, sampleFn } from './measure.js'
import type { Op } from './workloads.js'

const tick = () => new Promise<void>((resolve) => setImmediate(resolve))

/** An async operation whose result `check` ignores. */
const asyncOp = (call: (i: number) => Promise<void>): Op => ({ sync: false, call, check: () => {} })

describe('runConcurrent', () => {
  it('runs exactly `batch` operations with at most `callers` in flight', async () => {
    let inFlight = 0
    let peak = 0
    const seen: number[] = []
    let cursor = 0
    await runConcurrent(
      asyncOp(async (i) => {
        inFlight++
        peak = Math.max(peak, inFlight)
        seen.push(i)
        await tick()
        inFlight--
      }),
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
      asyncOp(async (i) => {
        started++
        await tick()
        await tick()
        finished++
        if (i === 3) throw new TypeError('boom')
      }),
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
    const op: Op = { sync: true, call: () => 1, check: () => {} }
    expect(sampleFn(op, 10, 1).async).toBe(false)
    expect(sampleFn(op, 10, 8).async).toBe(true)
    expect(
      sampleFn(
        asyncOp(async () => {}),
        10,
        1,
      ).async,
    ).toBe(true)
  })

  it('gives consecutive samples consecutive keys (every subject sees the same sequence)', async () => {
    const seen: number[] = []
    const { fn } = sampleFn(
      { sync: true, call: (i) => i * 10, check: (i, r) => void seen.push(i, r as number) },
      2,
      1,
    )
    fn()
    fn()
    expect(seen).toEqual([0, 0, 1, 10, 2, 20, 3, 30])
  })

  it('checks each async result against its own operation, with one or many callers', async () => {
    for (const callers of [1, 4]) {
      const pairs: [number, unknown][] = []
      const op: Op = {
        sync: false,
        call: async (i) => `row ${i}`,
        check: (i, r) => void pairs.push([i, r]),
      }
      await sampleFn(op, 8, callers).fn()
      expect(pairs.sort((a, b) => a[0] - b[0])).toEqual(
        Array.from({ length: 8 }, (_, i) => [i, `row ${i}`]),
      )
    }
  })
})

describe('measure', () => {
  it('reports ops/s for the whole batch and rejects when an operation fails', async () => {
    const ok = await measure(
      'ok',
      asyncOp(async () => {}),
      16,
      4,
      {
        timeMs: 20,
        warmupMs: 5,
      },
    )
    expect(ok.batch).toBe(16)
    expect(ok.opsPerSec).toBeGreaterThan(0)
    expect(ok.samples).toBeGreaterThan(0)
    let n = 0
    const failing: Op = {
      sync: false,
      call: async (i) => i,
      check: () => {
        if (++n === 40) throw new RangeError('wrong row')
      },
    }
    await expect(measure('bad', failing, 16, 1, { timeMs: 20, warmupMs: 5 })).rejects.toThrow(
      'wrong row',
    )
  })
})
