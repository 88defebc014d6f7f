import {
  type AcquireOptions,
  type BoundContext,
  type CallOptions,
  type CloseOptions,
  checkCall,
  type TransactionOptions,
} from './call-options.js'
import { now } from './clock.js'
import { type PoolOptions, type ResolvedOptions, resolveOptions } from './config.js'
import { bindScope, currentScope, noteUnheldCall, type Scope } from './context.js'
import type { MaintenanceReason, TransactionMode } from './driver.js'
import type { Entry } from './entry.js'
import { DatabaseError, PoolClosedError } from './errors.js'
import { channels } from './events.js'
import { Housekeeper } from './housekeeper.js'
import { Lane } from './lane.js'
import { captureBorrowStack } from './leak.js'
import { createLease, type Lease } from './lease.js'
import { MetricsRecorder, type PoolMetrics, poolMetrics } from './metrics.js'
import { type PoolState, type PoolStatus, type Purpose, poolStatus } from './status.js'
import { isThenable, message, runInScope, Transactions } from './transaction.js'

const noop = (): void => {}

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
export class Pool<C extends object> {
  readonly #options: ResolvedOptions<C>
  readonly #writer: Lane<C>
  /** Undefined when the driver cannot open readers (a private in-memory database). */
  readonly #readers: Lane<C> | undefined
  readonly #metrics = new MetricsRecorder()
  readonly #housekeeper: Housekeeper
  readonly #transactions: Transactions<C>
  #state: PoolState = 'open'
  #closing: Promise<void> | undefined
  #ready: Promise<void> | undefined
  #writesSinceMaintenance = 0
  #lastMaintenanceAt = now()
  /** Maintenance to run when the writer is next released, and why. */
  #maintenanceDue: MaintenanceReason | undefined

  constructor(options: PoolOptions<C>) {
    this.#options = resolveOptions(options)
    const ctx = { options: this.#options, metrics: this.#metrics, status: () => this.status() }
    const { readers } = this.#options
    this.#writer = new Lane<C>('writer', 1, 1, ctx)
    this.#readers = this.#options.driver.capabilities.readers
      ? new Lane<C>('reader', readers.min, readers.max, ctx)
      : undefined
    this.#transactions = new Transactions<C>(this, {
      options: this.#options,
      status: () => this.status(),
      giveBack: (entry, error) => this.#giveBack(this.#writer, entry, error),
      discard: (entry) => this.#writer.discard(entry, 'reset-failed'),
      committed: (entry) => this.#committed(entry),
      closedUnder: (cause) => this.#closedUnder(cause),
    })
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
  read<T>(fn: (connection: C) => T | Promise<T>, options?: CallOptions): Promise<T> {
    if (typeof fn !== 'function' || options !== undefined) {
      const invalid = checkCall('read', fn, options)
      if (invalid) return Promise.reject(invalid)
    }
    const scope = this.#scope()
    if (scope) return runInScope(scope, fn)
    const lane = this.#readers ?? this.#writer
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const entry = this.#canTake(options) ? lane.tryTake('read', stack) : undefined
    if (entry) return this.#runPlain(lane, entry, fn)
    return this.#acquireEntry(lane, 'read', options, stack).then((e) => this.#runPlain(lane, e, fn))
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
        this.#giveBack(lane, entry)
      },
      warnTwice,
    )
  }

  /** Opens the writer and `readers.min` readers now; rejects if they cannot be opened. */
  ready(): Promise<void> {
    this.#ready ??= Promise.all([this.#writer.fill(), this.#readers?.fill()]).then(
      noop,
      (error: unknown) => {
        this.#ready = undefined
        throw error
      },
    )
    return this.#ready
  }

  /** A snapshot of connections, holders and waiters. */
  status(): PoolStatus {
    return poolStatus(this.#state, this.#options.driver.target, this.#writer, this.#readers)
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

  /**
   * Runs a callback outside any transaction and returns the connection. A synchronous callback
   * (the usual `c => c.get(…)`) completes without any intermediate promise: on Node 20 every
   * promise costs extra once AsyncLocalStorage is active, and this is the hot path.
   */
  #runPlain<T>(lane: Lane<C>, entry: Entry<C>, fn: (connection: C) => T | Promise<T>): Promise<T> {
    let result: T | Promise<T>
    try {
      // Without readers this borrows the only connection: nested calls must be able to join it.
      result =
        this.#readers === undefined ? this.#transactions.plain(entry, fn) : fn(entry.connection)
    } catch (error) {
      return this.#plainFailed(lane, entry, error)
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.#plainDone(lane, entry, value),
        (error: unknown) => this.#plainFailed(lane, entry, error),
      )
    }
    return this.#plainDone(lane, entry, result)
  }

  #plainDone<T>(lane: Lane<C>, entry: Entry<C>, value: T): Promise<T> {
    if (entry.retireReason === 'forced') return Promise.reject(this.#closedUnder())
    const resetting = this.#returnPlain(lane, entry)
    return resetting === undefined ? Promise.resolve(value) : resetting.then(() => value)
  }

  #plainFailed<T>(lane: Lane<C>, entry: Entry<C>, error: unknown): Promise<T> {
    if (entry.retireReason === 'forced') return Promise.reject(this.#closedUnder(error))
    const resetting = this.#returnPlain(lane, entry, error)
    return (resetting ?? Promise.resolve()).then(() => Promise.reject(error))
  }

  /**
   * Returns a connection used outside a transaction. When the callback left a transaction open
   * (it threw, or forgot to end it), that is rolled back first, so the next borrower never
   * inherits a lock or a stale snapshot; returns the promise to wait for in that case only.
   */
  #returnPlain(lane: Lane<C>, entry: Entry<C>, error?: unknown): Promise<void> | undefined {
    if (
      entry.state === 'in-use' &&
      !isBroken(error) &&
      this.#options.driver.transactions.isActive(entry.connection)
    ) {
      return this.#resetThenGiveBack(lane, entry, error)
    }
    this.#giveBack(lane, entry, error)
    return undefined
  }

  /** `driver.reset`, then back to the lane; a connection that cannot be reset is closed. */
  #resetThenGiveBack(lane: Lane<C>, entry: Entry<C>, error?: unknown): Promise<void> {
    return Promise.resolve()
      .then(() => this.#options.driver.reset(entry.connection))
      .then(
        () => this.#giveBack(lane, entry, error),
        () => lane.discard(entry, 'reset-failed'),
      )
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

  /** Returns a connection to its lane: closes it if its error says it is broken, runs due maintenance. */
  #giveBack(lane: Lane<C>, entry: Entry<C>, error?: unknown): void {
    if (entry.state !== 'in-use') return
    if (isBroken(error)) {
      lane.discard(entry, 'broken')
      return
    }
    if (this.#options.driver.needsReset?.(entry.connection) === true) {
      // The callback changed per-connection state (a pragma, an unfinished iteration).
      void this.#resetThenGiveBack(lane, entry, error)
      return
    }
    const due = this.#maintenanceDue
    if (due !== undefined && lane === this.#writer) {
      this.#maintenanceDue = undefined
      void this.#maintain(entry, due).then(() => lane.release(entry))
      return
    }
    lane.release(entry)
  }

  #closedUnder(cause?: unknown): PoolClosedError {
    return new PoolClosedError(
      `the pool for ${this.#options.driver.target} was closed (close timeout passed) while this work was running; its connection was closed and its transaction rolled back`,
      cause === undefined ? undefined : { cause },
    )
  }

  // ---- housekeeping and shutdown -------------------------------------------------------------

  /** Counts a commit; asks the driver whether maintenance is due already (checkpoint steps). */
  #committed(entry: Entry<C>): void {
    this.#writesSinceMaintenance++
    const { driver, maintenanceIntervalMs } = this.#options
    if (
      this.#maintenanceDue === undefined &&
      maintenanceIntervalMs > 0 &&
      driver.maintenanceDue?.(entry.connection) === true
    ) {
      this.#maintenanceDue = 'due'
    }
  }

  #housekeep(): void {
    if (this.#state !== 'open') return
    this.#writer.housekeep()
    this.#readers?.housekeep()
    const { maintenanceIntervalMs, driver } = this.#options
    if (
      driver.maintain === undefined ||
      maintenanceIntervalMs === 0 ||
      this.#writesSinceMaintenance === 0
    )
      return
    if (now() - this.#lastMaintenanceAt < maintenanceIntervalMs) return
    const writer = this.#writer.takeIdleForMaintenance()
    if (writer === undefined) {
      this.#maintenanceDue = 'interval' // run when the writer is next released
      return
    }
    void this.#maintain(writer, 'idle').then(() => this.#writer.release(writer))
  }

  /** Runs the driver's maintenance on the writer; failures are logged and published, never thrown. */
  async #maintain(entry: Entry<C>, reason: MaintenanceReason): Promise<void> {
    const { driver, name, logger } = this.#options
    if (driver.maintain === undefined) return
    const started = now()
    this.#writesSinceMaintenance = 0
    let failure: unknown
    try {
      await driver.maintain(entry.connection, reason)
    } catch (error) {
      failure = error
      logger.warn(
        { event: 'maintenance-failed', pool: name, reason, error },
        `maintenance (${reason}) failed: ${message(error)}`,
      )
    }
    this.#lastMaintenanceAt = now()
    if (channels.maintenance.hasSubscribers) {
      channels.maintenance.publish({
        pool: name,
        reason,
        ms: this.#lastMaintenanceAt - started,
        ...(failure === undefined ? {} : { error: failure }),
      })
    }
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#state = 'closing'
    this.#housekeeper.stop()
    const deadline = now() + timeoutMs
    await Promise.all([this.#writer.close(deadline), this.#readers?.close(deadline)])
    let forced = this.#readers?.destroyAll() ?? 0
    await this.#readers?.closed() // the checkpoint needs every reader gone, not just asked to go
    forced += await this.#finalMaintenance()
    await this.#writer.closed()
    if (forced > 0) {
      this.#options.logger.warn(
        { event: 'forced-close', pool: this.#options.name, connections: forced, timeoutMs },
        `close(): ${forced} connection(s) were still in use after ${timeoutMs} ms and were closed under their holders`,
      )
    }
    this.#state = 'closed'
  }

  /** With readers closed (so nothing pins the WAL), checkpoints on the writer, then closes it. */
  async #finalMaintenance(): Promise<number> {
    const writer = this.#writer.takeIdleForMaintenance()
    if (writer !== undefined) {
      await this.#maintain(writer, 'close')
      this.#writer.release(writer)
    }
    return this.#writer.destroyAll()
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
export function createPool<C extends object>(options: PoolOptions<C>): Pool<C> {
  return new Pool(options)
}

/** Errors after which a connection must not be reused. */
function isBroken(error: unknown): boolean {
  return error instanceof DatabaseError && (error.kind === 'broken' || error.kind === 'corrupt')
}
