import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  createPool,
  type Pool,
  type PoolOptions,
  type Role,
  silentLogger,
} from '@litepool/pool-core'
import type {
  AsyncSqliteConnection,
  SqliteConnection,
  SqliteDriver,
  SqliteDriverOptions,
} from '@litepool/sqlite-base'

/** The pools scenarios make: SQLite connections on the main thread and in worker threads. */
export type ScenarioPool = Pool<SqliteConnection, AsyncSqliteConnection>

/**
 * A JSON value, for options that must cross into child processes.
 *
 * @example
 * ```ts
 * const options: Record<string, JsonValue> = { backend: '@photostructure/sqlite' }
 * ```
 */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | JsonValue[]
  | { [key: string]: JsonValue }

/**
 * How the contract suite gets the driver under test. Every scenario runs in a fresh `mkdtemp`
 * directory; the suite closes whatever it opened, then calls `cleanup`.
 *
 * @example
 * ```ts
 * const harness: DriverHarness = {
 *   open: (options) => betterSqlite3(options),
 *   module: new URL('../dist/index.mjs', import.meta.url).href,
 *   exportName: 'betterSqlite3',
 * }
 * ```
 */
export interface DriverHarness {
  /** Builds the driver under test for these options (a file inside the scenario's directory). */
  open(options: SqliteDriverOptions): SqliteDriver
  /** Releases anything the harness holds, after every scenario. */
  cleanup?(): void | Promise<void>
  /** Module child processes import to build the same driver (an absolute `file:` URL is safest). */
  readonly module: string
  /** Name of the driver factory exported by `module`, e.g. `betterSqlite3`. */
  readonly exportName: string
  /** Extra driver options for every driver the suite builds, in-process and in children. */
  readonly options?: Readonly<Record<string, JsonValue>>
}

/**
 * Pool options a scenario may set (the driver comes from the harness).
 *
 * @example
 * ```ts
 * const pool = t.pool({ readers: { min: 2 }, driverOptions: { busyTimeoutMs: 0 } })
 * ```
 */
export type ScenarioPoolOptions = Omit<
  PoolOptions<SqliteConnection, AsyncSqliteConnection>,
  'driver'
> & {
  readonly driverOptions?: Partial<SqliteDriverOptions>
}

/**
 * What a scenario gets: a temp directory with a database path, and tracked drivers, connections and pools.
 *
 * @example
 * ```ts
 * const scenario: Scenario = {
 *   key: 'pool.write-waits',
 *   title: 'a pool write waits for a writer held outside the pool',
 *   async run(t: ScenarioContext) {
 *     const writer = await t.open('writer')
 *     const pool = t.pool({ acquireTimeoutMs: 500 })
 *   },
 * }
 * ```
 */
export interface ScenarioContext {
  readonly dir: string
  /** `test.db` inside `dir`. */
  readonly filename: string
  readonly harness: DriverHarness
  /** A driver for `filename` (or `options.filename`) with these options. */
  driver(options?: Partial<SqliteDriverOptions>): SqliteDriver
  /** Opens a connection (default role `writer`), closed after the scenario unless closed before. */
  open(role?: Role, options?: Partial<SqliteDriverOptions>): Promise<SqliteConnection>
  /** Closes a connection opened with `open` through its driver. */
  close(connection: SqliteConnection): Promise<void>
  /** A pool over the harness's driver, closed after the scenario. */
  pool(options?: ScenarioPoolOptions): ScenarioPool
  /** Runs `fn` during cleanup (before the directory is removed). */
  defer(fn: () => unknown): void
}

/**
 * Creates a scenario context in a new temp directory and the function that tears it down.
 *
 * @example
 * ```ts
 * const { context, cleanup } = createScenarioContext(harness)
 * try { await scenario.run(context) } finally { await cleanup() }
 * ```
 */
export function createScenarioContext(harness: DriverHarness): {
  context: ScenarioContext
  cleanup: () => Promise<void>
} {
  const dir = mkdtempSync(join(tmpdir(), 'litepool-contract-'))
  const filename = join(dir, 'test.db')
  const owners = new Map<SqliteConnection, SqliteDriver>()
  const pools: ScenarioPool[] = []
  const deferred: (() => unknown)[] = []
  const driver = (options: Partial<SqliteDriverOptions> = {}) =>
    harness.open({ ...harness.options, filename, ...options } as SqliteDriverOptions)
  const context: ScenarioContext = {
    dir,
    filename,
    harness,
    driver,
    async open(role = 'writer', options = {}) {
      const d = driver(options)
      const connection = await d.open(role)
      owners.set(connection, d)
      return connection
    },
    async close(connection) {
      const owner = owners.get(connection)
      owners.delete(connection)
      await owner?.close(connection)
    },
    pool(options = {}) {
      const { driverOptions, ...poolOptions } = options
      const pool = createPool<SqliteConnection, AsyncSqliteConnection>({
        logger: silentLogger,
        ...poolOptions,
        driver: driver(driverOptions),
      })
      pools.push(pool)
      return pool
    },
    defer(fn) {
      deferred.push(fn)
    },
  }
  const cleanup = async () => {
    const errors: unknown[] = []
    const attempt = async (fn: () => unknown) => {
      try {
        await fn()
      } catch (error) {
        errors.push(error)
      }
    }
    for (const fn of deferred.splice(0).reverse()) await attempt(fn)
    for (const pool of pools.splice(0)) await attempt(() => pool.close({ timeoutMs: 1_000 }))
    for (const [connection, owner] of [...owners]) {
      owners.delete(connection)
      if (!connection.closed) await attempt(() => owner.close(connection))
    }
    await attempt(() => harness.cleanup?.())
    rmSync(dir, { recursive: true, force: true })
    if (errors.length > 0) throw errors[0]
  }
  return { context, cleanup }
}
