import { monitorEventLoopDelay } from 'node:perf_hooks'
import { AcquireTimeoutError, DatabaseError, PoolClosedError } from '@litepool/pool-core'
import { WORKER_EXIT, type WorkerConnection, walSize } from '@litepool/sqlite-base'
import { expect } from 'vitest'
import { countOpenFiles, countThreads, settlesTo } from '../helpers.js'
import { type Scenario, scenarios } from '../scenario.js'
import { SLOW } from './workers.js'

/**
 * The pool's worker lane on the driver's worker readers: routing by measured cost, killed
 * workers replaced, close during worker queries, FIFO waits, checkpoints off the main thread,
 * slow reads beside point reads, and 1,000 mixed callers with faults.
 */
export const workerPoolScenarios: readonly Scenario[] = scenarios('workers', [
  {
    key: 'pool-routing',
    title:
      'pool.get/all run a statement on the main thread until two runs in a row are slow, then on a worker; thread forces either way',
    async run(t) {
      const pool = t.pool({ workers: { max: 1, slowMs: 2 } })
      await pool.write((c) => c.exec('create table t(x); insert into t values (1)'))
      expect(await pool.get('select x from t')).toEqual({ x: 1 })
      expect(await pool.get(SLOW(300_000))).toEqual({ n: 300_000 })
      expect(pool.slowStatements).toEqual([]) // one slow run may be a preemption: not yet
      expect(await pool.get(SLOW(300_000))).toEqual({ n: 300_000 })
      expect(pool.slowStatements).toEqual([SLOW(300_000)])
      expect(pool.status().workers.open).toBe(0) // both runs were measured on the main thread
      expect(await pool.all(SLOW(300_000))).toEqual([{ n: 300_000 }])
      expect(pool.status().workers.open).toBe(1)
      for (let i = 0; i < 20; i++) await pool.get('select x from t')
      expect(pool.slowStatements).toEqual([SLOW(300_000)])
      const forced = await pool.read(async () => 0, { thread: 'main' })
      expect(forced).toBe(0)
      const rows: unknown[] = []
      for await (const row of pool.iterate('select x from t', [], { thread: 'worker' }))
        rows.push(row)
      expect(rows).toEqual([{ x: 1 }])
      const off = t.pool({ workers: { max: 0 } })
      expect(await off.get(SLOW(300_000))).toEqual({ n: 300_000 })
      expect(await off.get(SLOW(300_000))).toEqual({ n: 300_000 })
      expect(off.status().workers.open).toBe(0)
    },
  },
  {
    key: 'pool-worker-killed',
    title:
      'a pool worker killed mid-query: the caller gets the typed error, the worker is replaced, close leaves no thread or descriptor',
    async run(t) {
      const threads = countThreads()
      const pool = t.pool({ workers: { max: 1 } })
      await pool.write((c) => c.exec('create table t(x); insert into t values (1)'))
      const error = await pool
        .read(
          async (w) => {
            const slow = w.get(SLOW(3_000_000))
            slow.catch(() => undefined) // rejected by terminate() before the caller awaits it
            await new Promise((resolve) => setTimeout(resolve, 20))
            await (w as unknown as WorkerConnection).terminate()
            return slow
          },
          { thread: 'worker' },
        )
        .catch((e: unknown) => e)
      expect(error).toMatchObject({
        name: 'DatabaseError',
        kind: 'broken',
        driverCode: WORKER_EXIT,
      })
      expect(pool.status().workers).toMatchObject({ open: 0, inUse: 0 })
      expect(await pool.get('select x from t', [], { thread: 'worker' })).toEqual({ x: 1 })
      expect(pool.status().workers.open).toBe(1)
      await pool.close()
      expect(await settlesTo(() => countThreads(), threads)).toBe(threads)
      expect(countOpenFiles(t.filename)?.total ?? 0).toBe(0)
    },
  },
  {
    key: 'close-during-worker-query',
    title:
      'close() during a worker query waits for it up to its timeout, then ends the worker; later calls get PoolClosedError',
    async run(t) {
      const threads = countThreads()
      const pool = t.pool({ workers: { min: 2, max: 2 } })
      await pool.ready()
      expect(pool.status().workers.open).toBe(2)
      await pool.write((c) => c.exec('create table t(x)'))
      const quick = pool.get(SLOW(100_000), [], { thread: 'worker' })
      const stuck = pool.get(SLOW(8_000_000), [], { thread: 'worker' }).catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 30))
      await pool.close({ timeoutMs: 300 })
      expect(await quick).toEqual({ n: 100_000 })
      expect(await stuck).toBeInstanceOf(PoolClosedError)
      expect(
        await pool.get('select 1', [], { thread: 'worker' }).catch((e: unknown) => e),
      ).toBeInstanceOf(PoolClosedError)
      expect(await settlesTo(() => countThreads(), threads)).toBe(threads)
      expect(countOpenFiles(t.filename)?.total ?? 0).toBe(0)
      expect(walSize(t.filename)).toBe(0)
    },
  },
  {
    key: 'worker-lane-waits',
    title:
      'with every worker busy, a worker read waits its turn (FIFO) and times out with AcquireTimeoutError',
    async run(t) {
      const pool = t.pool({ workers: { max: 1 } })
      await pool.write((c) => c.exec('create table t(x)'))
      let release!: () => void
      const held = pool.read(
        (w) => w.get('select 1').then(() => new Promise<void>((r) => (release = r))),
        { thread: 'worker' },
      )
      await new Promise((resolve) => setTimeout(resolve, 200))
      const late = await pool
        .get('select 2', [], { thread: 'worker', timeoutMs: 50 })
        .catch((e: unknown) => e)
      expect(late).toBeInstanceOf(AcquireTimeoutError)
      expect((late as Error).message).toContain('worker')
      const next = pool.get('select 3 as x', [], { thread: 'worker' })
      release()
      await held
      expect(await next).toEqual({ x: 3 })
    },
  },
  {
    key: 'checkpoint-off-main-thread',
    title:
      'maintain() checkpoints on a worker connection: the event loop turns while it runs, and close leaves a truncated WAL',
    async run(t) {
      const pool = t.pool({ maintenanceIntervalMs: 0 })
      await pool.write((c) => c.exec('create table t(x)'))
      for (let i = 0; i < 200; i++) await pool.write((c) => c.run('insert into t values (?)', [i]))
      const driver = t.driver()
      const writer = await t.open('writer')
      writer.run('insert into t values (1)')
      expect(walSize(t.filename)).toBeGreaterThan(0)
      let turns = 0
      const ticking = setInterval(() => turns++, 0)
      const result = await driver.maintain(writer, 'idle')
      clearInterval(ticking)
      expect(result?.mode).toBe('PASSIVE')
      expect(result?.checkpointed).toBeGreaterThan(0)
      expect(turns).toBeGreaterThan(0) // a main-thread checkpoint runs without a turn of the loop
      await t.close(writer)
      await pool.close()
      expect(walSize(t.filename)).toBe(0)
    },
  },
  {
    key: 'slow-beside-fast',
    title:
      'with the default configuration, slow reads beside point reads stall neither the event loop nor the point reads',
    timeoutMs: 60_000,
    async run(t) {
      const pool = t.pool({ readers: { max: 4 } })
      await pool.write((c) =>
        c.exec(`create table t(id integer primary key, v);
          with recursive n(i) as (select 1 union all select i + 1 from n where i < 1000)
          insert into t select i, i from n`),
      )
      // A read of ~50-100 ms here; each one on the main thread would stall everything that long.
      const slow = SLOW(1_000_000)
      const started = performance.now()
      await pool.get(slow)
      await pool.get(slow) // two slow runs in a row: from now on on a worker
      const slowMs = (performance.now() - started) / 2
      expect(pool.slowStatements).toEqual([slow])
      const delay = monitorEventLoopDelay({ resolution: 1 })
      delay.enable()
      const point: number[] = []
      let slowReads = 0
      const until = performance.now() + 1_500
      await Promise.all(
        Array.from({ length: 16 }, async (_, caller) => {
          for (let i = 0; performance.now() < until; i++) {
            if (caller < 2) {
              await pool.get(slow) // two callers read slowly, one read after another
              slowReads++
              continue
            }
            const at = performance.now()
            await pool.get('select v from t where id = ?', [(i % 1000) + 1])
            point.push(performance.now() - at)
            await new Promise((resolve) => setImmediate(resolve))
          }
        }),
      )
      delay.disable()
      point.sort((a, b) => a - b)
      const p99 = point[Math.floor(point.length * 0.99)] ?? 0
      const maxDelayMs = delay.max / 1e6
      // Generous bounds (timings belong in the bench): a slow read on the main thread would
      // push both past its own duration.
      expect(slowReads).toBeGreaterThan(2)
      expect(p99, `point p99 ${p99.toFixed(1)} ms, slow read ${slowMs.toFixed(0)} ms`).toBeLessThan(
        Math.max(25, slowMs / 2),
      )
      expect(maxDelayMs, `event-loop delay max, slow read ${slowMs.toFixed(0)} ms`).toBeLessThan(
        Math.max(30, slowMs * 0.6),
      )
    },
  },
  {
    key: 'mixed-callers-with-faults',
    title:
      '1,000 mixed callers across main-thread and worker readers with thrown errors, timeouts and a killed worker: nothing lost or leaked',
    timeoutMs: 60_000,
    async run(t) {
      const threads = countThreads()
      const pool = t.pool({ workers: { max: 2, slowMs: 2 }, readers: { max: 3 } })
      await pool.write((c) => c.exec('create table t(id integer primary key, v)'))
      let written = 0
      const calls = Array.from({ length: 1_000 }, async (_, i) => {
        switch (i % 10) {
          case 0:
            await pool.write((c) => c.run('insert into t(v) values (?)', [i]))
            written++
            return 'write'
          case 1:
            return pool.get(SLOW(20_000 + (i % 7))).then(() => 'slow')
          case 2:
            return pool
              .read(
                async (w) => {
                  await w.get('select count(*) from t')
                  throw new RangeError(`thrown ${i}`)
                },
                { thread: 'worker' },
              )
              .catch((e: unknown) => (e instanceof RangeError ? 'thrown' : Promise.reject(e)))
          case 3:
            return pool
              .get('select nonsense from', [], { thread: i % 20 === 3 ? 'worker' : 'main' })
              .catch((e: unknown) => (e instanceof DatabaseError ? 'sql-error' : Promise.reject(e)))
          case 4:
            if (i === 504) {
              return pool
                .read(
                  async (w) => {
                    const slow = w.get(SLOW(2_000_000))
                    slow.catch(() => undefined) // rejected by terminate() before the caller awaits it
                    await (w as unknown as WorkerConnection).terminate()
                    return slow
                  },
                  { thread: 'worker' },
                )
                .catch((e: unknown) =>
                  e instanceof DatabaseError && e.kind === 'broken' ? 'killed' : Promise.reject(e),
                )
            }
            return pool
              .get('select 1', [], { thread: 'worker', timeoutMs: 1, signal: AbortSignal.abort() })
              .catch(() => 'aborted')
          case 5: {
            let n = 0
            for await (const _ of pool.iterate('select id from t', [], { chunkSize: 3 })) {
              if (++n === 2) break
            }
            return 'iterated'
          }
          default:
            return pool.get('select count(*) as n from t').then(() => 'read')
        }
      })
      const outcomes = await Promise.all(calls)
      expect(outcomes.filter((o) => o === 'write')).toHaveLength(100)
      expect(outcomes.filter((o) => o === 'killed')).toHaveLength(1)
      expect(outcomes.filter((o) => o === 'thrown')).toHaveLength(100)
      expect(await pool.get('select count(*) as n from t')).toEqual({ n: written })
      const status = pool.status()
      expect(status.workers.inUse + status.readers.inUse + status.waiting).toBe(0)
      // The writer may be running a scheduled checkpoint; it comes back idle.
      expect(await settlesTo(() => pool.status().writer.inUse, false)).toBe(false)
      await pool.close()
      expect(await settlesTo(() => countThreads(), threads)).toBe(threads)
      expect(countOpenFiles(t.filename)?.total ?? 0).toBe(0)
    },
  },
])
