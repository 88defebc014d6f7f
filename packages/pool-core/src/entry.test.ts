import { describe, expect, it, vi } from 'vitest'
import { Entry, type EntryState, transition } from './entry.js'
import { PoolError } from './index.js'
import { type Waiter, WaiterQueue } from './waiters.js'

describe('entry state machine', () => {
  const legal: [EntryState, EntryState][] = [
    ['in-use', 'idle'],
    ['idle', 'in-use'],
    ['idle', 'checking'],
    ['checking', 'idle'],
    ['idle', 'closing'],
    ['in-use', 'closing'],
    ['checking', 'closing'],
    ['closing', 'closed'],
  ]
  const states: EntryState[] = ['idle', 'in-use', 'checking', 'closing', 'closed']

  it('starts in use (a new connection goes straight to its first borrower)', () => {
    expect(new Entry({}, 'reader', 0, 0).state).toBe('in-use')
  })

  it('allows exactly the documented moves and rejects every other one with an internal error', () => {
    for (const from of states) {
      for (const to of states) {
        const entry = new Entry({}, 'reader', 0, 0)
        entry.state = from
        const ok = legal.some(([f, t]) => f === from && t === to)
        if (ok) {
          transition(entry, to)
          expect(entry.state).toBe(to)
        } else {
          let error: unknown
          try {
            transition(entry, to)
          } catch (e) {
            error = e
          }
          expect(error, `${from} -> ${to}`).toBeInstanceOf(PoolError)
          expect((error as PoolError).code).toBe('LITEPOOL_INTERNAL_STATE')
          expect(entry.state).toBe(from)
        }
      }
    }
  })

  it('gives every entry its own id', () => {
    const a = new Entry({}, 'reader', 0, 0)
    const b = new Entry({}, 'reader', 0, 0)
    expect(b.id).toBeGreaterThan(a.id)
  })
})

describe('waiter queue', () => {
  function waiter(
    name: string,
    signal?: AbortSignal,
  ): Waiter<string> & { name: string; aborted: number } {
    const w = {
      name,
      aborted: 0,
      resolve: () => {},
      reject: () => {},
      purpose: 'read' as const,
      stack: undefined,
      enqueuedAt: 0,
      timer: setTimeout(() => {}, 60_000),
      signal,
      onAbort: undefined as (() => void) | undefined,
    }
    if (signal) {
      w.onAbort = () => w.aborted++
      signal.addEventListener('abort', w.onAbort)
    }
    return w
  }

  it('is FIFO, and a removed waiter is skipped and leaves only once', () => {
    const q = new WaiterQueue<string>()
    const [a, b, c] = [waiter('a'), waiter('b'), waiter('c')]
    q.push(a)
    q.push(b)
    q.push(c)
    expect(q.size).toBe(3)
    expect(q.remove(b)).toBe(true)
    expect(q.remove(b)).toBe(false)
    expect(q.size).toBe(2)
    expect(q.shift()).toBe(a)
    expect(q.shift()).toBe(c)
    expect(q.shift()).toBeUndefined()
    expect(q.size).toBe(0)
    expect(q.remove(a)).toBe(false)
  })

  it('leaving clears the timer and the abort listener', () => {
    vi.useFakeTimers()
    try {
      const q = new WaiterQueue<string>()
      const controller = new AbortController()
      let fired = 0
      const w = { ...waiter('w'), timer: setTimeout(() => fired++, 100), signal: controller.signal }
      let aborted = 0
      w.onAbort = () => aborted++
      controller.signal.addEventListener('abort', w.onAbort)
      q.push(w)
      expect(q.remove(w)).toBe(true)
      controller.abort()
      vi.advanceTimersByTime(1_000)
      expect([fired, aborted]).toEqual([0, 0])
    } finally {
      vi.useRealTimers()
    }
  })

  it('stays correct across compaction with thousands of waiters', () => {
    const q = new WaiterQueue<string>()
    const all = Array.from({ length: 3_000 }, (_, i) => waiter(String(i)))
    for (const w of all) q.push(w)
    for (let i = 0; i < 3_000; i += 3) q.remove(all[i + 1] as Waiter<string>)
    const out: string[] = []
    for (let w = q.shift(); w; w = q.shift()) out.push((w as unknown as { name: string }).name)
    expect(out).toEqual(all.filter((_, i) => i % 3 !== 1).map((w) => w.name))
    expect(q.size).toBe(0)
    for (const w of all) clearTimeout(w.timer)
  })
})
