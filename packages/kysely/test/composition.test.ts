import { AcquireTimeoutError } from '@litepool/pool-core'
import type { Kysely, Transaction } from 'kysely'
import { describe, expect, it } from 'vitest'
import {
  addedNames,
  type Database,
  DRIVERS,
  gate,
  makeDb,
  makePool,
  seed,
  type TestPool,
} from './setup.js'

class Abort extends RangeError {}

/**
 * Inside a Kysely transaction: writes through `trx`, `db`, `pool.write`, a nested
 * `pool.transaction` and a nested `db.transaction` (the last two throw, undoing only their own
 * savepoint), then checks that reads see the uncommitted rows on the transaction's connection.
 */
async function writeThroughEveryApi(
  pool: TestPool,
  db: Kysely<Database>,
  trx: Transaction<Database>,
) {
  await trx.insertInto('person').values({ name: 'A', age: 1 }).execute()
  await db.insertInto('person').values({ name: 'B', age: 2 }).execute() // `db`, not `trx`
  await pool.write((c) => c.run("insert into person (name, age) values ('C', 3)"))
  await pool
    .transaction(async (c) => {
      c.run("insert into person (name, age) values ('D', 4)")
      throw new Abort('nested savepoint only')
    })
    .catch(() => undefined)
  await db
    .transaction()
    .execute(async (inner) => {
      await inner.insertInto('person').values({ name: 'E', age: 5 }).execute()
      throw new Abort('inner Kysely transaction only')
    })
    .catch(() => undefined)
  expect(await addedNames(db)).toEqual(['A', 'B', 'C'])
  expect(await pool.read((c) => c.inTransaction)).toBe(true)
  expect(pool.status().readers.inUse).toBe(0)
}

for (const d of DRIVERS) {
  describe(`${d.variant}: composition with litepool transactions`, () => {
    it('Kysely queries inside pool.transaction run on its connection and commit or roll back with it', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(async (tx) => {
        await db.insertInto('person').values({ name: 'Alan', age: 41 }).execute()
        // Reads see the uncommitted row: they run on the transaction's connection, not a reader.
        expect(
          await db.selectFrom('person').select('name').where('name', '=', 'Alan').execute(),
        ).toHaveLength(1)
        expect(tx.get<{ n: number }>('select count(*) as n from person')?.n).toBe(4)
        expect(pool.status().readers.inUse).toBe(0)
      })
      const failed = await pool
        .transaction(async () => {
          await db.deleteFrom('pet').execute()
          throw new Abort('undo')
        })
        .catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(Abort)
      expect(await db.selectFrom('pet').select('id').execute()).toHaveLength(3)
      expect(await db.selectFrom('person').select('id').execute()).toHaveLength(4)
    })

    it('a Kysely transaction inside pool.transaction is a savepoint: its rollback undoes only its work', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(async (tx) => {
        tx.run("insert into person (name, age) values ('Outer', 1)")
        const inner = await db
          .transaction()
          .execute(async (trx) => {
            await trx.insertInto('person').values({ name: 'Inner', age: 2 }).execute()
            expect(tx.get<{ n: number }>('select count(*) as n from person')?.n).toBe(5) // same connection
            throw new Abort('inner only')
          })
          .catch((e: unknown) => e)
        expect(inner).toBeInstanceOf(Abort)
        await db.transaction().execute(async (trx) => {
          await trx.insertInto('person').values({ name: 'Inner kept', age: 3 }).execute()
        })
      })
      expect(await addedNames(db)).toEqual(['Outer', 'Inner kept'])
      expect(pool.status().writer.inUse).toBe(false)
    })

    it('inside pool.transaction → db.transaction, pool.write, db writes and nested pool.transaction all join', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(() =>
        db.transaction().execute((trx) => writeThroughEveryApi(pool, db, trx)),
      )
      expect(await addedNames(db)).toEqual(['A', 'B', 'C'])
    })

    it('a read-only Kysely transaction inside pool.transaction sees the enclosing writes', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(async (tx) => {
        tx.run('delete from pet')
        const pets = await db
          .transaction()
          .setAccessMode('read only')
          .execute((trx) => trx.selectFrom('pet').select('id').execute())
        expect(pets).toEqual([])
      })
    })

    it('stream() inside pool.transaction reads on the transaction’s connection', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(async (tx) => {
        tx.run("insert into person (name) values ('Fresh')")
        const names: string[] = []
        for await (const row of db.selectFrom('person').select('name').orderBy('id').stream())
          names.push(row.name)
        expect(names).toEqual(['Ada', 'Grace', 'Linus', 'Fresh'])
        expect(pool.status().readers.inUse).toBe(0)
      })
    })

    it('two Kysely transactions overlapping inside one pool.transaction both fail and leave nothing', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await pool.transaction(async (tx) => {
        tx.run("insert into person (name) values ('Outer')")
        const bothOpen = gate()
        const second = gate()
        const a = db.transaction().execute(async (trx) => {
          await trx.insertInto('person').values({ name: 'A' }).execute()
          second.open()
          await bothOpen.promise
        })
        await second.promise
        const b = db.transaction().execute(async (trx) => {
          await trx.insertInto('person').values({ name: 'B' }).execute()
          bothOpen.open()
          await a.catch(() => undefined) // A ends first, while B's savepoint is still open
        })
        const [ra, rb] = await Promise.allSettled([a, b])
        expect(ra).toMatchObject({
          status: 'rejected',
          reason: { code: 'LITEPOOL_KYSELY_OVERLAP' },
        })
        expect(rb).toMatchObject({
          status: 'rejected',
          reason: { code: 'LITEPOOL_KYSELY_OVERLAP' },
        })
        expect(tx.all<{ name: string }>('select name from person where id > 3')).toEqual([
          { name: 'Outer' },
        ])
      })
      expect(await addedNames(db)).toEqual(['Outer'])
    })

    it('inside db.transaction → pool.write, pool.transaction, db writes and a nested db.transaction all join it', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 2_000 })
      const db = makeDb(pool)
      await seed(db)
      await db.transaction().execute((trx) => writeThroughEveryApi(pool, db, trx))
      expect(await addedNames(db)).toEqual(['A', 'B', 'C'])
      expect(pool.status().writer.inUse).toBe(false)
    })

    it('when the db.transaction callback throws, what pool.write and db wrote inside is rolled back too', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 2_000 })
      const db = makeDb(pool)
      await seed(db)
      const failed = await db
        .transaction()
        .execute(async (trx) => {
          await trx.deleteFrom('pet').execute()
          await pool.write((c) => c.run("insert into person (name) values ('P')"))
          await db.updateTable('person').set({ age: 0 }).execute()
          throw new Abort('undo all')
        })
        .catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(Abort)
      expect(await db.selectFrom('pet').select('id').execute()).toHaveLength(3)
      expect(await db.selectFrom('person').select('age').where('age', '=', 0).execute()).toEqual([])
      expect(await db.selectFrom('person').select('id').execute()).toHaveLength(3)
    })

    it('the first query of a new Kysely instance can be a db.transaction that calls pool.write', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 2_000 })
      await pool.write((c) => c.run('create table t (v text)'))
      const db = makeDb<{ t: { v: string } }>(pool) // init() runs inside this first transaction
      await db.transaction().execute(async (trx) => {
        await pool.write((c) => c.run("insert into t values ('pool')"))
        await trx.insertInto('t').values({ v: 'kysely' }).execute()
      })
      expect(await pool.read((c) => c.all('select v from t order by v'))).toEqual([
        { v: 'kysely' },
        { v: 'pool' },
      ])
    })

    it('code outside the callback does not join: a concurrent pool.write waits and commits on its own', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 2_000 })
      const db = makeDb(pool)
      await seed(db)
      const inside = gate()
      // Started before the Kysely transaction (and before anything switched context tracking on).
      const outsider = (async () => {
        await inside.promise
        await pool.write((c) => c.run("insert into person (name) values ('outsider')"))
      })()
      const failed = await db
        .transaction()
        .execute(async () => {
          await pool.write((c) => c.run("insert into person (name) values ('insider')"))
          inside.open()
          await new Promise((r) => setTimeout(r, 30))
          expect(pool.status().writer.queued).toBe(1) // the outsider waits for the writer
          throw new Abort('undo the insider only')
        })
        .catch((e: unknown) => e)
      expect(failed).toBeInstanceOf(Abort)
      await outsider
      expect(await addedNames(db)).toEqual(['outsider'])
      // And after the transaction, the caller's own context starts fresh transactions.
      await pool.write((c) => c.run("insert into person (name) values ('after')"))
      expect(await pool.read((c) => c.inTransaction)).toBe(false)
    })

    it('50 concurrent db.transactions that each increment through pool.write and `db` end at exactly 100', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 10_000 })
      const db = makeDb(pool)
      await db.schema
        .createTable('counter')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('value', 'integer')
        .execute()
      await db.insertInto('counter').values({ id: 1, value: 0 }).execute()
      const bump = () =>
        db
          .updateTable('counter')
          .set((eb) => ({ value: eb('value', '+', 1) }))
          .where('id', '=', 1)
          .execute()
      await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          db.transaction().execute(async (trx) => {
            const { value } = await db
              .selectFrom('counter')
              .select('value')
              .executeTakeFirstOrThrow()
            await new Promise((r) => setTimeout(r, i % 3))
            await pool.write((c) => c.run('update counter set value = ? where id = 1', [value + 1]))
            await (i % 2 === 0
              ? bump()
              : trx
                  .updateTable('counter')
                  .set((eb) => ({ value: eb('value', '+', 1) }))
                  .execute())
          }),
        ),
      )
      expect(await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()).toEqual({
        value: 100,
      })
      expect(pool.status().writer.queued).toBe(0)
    })

    it('inside an open db.startTransaction(), a write through `db` (not `trx`) times out with a hint', async () => {
      const pool = makePool(d, { acquireTimeoutMs: 150 })
      const db = makeDb(pool)
      await seed(db)
      const trx = await db.startTransaction().execute()
      const error = await db
        .insertInto('person')
        .values({ name: 'X', age: 1 })
        .execute()
        .catch((e: unknown) => e)
      await trx.rollback().execute()
      expect(error).toBeInstanceOf(AcquireTimeoutError)
      expect((error as Error).message).toMatch(/Use `trx`/)
    })
  })
}
