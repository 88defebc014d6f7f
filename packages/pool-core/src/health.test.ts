import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Entry } from './entry.js'
import {
  AcquireTimeoutError,
  CHANNELS,
  ConnectionHealthError,
  DatabaseError,
  PoolClosedError,
} from './index.js'
import { liveConnections } from './test-utils/fake-driver.js'
import {
  expectAllClosed,
  expectIdle,
  settle,
  ticks,
  until,
  useTestPools,
} from './test-utils/harness.js'

const makePool = useTestPools()

beforeEach(() => {
  vi.useFakeTimers()
})

describe('validation before hand-out', () => {
  it('pings a connection idle longer than validateAfterIdleMs, and only then', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 1 } })
    await pool.read(() => {})
    const reader = db.opened[0]
    await vi.advanceTimersByTimeAsync(400)
    await pool.read(() => {})
    expect(reader?.pings).toBe(0)
    await vi.advanceTimersByTimeAsync(501)
    await pool.read(() => {})
    expect(reader?.pings).toBe(1)
    // just used: no second ping
    await pool.read(() => {})
    expect(reader?.pings).toBe(1)
  })

  it('validateAfterIdleMs: 0 turns validation before hand-out off', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 1 }, validateAfterIdleMs: 0 })
    await pool.read(() => {})
    await vi.advanceTimersByTimeAsync(5_000)
    await pool.read(() => {})
    await pool.write(() => {})
    await vi.advanceTimersByTimeAsync(5_000)
    await pool.write(() => {})
    expect(db.opened.map((c) => c.pings)).toEqual([0, 0])
  })

  it('a connection that fails its ping is closed, replaced and counted', async () => {
    const { pool, db, logger } = makePool({ readers: { min: 0, max: 1 } })
    const failures: unknown[] = []
    const onFailure = (event: unknown) => failures.push(event)
    subscribe(CHANNELS.healthFailure, onFailure)
    try {
      await pool.read(() => {})
      const first = db.opened[0]
      db.failPing = (c) => c === first
      await vi.advanceTimersByTimeAsync(600)
      const reader = await pool.read((c) => c)
      expect(reader).not.toBe(first)
      expect(first?.closed).toBe(true)
      expect(logger.events('health-failed')).toHaveLength(1)
      expect(failures).toEqual([
        { pool: 'fake.db', role: 'reader', error: expect.any(DatabaseError) },
      ])
      expect(pool.status().readers.open).toBe(1)
      expect(liveConnections(db).reader).toBe(1)
    } finally {
      unsubscribe(CHANNELS.healthFailure, onFailure)
    }
  })
})

describe('keepalive', () => {
  it('housekeeping pings idle connections every healthCheckIntervalMs and replaces failed ones', async () => {
    const { pool, db } = makePool({ readers: { min: 1, max: 2 }, healthCheckIntervalMs: 1_000 })
    await pool.ready()
    const [writer, reader] = db.opened
    expect([writer?.role, reader?.role]).toEqual(['writer', 'reader'])
    await vi.advanceTimersByTimeAsync(999)
    expect(reader?.pings).toBe(0)
    await vi.advanceTimersByTimeAsync(501)
    expect([writer?.pings, reader?.pings]).toEqual([1, 1])
    await vi.advanceTimersByTimeAsync(1_000)
    expect([writer?.pings, reader?.pings]).toEqual([2, 2])
    db.failPing = (c) => c === reader
    await vi.advanceTimersByTimeAsync(1_000)
    expect(reader?.closed).toBe(true)
    await vi.advanceTimersByTimeAsync(500)
    // refilled to readers.min
    expect(liveConnections(db)).toEqual({ reader: 1, writer: 1 })
    expect(pool.status().readers.open).toBe(1)
  })

  it('healthCheckIntervalMs: 0 turns keepalive pings off', async () => {
    const { pool, db } = makePool({ healthCheckIntervalMs: 0 })
    await pool.ready()
    await vi.advanceTimersByTimeAsync(120_000)
    expect(db.opened.map((c) => c.pings)).toEqual([0, 0])
  })
})

describe('connect failures', () => {
  it('fail waiters with ConnectionHealthError (with the cause) when nothing else can serve them, without a retry loop', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 4 } })
    db.failOpens = 1_000_000
    const { error } = await settle(pool.read(() => 'never'))
    expect(error).toBeInstanceOf(ConnectionHealthError)
    expect((error as ConnectionHealthError).cause).toBeInstanceOf(DatabaseError)
    expect((error as ConnectionHealthError).message).toContain(
      'could not open a reader connection to fake.db',
    )
    expect(db.openAttempts.reader).toBe(1)
    expect(pool.status().lastConnectError).toBe('unable to open database file')

    await vi.advanceTimersByTimeAsync(60_000)
    // nobody waits for a reader: no more attempts; the writer (min 1) is retried with growing pauses
    expect(db.openAttempts.reader).toBe(1)
    expect(db.openAttempts.writer).toBeGreaterThan(3)
    expect(db.openAttempts.writer).toBeLessThan(30)

    db.failOpens = 0
    expect(await pool.read(() => 'ok')).toBe('ok')
    await pool.write(() => {})
    expect(pool.status().lastConnectError).toBeUndefined()
  })

  it('back off before trying again while other connections exist', async () => {
    const { pool, db, logger } = makePool({ readers: { min: 0, max: 2 } })
    const held = await pool.acquire()
    db.failOpens = 1
    const waiting = settle(pool.acquire())
    await ticks()
    expect(db.openAttempts.reader).toBe(2)
    expect(logger.events('connect-failed')).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(19)
    expect(db.openAttempts.reader).toBe(2)
    await vi.advanceTimersByTimeAsync(2)
    expect(db.openAttempts.reader).toBe(3)
    const { value } = await waiting
    expect(value?.role).toBe('reader')
    await value?.release()
    await held.release()
    expectIdle(pool, db)
  })

  it('a waiter that times out meanwhile gets the last connect failure as cause', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 2 } })
    const held = await pool.acquire()
    db.failOpens = 1_000
    const waiting = settle(pool.acquire({ timeoutMs: 100 }))
    await vi.advanceTimersByTimeAsync(100)
    const { error } = await waiting
    expect(error).toBeInstanceOf(AcquireTimeoutError)
    expect((error as AcquireTimeoutError).cause).toBeInstanceOf(DatabaseError)
    expect((error as AcquireTimeoutError).message).toContain(
      'last connect failure: unable to open database file',
    )
    expect((error as AcquireTimeoutError).status.lastConnectError).toBe(
      'unable to open database file',
    )
    // with no waiter left, the retries stop
    const attempts = db.openAttempts.reader
    await vi.advanceTimersByTimeAsync(30_000)
    expect(db.openAttempts.reader).toBeLessThanOrEqual(attempts + 1)
    await held.release()
  })
})

describe('#seed: connections that fail their health check are closed and leave the count', () => {
  it('round after round of failing checks never leaks a connection', async () => {
    const { pool, db } = makePool({ readers: { min: 2, max: 4 }, healthCheckIntervalMs: 1_000 })
    await pool.ready()
    db.failPing = () => true
    for (let round = 0; round < 10; round++) {
      await vi.advanceTimersByTimeAsync(600)
      const g = Array.from({ length: 4 }, () => pool.read((c) => c.id))
      const ids = await Promise.all(g)
      expect(new Set(ids).size).toBeLessThanOrEqual(4)
      const s = pool.status()
      expect(liveConnections(db).reader).toBe(s.readers.open)
      expect(s.readers.open).toBeLessThanOrEqual(4)
    }
    const failed = db.opened.filter((c) => c.pings > 0)
    expect(failed.length).toBeGreaterThan(10)
    for (const c of failed) expect([c.id, c.closed, c.closeCount]).toEqual([c.id, true, 1])
    await pool.close()
    expectAllClosed(db)
  })

  it('a close() during an asynchronous ping does not trip over the connection it closed', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown) => unhandled.push(reason)
    process.on('unhandledRejection', onUnhandled)
    try {
      // a ping already on its way to the database answers "fine" after the pool closed the handle
      let slowPings = false
      const { pool, db, logger } = makePool(
        { readers: { min: 0, max: 1 } },
        {
          patch: (d) => ({
            ...d,
            ping: (c) => (slowPings ? new Promise<void>((r) => setTimeout(r, 100)) : d.ping(c)),
          }),
        },
      )
      await pool.read(() => {})
      slowPings = true
      await vi.advanceTimersByTimeAsync(600)
      const read = settle(pool.read(() => 'late'))
      await ticks()
      expect(pool.status().readers.idle).toBe(0) // being checked
      const closing = pool.close({ timeoutMs: 0 })
      expect((await read).error).toBeInstanceOf(PoolClosedError)
      await vi.advanceTimersByTimeAsync(200)
      await closing
      vi.useRealTimers()
      await new Promise((r) => setTimeout(r, 5))
      expect(unhandled).toEqual([])
      expect(logger.events('health-failed')).toEqual([])
      expectAllClosed(db)
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
  })
})

describe('max lifetime and idle timeout', () => {
  it('retireAt is creation + maxLifetime minus at most 2.5 % jitter', () => {
    const retire = Array.from(
      { length: 2_000 },
      () => new Entry({}, 'reader', 1_000, 100_000).retireAt - 1_000,
    )
    expect(Math.min(...retire)).toBeGreaterThanOrEqual(97_500)
    expect(Math.max(...retire)).toBeLessThanOrEqual(100_000)
    expect(Math.max(...retire) - Math.min(...retire)).toBeGreaterThan(1_000) // jitter is real
    expect(new Entry({}, 'writer', 5, 0).retireAt).toBe(Number.POSITIVE_INFINITY)
  })

  it('retires idle connections past maxLifetime and refills to min', async () => {
    const { pool, db, logger } = makePool({ readers: { min: 1, max: 2 }, maxLifetimeMs: 10_000 })
    await pool.ready()
    const original = [...db.opened]
    await vi.advanceTimersByTimeAsync(9_700)
    expect(original.every((c) => !c.closed)).toBe(true)
    await vi.advanceTimersByTimeAsync(800)
    expect(original.every((c) => c.closed && c.closeCount === 1)).toBe(true)
    expect(logger.events('evict').map((r) => r.fields.reason)).toEqual([
      'max-lifetime',
      'max-lifetime',
    ])
    await vi.advanceTimersByTimeAsync(500)
    expect(liveConnections(db)).toEqual({ reader: 1, writer: 1 })
  })

  it('retires a connection held past maxLifetime when it is released, not under its holder', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 1 }, maxLifetimeMs: 10_000 })
    const lease = await pool.acquire()
    const first = db.opened[0]
    await vi.advanceTimersByTimeAsync(12_000)
    expect(first?.closed).toBe(false)
    expect(lease.get('a')).toBeUndefined()
    await lease.release()
    expect(first?.closed).toBe(true)
    expect(await pool.read((c) => c)).not.toBe(first)
  })

  it('idleTimeout closes idle readers above min, never below it and never the writer', async () => {
    const { pool, db, logger } = makePool({ readers: { min: 1, max: 3 }, idleTimeoutMs: 60_000 })
    const leases = await Promise.all([
      pool.acquire(),
      pool.acquire(),
      pool.acquire(),
      pool.acquire({ role: 'writer' }),
    ])
    for (const l of leases) await l.release()
    expect(liveConnections(db)).toEqual({ reader: 3, writer: 1 })
    await vi.advanceTimersByTimeAsync(59_000)
    expect(liveConnections(db)).toEqual({ reader: 3, writer: 1 })
    await vi.advanceTimersByTimeAsync(1_500)
    expect(liveConnections(db)).toEqual({ reader: 1, writer: 1 })
    expect(logger.events('evict').map((r) => r.fields.reason)).toEqual([
      'idle-timeout',
      'idle-timeout',
    ])
    await vi.advanceTimersByTimeAsync(600_000)
    expect(liveConnections(db)).toEqual({ reader: 1, writer: 1 })
    expect(pool.status().readers.open).toBe(1)
  })

  it('housekeeping keeps at least readers.min readers open', async () => {
    const { db } = makePool({ readers: { min: 2, max: 4 } })
    expect(db.opened).toHaveLength(0)
    await vi.advanceTimersByTimeAsync(500)
    await until(() => db.opened.length === 3)
    expect(liveConnections(db)).toEqual({ reader: 2, writer: 1 })
  })
})

afterEach(() => {
  vi.useRealTimers()
})
