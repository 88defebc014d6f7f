import { describe, expect, it } from 'vitest'
import { type Cost, CostRouter } from './router.js'

/** Calls `shouldTime` `n` times and returns on which calls (1-based) it said yes. */
function timedCalls(router: CostRouter, cost: Cost, n: number, ms = 0): number[] {
  const timed: number[] = []
  for (let i = 1; i <= n; i++) {
    if (router.shouldTime(cost)) {
      timed.push(i)
      router.record(cost, ms)
    }
  }
  return timed
}

describe('CostRouter', () => {
  it('starts every key on the main thread with no timings, and returns the same record per key', () => {
    const router = new CostRouter(1)
    const a = router.of('select a')
    expect(a).toEqual({ runs: 0, averageMs: 0, onWorker: false, untimed: 0, over: 0 })
    const b = router.of('select b')
    expect(b).not.toBe(a)
    expect(router.of('select a')).toBe(a) // through the map
    expect(router.of('select a')).toBe(a) // through the last-key shortcut
    expect(router.of('select b')).toBe(b)
    expect(router.slowKeys).toEqual([])
  })

  it('times the first 8 runs of a key, then one run in 16', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    const timed = timedCalls(router, cost, 8 + 16 * 3)
    expect(timed).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 24, 40, 56])
    expect(cost.runs).toBe(11)
  })

  it('counts worker timings as runs too: sampling starts after 8 timings wherever they ran', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    for (let i = 0; i < 8; i++) router.record(cost, 0) // e.g. timed on a worker
    expect(router.shouldTime(cost)).toBe(false)
  })

  it('keeps an exponential moving average (weight 0.3), seeded by the first timing', () => {
    const router = new CostRouter(100)
    const cost = router.of('q')
    router.record(cost, 10)
    expect(cost.averageMs).toBe(10)
    router.record(cost, 20)
    expect(cost.averageMs).toBeCloseTo(13, 10)
    router.record(cost, 0)
    expect(cost.averageMs).toBeCloseTo(9.1, 10)
    expect(cost.runs).toBe(3)
    expect(cost.onWorker).toBe(false)
  })

  it('counts only runs strictly over slowMs as slow: a run equal to it resets the count', () => {
    const router = new CostRouter(2)
    const cost = router.of('q')
    router.record(cost, 2.5)
    expect(cost).toMatchObject({ averageMs: 2.5, over: 1, onWorker: false }) // one is not enough
    router.record(cost, 2) // equal is not above: 2.5 * 0.7 + 2 * 0.3 = 2.35, still above slowMs
    expect(cost).toMatchObject({ over: 0, onWorker: false })
    expect(cost.averageMs).toBeCloseTo(2.35, 10)
    router.record(cost, 2.5) // 2.395
    expect(cost).toMatchObject({ over: 1, onWorker: false })
    router.record(cost, 2.5) // 2.4265: two in a row, average above
    expect(cost).toMatchObject({ over: 2, onWorker: true })
    expect(router.slowKeys).toEqual(['q'])
  })

  it('two consecutive slow runs move a key to a worker', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    router.record(cost, 3)
    expect(cost.onWorker).toBe(false)
    expect(router.slowKeys).toEqual([])
    router.record(cost, 3)
    expect(cost).toMatchObject({ runs: 2, over: 2, onWorker: true })
    expect(cost.averageMs).toBeCloseTo(3, 10)
    expect(router.slowKeys).toEqual(['q'])
  })

  it('one outlier among fast runs never moves a key, however slow it is', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    for (let i = 0; i < 5; i++) router.record(cost, 0.1)
    router.record(cost, 100) // 0.1 * 0.7 + 100 * 0.3 = 30.07: the average is far above slowMs…
    expect(cost.averageMs).toBeGreaterThan(1)
    expect(cost).toMatchObject({ over: 1, onWorker: false }) // …but one run alone does not count
    // Outliers separated by fast runs, many times over: never two in a row.
    for (let i = 0; i < 20; i++) {
      router.record(cost, 0.1)
      expect(cost.over).toBe(0)
      router.record(cost, 100)
      expect(cost.averageMs).toBeGreaterThan(1)
      expect(cost).toMatchObject({ over: 1, onWorker: false })
    }
    expect(router.slowKeys).toEqual([])
  })

  it('a fast run between two slow ones resets the count', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    router.record(cost, 5)
    expect(cost.over).toBe(1)
    router.record(cost, 0.5) // 3.65: still above slowMs
    expect(cost).toMatchObject({ over: 0, onWorker: false })
    router.record(cost, 5) // 4.055
    expect(cost).toMatchObject({ over: 1, onWorker: false })
    router.record(cost, 5) // now two in a row
    expect(cost).toMatchObject({ over: 2, onWorker: true })
  })

  it('slow runs in a row move a key only once they lift the average above slowMs', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    for (let i = 0; i < 5; i++) router.record(cost, 0.1)
    router.record(cost, 1.5) // 0.1 * 0.7 + 1.5 * 0.3 = 0.52
    router.record(cost, 1.5) // 0.814: two slow runs in a row, average below
    expect(cost).toMatchObject({ over: 2, onWorker: false })
    expect(cost.averageMs).toBeCloseTo(0.814, 10)
    router.record(cost, 1.5) // 1.0198
    expect(cost).toMatchObject({ over: 3, onWorker: true })
  })

  it('brings a key back only when its average falls below a quarter of slowMs (hysteresis)', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    router.record(cost, 3)
    expect(cost.onWorker).toBe(false)
    router.record(cost, 3)
    expect(cost.onWorker).toBe(true)
    // Between slowMs / 4 and slowMs it stays where it is.
    router.record(cost, 0.5) // 2.25
    router.record(cost, 0.5) // 1.725
    for (let i = 0; i < 10; i++) router.record(cost, 0.3)
    expect(cost.averageMs).toBeGreaterThan(0.25)
    expect(cost.averageMs).toBeLessThan(1)
    expect(cost.onWorker).toBe(true)
    // Fast runs: 3 * 0.7^k drops below 0.25 at k = 7.
    const fresh = router.of('r')
    router.record(fresh, 3)
    router.record(fresh, 3)
    expect(fresh.onWorker).toBe(true)
    expect(fresh.averageMs).toBeCloseTo(3, 10)
    let k = 0
    while (fresh.onWorker) {
      router.record(fresh, 0)
      k++
    }
    expect(k).toBe(7)
    expect(fresh.averageMs).toBeLessThan(0.25)
    expect(fresh.over).toBe(0) // demotion forgets the slow runs that promoted it
    expect(router.slowKeys).toEqual(['q'])
    // ...and it does not go back to a worker until the average passes slowMs again.
    router.record(fresh, 1) // 0.247 * 0.7 + 0.3 = 0.47
    expect(fresh.onWorker).toBe(false)
    // Nor on one slow run (the count started again at the demotion), though the average passes.
    router.record(fresh, 10) // 0.47 * 0.7 + 3 = 3.33
    expect(fresh.averageMs).toBeGreaterThan(1)
    expect(fresh).toMatchObject({ over: 1, onWorker: false })
    router.record(fresh, 10)
    expect(fresh.onWorker).toBe(true)
  })

  it('worker runs do not count towards the main-thread count, and demotion resets it', () => {
    const router = new CostRouter(1)
    const cost = router.of('q')
    router.record(cost, 5)
    router.record(cost, 5)
    expect(cost).toMatchObject({ over: 2, onWorker: true })
    router.record(cost, 5) // on a worker: the count is left alone
    expect(cost.over).toBe(2)
    while (cost.onWorker) router.record(cost, 0)
    expect(cost.over).toBe(0)
  })

  it('lists the keys on workers now, least recently used first', () => {
    const router = new CostRouter(1)
    for (const key of ['a', 'b', 'c', 'd', 'e']) router.of(key)
    for (let i = 0; i < 2; i++) router.record(router.of('c'), 5)
    for (let i = 0; i < 2; i++) router.record(router.of('a'), 5)
    for (let i = 0; i < 2; i++) router.record(router.of('d'), 0.5)
    router.record(router.of('e'), 5) // one slow run: still on the main thread
    expect(router.slowKeys).toEqual(['c', 'a'])
  })

  it('remembers at most 2000 keys: a new key beyond that forgets the least recently used one', () => {
    const router = new CostRouter(1)
    const first = router.of('key 0')
    router.record(first, 5)
    router.record(first, 5)
    for (let i = 1; i < 2000; i++) router.of(`key ${i}`)
    router.record(router.of('key 1'), 5)
    router.record(router.of('key 1'), 5)
    // Looking 'key 0' up again makes it the most recently used: 'key 2' is now the oldest.
    expect(router.of('key 0')).toBe(first)
    expect(router.slowKeys).toEqual(['key 1', 'key 0'])

    router.of('key 2000') // the 2001st key pushes out 'key 2'
    expect(router.slowKeys).toEqual(['key 1', 'key 0'])
    expect(router.of('key 0')).toBe(first)
    const two = router.of('key 2') // forgotten: a new record, on the main thread…
    expect(two).toEqual({ runs: 0, averageMs: 0, onWorker: false, untimed: 0, over: 0 })
    // …which pushed out the next least recently used ('key 3'), not the hot 'key 1'.
    expect(router.slowKeys).toEqual(['key 1', 'key 0'])
  })
})
