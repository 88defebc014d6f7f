import {
  type AcquireOptions,
  type BoundContext,
  type CallOptions,
  type CloseOptions,
  checkCall,
  type IterateCallOptions,
  type QueryOptions,
  type ReadOptions,
  type TransactionOptions,
} from './call-options.js'
import { now } from './clock.js'
import { type PoolOptions, type ResolvedOptions, resolveOptions } from './config.js'
import { bindScope, currentScope, noteUnheldCall, type Scope } from './context.js'
import type { TransactionMode } from './driver.js'
import type { Entry } from './entry.js'
import { PoolClosedError } from './errors.js'
import { Housekeeper } from './housekeeper.js'
import { Lane } from './lane.js'
import { captureBorrowStack } from './leak.js'
import { createLease, type Lease } from './lease.js'
import { Maintenance } from './maintenance.js'
import { MetricsRecorder, type PoolMetrics, poolMetrics } from './metrics.js'
import { Queries, type RoutedRead, statementRead } from './queries.js'
import { Returns } from './returns.js'
import { type PoolState, type PoolStatus, type Purpose, poolStatus } from './status.js'
import { runInScope, Transactions } from './transaction.js'

const noop = (): void => {}

/** Statement parameters of the driver's connections (`SqliteParams` for the SQLite drivers). */
export type ParamsOf<C> = C extends { get(sql: string, params?: infer P): unknown } ? P : never

/**
 * A connection pool with one writer lane and many readers. Create it with {@link createPool}.
 *
 * @example
 * ```ts
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * const user = await pool.read((c) => c.get('select * from users where id = ?', [1]))
 * await pool.transaction(async (tx) => {
 *   tx.run('update accounts set balance = balance - 10 where id = ?', [1])
 *   tx.run('update accounts set balance = balance + 10 where id = ?', [2])
 * })
 * await pool.close()
 * ```
 */
export class Pool<C extends object, W = unknown> {
  readonly #options: ResolvedOptions<C, W>
  readonly #writer: Lane<C>
  /** Undefined when the driver cannot open readers (a private in-memory database). */
  readonly #readers: Lane<C> | undefined
  /** Reads that may leave the main thread (worker readers, routed queries). */
  readonly #queries: Queries<C, W>
  readonly #metrics = new MetricsRecorder()
  readonly #housekeeper: Housekeeper
  readonly #transactions: Transactions<C>
  #state: PoolState = 'open'
  #closing: Promise<void> | undefined
  #ready: Promise<void> | undefined
  readonly #maintenance: Maintenance<C>
  readonly #returns: Returns<C>

  constructor(options: PoolOptions<C, W>) {
    this.#options = resolveOptions(options)
    const { readers, driver } = this.#options
    const ctx = {
      options: this.#options as ResolvedOptions<unknown>,
      metrics: this.#metrics,
      status: () => this.status(),
    }
    const ops = (role: 'writer' | 'reader') => ({
      open: () => driver.open(role),
      close: (c: C) => driver.close(c),
      ping: (c: C) => driver.ping(c),
    })
    this.#writer = new Lane<C>('writer', 1, 1, ctx, ops('writer'))
    this.#maintenance = new Maintenance<C>(this.#options, this.#writer)
    this.#readers = driver.capabilities.readers
      ? new Lane<C>('reader', readers.min, readers.max, ctx, ops('reader'))
      : undefined
    this.#queries = new Queries<C, W>(this.#options, ctx, {
      scope: () => this.#scope(),
      isOpen: () => this.#state === 'open',
      readMain: (fn, options) => this.#readMain(fn, options),
      borrowMain: async (options) => {
        const lane = this.#readers ?? this.#writer
        const entry = await this.#acquireEntry(lane, 'read', options, undefined)
        return {
          entry,
          done: (failure) => this.#returns.returnPlain(lane, entry, failure) ?? Promise.resolve(),
        }
      },
    })
    this.#transactions = new Transactions<C>(this, {
      options: this.#options,
      status: () => this.status(),
      giveBack: (entry, error) => this.#returns.giveBack(this.#writer, entry, error),
      discard: (entry) => this.#writer.discard(entry, 'reset-failed'),
      committed: (entry) => this.#maintenance.committed(entry),
      closedUnder: (cause) => this.#returns.closedUnder(cause),
    })
    const transactions = this.#transactions
    this.#returns = new Returns<C>(
      this.#options,
      this.#writer,
      this.#maintenance,
      this.#readers === undefined ? (entry, fn) => transactions.plain(entry, fn) : undefined,
    )
    this.#housekeeper = new Housekeeper(this.#options as ResolvedOptions<unknown>, () =>
      this.#housekeep(),
    )
    this.#housekeeper.start()
  }

  /** The pool's name (metrics, events, logs). */
  get name(): string {
    return this.#options.name
  }

  /**
   * Runs `fn` on a reader connection and returns its result. Readers run in parallel up to
   * `readers.max`. Inside a transaction, `fn` runs on the transaction's connection instead, so it
   * sees the transaction's own writes.
   */
  read<T>(
    fn: (connection: C) => T | Promise<T>,
    options?: ReadOptions & { readonly thread?: 'main' },
  ): Promise<T>
  /**
   * With `{ thread: 'worker' }`, runs `fn` on a reader hosted in a worker thread: its methods
   * return promises and the statements run off the event loop. Inside a transaction `fn` gets an
   * asynchronous view of the transaction's connection instead (read-your-writes); on a pool
   * without worker readers, of a main-thread reader.
   */
  read<T>(
    fn: (connection: W) => T | Promise<T>,
    options: ReadOptions & { readonly thread: 'worker' },
  ): Promise<T>
  read<T>(
    fn: ((connection: C) => T | Promise<T>) | ((connection: W) => T | Promise<T>),
    options?: ReadOptions,
  ): Promise<T> {
    if (typeof fn !== 'function' || options !== undefined) {
      const invalid = checkCall('read', fn, options)
      if (invalid) return Promise.reject(invalid)
      if (options?.thread === 'worker')
        return this.#queries.readOnWorker(fn as (w: W) => T, options)
    }
    const scope = this.#scope()
    if (scope) return runInScope(scope, fn as (c: C) => T)
    return this.#readMain(fn as (c: C) => T, options)
  }

  /**
   * The first row of a query, or `undefined`. Where it runs follows `options.thread`, else the
   * pool's `workers.route` — by default `auto`: on the main thread until the statement is seen
   * to be slow (`workers.slowMs`), then on a worker. Inside a transaction: on its connection.
   *
   * @example
   * ```ts
   * const user = await pool.get<{ name: string }>('select name from users where id = ?', [1])
   * ```
   */
  get<Row = Record<string, unknown>>(
    sql: string,
    params?: ParamsOf<C>,
    options?: QueryOptions,
  ): Promise<Row | undefined> {
    return this.#queries.routed(sql, statementRead<C, W>('get', sql, params), options) as Promise<
      Row | undefined
    >
  }

  /**
   * Every row of a query, routed like {@link Pool.get}.
   *
   * @example
   * ```ts
   * const report = await pool.all('select day, sum(total) as total from orders group by day')
   * ```
   */
  all<Row = Record<string, unknown>>(
    sql: string,
    params?: ParamsOf<C>,
    options?: QueryOptions,
  ): Promise<Row[]> {
    return this.#queries.routed(sql, statementRead<C, W>('all', sql, params), options) as Promise<
      Row[]
    >
  }

  /**
   * Rows of a query one at a time, routed like {@link Pool.get}. On a worker, rows arrive in
   * chunks of `chunkSize` with one chunk fetched ahead (nothing more until you read on);
   * leaving the loop early ends the statement and returns the connection.
   *
   * @example
   * ```ts
   * for await (const row of pool.iterate('select * from events order by id')) {
   *   if (done(row)) break
   * }
   * ```
   */
  iterate<Row = Record<string, unknown>>(
    sql: string,
    params?: ParamsOf<C>,
    options?: IterateCallOptions,
  ): AsyncGenerator<Row, void, undefined> {
    return this.#queries.iterate<Row>(sql, params, options)
  }

  /**
   * For integrations (the Kysely dialect, the query helpers): runs one read that exists in two
   * forms, on the main thread (`run.main`, synchronous) or on a worker reader (`run.worker`),
   * choosing by `options.thread`, else the pool's `workers.route`; with `auto`, by the measured
   * cost of earlier runs under the same `key` (the SQL text). Inside a transaction it runs
   * `run.main` on the transaction's connection.
   *
   * @example
   * ```ts
   * const rows = await pool.routedRead(sql, {
   *   main: (c) => c.all(sql, params),
   *   worker: (w) => w.all(sql, params),
   * })
   * ```
   */
  routedRead<T>(key: string, run: RoutedRead<C, W, T>, options?: QueryOptions): Promise<T> {
    return this.#queries.routed(key, run, options)
  }

  /** Statements `auto` routing sends to worker readers now, by their SQL (diagnostics). */
  get slowStatements(): readonly string[] {
    return this.#queries.slowKeys
  }

  /** A read outside any transaction, on a main-thread reader (the writer without readers). */
  #readMain<T>(
    fn: (connection: C) => T | Promise<T>,
    options: CallOptions | undefined,
  ): Promise<T> {
    const lane = this.#readers ?? this.#writer
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const entry = this.#canTake(options) ? lane.tryTake('read', stack) : undefined
    if (entry) return this.#returns.run(lane, entry, fn)
    return this.#acquireEntry(lane, 'read', options, stack).then((e) =>
      this.#returns.run(lane, e, fn),
    )
  }

  /**
   * Runs `fn` on the writer inside a `BEGIN IMMEDIATE` transaction: committed when `fn`
   * resolves, rolled back when it throws. Writes queue FIFO in JavaScript, never in the database.
   * Nested inside another transaction it becomes a savepoint.
   */
  write<T>(fn: (connection: C) => T | Promise<T>, options?: CallOptions): Promise<T> {
    return this.#transaction(fn, 'immediate', 'write', options)
  }

  /**
   * Runs `fn` in a transaction on the writer (default mode `immediate`). A nested call — found
   * through AsyncLocalStorage — becomes a savepoint: when it throws, only its own work is rolled
   * back. Nested calls from one scope run one at a time.
   */
  transaction<T>(fn: (connection: C) => T | Promise<T>, options?: TransactionOptions): Promise<T> {
    return this.#transaction(fn, options?.mode ?? 'immediate', 'transaction', options)
  }

  /**
   * For integrations that begin a transaction in one call and run the user's code from another —
   * Kysely calls the callback of `db.transaction().execute(cb)` itself, outside any `fn` of ours.
   * Call this synchronously in the async context that will later run that code, then start the
   * transaction with `transaction(fn, { context })`: from then until it ends, `read`, `write`,
   * `transaction` and `acquire` called in that context join the transaction (savepoints on its
   * connection) instead of waiting for the writer it holds. Other async contexts are unaffected.
   *
   * Returns undefined when there is nothing to bind: the context already runs inside one of this
   * pool's transactions, or (Node 20) it belongs to no async context because it began while
   * context tracking was off — call {@link trackAsyncContext} before such a chain starts.
   *
   * @example
   * ```ts
   * // In an integration's `begin`, before its first await:
   * const context = pool.bindContext()
   * let end!: () => void
   * const done = pool.transaction(() => new Promise<void>((resolve) => (end = resolve)), { context })
   * // … the user's code, run later in this async context, joins the transaction. Then:
   * end()
   * await done
   * ```
   */
  bindContext(): BoundContext | undefined {
    return bindScope(this) as BoundContext | undefined
  }

  /**
   * Borrows a connection until you release it (`await using` releases it at the end of the
   * scope). Releasing rolls back a transaction left open and resets the connection. Inside a
   * transaction this returns the transaction's own connection, and releasing it does nothing.
   */
  async acquire(options?: AcquireOptions): Promise<Lease<C>> {
    if (options !== undefined) {
      const invalid = checkCall('acquire', undefined, options)
      if (invalid) throw invalid
    }
    const { logger, name } = this.#options
    const warnTwice = () =>
      logger.warn(
        { event: 'double-release', pool: name },
        'a lease was released twice; the second release was ignored',
      )
    const scope = this.#scope()
    if (scope) return createLease(scope.entry.connection as C, async () => {}, warnTwice)
    const lane = options?.role === 'writer' ? this.#writer : (this.#readers ?? this.#writer)
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const entry = await this.#acquireEntry(lane, 'acquire', options, stack)
    return createLease(
      entry.connection,
      async () => {
        if (entry.state !== 'in-use') return // closed under its holder by close()
        try {
          await this.#options.driver.reset(entry.connection)
        } catch {
          lane.discard(entry, 'reset-failed')
          return
        }
        this.#returns.giveBack(lane, entry)
      },
      warnTwice,
    )
  }

  /** Opens the writer, `readers.min` readers and `workers.min` worker readers now; rejects if they cannot be opened. */
  ready(): Promise<void> {
    this.#ready ??= Promise.all([
      this.#writer.fill(),
      this.#readers?.fill(),
      this.#queries.workers.lane?.fill(0), // worker threads start only when asked for
    ]).then(noop, (error: unknown) => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  /** A snapshot of connections, holders and waiters. */
  status(): PoolStatus {
    return poolStatus(
      this.#state,
      this.#options.driver.target,
      this.#writer,
      this.#readers,
      this.#queries.workers.lane,
    )
  }

  /**
   * Metrics named after the OpenTelemetry database-client conventions.
   *
   * The `wait_time` and `use_time` histograms cover borrows from the first call of this method
   * on (call it once at startup, as an exporter's first scrape does): until then the pool reads
   * no clock per borrow, which on Linux costs 4–5 % of a point select. Counts, connection
   * numbers and `create_time` are always recorded.
   */
  metrics(): PoolMetrics {
    this.#metrics.timing = true
    return poolMetrics(
      this.#options.name,
      this.#metrics,
      this.#writer.status(),
      this.#readers?.status(),
      this.#queries.workers.lane?.status(),
    )
  }

  /**
   * Stops new work, waits for work in flight up to `timeoutMs`, closes (and so rolls back) what
   * is still running after that, checkpoints the database and closes every connection.
   * Calling it again returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    if (options !== undefined) {
      const invalid = checkCall('close', undefined, options)
      if (invalid) return Promise.reject(invalid)
    }
    this.#closing ??= this.#shutdown(options?.timeoutMs ?? this.#options.closeTimeoutMs)
    return this.#closing
  }

  /** `await using pool = createPool(…)` closes the pool at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  // ---- running callbacks -------------------------------------------------------------------

  #acquireEntry(
    lane: Lane<C>,
    purpose: Purpose,
    options: CallOptions | undefined,
    stack: string | undefined,
  ): Promise<Entry<C>> {
    if (this.#state !== 'open')
      return Promise.reject(
        new PoolClosedError(`the pool for ${this.#options.driver.target} is closed`),
      )
    return lane.acquire(
      purpose,
      options?.timeoutMs ?? this.#options.acquireTimeoutMs,
      options?.signal,
      stack,
    )
  }

  /** The caller's transaction on this pool, if any; every call also ticks the store's switch-off. */
  #scope(): Scope | undefined {
    noteUnheldCall()
    return currentScope(this)
  }

  /** Whether a call may take an idle connection on the fast path (open pool, signal not aborted). */
  #canTake(options: CallOptions | undefined): boolean {
    return this.#state === 'open' && options?.signal?.aborted !== true
  }

  #transaction<T>(
    fn: (connection: C) => T | Promise<T>,
    mode: TransactionMode,
    purpose: Purpose,
    options: TransactionOptions | undefined,
  ): Promise<T> {
    if (typeof fn !== 'function' || options !== undefined) {
      const invalid = checkCall(purpose === 'write' ? 'write' : 'transaction', fn, options)
      if (invalid) return Promise.reject(invalid)
    }
    const timeoutMs = options?.timeoutMs ?? this.#options.acquireTimeoutMs
    const scope = this.#scope()
    if (scope) return this.#transactions.nested(scope, fn, mode, timeoutMs)
    const deadline = now() + timeoutMs
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const signal = options?.signal
    const bound = options?.context as Scope | undefined
    const entry = this.#canTake(options) ? this.#writer.tryTake(purpose, stack) : undefined
    if (entry) return this.#transactions.run(entry, fn, mode, deadline, signal, bound)
    return this.#acquireEntry(this.#writer, purpose, options, stack).then((e) =>
      this.#transactions.run(e, fn, mode, deadline, signal, bound),
    )
  }

  // ---- housekeeping and shutdown -------------------------------------------------------------

  #housekeep(): void {
    if (this.#state !== 'open') return
    this.#writer.housekeep()
    this.#readers?.housekeep()
    this.#queries.workers.lane?.housekeep()
    this.#maintenance.housekeep()
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#state = 'closing'
    this.#housekeeper.stop()
    const deadline = now() + timeoutMs
    const workers = this.#queries.workers.lane
    await Promise.all([
      this.#writer.close(deadline),
      this.#readers?.close(deadline),
      workers?.close(deadline),
    ])
    let forced = (this.#readers?.destroyAll() ?? 0) + (workers?.destroyAll() ?? 0)
    // The checkpoint needs every reader gone, not just asked to go.
    await Promise.all([this.#readers?.closed(), workers?.closed()])
    forced += await this.#maintenance.final()
    await this.#writer.closed()
    if (forced > 0) {
      this.#options.logger.warn(
        { event: 'forced-close', pool: this.#options.name, connections: forced, timeoutMs },
        `close(): ${forced} connection(s) were still in use after ${timeoutMs} ms and were closed under their holders`,
      )
    }
    this.#state = 'closed'
  }
}

/**
 * Creates a pool. Options are validated at once: a {@link ConfigError} lists every invalid field.
 *
 * @example
 * ```ts
 * import { createPool } from '@litepool/pool-core'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 *
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }), readers: { min: 1, max: 4 } })
 * ```
 */
export function createPool<C extends object, W = unknown>(options: PoolOptions<C, W>): Pool<C, W> {
  return new Pool(options)
}
