import type { Lease } from '@litepool/pool-core'
import type { NativeStatement, SqliteConnection, SqliteStatement } from '@litepool/sqlite-base'
import { expect } from 'vitest'
import { type Scenario, scenarios } from '../scenario.js'

/**
 * A way a borrower can leave a transaction open on the writer. `before` runs in an earlier
 * borrow of the same connection (what it returns is kept across borrows, as careless code does);
 * `leave` opens the transaction in the later borrow, without going through `before`'s borrow.
 */
interface LeftOpen<T> {
  readonly key: string
  readonly title: string
  before(c: Lease<SqliteConnection>): T
  leave(c: Lease<SqliteConnection>, kept: T): void
}

const leftOpen = <T>(way: LeftOpen<T>): LeftOpen<unknown> => way as LeftOpen<unknown>

/** The raw handle's own exec, whichever binding it is (both name it `exec`). */
const rawExec = (raw: unknown, sql: string) => (raw as { exec(sql: string): unknown }).exec(sql)

const WAYS: readonly LeftOpen<unknown>[] = [
  leftOpen({
    key: 'begin-after-comment',
    title: 'a BEGIN behind a comment',
    before: () => undefined,
    leave: (c) => c.run('/* why */ -- and\n BEGIN'),
  }),
  leftOpen({
    key: 'savepoint',
    title: 'a SAVEPOINT outside any transaction',
    before: () => undefined,
    leave: (c) => c.run('SAVEPOINT s'),
  }),
  leftOpen({
    key: 'exec-script',
    title: 'a script that ends inside BEGIN',
    before: () => undefined,
    leave: (c) => c.exec('select 1; begin'),
  }),
  leftOpen<SqliteStatement>({
    key: 'statement-kept',
    title: 'a BEGIN statement prepared in an earlier borrow',
    before: (c) => c.prepare('BEGIN'),
    leave: (_, begin) => void begin.run(),
  }),
  leftOpen<unknown>({
    key: 'raw-kept',
    title: 'the raw handle taken in an earlier borrow',
    before: (c) => c.raw,
    leave: (_, raw) => void rawExec(raw, 'BEGIN'),
  }),
  leftOpen<NativeStatement>({
    key: 'native-kept',
    title: "a statement's native handle taken in an earlier borrow",
    before: (c) => c.prepare('BEGIN').native,
    leave: (_, begin) => void begin.run(undefined),
  }),
]

/**
 * The connection skips asking SQLite whether a transaction is open while it knows none can be;
 * whatever way a borrower leaves one open, the pool must still see it and roll it back.
 */
export const leftOpenScenarios: readonly Scenario[] = scenarios('left-open', [
  ...WAYS.map(
    (way): Scenario => ({
      key: way.key,
      title: `a transaction left open by ${way.title} is rolled back before the next borrower`,
      async run(t) {
        const pool = t.pool()
        await pool.write((c) => c.exec('create table v(x)'))
        const first = await pool.acquire({ role: 'writer' })
        const kept = way.before(first)
        await first.release()
        await pool.read((c) => c.get('select count(*) as n from v')) // an ordinary borrow between
        const second = await pool.acquire({ role: 'writer' })
        way.leave(second, kept)
        second.run('insert into v values (1)')
        await second.release()
        await pool.write((c) => c.run('insert into v values (2)')) // BEGIN would fail inside one
        const outside = await t.open('reader')
        expect(outside.all('select x from v')).toEqual([{ x: 2 }])
      },
    }),
  ),
  {
    key: 'reader-snapshot',
    title: 'a read snapshot left open by a kept BEGIN statement does not reach the next reader',
    async run(t) {
      const pool = t.pool({ readers: { min: 1, max: 1 } })
      await pool.write((c) => c.exec('create table v(x); insert into v values (1)'))
      const begin = await pool.read((c) => c.prepare('BEGIN'))
      await pool.read((c) => {
        begin.run()
        return c.get('select count(*) as n from v') // the snapshot starts here
      })
      await pool.write((c) => c.run('insert into v values (2)'))
      expect(await pool.read((c) => c.get('select count(*) as n from v'))).toEqual({ n: 2 })
    },
  },
])
