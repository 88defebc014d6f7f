import { afterEach, describe, expect, it } from 'vitest'
import {
  ConfigError,
  PoolClosedError,
  PoolManager,
  type PoolManagerOptions,
  silentLogger,
} from './index.js'
import {
  type FakeConnection,
  type FakeDatabase,
  fakeDatabase,
  fakeDriver,
} from './test-utils/fake-driver.js'
import { expectAllClosed, gate, ticks } from './test-utils/harness.js'

const managers: PoolManager<FakeConnection>[] = []
afterEach(async () => {
  await Promise.all(managers.splice(0).map((m) => m.close()))
})

function tenants(maxOpen?: number) {
  const dbs = new Map<string, FakeDatabase>()
  const created: string[] = []
  const options: PoolManagerOptions<FakeConnection> = {
    pool: (key) => {
      created.push(key)
      const db = fakeDatabase()
      dbs.set(key, db)
      return { driver: fakeDriver(db), logger: silentLogger, readers: { min: 0, max: 2 } }
    },
    ...(maxOpen === undefined ? {} : { maxOpen }),
  }
  const manager = new PoolManager(options)
  managers.push(manager)
  return { manager, dbs, created }
}

describe('PoolManager', () => {
  it('opens one pool per key on demand and reuses it', async () => {
    const { manager, dbs, created } = tenants()
    expect(manager.maxOpen).toBe(16)
    expect(manager.size).toBe(0)
    await manager.write('acme', (c) => c.set('a', 1))
    expect(await manager.read('acme', (c) => c.get('a'))).toBe(1)
    await manager.transaction('globex', (c) => c.set('g', 2), { mode: 'exclusive' })
    expect(manager.get('acme')).toBe(manager.get('acme'))
    expect(created).toEqual(['acme', 'globex'])
    expect(dbs.get('acme')?.committed.get('a')).toBe(1)
    expect(dbs.get('globex')?.log[0]).toBe('#1 BEGIN exclusive')
  })

  it('closes the least recently used idle pool beyond maxOpen', async () => {
    const { manager, dbs } = tenants(2)
    await manager.read('a', () => {})
    const a = manager.get('a')
    await manager.read('b', () => {})
    const b = manager.get('b')
    await manager.read('a', () => {}) // a is now the most recently used
    expect(manager.keys()).toEqual(['b', 'a'])
    await manager.read('c', () => {})
    expect(manager.keys()).toEqual(['a', 'c'])
    await ticks()
    expect(b.status().state).not.toBe('open')
    expect(a.status().state).toBe('open')
    await manager.close()
    for (const db of dbs.values()) expectAllClosed(db)
  })

  it('never closes a pool with work in flight or pinned by manager.read/write/transaction', async () => {
    const { manager } = tenants(1)
    const inFlight = gate()
    const viaGet = manager.get('busy').read(() => inFlight.promise)
    const pinned = gate()
    const viaManager = manager.write('pinned', () => pinned.promise.then(() => 'pinned done'))
    await ticks()
    // both stay open although maxOpen is 1
    expect(manager.keys()).toEqual(['busy', 'pinned'])
    const answer = await manager.read('third', () => 'third done')
    expect(answer).toBe('third done')
    expect(manager.get('busy').status().state).toBe('open')
    inFlight.open()
    pinned.open()
    await viaGet
    expect(await viaManager).toBe('pinned done')
    // once nothing is in flight, the overflow is closed
    await manager.read('last', () => {})
    expect(manager.size).toBe(1)
    expect(manager.keys()).toEqual(['last'])
  })

  it('evict(key) closes and forgets one pool', async () => {
    const { manager, dbs, created } = tenants()
    await manager.read('a', () => {})
    await manager.evict('a')
    await manager.evict('never-opened')
    expect(manager.size).toBe(0)
    expectAllClosed(dbs.get('a') as FakeDatabase)
    await manager.read('a', () => {})
    expect(created).toEqual(['a', 'a'])
  })

  it('close() closes every pool, is safe to call twice, and refuses new work', async () => {
    const { manager, dbs } = tenants()
    await Promise.all(['a', 'b', 'c'].map((k) => manager.write(k, (c) => c.set(k, 1))))
    await Promise.all([manager.close(), manager.close()])
    expect(manager.size).toBe(0)
    for (const db of dbs.values()) expectAllClosed(db)
    expect(() => manager.get('a')).toThrow(PoolClosedError)
    await expect(manager.read('a', () => {})).rejects.toBeInstanceOf(PoolClosedError)
  })

  it('rejects bad options with a ConfigError listing every issue', () => {
    let error: unknown
    try {
      new PoolManager({ pool: 'nope', maxOpen: 0 } as never)
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).issues.map((i) => i.path)).toEqual(['pool', 'maxOpen'])
    expect(() => new PoolManager(undefined as never)).toThrow(ConfigError)
  })

  it('a bad pool configuration for a key surfaces as ConfigError and opens nothing', async () => {
    const manager = new PoolManager<FakeConnection>({
      pool: () => ({ driver: fakeDriver(), readers: { max: -1 } }),
    })
    managers.push(manager)
    expect(() => manager.get('x')).toThrow(ConfigError)
    await expect(manager.read('x', () => {})).rejects.toBeInstanceOf(ConfigError)
    expect(manager.size).toBe(0)
  })
})
