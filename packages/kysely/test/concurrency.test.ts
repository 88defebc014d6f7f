import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import { setImmediate as tick } from 'node:timers/promises'
import { CHANNELS } from '@litepool/pool-core'
import { describe, expect, it } from 'vitest'
import { DRIVERS, gate, makeDb, makePool, onCleanup, seed } from './setup.js'

interface AcquireEvent {
  readonly pool: string
  readonly role: string
  readonly purpose: string
}

/** Records `litepool:acquire` events of one pool until the test ends. */
function recordAcquires(poolName: string): AcquireEvent[] {
  const events: AcquireEvent[] = []
  const listener = (message: unknown) => {
    const event = message as AcquireEvent
    if (event.pool === poolName) events.push(event)
  }
  subscribe(CHANNELS.acquire, listener)
  onCleanup(() => {
    unsubscribe(CHANNELS.acquire, listener)
  })
  return events
}

for (const d of DRIVERS) {
  describe(`${d.variant}: concurrency`, () => {
    it('50 concurrent transactions read a counter and write it +1: exactly 50, no BUSY', async () => {
      const pool = makePool(d)
      const db = makeDb(pool)
      await seed(db)
      const results = await Promise.allSettled(
        Array.from({ length: 50 }, () =>
          db.transaction().execute(async (trx) => {
            const { value } = await trx
              .selectFrom('counter')
              .select('value')
              .where('id', '=', 1)
              .executeTakeFirstOrThrow()
            await tick() // let every other transaction try to get in between the read and the write
            await trx
              .updateTable('counter')
              .set({ value: value + 1 })
              .where('id', '=', 1)
              .execute()
          }),
        ),
      )
      expect(results.filter((r) => r.status === 'rejected')).toEqual([])
      const { value } = await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()
      expect(value).toBe(50)
    })

    it('200 concurrent selects run on reader connections, several at once, never on the writer', async () => {
      const pool = makePool(d, { readers: { min: 1, max: 4 } })
      const db = makeDb(pool)
      await seed(db)
      const events = recordAcquires(pool.name)
      // Hold the writer the whole time: reads must not wait for it.
      const holding = gate()
      const release = gate()
      const writer = db.transaction().execute(async (trx) => {
        await trx.updateTable('counter').set({ value: 99 }).execute()
        holding.open()
        await release.promise
      })
      await holding.promise
      let maxInUse = 0
      // A select holds its reader only while it runs; a streamed select holds it until the
      // consumer has read the last chunk, so these overlap on several readers.
      const selects = Array.from({ length: 200 }, async (_, i) => {
        if (i % 2 === 0) {
          const row = await db
            .selectFrom('person')
            .select('name')
            .where('id', '=', (i % 3) + 1)
            .executeTakeFirstOrThrow()
          return row.name
        }
        let name = ''
        for await (const row of db
          .selectFrom('person')
          .select('name')
          .where('id', '=', (i % 3) + 1)
          .stream()) {
          maxInUse = Math.max(maxInUse, pool.status().readers.inUse)
          await tick()
          name = row.name
        }
        return name
      })
      const names = await Promise.all(selects)
      expect(names.filter((n) => n === 'Ada')).toHaveLength(67)
      expect(pool.status().writer.inUse).toBe(true) // all 200 finished while the writer was held
      expect(maxInUse).toBe(4)
      expect(pool.status().readers.open).toBe(4)
      const reads = events.filter((e) => e.purpose === 'read' || e.purpose === 'acquire')
      expect(reads.length).toBeGreaterThanOrEqual(200)
      expect(reads.every((e) => e.role === 'reader')).toBe(true)
      release.open()
      await writer
      expect((await db.selectFrom('counter').select('value').executeTakeFirstOrThrow()).value).toBe(
        99,
      )
    })
  })
}
