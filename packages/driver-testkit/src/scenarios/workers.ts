import { DatabaseError } from '@litepool/pool-core'
import {
  type SqliteConnection,
  type SqliteDriver,
  WORKER_EXIT,
  type WorkerConnection,
} from '@litepool/sqlite-base'
import { expect } from 'vitest'
import type { ScenarioContext } from '../harness.js'
import { countOpenFiles, countThreads, settlesTo } from '../helpers.js'
import { type Scenario, scenarios } from '../scenario.js'

/** A read that takes tens of milliseconds and returns one row: a recursive count. */
export const SLOW = (n: number): string =>
  `with recursive c(i) as (select 1 union all select i + 1 from c where i < ${n}) select count(*) as n from c`

/** A worker-hosted reader through the driver (closed after the scenario). */
async function openWorker(t: ScenarioContext, driver: SqliteDriver): Promise<WorkerConnection> {
  const workers = driver.workers
  if (workers === undefined) throw new TypeError(`${driver.name} offers no worker readers`)
  const w = (await workers.open()) as WorkerConnection
  t.defer(() => workers.close(w))
  return w
}

/** Rows with blobs as plain byte arrays, so a Buffer and a Uint8Array of the same bytes compare equal. */
function bytes(rows: readonly unknown[]): unknown[] {
  return rows.map((row) =>
    Object.fromEntries(
      Object.entries(row as Record<string, unknown>).map(([k, v]) => [
        k,
        v instanceof Uint8Array ? [...v] : v,
      ]),
    ),
  )
}

async function seeded(t: ScenarioContext, rows = 1_000): Promise<SqliteConnection> {
  const c = await t.open()
  c.exec('create table t(id integer primary key, x, label text, data blob)')
  c.exec(
    `with recursive n(i) as (select 1 union all select i + 1 from n where i < ${rows})
     insert into t select i, i * 2, 'row ' || i, randomblob(8) from n`,
  )
  return c
}

const VALUE_QUERIES = [
  ['select 1 as i, -7 as neg, 2.5 as r, 5e-324 as tiny, null as n', undefined],
  ["select 'héllo ☃ 😀' as t, '' as empty, x'00ff10' as b, x'' as nob", undefined],
  ['select ? as a, ? as b, ? as c, ? as d', [1, 'two', null, new Uint8Array([3])]],
  ['select :a as a, @b as b, $c as c', { a: 1, b: 'x', c: 2.5 }],
  ['select * from t order by id limit 20', undefined],
  ['select * from t where id = ?', [123_456]],
] as const

/**
 * The driver's readers in worker threads (`driver.workers`), and the pool's routing to them:
 * the same rows and errors as on the main thread, streaming with back-pressure, crashes that
 * give a typed error and leak nothing, checkpoints off the main thread.
 */
export const workerScenarios: readonly Scenario[] = scenarios('workers', [
  {
    key: 'values-match-main',
    title:
      'a worker-hosted reader returns the same rows as a main-thread reader (every storage class, parameters)',
    async run(t) {
      const driver = t.driver()
      await seeded(t)
      const main = await t.open('reader')
      const w = await openWorker(t, driver)
      expect(w.thread).toBe('worker')
      for (const [sql, params] of VALUE_QUERIES) {
        const expected = bytes(main.all(sql, params as never))
        expect(bytes(await w.all(sql, params as never)), sql).toEqual(expected)
        expect(bytes([(await w.get(sql, params as never)) ?? {}])).toEqual(
          bytes([main.get(sql, params as never) ?? {}]),
        )
      }
      expect(await w.get('select * from t where id = -1')).toBeUndefined()
      const blob = (await w.get<{ b: Uint8Array }>("select x'0102' as b"))?.b
      expect(blob).toBeInstanceOf(Uint8Array)
    },
  },
  {
    key: 'safe-integers',
    title: 'with safeIntegers, a worker-hosted reader returns integers as bigint',
    async run(t) {
      const driver = t.driver({ safeIntegers: true })
      await t.open('writer', { safeIntegers: true })
      const w = await openWorker(t, driver)
      expect(await w.get('select 9007199254740993 as big, 1 as one')).toEqual({
        big: 9007199254740993n,
        one: 1n,
      })
    },
  },
  {
    key: 'errors-classified',
    title:
      'errors in a worker arrive as the same DatabaseError kinds and codes as on the main thread',
    async run(t) {
      const driver = t.driver()
      await seeded(t, 10)
      const main = await t.open('reader')
      const w = await openWorker(t, driver)
      for (const sql of ['selec nonsense', 'select * from missing', 'delete from t']) {
        let expected: unknown
        try {
          main.all(sql)
        } catch (error) {
          expected = error
        }
        const error = await w.all(sql).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(DatabaseError)
        const { kind, driverCode, errno } = expected as DatabaseError
        expect(error).toMatchObject({ kind, driverCode, errno })
      }
      const bad = await w.get('select ?', [() => 1] as never).catch((e: unknown) => e)
      expect(bad).toMatchObject({ name: 'DatabaseError', kind: 'misuse' })
      expect(await w.get('select 1 as ok')).toEqual({ ok: 1 }) // still usable
    },
  },
  {
    key: 'all-in-chunks',
    title: 'a large all() arrives whole and in order (sent from the worker in chunks)',
    async run(t) {
      const driver = t.driver()
      await seeded(t, 5_000)
      const w = await openWorker(t, driver)
      const rows = await w.all<{ id: number }>('select id from t order by id')
      expect(rows).toHaveLength(5_000)
      expect(rows.every((row, i) => row.id === i + 1)).toBe(true)
    },
  },
  {
    key: 'iterate-early-return',
    title:
      'iterate streams in chunks; leaving early ends the statement in the worker (it no longer pins the WAL)',
    async run(t) {
      const driver = t.driver()
      const writer = await seeded(t, 1_000)
      const w = await openWorker(t, driver)
      const ids: number[] = []
      for await (const row of w.iterate<{ id: number }>('select id from t order by id', [], {
        chunkSize: 7,
      })) {
        ids.push(row.id)
        if (ids.length === 10) {
          expect(w.needsReset).toBe(true)
          // While the worker's statement is open it holds a read snapshot: RESTART must wait.
          writer.run('insert into t(x) values (0)')
          expect(writer.get<{ busy: number }>('pragma wal_checkpoint(RESTART)')?.busy).toBe(1)
          break
        }
      }
      expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
      expect(w.needsReset).toBe(false)
      expect(writer.get<{ busy: number }>('pragma wal_checkpoint(TRUNCATE)')?.busy).toBe(0)
      let n = 0
      for await (const _ of w.iterate('select id from t')) n++
      expect(n).toBe(1_001)
    },
  },
  {
    key: 'reset',
    title: 'a worker reader left inside a transaction needs a reset, and the reset ends it',
    async run(t) {
      const driver = t.driver()
      await seeded(t, 10)
      const w = await openWorker(t, driver)
      expect(w.needsReset).toBe(false)
      await w.exec('begin')
      await w.get('select count(*) from t')
      expect(w.needsReset).toBe(true)
      await w.reset()
      expect(w.needsReset).toBe(false)
      await w.exec('begin') // would fail "cannot start a transaction within a transaction"
      await w.exec('commit')
    },
  },
  {
    key: 'crash-mid-query',
    title:
      'a worker ended mid-query gives its caller a DatabaseError (broken, LITEPOOL_WORKER_EXIT) and leaks no thread or descriptor',
    async run(t) {
      const driver = t.driver()
      const writer = await seeded(t, 10)
      const threads = countThreads()
      const w = (await driver.workers?.open()) as WorkerConnection
      expect(countThreads()).toBe((threads ?? 0) + (threads === undefined ? 0 : 1))
      const running = w.get(SLOW(3_000_000)).catch((e: unknown) => e)
      await new Promise((resolve) => setTimeout(resolve, 20))
      await w.terminate()
      const error = await running
      expect(error).toBeInstanceOf(DatabaseError)
      expect(error).toMatchObject({ kind: 'broken', driverCode: WORKER_EXIT })
      expect((error as Error).message).toContain('with recursive')
      expect(w.closed).toBe(true)
      expect(await w.get('select 1').catch((e: unknown) => e)).toMatchObject({ kind: 'broken' })
      await expect(driver.workers?.ping(w)).rejects.toMatchObject({ kind: 'broken' })
      await driver.workers?.close(w)
      expect(await settlesTo(() => countThreads(), threads)).toBe(threads)
      // SQLite defers closing a descriptor while another connection of the process holds locks
      // on the file (closing it would drop the process's POSIX locks): gone with the writer.
      await t.close(writer)
      expect(await settlesTo(() => countOpenFiles(t.filename)?.total, 0)).toBe(0)
    },
  },
  {
    key: 'pool-read-on-worker',
    title:
      "pool.read(fn, { thread: 'worker' }) runs fn on a worker-hosted reader; inside a transaction on its connection",
    async run(t) {
      const pool = t.pool({ workers: { max: 1 } })
      await pool.write((c) => c.exec('create table t(x); insert into t values (1)'))
      const thread = await pool.read(
        async (w) => {
          expect(await w.get('select count(*) as n from t')).toEqual({ n: 1 })
          return w.thread
        },
        { thread: 'worker' },
      )
      expect(thread).toBe('worker')
      expect(pool.status().workers).toMatchObject({ open: 1, idle: 1, inUse: 0 })
      await pool.transaction(async (tx) => {
        tx.run('insert into t values (2)')
        const seen = await pool.read(
          async (w) => ({
            thread: w.thread,
            role: w.role,
            n: await w.get('select count(*) as n from t'),
          }),
          { thread: 'worker' },
        )
        expect(seen).toEqual({ thread: 'main', role: 'writer', n: { n: 2 } }) // read-your-writes
      })
      const memory = t.pool({ driverOptions: { filename: ':memory:' } })
      expect(await memory.read((w) => w.get('select 1 as one'), { thread: 'worker' })).toEqual({
        one: 1,
      })
      expect(memory.status().workers.max).toBe(0)
    },
  },
])
