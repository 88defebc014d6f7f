import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { CHANNELS, type ChannelName, DatabaseError } from './index.js'
import { Histogram } from './metrics.js'
import { gate, settle, ticks, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

const seen: Record<string, Record<string, unknown>[]> = {}
const listeners = new Map<ChannelName, (message: unknown) => void>()
function listen(): void {
  for (const name of Object.values(CHANNELS)) {
    seen[name] = []
    const listener = (message: unknown) => seen[name]?.push(message as Record<string, unknown>)
    listeners.set(name, listener)
    subscribe(name, listener)
  }
}
afterEach(() => {
  for (const [name, listener] of listeners) unsubscribe(name, listener)
  listeners.clear()
})

describe('diagnostics_channel events', () => {
  it('publishes the documented fields for each event', async () => {
    vi.useFakeTimers()
    listen()
    const { pool } = makePool({
      readers: { min: 0, max: 1 },
      slowThresholdMs: 100,
      maxLifetimeMs: 0,
    })
    await pool.read(() => {})
    expect(seen[CHANNELS.connect]).toEqual([
      { pool: 'fake.db', role: 'reader', createMs: expect.any(Number) },
    ])
    expect(seen[CHANNELS.acquire]).toEqual([
      {
        pool: 'fake.db',
        role: 'reader',
        purpose: 'read',
        connection: expect.any(Number),
        waitMs: expect.any(Number),
      },
    ])
    expect(seen[CHANNELS.release]).toEqual([
      {
        pool: 'fake.db',
        role: 'reader',
        purpose: 'read',
        connection: expect.any(Number),
        useMs: expect.any(Number),
      },
    ])

    // slow: held longer than slowThresholdMs
    const g = gate()
    const slow = pool.write(() => g.promise)
    await ticks()
    await vi.advanceTimersByTimeAsync(150)
    // timeout: a reader waiter that gives up
    const lease = await pool.acquire()
    const waiting = settle(pool.read(() => {}, { timeoutMs: 10 }))
    await vi.advanceTimersByTimeAsync(10)
    expect((await waiting).error).toBeDefined()
    g.open()
    await slow
    expect(seen[CHANNELS.slow]).toEqual([
      {
        pool: 'fake.db',
        role: 'writer',
        purpose: 'write',
        connection: expect.any(Number),
        useMs: expect.any(Number),
      },
    ])
    expect(seen[CHANNELS.slow]?.[0]?.useMs).toBeGreaterThanOrEqual(150)
    expect(seen[CHANNELS.timeout]).toEqual([
      {
        pool: 'fake.db',
        role: 'reader',
        waitMs: 10,
        status: expect.objectContaining({ target: 'fake.db' }),
      },
    ])
    await lease.release()

    // connect error
    await pool.close({ timeoutMs: 0 })
    vi.useRealTimers()
    const { pool: other, db: otherDb } = makePool({ readers: { min: 0, max: 1 } })
    otherDb.failOpens = 1
    await settle(other.read(() => {}))
    expect(seen[CHANNELS.connectError]).toEqual([
      { pool: 'fake.db', role: 'reader', error: expect.any(DatabaseError) },
    ])
    // evict: the reasons of the first pool's connections closing
    expect(seen[CHANNELS.evict]?.map((e) => e.reason)).toEqual(['pool-closed', 'pool-closed'])
    expect(seen[CHANNELS.evict]?.[0]).toEqual({
      pool: 'fake.db',
      role: 'reader',
      connection: expect.any(Number),
      reason: 'pool-closed',
    })
  })

  it('the pool name option names the pool in events', async () => {
    listen()
    const { pool } = makePool({ name: 'main' })
    await pool.read(() => {})
    expect(seen[CHANNELS.acquire]?.[0]?.pool).toBe('main')
  })
})

describe('metrics()', () => {
  it('uses the OpenTelemetry database-client names and counts what happened', async () => {
    vi.useFakeTimers()
    const { pool } = makePool({ readers: { min: 1, max: 3 }, name: 'main' })
    await pool.read(() => {})
    // Durations are recorded from the first metrics() call on (the hot path reads no clock).
    expect(pool.metrics()['db.client.connection.use_time'].count).toBe(0)
    await pool.read(() => {})
    await pool.write(() => {})
    const lease = await pool.acquire()
    const g = gate()
    const held = pool.write(() => g.promise)
    const timedOut = settle(pool.write(() => {}, { timeoutMs: 5 }))
    const queued = settle(pool.write(() => {}, { timeoutMs: 10_000 }))
    await vi.advanceTimersByTimeAsync(5)
    await timedOut
    const m = pool.metrics()
    expect(Object.keys(m).sort()).toEqual(
      [
        'poolName',
        'db.client.connection.count',
        'db.client.connection.max',
        'db.client.connection.idle.min',
        'db.client.connection.pending_requests',
        'db.client.connection.timeouts',
        'db.client.connection.create_time',
        'db.client.connection.wait_time',
        'db.client.connection.use_time',
      ].sort(),
    )
    expect(m.poolName).toBe('main')
    expect(m['db.client.connection.count']).toEqual({ idle: 0, used: 2 })
    expect(m['db.client.connection.max']).toBe(4)
    expect(m['db.client.connection.idle.min']).toBe(2)
    expect(m['db.client.connection.pending_requests']).toBe(1)
    expect(m['db.client.connection.timeouts']).toBe(1)
    expect(m['db.client.connection.create_time'].count).toBe(2)
    // borrows: read, write, acquire, held write
    expect(m['db.client.connection.wait_time'].count).toBe(4)
    // returns: read, write
    expect(m['db.client.connection.use_time'].count).toBe(2)
    for (const h of [m['db.client.connection.wait_time'], m['db.client.connection.use_time']]) {
      expect(h.counts.reduce((a, b) => a + b, 0)).toBe(h.count)
      expect(h.counts).toHaveLength(h.boundaries.length + 1)
    }
    g.open()
    await held
    await queued
    await lease.release()
    expect(pool.metrics()['db.client.connection.count']).toEqual({ idle: 2, used: 0 })
    expect(pool.metrics()['db.client.connection.use_time'].count).toBe(5)
  })

  it('histograms bucket observations in seconds', () => {
    const h = new Histogram()
    h.recordMs(0.05) // 0.00005 s
    h.recordMs(3) // 0.003 s
    h.recordMs(20_000) // overflow
    const s = h.snapshot()
    expect(s.count).toBe(3)
    expect(s.sum).toBeCloseTo(20.00305, 6)
    expect(s.counts[0]).toBe(1)
    expect(s.counts[s.boundaries.indexOf(0.005)]).toBe(1)
    expect(s.counts.at(-1)).toBe(1)
  })
})
