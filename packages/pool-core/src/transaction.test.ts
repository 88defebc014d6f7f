import { describe, expect, it } from 'vitest'
import { AcquireTimeoutError, DatabaseError, TransactionError } from './index.js'
import type { FakeConnection } from './test-utils/fake-driver.js'
import { expectIdle, gate, settle, ticks, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

describe('write and transaction', () => {
  it('write is a BEGIN IMMEDIATE transaction committed when the callback resolves', async () => {
    const { pool, db } = makePool()
    const value = await pool.write(async (c) => {
      c.set('a', 1)
      await ticks(3)
      expect(db.committed.has('a')).toBe(false) // not visible before COMMIT
      return 'done'
    })
    expect(value).toBe('done')
    expect(db.committed.get('a')).toBe(1)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT'])
    expectIdle(pool, db)
  })

  it('rolls back when an async callback rejects and rethrows the very same error', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('boom')
    await expect(
      pool.transaction(async (c) => {
        c.set('a', 1)
        await ticks(2)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(db.committed.has('a')).toBe(false)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 ROLLBACK'])
    expectIdle(pool, db)
  })

  it('passes the transaction mode to the driver; write is always immediate', async () => {
    const { pool, db } = makePool()
    await pool.transaction(() => {}, { mode: 'deferred' })
    await pool.transaction(() => {}, { mode: 'exclusive' })
    await pool.transaction(() => {})
    await pool.write(() => {})
    expect(db.log.filter((l) => l.includes('BEGIN'))).toEqual([
      '#1 BEGIN deferred',
      '#1 BEGIN exclusive',
      '#1 BEGIN immediate',
      '#1 BEGIN immediate',
    ])
  })

  it('completes synchronous callbacks synchronously (no promise hop before COMMIT)', async () => {
    const { pool, db } = makePool()
    await pool.write((c) => c.set('warm', 1)) // opens the writer
    const result = pool.write((c) => {
      c.set('a', 1)
      return 7
    })
    expect(db.committed.get('a')).toBe(1)
    await expect(result).resolves.toBe(7)
    await expect(pool.transaction((c) => c.get('a'))).resolves.toBe(1)
  })
})

describe('nested transactions', () => {
  it('a nested transaction or write becomes a savepoint on the same connection', async () => {
    const { pool, db } = makePool()
    const seen: FakeConnection[] = []
    await pool.transaction(async (outer) => {
      seen.push(outer)
      await pool.write(async (inner) => {
        seen.push(inner)
        inner.set('a', 1)
      })
      await pool.transaction((inner) => {
        seen.push(inner)
      })
    })
    expect(seen[0]).toBe(seen[1])
    expect(seen[0]).toBe(seen[2])
    expect(db.log).toEqual([
      '#1 BEGIN immediate',
      '#1 SAVEPOINT litepool_sp_1',
      '#1 RELEASE litepool_sp_1',
      '#1 SAVEPOINT litepool_sp_2',
      '#1 RELEASE litepool_sp_2',
      '#1 COMMIT',
    ])
    expect(db.committed.get('a')).toBe(1)
  })

  it('a throwing nested level rolls back only itself; the outer continues and commits', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('inner')
    const result = await pool.transaction(async (c) => {
      c.set('outer', 1)
      const inner = await settle(
        pool.transaction(async (t) => {
          t.set('inner', 2)
          t.set('outer', 99)
          throw boom
        }),
      )
      expect(inner.error).toBe(boom)
      expect(c.get('outer')).toBe(1)
      expect(c.get('inner')).toBeUndefined()
      c.set('after', 3)
      return 'ok'
    })
    expect(result).toBe('ok')
    expect([...db.committed]).toEqual([
      ['outer', 1],
      ['after', 3],
    ])
    expect(db.log).toContain('#1 ROLLBACK TO litepool_sp_1')
  })

  it('an outer throw after a successful nested level rolls back everything', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('outer')
    await expect(
      pool.transaction(async (c) => {
        c.set('outer', 1)
        await pool.transaction((t) => t.set('inner', 2))
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(db.committed.size).toBe(0)
    expectIdle(pool, db)
  })

  it('three levels deep: a failure in the middle level undoes the innermost too', async () => {
    const { pool, db } = makePool()
    await pool.transaction(async (c) => {
      c.set('l1', 1)
      await settle(
        pool.transaction(async (c2) => {
          c2.set('l2', 2)
          await pool.transaction((c3) => c3.set('l3', 3))
          throw new RangeError('middle')
        }),
      )
    })
    expect([...db.committed.keys()]).toEqual(['l1'])
  })

  it('nested calls from one scope run one at a time, in call order', async () => {
    const { pool } = makePool()
    const trace: string[] = []
    await pool.transaction(async () => {
      const nested = (name: string, steps: number) =>
        pool.transaction(async (c) => {
          trace.push(`start ${name}`)
          for (let i = 0; i < steps; i++) await ticks(1)
          c.set(name, steps)
          trace.push(`end ${name}`)
          return name
        })
      const results = await Promise.all([nested('a', 5), nested('b', 1), nested('c', 3)])
      expect(results).toEqual(['a', 'b', 'c'])
    })
    expect(trace).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
  })

  it('a nested call waiting for a sibling that waits for it gives up at its timeout', async () => {
    const { pool, db } = makePool({ acquireTimeoutMs: 5_000 })
    const g = gate()
    const outcome = await pool.write(async (c) => {
      c.set('a', 1)
      const first = pool.transaction(() => g.promise)
      const second = await settle(pool.write((w) => w.set('b', 2), { timeoutMs: 40 }))
      g.open()
      await first
      return second.error
    })
    expect(outcome).toBeInstanceOf(AcquireTimeoutError)
    expect(db.committed.get('a')).toBe(1)
    expect(db.committed.has('b')).toBe(false)
    // A later sibling still waits for the one that is running, not for the one that gave up.
    const order: string[] = []
    await pool.write(async () => {
      const slow = gate()
      const first = pool.transaction(async () => {
        await slow.promise
        order.push('first')
      })
      const gaveUp = settle(pool.write(() => {}, { timeoutMs: 10 }))
      const third = pool.write(() => {
        order.push('third')
      })
      expect((await gaveUp).error).toBeInstanceOf(AcquireTimeoutError)
      slow.open()
      await Promise.all([first, third])
    })
    expect(order).toEqual(['first', 'third'])
    expectIdle(pool, db)
  })

  it('waits for un-awaited nested transactions before COMMIT', async () => {
    const { pool, db } = makePool()
    const g = gate()
    let nested: Promise<void> | undefined
    const outer = pool.transaction((c) => {
      c.set('outer', 1)
      nested = pool.transaction(async (t) => {
        await g.promise
        t.set('nested', 2)
      })
      return 'returned early'
    })
    await ticks()
    expect(db.log).not.toContain('#1 COMMIT')
    g.open()
    await expect(outer).resolves.toBe('returned early')
    await nested
    expect(db.committed.get('nested')).toBe(2)
    expect(db.log.at(-1)).toBe('#1 COMMIT')
  })

  it('waits for nested transactions chained from a nested one that was not awaited', async () => {
    const { pool, db } = makePool()
    let second: Promise<void> | undefined
    await pool.transaction(async () => {
      const first = pool.transaction(async (t) => {
        await ticks(2)
        t.set('first', 1)
      })
      // started from the outer scope, but only once `first` has settled
      void first.then(() => {
        second = pool.transaction(async (t) => {
          await ticks(2)
          t.set('second', 2)
        })
      })
    })
    expect(second).toBeDefined()
    await expect(second).resolves.toBeUndefined()
    expect(db.committed.get('second')).toBe(2)
    expect(db.log.at(-1)).toBe('#1 COMMIT')
  })

  it('a nested transaction queued when the outer fails rejects with TransactionError', async () => {
    const { pool, db } = makePool()
    const g = gate()
    let queued: Promise<unknown> | undefined
    const outer = pool.transaction(async () => {
      void pool.transaction(() => g.promise)
      queued = pool.transaction((c) => c.set('never', 1))
      throw new RangeError('outer failed')
    })
    await ticks()
    g.open()
    await expect(outer).rejects.toThrow('outer failed')
    await expect(queued).rejects.toBeInstanceOf(TransactionError)
    expect(db.committed.has('never')).toBe(false)
    expectIdle(pool, db)
  })

  it('a write inside a write does not deadlock', async () => {
    const { pool, db } = makePool({ acquireTimeoutMs: 200 })
    await pool.write(async (c) => {
      c.set('a', 1)
      await pool.write(async (c2) => {
        await pool.write((c3) => c3.set('c', 3))
        c2.set('b', 2)
      })
    })
    expect([...db.committed.keys()].sort()).toEqual(['a', 'b', 'c'])
  })

  it('a read inside a transaction runs on the writer and sees uncommitted writes', async () => {
    const { pool } = makePool()
    const outside = gate()
    let writer: FakeConnection | undefined
    const tx = pool.transaction(async (c) => {
      writer = c
      c.set('a', 1)
      const inside = await pool.read((r) => [r, r.get('a')] as const)
      expect(inside[0]).toBe(c)
      expect(inside[1]).toBe(1)
      await outside.promise
    })
    await ticks()
    // a read from outside the transaction uses a reader and does not see the uncommitted row
    const [reader, value] = await pool.read((r) => [r, r.get('a')] as const)
    expect(reader.role).toBe('reader')
    expect(value).toBeUndefined()
    outside.open()
    await tx
    expect(writer?.role).toBe('writer')
    // errors from a read inside a scope propagate, sync or async
    await pool.transaction(async () => {
      await expect(
        pool.read(() => {
          throw new RangeError('sync')
        }),
      ).rejects.toThrow('sync')
    })
  })

  it('acquire({ role: "writer" }) inside a transaction returns its connection; release does not end it', async () => {
    const { pool, db, logger } = makePool()
    await pool.transaction(async (c) => {
      c.set('a', 1)
      const lease = await pool.acquire({ role: 'writer' })
      expect(lease.get('a')).toBe(1)
      lease.set('b', 2)
      await lease.release()
      await lease.release()
      expect(logger.events('double-release')).toHaveLength(1)
      expect(c.tx).toBeDefined()
      c.set('c', 3)
    })
    expect([...db.committed.keys()]).toEqual(['a', 'b', 'c'])
    expect(db.log.filter((l) => l.includes('COMMIT'))).toHaveLength(1)
  })

  it('calls made after a scope ended start a fresh transaction', async () => {
    const { pool, db } = makePool()
    const later = gate()
    let late: Promise<void> | undefined
    await pool.transaction(() => {
      // this continuation runs in the (by then finished) transaction's async context
      late = later.promise.then(() => pool.write((c) => c.set('late', 1)))
    })
    later.open()
    await late
    expect(db.committed.get('late')).toBe(1)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT', '#1 BEGIN immediate', '#1 COMMIT'])
  })
})

describe('transaction control failures', () => {
  it('COMMIT failing rolls back, rethrows and keeps the writer usable', async () => {
    const failure = new DatabaseError('constraint failed', { kind: 'constraint', driverCode: 'C' })
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            commit: (c) => {
              if (c.get('fail') === 1) throw failure
              return d.transactions.commit(c)
            },
          },
        }),
      },
    )
    await expect(pool.write((c) => c.set('fail', 1))).rejects.toBe(failure)
    expect(db.committed.has('fail')).toBe(false)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 ROLLBACK'])
    await pool.write((c) => c.set('ok', 1))
    expect(db.committed.get('ok')).toBe(1)
    expectIdle(pool, db)
  })

  it('ROLLBACK failing closes the writer with a logged error; the next write opens a new one', async () => {
    const { pool, db, logger } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            rollback: () => {
              throw new DatabaseError('disk I/O error', { kind: 'broken', driverCode: 'IO' })
            },
          },
        }),
      },
    )
    const boom = new RangeError('boom')
    await expect(
      pool.write((c) => {
        c.set('a', 1)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(logger.events('rollback-failed')).toHaveLength(1)
    expect(logger.events('rollback-failed')[0]?.fields.cause).toBe(boom)
    expect(db.opened[0]?.closed).toBe(true)
    await pool.write((c) => c.set('b', 2))
    expect(db.opened.map((c) => c.role)).toEqual(['writer', 'writer'])
    expect(db.committed.has('a')).toBe(false)
    expectIdle(pool, db)
  })

  it('BEGIN failing with a non-busy error rejects at once and frees the writer', async () => {
    let fail = true
    const failure = new DatabaseError('misuse', { kind: 'misuse', driverCode: 'M' })
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            begin: (c, mode) => {
              if (fail) throw failure
              return d.transactions.begin(c, mode)
            },
          },
        }),
      },
    )
    await expect(pool.write((c) => c.set('a', 1))).rejects.toBe(failure)
    expectIdle(pool, db)
    fail = false
    await pool.write((c) => c.set('a', 1))
    expect(db.committed.get('a')).toBe(1)
  })

  it('a failing ROLLBACK TO SAVEPOINT surfaces as a TransactionError carrying the cause', async () => {
    const failure = new DatabaseError('no such savepoint', { kind: 'misuse', driverCode: 'M' })
    const { pool, db } = makePool(
      {},
      {
        patch: (d) => ({
          ...d,
          transactions: {
            ...d.transactions,
            rollbackToSavepoint: () => {
              throw failure
            },
          },
        }),
      },
    )
    const outer = pool.transaction(async (c) => {
      c.set('a', 1)
      await pool.transaction(() => {
        throw new RangeError('inner')
      })
    })
    const error = await outer.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TransactionError)
    expect((error as TransactionError).cause).toBe(failure)
    expect((error as TransactionError).message).toContain('litepool_sp_1')
    expect(db.committed.size).toBe(0)
    expectIdle(pool, db)
  })

  it('skips ROLLBACK when the database already ended the transaction itself', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('disk full')
    await expect(
      pool.transaction(async (c) => {
        c.set('a', 1)
        await pool.transaction((t) => {
          t.end(false) // as SQLite does on SQLITE_FULL / IOERR
          throw boom
        })
      }),
    ).rejects.toBe(boom)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 SAVEPOINT litepool_sp_1', '#1 ROLLBACK'])
    expectIdle(pool, db)
  })

  it('a "broken" database error from a callback closes that connection instead of reusing it', async () => {
    const { pool, db } = makePool()
    const broken = new DatabaseError('disk I/O error', { kind: 'broken', driverCode: 'IO' })
    await expect(
      pool.write(() => {
        throw broken
      }),
    ).rejects.toBe(broken)
    await expect(
      pool.read(async () => {
        throw new DatabaseError('malformed', { kind: 'corrupt', driverCode: 'CORRUPT' })
      }),
    ).rejects.toBeInstanceOf(DatabaseError)
    expect(db.opened.map((c) => [c.role, c.closed])).toEqual([
      ['writer', true],
      ['reader', true],
    ])
    await pool.write((c) => c.set('a', 1))
    expect(await pool.read((c) => c.get('a'))).toBe(1)
    expectIdle(pool, db)
  })
})
