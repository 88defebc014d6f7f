import { AsyncLocalStorage } from 'node:async_hooks'
import { describe, expect, it, vi } from 'vitest'
import { storage } from './context.js'
import { type BoundContext, type Pool, TransactionError, trackAsyncContext } from './index.js'
import type { FakeConnection } from './test-utils/fake-driver.js'
import { expectIdle, gate, settle, ticks, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

/** Node 20's AsyncLocalStorage is built on async hooks; Node 24's on AsyncContextFrame. */
const hookBased = '_enable' in AsyncLocalStorage.prototype

/**
 * What an integration like the Kysely dialect does: bind the context that will run the user's
 * code, start a transaction whose body stays open, then run the user's code in that context —
 * not inside the body — and end the transaction when it settles.
 */
async function boundTransaction<T>(
  pool: Pool<FakeConnection>,
  user: () => Promise<T>,
  context: BoundContext | undefined = pool.bindContext(),
): Promise<T> {
  const begun = gate()
  const end = gate()
  const done = pool.transaction(
    () => {
      begun.open()
      return end.promise
    },
    { context },
  )
  await Promise.race([begun.promise, done])
  try {
    const value = await user()
    end.open()
    await done
    return value
  } catch (error) {
    end.fail(error)
    await done.catch(() => undefined)
    throw error
  }
}

/** Runs `fn` in a fresh continuation, as Kysely runs its transaction consumer. */
async function inContinuation<T>(fn: () => Promise<T>): Promise<T> {
  const untrack = trackAsyncContext()
  try {
    await null
    return await fn()
  } finally {
    untrack()
  }
}

describe('bindContext: code outside the transaction callback joins it', () => {
  it('write, transaction, read and acquire from the bound context run on the transaction', async () => {
    const { pool, db } = makePool()
    await inContinuation(() =>
      boundTransaction(pool, async () => {
        await pool.write((c) => c.set('a', 1))
        await pool.transaction(async (c) => {
          c.set('b', 2)
          await ticks(2)
        })
        expect(await pool.read((c) => [c.get('a'), c.get('b')])).toEqual([1, 2])
        await using lease = await pool.acquire({ role: 'writer' })
        expect(lease.get('a')).toBe(1)
        expect(db.committed.has('a')).toBe(false) // one transaction, not yet committed
      }),
    )
    expect(db.committed.get('a')).toBe(1)
    expect(db.committed.get('b')).toBe(2)
    expect(db.log.filter((l) => /BEGIN|COMMIT|ROLLBACK/.test(l))).toEqual([
      '#1 BEGIN immediate',
      '#1 COMMIT',
    ])
    expectIdle(pool, db)
  })

  it('a failure rolls back what the bound context wrote; a failed nested call only its savepoint', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('boom')
    const failed = await settle(
      inContinuation(() =>
        boundTransaction(pool, async () => {
          await pool.write((c) => c.set('kept-until-rollback', 1))
          const nested = await settle(
            pool.write((c) => {
              c.set('nested', 1)
              throw new RangeError('nested only')
            }),
          )
          expect(nested.error).toBeInstanceOf(RangeError)
          expect(await pool.read((c) => [c.get('kept-until-rollback'), c.get('nested')])).toEqual([
            1,
            undefined,
          ])
          throw boom
        }),
      ),
    )
    expect(failed.error).toBe(boom)
    expect(db.committed.size).toBe(0)
    expectIdle(pool, db)
  })

  it('nested work the bound context started without awaiting finishes before COMMIT', async () => {
    const { pool, db } = makePool()
    await inContinuation(() =>
      boundTransaction(pool, async () => {
        void pool.write(async (c) => {
          await ticks(5)
          c.set('late', 1)
        })
      }),
    )
    expect(db.committed.get('late')).toBe(1)
    expectIdle(pool, db)
  })

  it('other async contexts wait for the writer as usual and commit on their own', async () => {
    const { pool, db } = makePool()
    const inside = gate()
    const outsider = (async () => {
      await inside.promise
      await pool.write((c) => c.set('outsider', 1))
    })()
    const failed = await settle(
      inContinuation(() =>
        boundTransaction(pool, async () => {
          await pool.write((c) => c.set('insider', 1))
          inside.open()
          await ticks(20)
          expect(pool.status().writer.queued).toBe(1) // the outsider waits; it did not join
          throw new RangeError('undo the insider only')
        }),
      ),
    )
    expect(failed.error).toBeInstanceOf(RangeError)
    await outsider
    expect([...db.committed.keys()]).toEqual(['outsider'])
    expectIdle(pool, db)
  })

  it('after the transaction ends, the same context starts fresh transactions', async () => {
    const { pool, db } = makePool()
    await inContinuation(async () => {
      await boundTransaction(pool, async () => {
        await pool.write((c) => c.set('a', 1))
      })
      await pool.write((c) => c.set('b', 2))
    })
    expect(db.log.filter((l) => /BEGIN|COMMIT/.test(l))).toEqual([
      '#1 BEGIN immediate',
      '#1 COMMIT',
      '#1 BEGIN immediate',
      '#1 COMMIT',
    ])
    expectIdle(pool, db)
  })

  it('returns undefined inside a transaction, which the context already joins', async () => {
    const { pool } = makePool()
    await pool.transaction(async () => {
      expect(pool.bindContext()).toBeUndefined()
    })
  })

  it('a bound context starts one transaction; another pool cannot use it', async () => {
    const { pool, db } = makePool()
    const other = makePool().pool
    await inContinuation(async () => {
      const context = pool.bindContext()
      expect(context).toBeDefined()
      const foreign = await settle(other.transaction(() => {}, { context }))
      expect(foreign.error).toBeInstanceOf(TransactionError)
      expect(String((foreign.error as Error).message)).toMatch(/once per transaction/)
      await pool.transaction(() => {}, { context })
      const again = await settle(pool.transaction(() => {}, { context }))
      expect(again.error).toBeInstanceOf(TransactionError)
    })
    expectIdle(pool, db)
  })

  it('an unused bound context changes nothing', async () => {
    const { pool, db } = makePool()
    await inContinuation(async () => {
      expect(pool.bindContext()).toBeDefined()
      await pool.write((c) => c.set('a', 1)) // a transaction of its own
    })
    expect(db.committed.get('a')).toBe(1)
    expectIdle(pool, db)
  })

  it.runIf(hookBased)(
    'Node 20: refuses to bind a continuation that began while tracking was off (it would leak)',
    async () => {
      const { pool } = makePool()
      const untrack = trackAsyncContext()
      untrack()
      untrack() // must not release a hold twice: the store would then never switch off
      await pool.transaction(() => {})
      await new Promise((resolve) => setImmediate(resolve)) // off one loop turn after the last hold
      // No transaction or hold is open now, so the store is off while this chain is created.
      const untracked = (async () => {
        await null
        return pool.bindContext()
      })()
      await pool.transaction(() => {}) // switches the store on and off again meanwhile
      expect(await untracked).toBeUndefined()
      expect(await inContinuation(async () => pool.bindContext())).toBeDefined()
    },
  )
})

/** Node 20's store is on while `enabled` is true (an internal field of the hook-based class). */
const storeOn = (): boolean => (storage as unknown as { enabled: boolean }).enabled

describe.runIf(hookBased)('Node 20: the context store switches off when nothing holds it', () => {
  it('after a transaction, within a run of plain calls even when the event loop never turns', async () => {
    const { pool } = makePool()
    await pool.transaction((c) => c.set('a', 1))
    expect(storeOn()).toBe(true) // kept for a moment: the next transaction may follow at once
    // Only microtasks from here on, as in a script awaiting a synchronous SQLite driver.
    for (let i = 0; i < 40; i++) await pool.read((c) => c.get('a'))
    expect(storeOn()).toBe(false)
    const chain = (async () => {
      await null
      return pool.bindContext() // a promise made while off: refused, proving the store was off
    })()
    expect(await chain).toBeUndefined()
  })

  it('one loop turn after the last hold', async () => {
    const { pool } = makePool()
    await pool.write((c) => c.set('a', 1))
    expect(storeOn()).toBe(true)
    await new Promise((resolve) => setImmediate(resolve))
    expect(storeOn()).toBe(false)
  })

  it('steady transactions and Kysely-style holds with reads between them never toggle it', async () => {
    const { pool } = makePool()
    await pool.transaction(() => {})
    const disable = vi.spyOn(storage, 'disable')
    try {
      for (let i = 0; i < 50; i++) {
        const untrack = trackAsyncContext()
        untrack()
        await pool.read((c) => c.get('a'))
        await pool.write((c) => c.set('a', i))
        for (let k = 0; k < 20; k++) await pool.read((c) => c.get('a'))
      }
      expect(disable).not.toHaveBeenCalled()
      for (let k = 0; k < 40; k++) await pool.read((c) => c.get('a'))
      expect(disable).toHaveBeenCalledTimes(1)
    } finally {
      disable.mockRestore()
    }
    expect(storeOn()).toBe(false)
  })
})

describe.runIf(hookBased)('Node 20: the switch-off never piles up timers', () => {
  it('however many holds end while the loop does not turn, one switch-off is pending', async () => {
    const { pool } = makePool()
    await new Promise((resolve) => setImmediate(resolve))
    const immediate = vi.spyOn(globalThis, 'setImmediate')
    try {
      for (let i = 0; i < 50; i++) {
        await pool.write((c) => c.set('a', i))
        for (let k = 0; k < 33; k++) await pool.read((c) => c.get('a')) // switches off each time
      }
      expect(immediate.mock.calls.length).toBeLessThanOrEqual(1)
    } finally {
      immediate.mockRestore()
    }
    expect(storeOn()).toBe(false)
  })
})
