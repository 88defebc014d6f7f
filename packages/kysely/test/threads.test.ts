import { sql } from 'kysely'
import { describe, expect, it } from 'vitest'
import { DRIVERS, makeDb, makePool, seed } from './setup.js'

/** A read that takes milliseconds: a recursive count the planner cannot shortcut. */
const SLOW = sql<{
  n: number
}>`with recursive c(i) as (select 1 union all select i + 1 from c where i < 300000) select count(*) as n from c`

for (const d of DRIVERS) {
  describe(`${d.variant}: reads off the main thread`, () => {
    it('a select seen to be slow (twice in a row) runs on a worker-thread reader from then on; point selects stay on the main thread', async () => {
      const pool = makePool(d, { workers: { max: 1, slowMs: 1 } })
      const db = makeDb(pool)
      await seed(db)
      expect(await db.selectFrom('person').select('name').where('id', '=', 1).execute()).toEqual([
        { name: 'Ada' },
      ])
      for (let run = 0; run < 2; run++) {
        // Measured on the main thread: two slow runs in a row move it.
        expect((await SLOW.execute(db)).rows).toEqual([{ n: 300000 }])
      }
      expect(pool.slowStatements).toHaveLength(1)
      expect(pool.status().workers.open).toBe(0)
      const second = await SLOW.execute(db)
      expect(second.rows).toEqual([{ n: 300000 }])
      expect(pool.status().workers).toMatchObject({ open: 1, inUse: 0, idle: 1 })
      expect(pool.slowStatements.some((s) => s.includes('person'))).toBe(false)
    })

    it('with workers.route "worker", stream() reads in chunks on a worker and an early break gives it back', async () => {
      const pool = makePool(d, { workers: { max: 1, route: 'worker' } })
      const db = makeDb(pool)
      await seed(db)
      const more = Array.from({ length: 10 }, (_, i) => ({ name: `p${i}`, age: i }))
      await db.insertInto('person').values(more).execute()
      const names: string[] = []
      for await (const row of db.selectFrom('person').select('name').orderBy('id').stream(2)) {
        names.push(row.name)
        expect(pool.status()).toMatchObject({ workers: { inUse: 1 }, readers: { inUse: 0 } })
        if (names.length === 3) break
      }
      expect(names).toEqual(['Ada', 'Grace', 'Linus'])
      expect(pool.status().workers).toMatchObject({ open: 1, inUse: 0 })
      const rows = await db.selectFrom('person').select('name').execute()
      expect(rows).toHaveLength(13)
    })

    it('execute() on a worker gives the same rows as on the main thread, blobs included', async () => {
      const main = makeDb(makePool(d, { workers: { route: 'main' } }))
      const worker = makeDb(makePool(d, { workers: { route: 'worker' } }))
      const query = sql<
        Record<string, unknown>
      >`select 1 as i, 2.5 as r, 'x' as t, null as n, x'00ff' as b`
      const a = (await query.execute(main)).rows
      const b = (await query.execute(worker)).rows
      expect(b.map((row) => ({ ...row, b: [...(row.b as Uint8Array)] }))).toEqual(
        a.map((row) => ({ ...row, b: [...(row.b as Uint8Array)] })),
      )
    })
  })
}
