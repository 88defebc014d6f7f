import { isBusyError, LockTimeoutError } from '@litepool/pool-core'
import { walSize } from '@litepool/sqlite-base'
import { expect } from 'vitest'
import { countOpenFiles, gate } from '../helpers.js'
import { type Scenario, scenarios } from '../scenario.js'

/** The real driver under the real pool (`createPool` from `@litepool/pool-core`). */
export const poolScenarios: readonly Scenario[] = scenarios('pool', [
  {
    key: 'concurrent-writers',
    title: '100 concurrent async writers through the pool: no SQLITE_BUSY, every row present',
    async run(t) {
      const pool = t.pool({ readers: { min: 1, max: 4 } })
      await pool.write((c) => c.exec('create table v(id integer primary key, n integer unique)'))
      const results = await Promise.allSettled([
        ...Array.from({ length: 100 }, (_, n) =>
          pool.write(async (c) => {
            c.run('insert into v(n) values (?)', [n])
            await Promise.resolve() // let other callers queue while this transaction is open
            return c.get<{ k: number }>('select count(*) as k from v')?.k
          }),
        ),
        ...Array.from({ length: 20 }, () => pool.read((c) => c.get('select count(*) as k from v'))),
      ])
      const failures = results.filter((r) => r.status === 'rejected')
      expect(failures.filter((r) => isBusyError(r.reason))).toEqual([])
      expect(failures).toEqual([])
      const rows = await pool.read((c) => c.all<{ n: number }>('select n from v order by n'))
      expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 100 }, (_, n) => n))
    },
  },
  {
    key: 'lock-timeout-names-file',
    title:
      'a writer that cannot get the lock by its deadline gets LockTimeoutError naming the file',
    async run(t) {
      const holder = await t.open('writer')
      holder.exec('create table v(x)')
      holder.run('BEGIN IMMEDIATE')
      const pool = t.pool({ acquireTimeoutMs: 300 })
      const started = performance.now()
      const error = await pool.write((c) => c.run('insert into v values (1)')).catch((e) => e)
      const waited = performance.now() - started
      expect(error).toBeInstanceOf(LockTimeoutError)
      expect((error as LockTimeoutError).code).toBe('LITEPOOL_LOCK_TIMEOUT')
      expect((error as LockTimeoutError).message).toContain(t.filename)
      expect(waited).toBeGreaterThanOrEqual(250)
      expect(waited).toBeLessThan(5_000)
      holder.run('COMMIT')
      await pool.write((c) => c.run('insert into v values (2)'))
      expect(await pool.read((c) => c.all('select x from v'))).toEqual([{ x: 2 }])
    },
  },
  {
    key: 'state-restored-between-borrowers',
    title:
      'a pragma a callback changed, or an iteration it left open, is reset before the next borrower',
    async run(t) {
      const pool = t.pool({ readers: { min: 1, max: 1 } })
      await pool.write((c) => c.exec('create table v(x); insert into v values (1), (2), (3)'))
      await pool.read((c) => c.exec('PRAGMA query_only = OFF'))
      expect(await pool.read((c) => c.get('PRAGMA query_only'))).toEqual({ query_only: 1 })
      const left = await pool.read((c) => {
        const rows = c.iterate<{ x: number }>('select x from v order by x')
        rows.next()
        return rows
      })
      // The unfinished iteration was ended on return: it no longer pins a read snapshot.
      expect(left.next()).toEqual({ done: true, value: undefined })
      // litepool's own pragmas are re-applied on the writer too (reset restores what litepool set).
      const before = await pool.write((c) => c.get('PRAGMA busy_timeout'))
      await pool.write((c) => c.exec('PRAGMA busy_timeout = 9999'))
      expect(await pool.write((c) => c.get('PRAGMA busy_timeout'))).toEqual(before)
    },
  },
  {
    key: 'reads-see-writes',
    title: 'reads see committed writes; inside a write transaction reads see its own writes',
    async run(t) {
      const pool = t.pool()
      await pool.write((c) => c.exec('create table v(x)'))
      const inside = gate<unknown>()
      await pool.transaction(async (tx) => {
        tx.run('insert into v values (1)')
        inside.open(await pool.read((c) => c.get('select count(*) as n from v')))
      })
      expect(await inside.promise).toEqual({ n: 1 })
      expect(await pool.read((c) => c.get('select count(*) as n from v'))).toEqual({ n: 1 })
    },
  },
  {
    key: 'memory-nested-in-read',
    title:
      "on ':memory:' (one connection) writes and reads nested in a read callback join it instead of waiting",
    async run(t) {
      const pool = t.pool({ acquireTimeoutMs: 500, driverOptions: { filename: ':memory:' } })
      await pool.write((c) => c.exec('create table v(x)'))
      const seen = await pool.read(async (c) => {
        await pool.write((w) => w.run('insert into v values (1)'))
        const failed = await pool
          .transaction((w) => {
            w.run('insert into v values (2)')
            throw new RangeError('undo me')
          })
          .catch((error: unknown) => error)
        expect(failed).toBeInstanceOf(RangeError)
        return [
          c.all('select x from v'),
          await pool.read((r) => r.get('select count(*) as n from v')),
        ]
      })
      expect(seen).toEqual([[{ x: 1 }], { n: 1 }])
      expect(await pool.read((c) => c.inTransaction)).toBe(false)
    },
  },
  {
    key: 'close-releases-everything',
    title: 'pool.close() truncates the WAL and leaves no descriptor on the db, -wal or -shm',
    async run(t) {
      const pool = t.pool({ readers: { min: 2, max: 4 } })
      await pool.write((c) => c.exec('create table v(id integer primary key, x)'))
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          pool.write((c) => c.run('insert into v(x) values (?)', [i])),
        ),
      )
      await Promise.all(Array.from({ length: 8 }, () => pool.read((c) => c.all('select * from v'))))
      expect(countOpenFiles(t.filename)?.total ?? 1).toBeGreaterThan(0)
      await pool.close()
      expect(walSize(t.filename)).toBe(0)
      const after = countOpenFiles(t.filename)
      if (after !== undefined) expect(after).toEqual({ db: 0, wal: 0, shm: 0, total: 0 })
    },
  },
])
