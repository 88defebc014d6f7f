import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { describe, expect, it, vi } from 'vitest'
import { housekeepingInterval } from './housekeeper.js'
import { CHANNELS, createPool, silentLogger } from './index.js'
import { fakeDriver } from './test-utils/fake-driver.js'
import {
  expectAllClosed,
  expectIdle,
  gate,
  type TestDriverOptions,
  ticks,
  useTestPools,
} from './test-utils/harness.js'

const makePool = useTestPools()

describe('scheduled maintenance', () => {
  it('runs on the writer, on the housekeeping schedule, only after writes', async () => {
    vi.useFakeTimers()
    const roles: string[] = []
    const { pool, db } = makePool(
      { maintenanceIntervalMs: 1_000 },
      {
        patch: (d) => ({
          ...d,
          maintain: (c, reason) => {
            roles.push(c.role)
            return d.maintain?.(c, reason)
          },
        }),
      },
    )
    await pool.read(() => {})
    await vi.advanceTimersByTimeAsync(5_000)
    expect(db.maintenance).toEqual([])
    await pool.write((c) => c.set('a', 1))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(db.maintenance).toEqual(['idle'])
    expect(roles).toEqual(['writer'])
    await vi.advanceTimersByTimeAsync(5_000)
    expect(db.maintenance).toEqual(['idle'])
    await pool.write((c) => c.set('b', 1))
    await pool.write((c) => c.set('c', 1))
    await vi.advanceTimersByTimeAsync(1_000)
    expect(db.maintenance).toEqual(['idle', 'idle'])
    expectIdle(pool, db)
  })

  it("runs 'due' maintenance when the driver asks after a commit, before the next write", async () => {
    let commits = 0
    const dueEveryThird: TestDriverOptions['patch'] = (d, db) => ({
      ...d,
      maintenanceDue: () => ++commits % 3 === 0,
      maintain: (c, reason) => {
        db.log.push(`maintain ${reason}`)
        return d.maintain?.(c, reason)
      },
    })
    const { pool, db } = makePool({ maintenanceIntervalMs: 3_600_000 }, { patch: dueEveryThird })
    for (let i = 0; i < 7; i++) await pool.write((c) => c.set(`k${i}`, i))
    expect(db.maintenance).toEqual(['due', 'due'])
    // Each step runs right after the commit that made it due, before the next BEGIN.
    const steps = db.log.filter((l) => /BEGIN|COMMIT|maintain/.test(l)).slice(4, 8)
    expect(steps).toEqual(['#1 BEGIN immediate', '#1 COMMIT', 'maintain due', '#1 BEGIN immediate'])
    expectIdle(pool, db)

    commits = 0
    const off = makePool({ maintenanceIntervalMs: 0 }, { patch: dueEveryThird })
    for (let i = 0; i < 7; i++) await off.pool.write((c) => c.set(`k${i}`, i))
    expect(off.db.maintenance).toEqual([]) // maintenanceIntervalMs 0: no scheduled maintenance
  })

  it('is deferred to the next writer release while the writer is busy', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ maintenanceIntervalMs: 1_000 })
    await pool.write((c) => c.set('a', 1))
    const g = gate()
    const long = pool.write(() => g.promise.then(() => 'long done'))
    await vi.advanceTimersByTimeAsync(3_000)
    expect(db.maintenance).toEqual([])
    g.open()
    expect(await long).toBe('long done')
    await ticks()
    expect(db.maintenance).toEqual(['interval'])
    expectIdle(pool, db)
  })

  it('failures are logged and published, never thrown; the writer stays usable', async () => {
    vi.useFakeTimers()
    const events: unknown[] = []
    const listener = (e: unknown) => events.push(e)
    subscribe(CHANNELS.maintenance, listener)
    try {
      const { pool, db, logger } = makePool({ maintenanceIntervalMs: 1_000 })
      db.failMaintenance = true
      await pool.write((c) => c.set('a', 1))
      await vi.advanceTimersByTimeAsync(1_000)
      expect(db.maintenance).toEqual(['idle'])
      expect(logger.events('maintenance-failed')).toHaveLength(1)
      expect(logger.events('maintenance-failed')[0]?.fields).toMatchObject({
        reason: 'idle',
        pool: 'fake.db',
      })
      expect(events).toEqual([
        {
          pool: 'fake.db',
          reason: 'idle',
          ms: expect.any(Number),
          error: expect.objectContaining({ message: 'checkpoint failed' }),
        },
      ])
      await pool.write((c) => c.set('b', 2))
      expect(db.committed.get('b')).toBe(2)
      expectIdle(pool, db)
    } finally {
      unsubscribe(CHANNELS.maintenance, listener)
    }
  })

  it('maintenanceIntervalMs: 0 turns scheduled maintenance off (close still runs it)', async () => {
    vi.useFakeTimers()
    const { pool, db } = makePool({ maintenanceIntervalMs: 0 })
    await pool.write((c) => c.set('a', 1))
    await vi.advanceTimersByTimeAsync(120_000)
    expect(db.maintenance).toEqual([])
    vi.useRealTimers()
    await pool.close()
    expect(db.maintenance).toEqual(['close'])
  })

  it('works with a driver that has no maintenance at all', async () => {
    vi.useFakeTimers()
    const { maintain: _drop, ...driver } = fakeDriver()
    const pool = createPool({ driver, logger: silentLogger, maintenanceIntervalMs: 1_000 })
    await pool.write((c) => c.set('a', 1))
    await vi.advanceTimersByTimeAsync(2_000)
    vi.useRealTimers()
    await pool.close()
    expectAllClosed(driver.db)
  })
})

describe('housekeeping interval', () => {
  const base = {
    idleTimeoutMs: 600_000,
    healthCheckIntervalMs: 30_000,
    maxLifetimeMs: 1_800_000,
    maintenanceIntervalMs: 1_000,
  }
  it('is half the shortest enabled period, between 50 ms and 30 s', () => {
    const interval = (o: Partial<typeof base>) => housekeepingInterval({ ...base, ...o } as never)
    expect(interval({})).toBe(500)
    expect(interval({ maintenanceIntervalMs: 0 })).toBe(15_000)
    expect(interval({ maintenanceIntervalMs: 10 })).toBe(50)
    expect(
      interval({
        idleTimeoutMs: 0,
        healthCheckIntervalMs: 0,
        maxLifetimeMs: 0,
        maintenanceIntervalMs: 0,
      }),
    ).toBe(30_000)
    expect(interval({ healthCheckIntervalMs: 0, maintenanceIntervalMs: 0, maxLifetimeMs: 0 })).toBe(
      30_000,
    )
  })
})
