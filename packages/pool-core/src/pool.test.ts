import { afterEach, describe, expect, it } from 'vitest'
import { createPool, type Pool, silentLogger } from './index.js'
import { type FakeConnection, fakeDatabase, fakeDriver, liveConnections } from './test-utils/fake-driver.js'

const pools: Pool<FakeConnection>[] = []
function makePool(options: Partial<Parameters<typeof createPool<FakeConnection>>[0]> = {}) {
  const db = fakeDatabase()
  const pool = createPool<FakeConnection>({ driver: fakeDriver(db), logger: silentLogger, ...options })
  pools.push(pool)
  return { db, pool }
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close({ timeoutMs: 100 })))
})

describe('read and write', () => {
  it('write commits on resolve and readers see it', async () => {
    const { pool, db } = makePool()
    await pool.write((c) => c.set('a', 1))
    expect(db.committed.get('a')).toBe(1)
    expect(await pool.read((c) => c.get('a'))).toBe(1)
    expect(db.log).toEqual(['#1 BEGIN immediate', '#1 COMMIT'])
  })

  it('write rolls back when the callback throws and rethrows the same error', async () => {
    const { pool, db } = makePool()
    const boom = new RangeError('boom')
    await expect(
      pool.write((c) => {
        c.set('a', 1)
        throw boom
      }),
    ).rejects.toBe(boom)
    expect(db.committed.has('a')).toBe(false)
    expect(pool.status().writer.inUse).toBe(false)
  })

  it('reads run on reader connections, in parallel up to readers.max', async () => {
    const { pool, db } = makePool({ readers: { min: 0, max: 3 } })
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    const roles: string[] = []
    const reads = Array.from({ length: 3 }, () =>
      pool.read(async (c) => {
        roles.push(c.role)
        await gate
      }),
    )
    await new Promise((r) => setTimeout(r, 10))
    expect(pool.status().readers.inUse).toBe(3)
    release()
    await Promise.all(reads)
    expect(roles).toEqual(['reader', 'reader', 'reader'])
    expect(liveConnections(db).reader).toBe(3)
  })
})
