import { setImmediate as tick } from 'node:timers/promises'
import { DatabaseError, LockTimeoutError } from '@litepool/pool-core'
import { describe, expect, it } from 'vitest'
import { addedNames, DRIVERS, gate, makeDb, makePool, seed } from './setup.js'

for (const d of DRIVERS) {
  describe(`${d.variant}: transactions`, () => {
    it('commits on success and rolls back on error', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      const id = await db.transaction().execute(async (trx) => {
        const row = await trx
          .insertInto('person')
          .values({ name: 'Alan', age: 41 })
          .returning('id')
          .executeTakeFirstOrThrow()
        await trx.insertInto('pet').values({ owner_id: row.id, species: 'cat' }).execute()
        return row.id
      })
      expect(id).toBe(4)
      const failure = await db
        .transaction()
        .execute(async (trx) => {
          await trx.insertInto('person').values({ name: 'Temp', age: 1 }).execute()
          throw new RangeError('boom')
        })
        .catch((e: unknown) => e)
      expect(failure).toBeInstanceOf(RangeError)
      const names = await db.selectFrom('person').select('name').orderBy('id').execute()
      expect(names.map((r) => r.name)).toEqual(['Ada', 'Grace', 'Linus', 'Alan'])
      expect(pool.status().writer.inUse).toBe(false)
    })

    it('begins IMMEDIATE by default: the write lock is held from BEGIN, before any write', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      // A second pool on the same file plays "another process".
      const other = makePool(d, {
        acquireTimeoutMs: 150,
        driverOptions: { filename: pool.status().target },
      })
      await db.transaction().execute(async (trx) => {
        await trx.selectFrom('person').selectAll().execute() // reads only, so far
        const error = await other
          .write((c) => c.run('update counter set value = 1'))
          .catch((e: unknown) => e)
        expect(error).toBeInstanceOf(LockTimeoutError)
      })
    })

    it('transactionMode "deferred" takes the lock only at the first write', async () => {
      const pool = makePool(d)
      const db = makeDb(pool, { transactionMode: 'deferred' })
      await seed(db)
      const other = makePool(d, {
        acquireTimeoutMs: 150,
        driverOptions: { filename: pool.status().target },
      })
      await db.transaction().execute(async (trx) => {
        await trx.selectFrom('person').selectAll().execute()
        await other.write((c) => c.run('update counter set value = 1'))
      })
      const exclusive = makeDb(pool, { transactionMode: 'exclusive' })
      await exclusive.transaction().execute(async () => {
        const error = await other
          .write((c) => c.run('update counter set value = 2'))
          .catch((e: unknown) => e)
        expect(error).toBeInstanceOf(LockTimeoutError)
      })
    })

    for (const [where, options, lane] of [
      ['a worker-thread reader', {}, 'workers'],
      ['a main-thread reader when workers.max is 0', { workers: { max: 0 } }, 'readers'],
    ] as const) {
      it(`a read-only transaction reads one snapshot on ${where} while writes go on`, async () => {
        const pool = makePool(d, options)
        const db = makeDb(pool)
        await seed(db)
        const other = lane === 'workers' ? 'readers' : 'workers'
        const result = await db
          .transaction()
          .setAccessMode('read only')
          .execute(async (trx) => {
            const before = await trx.selectFrom('person').select('name').execute()
            expect(pool.status()[lane].inUse).toBe(1)
            expect(pool.status()[other].inUse).toBe(0)
            expect(pool.status().writer.inUse).toBe(false)
            await db.insertInto('person').values({ name: 'Alan', age: 41 }).execute() // not waiting for us
            const after = await trx.selectFrom('person').select('name').execute()
            const write = await trx
              .deleteFrom('person')
              .execute()
              .catch((e: unknown) => e)
            return { before: before.length, after: after.length, write }
          })
        expect(result.before).toBe(3)
        expect(result.after).toBe(3) // same snapshot
        expect(result.write).toBeInstanceOf(DatabaseError)
        expect(result.write).toMatchObject({ kind: 'readonly' })
        expect(await db.selectFrom('person').select('id').execute()).toHaveLength(4)
        expect(pool.status()[lane].inUse).toBe(0)
      })
    }

    it('controlled transactions: savepoint, rollbackToSavepoint, releaseSavepoint, commit', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      const trx = await db.startTransaction().execute()
      await trx.insertInto('person').values({ name: 'Kept', age: 1 }).execute()
      const afterKept = await trx.savepoint('after_kept').execute()
      await afterKept.insertInto('person').values({ name: 'Dropped', age: 2 }).execute()
      const back = await afterKept.rollbackToSavepoint('after_kept').execute()
      const released = await back.releaseSavepoint('after_kept').execute()
      await released.insertInto('person').values({ name: 'Also kept', age: 3 }).execute()
      expect(pool.status().writer.inUse).toBe(true)
      await released.commit().execute()
      expect(pool.status().writer.inUse).toBe(false)
      expect(await addedNames(db)).toEqual(['Kept', 'Also kept'])

      const rolled = await db.startTransaction().execute()
      await rolled.deleteFrom('pet').execute()
      await rolled.rollback().execute()
      expect(await db.selectFrom('pet').select('id').execute()).toHaveLength(3)
      expect(pool.status().writer.inUse).toBe(false)
    })

    it('transactions queue FIFO on the writer, and reads never wait for them', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      const inside = gate()
      const release = gate()
      const order: string[] = []
      const first = db.transaction().execute(async (trx) => {
        await trx.updateTable('counter').set({ value: 1 }).execute()
        inside.open()
        await release.promise
        order.push('first')
      })
      await inside.promise
      const second = db.transaction().execute(async (trx) => {
        await trx.updateTable('counter').set({ value: 2 }).execute()
        order.push('second')
      })
      while (pool.status().writer.queued === 0) await tick()
      const read = await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()
      expect(read.value).toBe(0) // committed state, read on a reader while the writer is held
      expect(pool.status().writer.queued).toBe(1)
      release.open()
      await Promise.all([first, second])
      expect(order).toEqual(['first', 'second'])
      expect((await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()).value).toBe(
        2,
      )
    })
  })
}
