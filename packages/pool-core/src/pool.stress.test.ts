/**
 * 1,000 concurrent callers with random failures, nested savepoints, short timeouts, a lock held
 * now and then by "another process", failing health checks and short connection lifetimes.
 * Afterwards: nothing lost, nothing phantom, nothing leaked, nobody left hanging.
 * Reproduce a failure with STRESS_SEED=<seed printed in the assertion message>.
 */
import { describe, expect, it } from 'vitest'
import { AcquireTimeoutError, DatabaseError, type Pool } from './index.js'
import type { FakeConnection, FakeDatabase } from './test-utils/fake-driver.js'
import { expectAllClosed, expectIdle, useTestPools } from './test-utils/harness.js'

const makePool = useTestPools()

/** Small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

class Injected extends Error {}

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

interface Run {
  /** Keys that must be committed: key -> value. */
  readonly expected: Map<string, number>
  /** Keys that must not be committed. */
  readonly absent: Set<string>
  /** Every key a plain read saw committed. */
  readonly seen: Set<string>
  readonly errors: unknown[]
}

async function chaos(
  pool: Pool<FakeConnection>,
  db: FakeDatabase,
  seed: number,
  callers: number,
): Promise<Run> {
  const rnd = random(seed)
  const chance = (p: number) => rnd() < p
  const run: Run = { expected: new Map(), absent: new Set(), seen: new Set(), errors: [] }
  const maybeWait = async () => {
    const r = rnd()
    if (r < 0.3) await pause(Math.floor(rnd() * 3))
    else if (r < 0.6) await Promise.resolve()
  }
  const short = () => (chance(0.08) ? { timeoutMs: 1 + Math.floor(rnd() * 20) } : {})

  // another process grabs the write lock now and then
  const locker = setInterval(() => {
    if (!db.externalLock && db.writeLockHolder === undefined && chance(0.1)) {
      db.externalLock = true
      setTimeout(
        () => {
          db.externalLock = false
        },
        2 + Math.floor(rnd() * 15),
      )
    }
  }, 5)
  // and some health checks fail
  db.failPing = () => chance(0.05)

  const write = async (i: number): Promise<void> => {
    const key = `w${i}`
    const kept = new Map<string, number>()
    const outerFails = chance(0.15)
    const broken = chance(0.02)
    // (a deferred transaction may fail busy when it first writes: that is why the pool defaults to immediate)
    const mode = chance(0.5) ? 'immediate' : 'exclusive'
    const call = chance(0.5) ? 'write' : 'transaction'
    const body = async (c: FakeConnection) => {
      await maybeWait()
      c.set(key, i)
      kept.set(key, i)
      const nested = Math.floor(rnd() * 3)
      for (let j = 0; j < nested; j++) {
        const sub = `${key}.${j}`
        const fails = chance(0.3)
        const attempt = pool.transaction(async (t) => {
          await maybeWait()
          t.set(sub, j)
          if (chance(0.5)) await pool.read((r) => expect(r.get(sub)).toBe(j))
          if (fails) throw new Injected('nested')
        })
        try {
          await attempt
          kept.set(sub, j)
        } catch (error) {
          if (!(error instanceof Injected)) throw error
          run.absent.add(sub)
        }
      }
      await maybeWait()
      if (broken) throw new DatabaseError('disk I/O error', { kind: 'broken', driverCode: 'IO' })
      if (outerFails) throw new Injected('outer')
      return i
    }
    try {
      const value =
        call === 'write'
          ? await pool.write(body, short())
          : await pool.transaction(body, { ...short(), mode })
      expect(value).toBe(i)
      for (const [k, v] of kept) run.expected.set(k, v)
    } catch (error) {
      run.errors.push(error)
      run.absent.add(key)
      for (const k of kept.keys()) run.absent.add(k)
    }
  }

  const read = async (i: number): Promise<void> => {
    const fails = chance(0.15)
    const writes = chance(0.2) // a write nested in the read: it commits (or fails) on its own
    const writeFails = chance(0.3)
    try {
      await pool.read(async (c) => {
        await maybeWait()
        for (let k = Math.max(0, i - 50); k < i; k++)
          if (c.get(`w${k}`) !== undefined) run.seen.add(`w${k}`)
        if (writes) {
          const key = `r${i}`
          try {
            await pool.write(async (w) => {
              await maybeWait()
              w.set(key, i)
              if (writeFails) throw new Injected('nested in read')
            }, short())
            run.expected.set(key, i)
          } catch (error) {
            run.errors.push(error)
            run.absent.add(key)
          }
        }
        if (fails) throw new Injected('read')
      }, short())
    } catch (error) {
      run.errors.push(error)
    }
  }

  const lease = async (i: number): Promise<void> => {
    const key = `l${i}`
    try {
      const c = await pool.acquire({ role: chance(0.5) ? 'writer' : 'reader', ...short() })
      try {
        await maybeWait()
        if (c.role === 'writer' && !db.externalLock) {
          c.begin('immediate')
          c.set(key, i) // left open: release must roll it back
        }
      } finally {
        await c.release()
      }
    } catch (error) {
      run.errors.push(error)
    }
    run.absent.add(key)
  }

  const calls: Promise<void>[] = []
  for (let i = 0; i < callers; i++) {
    const r = rnd()
    calls.push(r < 0.45 ? write(i) : r < 0.9 ? read(i) : lease(i))
    if (chance(0.1)) await Promise.resolve() // arrivals spread over a few ticks
  }
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((r) => {
    timer = setTimeout(() => r('hung'), 15_000)
  })
  const outcome = await Promise.race([Promise.allSettled(calls), hung])
  clearTimeout(timer)
  clearInterval(locker)
  db.externalLock = false
  db.failPing = () => false
  expect(outcome, `seed ${seed}: some callers never settled`).not.toBe('hung')
  return run
}

function check(pool: Pool<FakeConnection>, db: FakeDatabase, run: Run, seed: number): void {
  const at = `seed ${seed}`
  for (const [key, value] of run.expected)
    expect(db.committed.get(key), `${at}: lost ${key}`).toBe(value)
  for (const key of run.absent)
    expect(db.committed.has(key), `${at}: ${key} was rolled back`).toBe(false)
  expect(db.committed.size, at).toBe(run.expected.size)
  for (const key of run.seen)
    expect(run.expected.has(key), `${at}: a read saw uncommitted ${key}`).toBe(true)
  for (const error of run.errors) {
    const known =
      error instanceof Injected ||
      error instanceof AcquireTimeoutError || // includes LockTimeoutError
      (error instanceof DatabaseError && error.kind === 'broken')
    expect(known, `${at}: unexpected ${String(error)}`).toBe(true)
  }
  expect(db.maxLiveWriters, at).toBe(1)
  expectIdle(pool, db)
}

describe('stress', () => {
  it('1,000 concurrent read/write/transaction/acquire callers with random failures (4 rounds)', async () => {
    const base = Number(process.env.STRESS_SEED ?? Date.now() % 1_000_000)
    for (let round = 0; round < 4; round++) {
      const seed = base + round * 7
      const { pool, db } = makePool({
        readers: { min: 1, max: 4 },
        acquireTimeoutMs: 5_000,
        validateAfterIdleMs: 3,
        healthCheckIntervalMs: 40,
        maintenanceIntervalMs: 20,
        maxLifetimeMs: 150,
        idleTimeoutMs: 100,
      })
      const run = await chaos(pool, db, seed, 1_000)
      // enough of every outcome happened for the run to mean something
      expect(run.expected.size, `seed ${seed}`).toBeGreaterThan(100)
      expect(
        run.errors.filter((e) => e instanceof Injected).length,
        `seed ${seed}`,
      ).toBeGreaterThan(50)
      expect(
        run.errors.some((e) => e instanceof AcquireTimeoutError),
        `seed ${seed}`,
      ).toBe(true)
      expect(db.opened.length, `seed ${seed}: connections were recycled`).toBeGreaterThan(5)
      await pause(5) // let health checks that were in flight come back
      check(pool, db, run, seed)
      await pool.close()
      expect(db.maintenance.length, `seed ${seed}`).toBeGreaterThan(0)
      expectAllClosed(db)
    }
  }, 60_000)

  it('the same chaos on a single-connection database (capabilities.readers = false)', async () => {
    const seed = Number(process.env.STRESS_SEED ?? Date.now() % 1_000_000) + 1
    const { pool, db } = makePool(
      { acquireTimeoutMs: 5_000, validateAfterIdleMs: 3, maxLifetimeMs: 100 },
      { readers: false },
    )
    const run = await chaos(pool, db, seed, 400)
    await pause(5)
    check(pool, db, run, seed)
    expect(db.opened.every((c) => c.role === 'writer')).toBe(true)
    await pool.close()
    expectAllClosed(db)
  }, 30_000)
})
