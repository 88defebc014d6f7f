import type {
  AcquireOptions,
  BoundContext,
  CallOptions,
  Lease,
  Role,
  TransactionOptions,
} from '@litepool/pool-core'
import type { SqliteParams } from '@litepool/sqlite-base'

// The slice of a litepool SQLite pool this dialect calls, typed structurally (as Kysely types the
// slice of better-sqlite3 it uses): a `Pool` from `createPool` with either driver satisfies it.

/**
 * The part of a cached prepared statement (`SqliteStatement` from `@litepool/sqlite-base`) the
 * dialect uses.
 *
 * @example
 * ```ts
 * const statement: DialectStatement = connection.prepare('select * from users where id = ?')
 * const rows = statement.all([1])
 * ```
 */
export interface DialectStatement {
  run(params?: SqliteParams): {
    readonly changes: number
    readonly lastInsertRowid: number | bigint
  }
  all(params?: SqliteParams): unknown[]
  iterate(params?: SqliteParams): Iterator<unknown>
}

/**
 * The part of a litepool SQLite connection (`SqliteConnection`) the dialect uses. `prepare`
 * returns the connection's cached statement, so a query's SQL is prepared once per connection.
 *
 * @example
 * ```ts
 * await pool.read((c: DialectConnection) => c.prepare('select 1 as one').all())
 * ```
 */
export interface DialectConnection {
  /** `writer` or a `query_only` `reader`. */
  readonly role: Role
  /** True while a transaction (or savepoint) is open on the connection. */
  readonly inTransaction: boolean
  prepare(sql: string): DialectStatement
  /** Runs SQL without caching a statement (savepoint names vary). */
  exec(sql: string): void
}

/**
 * The part of a litepool worker-hosted reader (`AsyncSqliteConnection`) the dialect uses: the
 * statements run in a worker thread, so its methods return promises.
 *
 * @example
 * ```ts
 * await pool.read((w: DialectWorkerConnection) => w.all('select 1 as one'), { thread: 'worker' })
 * ```
 */
export interface DialectWorkerConnection {
  all(sql: string, params?: SqliteParams): Promise<unknown[]>
  run(
    sql: string,
    params?: SqliteParams,
  ): Promise<{ readonly changes: number; readonly lastInsertRowid: number | bigint }>
  exec(sql: string): Promise<void>
  iterate(
    sql: string,
    params?: SqliteParams,
    options?: { readonly chunkSize?: number },
  ): AsyncIterableIterator<unknown>
}

/**
 * The part of a litepool `Pool` the dialect uses. Any `createPool({ driver: betterSqlite3(…) })` or
 * `createPool({ driver: nodeSqlite(…) })` is one.
 *
 * @example
 * ```ts
 * const pool: DialectPool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * ```
 */
export interface DialectPool {
  read<T>(
    fn: (connection: DialectConnection) => T | Promise<T>,
    options?: CallOptions & { readonly thread?: 'main' },
  ): Promise<T>
  read<T>(
    fn: (connection: DialectWorkerConnection) => T | Promise<T>,
    options: CallOptions & { readonly thread: 'worker' },
  ): Promise<T>
  /** One read on the main thread or a worker, chosen by the statement's measured cost. */
  routedRead<T>(
    key: string,
    run: {
      main(connection: DialectConnection): T
      worker(connection: DialectWorkerConnection): Promise<T>
    },
    options?: CallOptions,
  ): Promise<T>
  /** Rows of a query, routed like `routedRead` (on a worker: fetched in chunks). */
  iterate(
    sql: string,
    params?: SqliteParams,
    options?: CallOptions & { readonly chunkSize?: number },
  ): AsyncIterableIterator<unknown>
  write<T>(fn: (connection: DialectConnection) => T | Promise<T>, options?: CallOptions): Promise<T>
  transaction<T>(
    fn: (connection: DialectConnection) => T | Promise<T>,
    options?: TransactionOptions,
  ): Promise<T>
  acquire(options?: AcquireOptions): Promise<Lease<DialectConnection>>
  bindContext(): BoundContext | undefined
  close(): Promise<void>
}

/**
 * Kysely 0.29 passes `{ signal }` to driver and connection methods; 0.28 passes nothing. The
 * signal aborts waiting for a connection or for another process's lock (a running SQLite
 * statement cannot be interrupted).
 *
 * @example
 * ```ts
 * const options: AbortOptions = { signal: AbortSignal.timeout(1_000) }
 * // Kysely 0.29 only (0.28's `execute()` takes no options):
 * // await db.selectFrom('person').selectAll().execute(options)
 * ```
 */
export interface AbortOptions {
  readonly signal?: AbortSignal
}
