import { describe, expect, it, vi } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  ConnectionReleasedError,
  DatabaseError,
  type Lease,
} from './index.js'
import { type FakeConnection, liveConnections } from './test-utils/fake-driver.js'
import { expectIdle, gate, settle, ticks, until, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

describe('acquire timeout', () => {
  it('rejects with AcquireTimeoutError whose message and status name the writer holder and the queue', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ acquireTimeoutMs: 1_000 })
    const g = gate()
    const holder = pool.transaction(() => g.promise)
    await ticks()
    let ran = 0
    const first = settle(pool.write(() => ran++, { timeoutMs: 100 }))
    const second = settle(pool.write(() => ran++, { timeoutMs: 300 }))
    await ticks()
    expect(pool.status().writer.queued).toBe(2)

    await vi.advanceTimersByTimeAsync(100)
    const { error } = await first
    expect(error).toBeInstanceOf(AcquireTimeoutError)
    const timeout = error as AcquireTimeoutError
    expect(timeout.code).toBe('LITEPOOL_ACQUIRE_TIMEOUT')
    expect(timeout.status.writer.holder).toMatchObject({
      role: 'writer',
      purpose: 'transaction',
      heldForMs: 100,
    })
    expect(timeout.status.writer.queued).toBe(1)
    expect(timeout.status.waiting).toBe(1)
    expect(timeout.message).toContain(
      'timed out after 100 ms waiting for a writer connection to fake.db',
    )
    expect(timeout.message).toContain('writer held 100 ms by transaction, 1 queued')
    expect(timeout.message).toContain('1 waiting in total')
    expect(timeout.cause).toBeUndefined()
    expect(pool.metrics()['db.client.connection.timeouts']).toBe(1)

    await vi.advanceTimersByTimeAsync(200)
    expect((await second).error).toBeInstanceOf(AcquireTimeoutError)
    expect(pool.metrics()['db.client.connection.timeouts']).toBe(2)

    // the waiters that timed out never get the writer: it goes idle once the holder finishes
    g.open()
    await holder
    await ticks()
    expect(ran).toBe(0)
    expectIdle(pool, db)
    expect(db.log.filter((l) => l.includes('BEGIN'))).toHaveLength(1)
  })

  it('uses acquireTimeoutMs when the call gives no timeout, for readers too', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ acquireTimeoutMs: 250, readers: { min: 0, max: 1 } })
    const lease = await pool.acquire()
    const waiting = settle(pool.read(() => 'never'))
    await vi.advanceTimersByTimeAsync(249)
    expect(pool.status().readers.waiting).toBe(1)
    await vi.advanceTimersByTimeAsync(1)
    const { error } = await waiting
    expect(error).toBeInstanceOf(AcquireTimeoutError)
    expect((error as AcquireTimeoutError).message).toContain('reader connection')
    expect((error as AcquireTimeoutError).status.readers).toMatchObject({
      inUse: 1,
      waiting: 0,
      max: 1,
    })
    await lease.release()
    expectIdle(pool, db)
    expect(liveConnections(db).reader).toBe(1)
  })
})

describe('acquire abort', () => {
  it('an already-aborted signal rejects with AcquireAbortedError carrying the reason', async () => {
    const { pool, db } = makePool()
    const reason = new RangeError('user gave up')
    const error = await pool.acquire({ signal: AbortSignal.abort(reason) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AcquireAbortedError)
    expect((error as AcquireAbortedError).code).toBe('LITEPOOL_ACQUIRE_ABORTED')
    expect((error as AcquireAbortedError).cause).toBe(reason)
    expect(db.opened).toHaveLength(0)
  })

  it('aborting mid-wait rejects at once; the aborted waiter never receives a connection', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 1 } })
    const held = await pool.acquire({ role: 'writer' })
    const controller = new AbortController()
    let ran = false
    const waiting = settle(
      pool.write(
        () => {
          ran = true
        },
        { signal: controller.signal },
      ),
    )
    const readerHeld = await pool.acquire()
    const readerWaiting = settle(pool.acquire({ signal: controller.signal }))
    await ticks()
    expect(pool.status().waiting).toBe(2)
    controller.abort()
    expect((await waiting).error).toBeInstanceOf(AcquireAbortedError)
    expect((await readerWaiting).error).toBeInstanceOf(AcquireAbortedError)
    expect(pool.status().waiting).toBe(0)
    await held.release()
    await readerHeld.release()
    await ticks()
    expect(ran).toBe(false)
    expectIdle(pool, db)
    expect(liveConnections(db)).toEqual({ reader: 1, writer: 1 })
  })
})

describe('waiters', () => {
  it('are served first come, first served; one that times out is skipped', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ readers: { min: 0, max: 1 } })
    const first = await pool.acquire()
    const order: number[] = []
    const waiters = [0, 1, 2, 3, 4].map((i) =>
      settle(
        pool.acquire(i === 2 ? { timeoutMs: 50 } : {}).then(async (lease) => {
          order.push(i)
          await ticks(2)
          await lease.release()
        }),
      ),
    )
    await ticks()
    expect(pool.status().readers.waiting).toBe(5)
    await vi.advanceTimersByTimeAsync(50)
    expect(pool.status().readers.waiting).toBe(4)
    await first.release()
    const results = await Promise.all(waiters)
    expect(order).toEqual([0, 1, 3, 4])
    expect(results[2]?.error).toBeInstanceOf(AcquireTimeoutError)
    expectIdle(pool, db)
  })
})

describe('leases', () => {
  it('release twice logs one warning and never puts the connection in the pool twice', async () => {
    const { pool, db, logger } = makePool({ readers: { min: 0, max: 2 } })
    const lease = await pool.acquire()
    await lease.release()
    await lease.release()
    expect(logger.events('double-release')).toHaveLength(1)
    expect(logger.events('double-release')[0]?.level).toBe('warn')
    expect(pool.status().readers).toMatchObject({ open: 1, idle: 1 })
    // if the connection had been parked twice, these two would share it
    const [a, b] = await Promise.all([pool.acquire(), pool.acquire()])
    expect(a.id).not.toBe(b.id)
    await a.release()
    await b.release()
    expectIdle(pool, db)
  })

  it('any use after release throws ConnectionReleasedError', async () => {
    const { pool } = makePool()
    const lease = await pool.acquire()
    expect(lease.released).toBe(false)
    expect(lease.get('a')).toBeUndefined()
    const get = lease.get
    await lease.release()
    expect(lease.released).toBe(true)
    expect(() => lease.get('a')).toThrow(ConnectionReleasedError)
    expect(() => lease.role).toThrow(ConnectionReleasedError)
    expect(() => {
      ;(lease as { resets: number }).resets = 5
    }).toThrow(ConnectionReleasedError)
    expect(get('a')).toBeUndefined() // a method taken before release stays bound to the connection
  })

  it('a released lease can still be returned from an async function (it is not a thenable)', async () => {
    const { pool } = makePool()
    const borrow = async (): Promise<Lease<FakeConnection>> => {
      const lease = await pool.acquire()
      await lease.release()
      return lease
    }
    const lease = await borrow()
    expect(lease.released).toBe(true)
  })

  it('release rolls back a transaction left open and resets the connection', async () => {
    const { pool, db } = makePool()
    const lease = await pool.acquire({ role: 'writer' })
    lease.begin('immediate')
    lease.set('a', 1)
    await lease.release()
    expect(db.opened[0]?.resets).toBe(1)
    expect(db.opened[0]?.tx).toBeUndefined()
    expect(db.committed.has('a')).toBe(false)
    await pool.write((c) => c.set('b', 1))
    expectIdle(pool, db)
  })

  it('await using releases the lease at the end of the scope', async () => {
    const { pool, db } = makePool()
    {
      await using c = await pool.acquire({ role: 'reader' })
      expect(c.role).toBe('reader')
      expect(pool.status().readers.inUse).toBe(1)
    }
    expect(pool.status().readers.inUse).toBe(0)
    {
      await using w = await pool.acquire({ role: 'writer' })
      w.begin('immediate')
      w.set('x', 1)
    }
    expect(db.committed.has('x')).toBe(false)
    expectIdle(pool, db)
  })

  it('a lease whose reset fails is closed instead of reused', async () => {
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          reset: () =>
            Promise.reject(new DatabaseError('io', { kind: 'broken', driverCode: 'IO' })),
        }),
      },
    )
    const lease = await pool.acquire()
    await lease.release()
    expect(db.opened[0]?.closed).toBe(true)
    expect(pool.status().readers.open).toBe(0)
  })

  it('a lease released after close() closed its connection under it is a silent no-op', async () => {
    const { pool, db, logger } = makePool()
    const lease = await pool.acquire()
    await pool.close({ timeoutMs: 0 })
    expect(db.opened[0]?.closed).toBe(true)
    await lease.release()
    expect(logger.events('double-release')).toHaveLength(0)
  })

  it('leases handed to concurrent callers are distinct connections up to readers.max', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 3 } })
    const leases = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()])
    const ids = leases.map((l) => l.id)
    expect(new Set(ids).size).toBe(3)
    const fourth = settle(pool.acquire({ timeoutMs: 1_000 }))
    await until(() => pool.status().readers.waiting === 1)
    await leases[1]?.release()
    const { value } = await fourth
    expect(value?.id).toBe(ids[1])
    await Promise.all([leases[0]?.release(), leases[2]?.release(), value?.release()])
    expectIdle(pool, db)
  })
})
