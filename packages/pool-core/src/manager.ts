import type { CallOptions, TransactionOptions } from './call-options.js'
import type { PoolOptions } from './config.js'
import { describe } from './config.js'
import { ConfigError, type ConfigIssue, PoolClosedError } from './errors.js'
import { createPool, type Pool } from './pool.js'

/** Options of {@link PoolManager}. */
export interface PoolManagerOptions<C extends object> {
  /** Builds the pool options for a key, e.g. a tenant id → its own database file. */
  readonly pool: (key: string) => PoolOptions<C>
  /** Most pools kept open at once; the least recently used idle ones are closed beyond it. Default 16. */
  readonly maxOpen?: number
}

/**
 * Pools for many database files (one per tenant, say), opened on demand and bounded by an LRU:
 * when more than `maxOpen` are open, the least recently used pool with no work in flight is
 * closed. `close()` closes them all.
 *
 * Prefer `manager.read/write/transaction(key, fn)`: they keep the pool open while `fn` runs.
 * A pool returned by `get()` may be closed by eviction later, so don't keep it around.
 *
 * @example
 * ```ts
 * const tenants = new PoolManager({
 *   pool: (tenant) => ({ driver: betterSqlite3({ filename: `data/${tenant}.db` }) }),
 *   maxOpen: 50,
 * })
 * const orders = await tenants.read('acme', (c) => c.all('select * from orders'))
 * await tenants.close()
 * ```
 */
export class PoolManager<C extends object> {
  readonly #pools = new Map<string, Pool<C>>()
  readonly #pins = new Map<Pool<C>, number>()
  readonly #closing = new Set<Promise<void>>()
  readonly #factory: (key: string) => PoolOptions<C>
  readonly maxOpen: number
  #closed = false

  constructor(options: PoolManagerOptions<C>) {
    const issues: ConfigIssue[] = []
    if (typeof options?.pool !== 'function')
      issues.push({
        path: 'pool',
        expected: 'a function (key) => pool options',
        received: describe(options?.pool),
      })
    const maxOpen = options?.maxOpen ?? 16
    if (!Number.isSafeInteger(maxOpen) || maxOpen < 1)
      issues.push({ path: 'maxOpen', expected: 'an integer >= 1', received: describe(maxOpen) })
    if (issues.length > 0) throw new ConfigError('pool manager options', issues)
    this.#factory = options.pool
    this.maxOpen = maxOpen
  }

  /** Number of open pools. */
  get size(): number {
    return this.#pools.size
  }

  /** Keys of the open pools, least recently used first. */
  keys(): string[] {
    return [...this.#pools.keys()]
  }

  /** The pool for `key`, opened if needed; marks it most recently used. */
  get(key: string): Pool<C> {
    if (this.#closed) throw new PoolClosedError('the pool manager is closed')
    let pool = this.#pools.get(key)
    if (pool) {
      this.#pools.delete(key)
    } else {
      pool = createPool(this.#factory(key))
    }
    this.#pools.set(key, pool)
    this.#evictOverflow(pool)
    return pool
  }

  /** `pool.read` on the pool for `key`, which stays open while `fn` runs. */
  read<T>(key: string, fn: (connection: C) => T | Promise<T>, options?: CallOptions): Promise<T> {
    return this.#pinned(key, (pool) => pool.read(fn, options))
  }

  /** `pool.write` on the pool for `key`, which stays open while `fn` runs. */
  write<T>(key: string, fn: (connection: C) => T | Promise<T>, options?: CallOptions): Promise<T> {
    return this.#pinned(key, (pool) => pool.write(fn, options))
  }

  /** `pool.transaction` on the pool for `key`, which stays open while `fn` runs. */
  transaction<T>(
    key: string,
    fn: (connection: C) => T | Promise<T>,
    options?: TransactionOptions,
  ): Promise<T> {
    return this.#pinned(key, (pool) => pool.transaction(fn, options))
  }

  /** Closes and forgets the pool for `key`, if open. */
  async evict(key: string): Promise<void> {
    const pool = this.#pools.get(key)
    if (pool === undefined) return
    this.#pools.delete(key)
    await this.#track(pool.close())
  }

  /** Closes every pool; later calls to `get` throw {@link PoolClosedError}. Safe to call twice. */
  async close(): Promise<void> {
    this.#closed = true
    const pools = [...this.#pools.values()]
    this.#pools.clear()
    await Promise.all([...pools.map((p) => this.#track(p.close())), ...this.#closing])
  }

  async #pinned<T>(key: string, fn: (pool: Pool<C>) => Promise<T>): Promise<T> {
    const pool = this.get(key)
    this.#pins.set(pool, (this.#pins.get(pool) ?? 0) + 1)
    try {
      return await fn(pool)
    } finally {
      const left = (this.#pins.get(pool) ?? 1) - 1
      if (left === 0) this.#pins.delete(pool)
      else this.#pins.set(pool, left)
      this.#evictOverflow()
    }
  }

  /**
   * Closes least recently used pools beyond `maxOpen`, skipping any with work in flight and
   * `keep` (the pool just asked for, which its caller is about to use).
   */
  #evictOverflow(keep?: Pool<C>): void {
    let excess = this.#pools.size - this.maxOpen
    if (excess <= 0) return
    for (const [key, pool] of this.#pools) {
      if (excess <= 0) break
      const s = pool.status()
      if (
        pool === keep ||
        this.#pins.has(pool) ||
        s.writer.inUse ||
        s.readers.inUse > 0 ||
        s.waiting > 0
      )
        continue
      this.#pools.delete(key)
      void this.#track(pool.close())
      excess--
    }
  }

  #track(closing: Promise<void>): Promise<void> {
    this.#closing.add(closing)
    return closing.finally(() => this.#closing.delete(closing))
  }
}
