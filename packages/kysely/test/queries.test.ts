import { DatabaseError, TransactionError } from '@litepool/pool-core'
import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { DRIVERS, makeDb, makePool, seed } from './setup.js'

for (const d of DRIVERS) {
  describe(`${d.variant}: queries`, () => {
    it('selects with joins, filters and ordering', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const rows = await db
        .selectFrom('person')
        .innerJoin('pet', 'pet.owner_id', 'person.id')
        .select(['person.name', 'pet.species'])
        .where('pet.species', '=', 'cat')
        .orderBy('person.name')
        .execute()
      expect(rows).toEqual([
        { name: 'Ada', species: 'cat' },
        { name: 'Grace', species: 'cat' },
      ])
      const lonely = await db
        .selectFrom('person')
        .leftJoin('pet', 'pet.owner_id', 'person.id')
        .select('person.name')
        .where('pet.id', 'is', null)
        .execute()
      expect(lonely).toEqual([{ name: 'Linus' }])
    })

    it('runs `with` (CTE) queries', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const rows = await db
        .with('owners', (q) =>
          q
            .selectFrom('pet')
            .select(['owner_id', (eb) => eb.fn.countAll<number>().as('pets')])
            .groupBy('owner_id'),
        )
        .selectFrom('owners')
        .innerJoin('person', 'person.id', 'owners.owner_id')
        .select(['person.name', 'owners.pets'])
        .orderBy('owners.pets', 'desc')
        .execute()
      expect(rows).toEqual([
        { name: 'Ada', pets: 2 },
        { name: 'Grace', pets: 1 },
      ])
    })

    it('insert reports insertId and numInsertedOrUpdatedRows; returning gives rows', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const result = await db
        .insertInto('person')
        .values({ name: 'Alan', age: 41 })
        .executeTakeFirstOrThrow()
      expect(result.insertId).toBe(4n)
      expect(result.numInsertedOrUpdatedRows).toBe(1n)
      const returned = await db
        .insertInto('person')
        .values([
          { name: 'Barbara', age: 70 },
          { name: 'Edsger', age: 72 },
        ])
        .returning(['id', 'name'])
        .execute()
      expect(returned).toEqual([
        { id: 5, name: 'Barbara' },
        { id: 6, name: 'Edsger' },
      ])
    })

    it('update and delete report affected rows; returning gives rows', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const updated = await db
        .updateTable('person')
        .set({ age: 1 })
        .where('age', 'is not', null)
        .executeTakeFirstOrThrow()
      expect(updated.numUpdatedRows).toBe(2n)
      const bumped = await db
        .updateTable('person')
        .set((eb) => ({ age: eb('age', '+', 1) }))
        .where('name', '=', 'Ada')
        .returning(['name', 'age'])
        .execute()
      expect(bumped).toEqual([{ name: 'Ada', age: 2 }])
      const deleted = await db
        .deleteFrom('pet')
        .where('species', '=', 'cat')
        .executeTakeFirstOrThrow()
      expect(deleted.numDeletedRows).toBe(2n)
      const gone = await db.deleteFrom('pet').returning('species').execute()
      expect(gone).toEqual([{ species: 'dog' }])
    })

    it('raw SQL: reads return rows, writes report changes', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const read = await sql<{
        n: number
      }>`select count(*) as n from person where age > ${40}`.execute(db)
      expect(read.rows).toEqual([{ n: 1 }])
      const write = await sql`update person set age = ${9} where age is null`.execute(db)
      expect(write.numAffectedRows).toBe(1n)
      const returning = await sql<{
        id: number
      }>`insert into person (name) values (${'Ken'}) returning id`.execute(db)
      expect(returning.rows).toEqual([{ id: 4 }])
      const pragma = await sql<{ name: string }>`pragma table_info(person)`.execute(db)
      expect(pragma.rows.map((r) => r.name)).toEqual(['id', 'name', 'age'])
      const explained = await db.selectFrom('person').selectAll().explain()
      expect(explained.length).toBeGreaterThan(0)
    })

    it('raw transaction control is refused with a clear error', async () => {
      const db = makeDb(makePool(d))
      const error = await sql`begin immediate`.execute(db).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(TransactionError)
      expect((error as TransactionError).code).toBe('LITEPOOL_KYSELY_RAW_TRANSACTION')
      expect((error as Error).message).toMatch(/db\.transaction\(\)/)
    })

    it('VACUUM and pragma assignments run on the writer outside a transaction', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      await sql`vacuum`.execute(db)
      await sql`pragma user_version = 7`.execute(db)
      const version = await sql<{ user_version: number }>`pragma user_version`.execute(db)
      expect(version.rows).toEqual([{ user_version: 7 }])
    })

    it('errors are classified DatabaseErrors', async () => {
      const db = makeDb(makePool(d))
      await seed(db)
      const unique = await db
        .insertInto('person')
        .values({ name: 'Ada', age: 1 })
        .execute()
        .catch((e: unknown) => e)
      expect(unique).toBeInstanceOf(DatabaseError)
      expect(unique).toMatchObject({ kind: 'constraint', driverCode: 'SQLITE_CONSTRAINT_UNIQUE' })
      const foreign = await db
        .insertInto('pet')
        .values({ owner_id: 99, species: 'owl' })
        .execute()
        .catch((e: unknown) => e)
      expect(foreign).toMatchObject({
        kind: 'constraint',
        driverCode: 'SQLITE_CONSTRAINT_FOREIGNKEY',
      })
      const missing = await sql`select * from nowhere`.execute(db).catch((e: unknown) => e)
      expect(missing).toBeInstanceOf(DatabaseError)
      expect((missing as DatabaseError).message).toMatch(/no such table: nowhere/)
    })

    it('stream() reads rows in chunks on a reader, and breaking out returns it', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      await db
        .insertInto('person')
        .values(Array.from({ length: 250 }, (_, i) => ({ name: `p${i}`, age: i })))
        .execute()
      const names: string[] = []
      for await (const row of db.selectFrom('person').select('name').orderBy('id').stream(100)) {
        names.push(row.name)
        if (names.length === 1) expect(pool.status().readers.inUse).toBe(1)
      }
      expect(names).toHaveLength(253)
      expect(names.slice(0, 4)).toEqual(['Ada', 'Grace', 'Linus', 'p0'])
      expect(pool.status().readers.inUse).toBe(0)
      let seen = 0
      for await (const _ of db.selectFrom('person').selectAll().stream(10)) {
        if (++seen === 15) break
      }
      expect(seen).toBe(15)
      expect(pool.status().readers.inUse).toBe(0)
      const returned: string[] = []
      for await (const row of db
        .updateTable('person')
        .set({ age: 0 })
        .where('id', '<', 3)
        .returning('name')
        .stream()) {
        returned.push(row.name)
      }
      expect(returned.sort()).toEqual(['Ada', 'Grace'])
    })

    it('reuses the connection’s cached statement instead of preparing per query', async () => {
      const pool = makePool(d, { readers: { min: 1, max: 1 } })
      const db = makeDb(pool)
      await seed(db)
      const raw = (await pool.read((c) => c.raw)) as { prepare: (sql: string) => unknown }
      const native = raw.prepare.bind(raw)
      let prepared = 0
      // An own property shadows the prototype's (node:sqlite's is not writable by assignment).
      Object.defineProperty(raw, 'prepare', {
        configurable: true,
        value: (text: string) => {
          prepared++
          return native(text)
        },
      })
      for (let id = 1; id <= 20; id++) {
        await db.selectFrom('person').select('name').where('id', '=', id).executeTakeFirst()
      }
      expect(prepared).toBe(1)
    })
  })
}
