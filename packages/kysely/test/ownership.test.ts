import { readdirSync, readlinkSync } from 'node:fs'
import { join } from 'node:path'
import { LitepoolDialect } from '@litepool/kysely'
import { ConfigError, PoolClosedError, silentLogger, TransactionError } from '@litepool/pool-core'
import { Kysely } from 'kysely'
import { describe, expect, it } from 'vitest'
import { type Database, DRIVERS, makeDb, makePool, seed, tempDir } from './setup.js'

/** Open file descriptors of this process that point at `path` (or its -wal/-shm). */
function openHandles(path: string): number {
  let n = 0
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`).startsWith(path)) n++
    } catch {
      // closed while we looked
    }
  }
  return n
}

for (const d of DRIVERS) {
  describe(`${d.variant}: ownership and destroy`, () => {
    it('db.destroy() leaves a borrowed pool open; Kysely instances can share one pool', async () => {
      const pool = makePool(d)
      const first = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) })
      const second = makeDb(pool)
      await seed(first)
      await first.destroy()
      expect(pool.status().state).toBe('open')
      expect(await pool.read((c) => c.get('select count(*) as n from person'))).toEqual({ n: 3 })
      expect(await second.selectFrom('person').select('name').execute()).toHaveLength(3)
      await expect(first.selectFrom('person').selectAll().execute()).rejects.toThrow(/destroyed/)
    })

    it('destroy rolls back the transactions and ends the streams this instance holds', async () => {
      const pool = makePool(d)
      const setup = makeDb(pool)
      await seed(setup)
      await setup
        .insertInto('person')
        .values(Array.from({ length: 50 }, (_, i) => ({ name: `p${i}`, age: i })))
        .execute()
      const db = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) })
      const trx = await db.startTransaction().execute()
      await trx.deleteFrom('pet').execute()
      const stream = db.selectFrom('person').select('name').stream(10)[Symbol.asyncIterator]()
      await stream.next()
      expect(pool.status().writer.inUse).toBe(true)
      expect(pool.status().readers.inUse).toBe(1)
      await db.destroy()
      expect(pool.status().writer.inUse).toBe(false)
      expect(pool.status().readers.inUse).toBe(0)
      expect(await setup.selectFrom('pet').select('id').execute()).toHaveLength(3) // rolled back
      const late = await trx
        .insertInto('pet')
        .values({ owner_id: 1, species: 'x' })
        .execute()
        .catch((e: unknown) => e)
      expect(late).toBeInstanceOf(TransactionError)
      await expect(trx.commit().execute()).rejects.toBeInstanceOf(TransactionError)
      let streamError: unknown
      try {
        for (let i = 0; i < 10; i++) await stream.next()
      } catch (error) {
        streamError = error
      }
      expect(streamError).toBeInstanceOf(PoolClosedError)
    })

    it('a dialect given poolOptions creates its pool on first use and closes it on destroy', async () => {
      const dir = tempDir()
      const filename = join(dir, 'owned.db')
      const db = new Kysely<Database>({
        dialect: new LitepoolDialect({
          poolOptions: { driver: d.driver({ filename }), logger: silentLogger },
        }),
      })
      expect(openHandles(filename)).toBe(0) // lazy: nothing opened before the first query
      await seed(db)
      expect(await db.selectFrom('person').select('name').execute()).toHaveLength(3)
      expect(openHandles(filename)).toBeGreaterThan(0)
      await db.destroy()
      expect(openHandles(filename)).toBe(0)
      await db.destroy() // twice is fine
    })

    it('db.connection() works: each query is routed, transactions inside it hold the writer', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      const count = await db.connection().execute(async (conn) => {
        await conn
          .transaction()
          .execute((trx) => trx.insertInto('person').values({ name: 'C', age: 1 }).execute())
        const rows = await conn.selectFrom('person').select('id').execute()
        return rows.length
      })
      expect(count).toBe(4)
    })

    it('invalid options throw one ConfigError listing every issue', () => {
      const pool = makePool(d)
      const error = (() => {
        try {
          new LitepoolDialect({
            pool,
            poolOptions: { driver: d.driver({ filename: 'x.db' }) },
            transactionMode: 'eager',
            extra: 1,
          } as never)
        } catch (e) {
          return e
        }
        return undefined
      })()
      expect(error).toBeInstanceOf(ConfigError)
      expect((error as ConfigError).issues.map((i) => i.path).sort()).toEqual([
        'extra',
        'pool',
        'transactionMode',
      ])
      expect(() => new LitepoolDialect({} as never)).toThrow(/a litepool Pool/)
      expect(() => new LitepoolDialect({ pool: {} } as never)).toThrow(ConfigError)
    })
  })
}
