import { describe, expect, it } from 'vitest'
import {
  AcquireAbortedError,
  AcquireTimeoutError,
  DatabaseError,
  LockTimeoutError,
} from './index.js'
import { type FakeConnection, liveConnections } from './test-utils/fake-driver.js'
import { expectIdle, gate, settle, ticks, until, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

describe('read and write', () => {
  it('write commits on resolve and readers see it', async () => {
    const { pool, db } = makePool()
    await pool.write((c) => c.set('a', 1))
    expect(db.committed.get('a')).toBe(1)
    expect(await pool.read((c) => c.get('a'))).toBe(1)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT'])
  })

  it('write rolls back when the callback throws and rethrows the same error', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('boom')
    await expect(
      pool.write((c) => {
        c.set('a', 1)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(db.committed.has('a')).toBe(false)
    expectIdle(pool, db)
  })

  it('a read callback that throws rejects with its error and returns the reader', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('sync')
    await expect(
      pool.read(() => {
        throw boom
      }),
    ).rejects.toBe(boom)
    await expect(pool.read(async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(pool.status().readers).toMatchObject({ open: 1, idle: 1, inUse: 0 })
    expectIdle(pool, db)
  })

  it('readers refuse writes (the driver opens them read-only)', async () => {
    const { pool } = makePool()
    await expect(pool.read((c) => c.set('a', 1))).rejects.toBeInstanceOf(DatabaseError)
  })
})

describe('readers', () => {
  it('open lazily, only as many as concurrent reads need, up to readers.max', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 3 } })
    expect(db.opened).toHaveLength(0)
    await pool.read(() => {})
    await pool.read(() => {})
    expect(liveConnections(db).reader).toBe(1)

    const g = gate()
    let inside = 0
    let most = 0
    const reads = Array.from({ length: 5 }, () =>
      pool.read(async (c) => {
        inside++
        most = Math.max(most, inside)
        await g.promise
        inside--
        return c.role
      }),
    )
    await until(() => inside === 3)
    expect(pool.status().readers).toMatchObject({ open: 3, inUse: 3, waiting: 2 })
    g.open()
    expect(await Promise.all(reads)).toEqual(Array(5).fill('reader'))
    expect(most).toBe(3)
    expect(liveConnections(db)).toEqual({ reader: 3, writer: 0 })
    expectIdle(pool, db)
  })

  it('run in parallel with a write transaction that holds the writer', async () => {
    const { pool, db } = makePool()
    const g = gate()
    const write = pool.write(async (c) => {
      c.set('a', 1)
      await g.promise
    })
    await ticks()
    expect(pool.status().writer.inUse).toBe(true)
    expect(await pool.read((c) => c.get('a'))).toBeUndefined()
    g.open()
    await write
    expect(await pool.read((c) => c.get('a'))).toBe(1)
    expectIdle(pool, db)
  })

  it('with capabilities.readers = false every call runs on the single writer connection', async () => {
    const { pool, db } = makePool({}, { readers: false })
    const roles: string[] = []
    await pool.write((c) => c.set('a', 1))
    roles.push(await pool.read((c) => c.role))
    const lease = await pool.acquire()
    roles.push(lease.role)
    await lease.release()
    const g = gate()
    const parallel = [
      pool.read(async (c) => {
        await g.promise
        return c.role
      }),
      pool.read((c) => c.role),
    ]
    await ticks()
    expect(pool.status().writer.queued).toBe(1)
    g.open()
    roles.push(...(await Promise.all(parallel)))
    expect(roles).toEqual(['writer', 'writer', 'writer', 'writer'])
    expect(db.opened).toHaveLength(1)
    expect(pool.status().readers).toMatchObject({ open: 0, max: 0 })
    expect(pool.metrics()['db.client.connection.max']).toBe(1)
    expectIdle(pool, db)
  })

  describe('without readers, calls nested in a read callback join its connection', () => {
    // The read holds the only connection: before, a nested call queued behind it until
    // acquireTimeoutMs (a known gap). Now it runs on that connection.
    it('write, transaction, read and acquire run on it; writes commit on their own', async () => {
      const { pool, db } = makePool({ acquireTimeoutMs: 200 }, { readers: false })
      const seen = await pool.read(async (c) => {
        await pool.write((w) => w.set('a', 1))
        expect(db.committed.get('a')).toBe(1) // committed when the nested write ended
        await pool.transaction((w) => w.set('b', 2), { mode: 'exclusive' })
        await using lease = await pool.acquire()
        return [await pool.read((r) => r.get('a')), lease.get('b'), c.get('b')]
      })
      expect(seen).toEqual([1, 2, 2])
      expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT', '#1 BEGIN exclusive', '#1 COMMIT'])
      expect(db.opened).toHaveLength(1)
      expectIdle(pool, db)
    })

    it('a nested write that throws rolls back only itself; one inside it is a savepoint', async () => {
      const { pool, db } = makePool({}, { readers: false })
      const boom = new RangeError('boom')
      const result = await pool.read(async () => {
        await pool.write(async (w) => {
          w.set('a', 1)
          await pool.transaction((inner) => inner.set('b', 2))
        })
        const failed = await settle(
          pool.write((w) => {
            w.set('c', 3)
            throw boom
          }),
        )
        return failed.error
      })
      expect(result).toBe(boom)
      expect([...db.committed]).toEqual([
        ['a', 1],
        ['b', 2],
      ])
      expect(db.log.filter((l) => /SAVEPOINT|ROLLBACK$/.test(l))).toEqual([
        expect.stringMatching(/^#1 SAVEPOINT litepool_sp_\d+$/),
        '#1 ROLLBACK',
      ])
      expectIdle(pool, db)
    })

    it('nested work the callback did not await finishes before the connection is returned', async () => {
      const { pool, db } = makePool({}, { readers: false })
      let late: Promise<void> | undefined
      await pool.read(() => {
        late = pool.write(async (w) => {
          await ticks(3)
          w.set('a', 1)
        })
        return 'done'
      })
      expect(db.committed.get('a')).toBe(1)
      await late
      expectIdle(pool, db)
    })

    it('a callback that throws still lets its nested writes finish (they committed on their own)', async () => {
      const { pool, db } = makePool({}, { readers: false })
      const boom = new RangeError('boom')
      const outcome = await settle(
        pool.read(async () => {
          await pool.write((w) => w.set('a', 1))
          throw boom
        }),
      )
      expect(outcome.error).toBe(boom)
      expect(db.committed.get('a')).toBe(1)
      expectIdle(pool, db)
    })

    it('a nested write retries BEGIN while another process holds the lock, up to its timeout', async () => {
      const { pool, db } = makePool({}, { readers: false })
      db.externalLock = true
      setTimeout(() => {
        db.externalLock = false
      }, 30)
      await pool.read(() => pool.write((w) => w.set('a', 1)))
      expect(db.committed.get('a')).toBe(1)
      db.externalLock = true
      const failed = await settle(
        pool.read(() => pool.write((w) => w.set('b', 2), { timeoutMs: 40 })),
      )
      db.externalLock = false
      expect(failed.error).toBeInstanceOf(LockTimeoutError)
      expect(db.committed.has('b')).toBe(false)
      expectIdle(pool, db)
    })

    it('a nested write that waits for an earlier sibling waiting for it times out, not hangs', async () => {
      const { pool, db } = makePool({ acquireTimeoutMs: 50 }, { readers: false })
      const g = gate()
      const outcome = await pool.read(async () => {
        const first = pool.transaction(() => g.promise) // ends only when the write below is done
        const second = await settle(pool.write((w) => w.set('a', 1)))
        g.open()
        await first
        return second.error
      })
      expect(outcome).toBeInstanceOf(AcquireTimeoutError)
      expect((outcome as AcquireTimeoutError).message).toMatch(/one at a time/)
      expect(db.committed.has('a')).toBe(false)
      expectIdle(pool, db)
    })

    it('calls from outside the callback still wait for the connection', async () => {
      const { pool, db } = makePool({}, { readers: false })
      const g = gate()
      const reading = pool.read(() => g.promise)
      await ticks()
      const writing = pool.write((w) => w.set('a', 1))
      await ticks()
      expect(pool.status().writer.queued).toBe(1)
      g.open()
      await Promise.all([reading, writing])
      expect(db.committed.get('a')).toBe(1)
      expectIdle(pool, db)
    })
  })

  it('a read callback that leaves a transaction open gets it rolled back before reuse', async () => {
    const { pool, db } = makePool({}, { readers: false })
    const value = await pool.read((c) => {
      c.begin('deferred')
      return 'left open'
    })
    expect(value).toBe('left open')
    expect(db.opened[0]?.tx).toBeUndefined()
    expect(db.opened[0]?.resets).toBe(1)
    await pool.write((c) => c.set('a', 1)) // would fail "transaction within a transaction"
    expectIdle(pool, db)
  })

  it('a read callback that throws with a transaction open also gets it rolled back', async () => {
    const { pool, db } = makePool({}, { readers: false })
    const boom = new RangeError('boom')
    await expect(
      pool.read((c) => {
        c.begin('immediate')
        throw boom
      }),
    ).rejects.toBe(boom)
    await expect(
      pool.read(async (c) => {
        c.begin('immediate')
        await ticks(1)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(db.opened[0]?.tx).toBeUndefined()
    expect(db.writeLockHolder).toBeUndefined()
    await pool.write((c) => c.set('a', 1))
    expect(db.committed.get('a')).toBe(1)
    expectIdle(pool, db)
  })

  it('a connection whose reset fails after a read is closed, not reused', async () => {
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          reset: () => {
            throw new DatabaseError('reset failed', { kind: 'broken', driverCode: 'IO' })
          },
        }),
      },
    )
    await pool.read((c) => c.begin('deferred'))
    expect(db.opened[0]?.closed).toBe(true)
    expect(pool.status().readers.open).toBe(0)
    await pool.read(() => {})
    expect(db.opened).toHaveLength(2)
  })

  it('a connection whose state a callback changed (driver.needsReset) is reset before reuse', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 1 } })
    await pool.read((c) => {
      c.dirty = true
    })
    await pool.write((c) => {
      c.dirty = true
    })
    const [reader, writer] = [
      db.opened.find((c) => c.role === 'reader'),
      db.opened.find((c) => c.role === 'writer'),
    ]
    expect([reader?.resets, writer?.resets]).toEqual([1, 1])
    expect(await pool.read((c) => c.dirty)).toBe(false)
    await pool.read(() => {})
    expect(reader?.resets).toBe(1) // clean connections are not reset again
    expectIdle(pool, db)
  })

  it('a call with an already-aborted signal is not run, even when a connection is idle', async () => {
    const { pool } = makePool()
    await pool.write(() => {})
    await pool.read(() => {})
    let ran = 0
    const signal = AbortSignal.abort(new RangeError('stop'))
    await expect(pool.read(() => ran++, { signal })).rejects.toBeInstanceOf(AcquireAbortedError)
    await expect(pool.write(() => ran++, { signal })).rejects.toBeInstanceOf(AcquireAbortedError)
    await expect(pool.transaction(() => ran++, { signal })).rejects.toBeInstanceOf(
      AcquireAbortedError,
    )
    expect(ran).toBe(0)
  })
})

describe('writer lane', () => {
  it('runs 20 concurrent writes one at a time, in call order, on one writer connection', async () => {
    const { pool, db } = makePool()
    const trace: string[] = []
    const writers = new Set<FakeConnection>()
    let inside = 0
    const g = gate()
    const writes = Array.from({ length: 20 }, (_, i) =>
      pool.write(async (c) => {
        inside++
        expect(inside).toBe(1)
        writers.add(c)
        trace.push(`start ${i}`)
        if (i === 0) await g.promise
        for (let k = 0; k < (i * 7) % 5; k++) await ticks(1)
        c.set(`k${i}`, i)
        trace.push(`end ${i}`)
        inside--
        return i
      }),
    )
    await until(() => pool.status().writer.queued === 19)
    g.open()
    expect(await Promise.all(writes)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(trace).toEqual(Array.from({ length: 20 }, (_, i) => [`start ${i}`, `end ${i}`]).flat())
    expect(writers.size).toBe(1)
    expect(db.maxLiveWriters).toBe(1)
    expect(db.committed.size).toBe(20)
    expectIdle(pool, db)
  })

  it('status() names the writer holder while a write runs', async () => {
    const { pool, db } = makePool()
    const g = gate()
    const write = pool.transaction(() => g.promise)
    await ticks()
    const s = pool.status()
    expect(s.writer).toMatchObject({
      open: true,
      inUse: true,
      queued: 0,
      holder: { role: 'writer', purpose: 'transaction' },
    })
    expect(s.writer.holder?.heldForMs).toBeGreaterThanOrEqual(0)
    expect(s.writer.holder?.stack).toBeUndefined()
    expect(s).toMatchObject({ state: 'open', closed: false, target: 'fake.db', waiting: 0 })
    g.open()
    await write
    expect(pool.status().writer.holder).toBeUndefined()
    expectIdle(pool, db)
  })

  it('ready() opens the writer and readers.min readers', async () => {
    const { pool, db } = makePool({ readers: { min: 2, max: 4 } })
    expect(pool.ready()).toBe(pool.ready())
    await pool.ready()
    expect(liveConnections(db)).toEqual({ reader: 2, writer: 1 })
    expect(pool.name).toBe('fake.db')
  })

  it('ready() after some use still tops the readers up to readers.min', async () => {
    const { pool, db } = makePool({ readers: { min: 3, max: 4 } })
    await pool.read(() => {})
    await pool.write(() => {})
    await pool.ready()
    expect(liveConnections(db)).toEqual({ reader: 3, writer: 1 })
    expectIdle(pool, db)
  })
})
