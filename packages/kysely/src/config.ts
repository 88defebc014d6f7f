import {
  ConfigError,
  type ConfigIssue,
  type PoolOptions,
  type TransactionMode,
} from '@litepool/pool-core'
import { describeValue as show } from '@litepool/sqlite-base'
import type { DialectConnection, DialectPool, DialectWorkerConnection } from './types.js'

/**
 * Options both ways of configuring the dialect share.
 *
 * @example
 * ```ts
 * new LitepoolDialect({ pool, transactionMode: 'deferred' })
 * ```
 */
export interface LitepoolDialectCommonConfig {
  /**
   * How `db.transaction()` and `db.startTransaction()` begin on the writer: `immediate` (default)
   * takes the write lock at BEGIN, so a transaction that reads and then writes cannot fail with
   * `SQLITE_BUSY`; `deferred` takes it at the first write; `exclusive` also keeps other processes
   * from reading in rollback-journal mode (in WAL it behaves like `immediate`).
   * A Kysely transaction with `setAccessMode('read only')` ignores it and reads a snapshot on a reader.
   */
  readonly transactionMode?: TransactionMode
}

/**
 * The dialect uses a pool you created: `db.destroy()` leaves it open, so several Kysely instances
 * (and your own `pool.read`/`pool.transaction` code) can share it. You close it.
 *
 * @example
 * ```ts
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * const dialect = new LitepoolDialect({ pool })
 * ```
 */
export interface BorrowedPoolConfig extends LitepoolDialectCommonConfig {
  readonly pool: DialectPool
  readonly poolOptions?: never
}

/**
 * The dialect creates its own pool from these options on first use and closes it on
 * `db.destroy()`.
 *
 * @example
 * ```ts
 * const dialect = new LitepoolDialect({ poolOptions: { driver: nodeSqlite({ filename: 'app.db' }) } })
 * ```
 */
export interface OwnedPoolConfig extends LitepoolDialectCommonConfig {
  readonly poolOptions: PoolOptions<DialectConnection, DialectWorkerConnection>
  readonly pool?: never
}

/**
 * Configuration of {@link LitepoolDialect}: either a `pool` (borrowed, left open) or
 * `poolOptions` (owned, closed by `db.destroy()`), plus `transactionMode`.
 *
 * @example
 * ```ts
 * const config: LitepoolDialectConfig = { pool, transactionMode: 'immediate' }
 * ```
 */
export type LitepoolDialectConfig = BorrowedPoolConfig | OwnedPoolConfig

/** The validated configuration the driver uses. */
export type ResolvedDialectConfig =
  | { readonly pool: DialectPool; readonly transactionMode: TransactionMode }
  | {
      readonly pool: undefined
      readonly poolOptions: PoolOptions<DialectConnection, DialectWorkerConnection>
      readonly transactionMode: TransactionMode
    }

const MODES: readonly TransactionMode[] = ['deferred', 'immediate', 'exclusive']
const KNOWN = new Set(['pool', 'poolOptions', 'transactionMode'])

/**
 * Validates the dialect configuration; throws one `ConfigError` listing every invalid field.
 * Pool options themselves are validated by `createPool` when the pool is created.
 */
export function resolveDialectConfig(config: LitepoolDialectConfig): ResolvedDialectConfig {
  const issues: ConfigIssue[] = []
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError('litepool Kysely dialect options', [
      { path: '(root)', expected: 'an object { pool } or { poolOptions }', received: show(config) },
    ])
  }
  const { pool, poolOptions, transactionMode = 'immediate' } = config
  for (const key of Object.keys(config)) {
    if (!KNOWN.has(key)) {
      issues.push({
        path: key,
        expected: 'no such option (known: pool, poolOptions, transactionMode)',
        received: show((config as unknown as Record<string, unknown>)[key]),
      })
    }
  }
  if (pool !== undefined && poolOptions !== undefined) {
    issues.push({
      path: 'pool',
      expected: 'either pool or poolOptions, not both',
      received: 'both',
    })
  } else if (pool === undefined && poolOptions === undefined) {
    issues.push({
      path: 'pool',
      expected: 'a litepool Pool (or poolOptions to create one)',
      received: 'undefined',
    })
  } else if (pool !== undefined && !isPool(pool)) {
    issues.push({
      path: 'pool',
      expected: 'a litepool Pool (createPool(...))',
      received: show(pool),
    })
  } else if (
    poolOptions !== undefined &&
    (typeof poolOptions !== 'object' || poolOptions === null)
  ) {
    issues.push({
      path: 'poolOptions',
      expected: 'createPool options { driver, … }',
      received: show(poolOptions),
    })
  }
  if (!MODES.includes(transactionMode)) {
    issues.push({
      path: 'transactionMode',
      expected: '"deferred" | "immediate" | "exclusive"',
      received: show(transactionMode),
    })
  }
  if (issues.length > 0) throw new ConfigError('litepool Kysely dialect options', issues)
  return pool !== undefined
    ? Object.freeze({ pool, transactionMode })
    : Object.freeze({
        pool: undefined,
        poolOptions: poolOptions as PoolOptions<DialectConnection, DialectWorkerConnection>,
        transactionMode,
      })
}

function isPool(value: unknown): value is DialectPool {
  const pool = value as Partial<Record<keyof DialectPool, unknown>> | null
  return (
    typeof pool === 'object' &&
    pool !== null &&
    ['read', 'write', 'transaction', 'acquire', 'close'].every(
      (name) => typeof pool[name as keyof DialectPool] === 'function',
    )
  )
}
