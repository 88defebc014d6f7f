import { type PoolOptions, type ResolvedOptions, resolveOptions } from './config.js'
import { currentScope, type Scope, storage } from './context.js'
import type { MaintenanceReason, MaybePromise, Role, TransactionMode } from './driver.js'
import type { Entry } from './entry.js'
import { AcquireAbortedError, DatabaseError, isBusyError, LockTimeoutError, PoolClosedError, TransactionError } from './errors.js'
import { channels } from './events.js'
import { Housekeeper } from './housekeeper.js'
import { Lane } from './lane.js'
import { captureBorrowStack } from './leak.js'
import { createLease, type Lease } from './lease.js'
import { MetricsRecorder, type PoolMetrics } from './metrics.js'
import type { PoolState, PoolStatus, Purpose } from './status.js'

/** Options of `read`, `write` and `transaction`. */
export interface CallOptions {
  /** Gives up waiting for a connection (or another process's lock) when this aborts. */
  readonly signal?: AbortSignal
  /** Overrides `acquireTimeoutMs` for this call. */
  readonly timeoutMs?: number
}

/** Options of {@link Pool.transaction}. */
export interface TransactionOptions extends CallOptions {
  /** How the outermost transaction begins; ignored for nested ones (savepoints). Default `immediate`. */
  readonly mode?: TransactionMode
}

/** Options of {@link Pool.acquire}. */
export interface AcquireOptions extends CallOptions {
  /** `reader` (default) or `writer`. The writer is handed out in autocommit mode. */
  readonly role?: Role
}

/** Options of {@link Pool.close}. */
export interface CloseOptions {
  /** How long to wait for work in flight before closing under it. Default `closeTimeoutMs`. */
  readonly timeoutMs?: number
}

const RESOLVED = Promise.resolve()
const now = (): number => performance.now()
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
  #state: PoolState = 'open'
  #closing: Promise<void> | undefined
  #ready: Promise<void> | undefined
  #savepoints = 0
  #writesSinceMaintenance = 0
  #lastMaintenanceAt = now()
  #maintenanceDue = false

  constructor(options: PoolOptions<C>) {
    this.#options = resolveOptions(options)
    const ctx = { options: this.#options, metrics: this.#metrics, status: () => this.status() }
    const { readers } = this.#options
    this.#writer = new Lane<C>('writer', 1, 1, ctx)
    this.#readers = this.#options.driver.capabilities.readers ? new Lane<C>('reader', readers.min, readers.max, ctx) : undefined
    this.#housekeeper = new Housekeeper(this.#options as ResolvedOptions<unknown>, () => this.#housekeep())
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
    const scope = currentScope(this)
    if (scope) return this.#inScope(scope, fn)
    const lane = this.#readers ?? this.#writer
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const entry = this.#state === 'open' ? lane.tryTake('read', stack) : undefined
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
   * Borrows a connection until you release it (`await using` releases it at the end of the
   * scope). Releasing rolls back a transaction left open and resets the connection. Inside a
   * transaction this returns the transaction's own connection, and releasing it does nothing.
   */
  async acquire(options?: AcquireOptions): Promise<Lease<C>> {
    const { logger, name } = this.#options
    const warnTwice = () => logger.warn({ event: 'double-release', pool: name }, 'a lease was released twice; the second release was ignored')
    const scope = currentScope(this)
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
    this.#ready ??= Promise.all([this.#writer.fill(), this.#readers?.fill()]).then(noop, (error: unknown) => {
      this.#ready = undefined
      throw error
    })
    return this.#ready
  }

  /** A snapshot of connections, holders and waiters. */
  status(): PoolStatus {
    const readers = this.#readers?.status() ?? { open: 0, idle: 0, inUse: 0, opening: 0, waiting: 0, min: 0, max: 0 }
    const holder = this.#writer.holder()
    const lastError = this.#writer.lastConnectError ?? this.#readers?.lastConnectError
    return {
      state: this.#state,
      closed: this.#state === 'closed',
      target: this.#options.driver.target,
      readers: { open: readers.open, idle: readers.idle, inUse: readers.inUse, opening: readers.opening, waiting: readers.waiting, min: readers.min, max: readers.max },
      writer: {
        open: this.#writer.status().open > 0,
        inUse: holder !== undefined,
        queued: this.#writer.waiting,
        holder:
          holder === undefined
            ? undefined
            : {
                role: 'writer',
                purpose: holder.purpose,
                heldForMs: now() - holder.borrowedAt,
                ...(holder.borrowStack === undefined ? {} : { stack: holder.borrowStack }),
              },
      },
      waiting: this.#writer.waiting + readers.waiting,
      lastConnectError: lastError === undefined ? undefined : lastError instanceof Error ? lastError.message : String(lastError),
    }
  }

  /** Metrics named after the OpenTelemetry database-client conventions. */
  metrics(): PoolMetrics {
    const w = this.#writer.status()
    const r = this.#readers?.status()
    const m = this.#metrics
    return {
      poolName: this.#options.name,
      'db.client.connection.count': { idle: w.idle + (r?.idle ?? 0), used: w.inUse + (r?.inUse ?? 0) },
      'db.client.connection.max': 1 + (r?.max ?? 0),
      'db.client.connection.idle.min': 1 + (r?.min ?? 0),
      'db.client.connection.pending_requests': w.waiting + (r?.waiting ?? 0),
      'db.client.connection.timeouts': m.timeouts,
      'db.client.connection.create_time': m.createTime.snapshot(),
      'db.client.connection.wait_time': m.waitTime.snapshot(),
      'db.client.connection.use_time': m.useTime.snapshot(),
    }
  }

  /**
   * Stops new work, waits for work in flight up to `timeoutMs`, closes (and so rolls back) what
   * is still running after that, checkpoints the database and closes every connection.
   * Calling it again returns the same promise.
   */
  close(options?: CloseOptions): Promise<void> {
    this.#closing ??= this.#shutdown(options?.timeoutMs ?? this.#options.closeTimeoutMs)
    return this.#closing
  }

  /** `await using pool = createPool(…)` closes the pool at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  // ---- running callbacks -------------------------------------------------------------------

  #acquireEntry(lane: Lane<C>, purpose: Purpose, options: CallOptions | undefined, stack: string | undefined): Promise<Entry<C>> {
    if (this.#state !== 'open') return Promise.reject(new PoolClosedError(`the pool for ${this.#options.driver.target} is closed`))
    return lane.acquire(purpose, options?.timeoutMs ?? this.#options.acquireTimeoutMs, options?.signal, stack)
  }

  /**
   * Runs a callback outside any transaction and returns the connection. A synchronous callback
   * (the usual `c => c.get(…)`) completes without any intermediate promise: on Node 20 every
   * promise costs extra once AsyncLocalStorage is active, and this is the hot path.
   */
  #runPlain<T>(lane: Lane<C>, entry: Entry<C>, fn: (connection: C) => T | Promise<T>): Promise<T> {
    let result: T | Promise<T>
    try {
      result = fn(entry.connection)
    } catch (error) {
      this.#giveBack(lane, entry, error)
      return Promise.reject(error)
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.#afterPlain(lane, entry, value),
        (error: unknown) => {
          this.#giveBack(lane, entry, error)
          throw error
        },
      )
    }
    return this.#afterPlain(lane, entry, result)
  }

  #afterPlain<T>(lane: Lane<C>, entry: Entry<C>, value: T): Promise<T> {
    if (entry.retireReason === 'forced') return Promise.reject(this.#closedUnder())
    if (!this.#options.driver.transactions.isActive(entry.connection)) {
      this.#giveBack(lane, entry)
      return Promise.resolve(value)
    }
    // The callback left a transaction open: roll it back before anyone else gets the connection.
    return Promise.resolve()
      .then(() => this.#options.driver.reset(entry.connection))
      .then(
        () => {
          this.#giveBack(lane, entry)
          return value
        },
        () => {
          lane.discard(entry, 'reset-failed')
          return value
        },
      )
  }

  #transaction<T>(fn: (connection: C) => T | Promise<T>, mode: TransactionMode, purpose: Purpose, options: CallOptions | undefined): Promise<T> {
    const scope = currentScope(this)
    if (scope) return this.#savepoint(scope, fn)
    const deadline = now() + (options?.timeoutMs ?? this.#options.acquireTimeoutMs)
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    const entry = this.#state === 'open' ? this.#writer.tryTake(purpose, stack) : undefined
    if (entry) return this.#runTransaction(entry, fn, mode, deadline, options?.signal)
    return this.#acquireEntry(this.#writer, purpose, options, stack).then((e) =>
      this.#runTransaction(e, fn, mode, deadline, options?.signal),
    )
  }

  /** BEGIN (retried while another process holds the lock), then the body. */
  #runTransaction<T>(
    entry: Entry<C>,
    fn: (connection: C) => T | Promise<T>,
    mode: TransactionMode,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const connection = entry.connection
    const tc = this.#options.driver.transactions
    let locking: Promise<void> | undefined
    try {
      locking = this.#lock(() => tc.begin(connection, mode), deadline, signal, `BEGIN ${mode.toUpperCase()}`)
    } catch (error) {
      this.#giveBack(this.#writer, entry, error)
      return Promise.reject(error)
    }
    if (locking === undefined) return this.#runBody(entry, fn, deadline)
    return locking.then(
      () => this.#runBody(entry, fn, deadline),
      (error: unknown) => {
        this.#giveBack(this.#writer, entry, error)
        throw error
      },
    )
  }

  /** Runs the callback in its scope, then commits — synchronously when everything is synchronous. */
  #runBody<T>(entry: Entry<C>, fn: (connection: C) => T | Promise<T>, deadline: number): Promise<T> {
    const scope: Scope = { owner: this, entry, active: true, tail: RESOLVED }
    let result: T | Promise<T>
    try {
      result = storage.run(scope, fn, entry.connection)
    } catch (error) {
      return this.#failBody(entry, scope, error)
    }
    if (isThenable(result) || scope.tail !== RESOLVED) {
      return Promise.resolve(result).then(
        async (value) => {
          await scope.tail
          return this.#commit(entry, scope, value, deadline)
        },
        (error: unknown) => this.#failBody(entry, scope, error),
      )
    }
    return this.#commit(entry, scope, result, deadline)
  }

  /** Ends the scope, lets nested work started from it settle, rolls back, rethrows `error`. */
  async #failBody<T>(entry: Entry<C>, scope: Scope, error: unknown): Promise<T> {
    scope.active = false
    await scope.tail.catch(noop)
    await this.#rollback(entry, error)
    throw error
  }

  #commit<T>(entry: Entry<C>, scope: Scope, value: T, deadline: number): Promise<T> {
    scope.active = false
    if (entry.retireReason === 'forced') return Promise.reject(this.#closedUnder())
    const connection = entry.connection
    let committing: Promise<void> | undefined
    try {
      committing = this.#lock(() => this.#options.driver.transactions.commit(connection), deadline, undefined, 'COMMIT')
    } catch (error) {
      return this.#rollback(entry, error).then(() => Promise.reject(error))
    }
    const done = (): T => {
      this.#writesSinceMaintenance++
      this.#giveBack(this.#writer, entry)
      return value
    }
    if (committing === undefined) return Promise.resolve(done())
    return committing.then(done, (error: unknown) => this.#rollback(entry, error).then(() => Promise.reject(error)))
  }

  /** Rolls back after a failure and returns the writer (or discards it when rollback fails). */
  async #rollback(entry: Entry<C>, cause: unknown): Promise<void> {
    if (entry.state !== 'in-use') return // closed under us by close()
    const tc = this.#options.driver.transactions
    try {
      // SQLite rolls back by itself on some errors (disk full, I/O); don't roll back twice.
      if (tc.isActive(entry.connection)) await tc.rollback(entry.connection)
    } catch (rollbackError) {
      this.#options.logger.error(
        { event: 'rollback-failed', pool: this.#options.name, connection: entry.id, error: rollbackError, cause },
        `ROLLBACK failed on connection #${entry.id}; the connection was closed`,
      )
      this.#writer.discard(entry, 'reset-failed')
      return
    }
    this.#giveBack(this.#writer, entry, cause)
  }

  /** A nested transaction: a savepoint on the scope's connection, after its earlier siblings. */
  #savepoint<T>(scope: Scope, fn: (connection: C) => T | Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      if (!scope.active) throw new TransactionError('the enclosing transaction finished before this nested transaction could start')
      const tc = this.#options.driver.transactions
      const connection = scope.entry.connection as C
      const name = `litepool_sp_${++this.#savepoints}`
      await tc.savepoint(connection, name)
      const child: Scope = { owner: this, entry: scope.entry, active: true, tail: RESOLVED }
      let result: T
      try {
        result = await storage.run(child, fn, connection)
        if (child.tail !== RESOLVED) await child.tail
      } catch (error) {
        child.active = false
        await child.tail.catch(noop)
        await this.#undoSavepoint(connection, name, error)
        throw error
      }
      child.active = false
      await tc.releaseSavepoint(connection, name)
      return result
    }
    const result = scope.tail.then(run)
    scope.tail = result.catch(noop)
    return result
  }

  async #undoSavepoint(connection: C, name: string, cause: unknown): Promise<void> {
    const tc = this.#options.driver.transactions
    if (!tc.isActive(connection)) return // the database already rolled the whole transaction back
    try {
      await tc.rollbackToSavepoint(connection, name)
      await tc.releaseSavepoint(connection, name)
    } catch (error) {
      throw new TransactionError(`could not roll back savepoint ${name}: ${message(error)}`, { cause: error ?? cause })
    }
  }

  /** Runs `fn` on the connection of the enclosing transaction (read-your-writes). */
  #inScope<T>(scope: Scope, fn: (connection: C) => T | Promise<T>): Promise<T> {
    try {
      return Promise.resolve(fn(scope.entry.connection as C))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * Runs a lock-taking statement once, synchronously when the driver is synchronous; only when the
   * database is busy (or the driver is async) does it return a promise to wait for.
   */
  #lock(op: () => MaybePromise<void>, deadline: number, signal: AbortSignal | undefined, what: string): Promise<void> | undefined {
    try {
      const result = op()
      if (result instanceof Promise) {
        return result.catch((error: unknown) => {
          if (!isBusyError(error)) throw error
          return this.#untilUnlocked(op, deadline, signal, what)
        })
      }
      return undefined
    } catch (error) {
      if (!isBusyError(error)) throw error
      return this.#untilUnlocked(op, deadline, signal, what)
    }
  }

  /**
   * Retries a lock-taking statement with backoff while another process holds the lock.
   * The wait is asynchronous: the driver's own busy timeout stays short, so the event loop never
   * sleeps inside the database while we wait.
   */
  async #untilUnlocked(op: () => MaybePromise<void>, deadline: number, signal: AbortSignal | undefined, what: string): Promise<void> {
    const started = now()
    let delay = 1
    for (;;) {
      await sleep(Math.min(Math.max(0, deadline - now()), delay * (0.5 + Math.random())))
      delay = Math.min(delay * 2, 50)
      try {
        await op()
        return
      } catch (error) {
        if (!isBusyError(error)) throw error
        const left = deadline - now()
        if (signal?.aborted) {
          throw new AcquireAbortedError(`waiting for the lock on ${this.#options.driver.target} was aborted`, { cause: signal.reason })
        }
        if (left <= 0) {
          throw new LockTimeoutError(
            `${this.#options.driver.target} stayed locked by another connection for ${Math.round(now() - started)} ms; ` +
              `gave up on ${what} at the deadline (acquireTimeoutMs ${this.#options.acquireTimeoutMs})`,
            { status: this.status(), cause: error },
          )
        }
      }
    }
  }

  /** Returns a connection to its lane: closes it if its error says it is broken, runs due maintenance. */
  #giveBack(lane: Lane<C>, entry: Entry<C>, error?: unknown): void {
    if (entry.state !== 'in-use') return
    if (error instanceof DatabaseError && (error.kind === 'broken' || error.kind === 'corrupt')) {
      lane.discard(entry, 'broken')
      return
    }
    if (this.#maintenanceDue && lane === this.#writer) {
      this.#maintenanceDue = false
      void this.#maintain(entry, 'interval').then(() => lane.release(entry))
      return
    }
    lane.release(entry)
  }

  #closedUnder(): PoolClosedError {
    return new PoolClosedError(
      `the pool for ${this.#options.driver.target} was closed (close timeout passed) while this work was running; its connection was closed and its transaction rolled back`,
    )
  }

  // ---- housekeeping and shutdown -------------------------------------------------------------

  #housekeep(): void {
    if (this.#state !== 'open') return
    this.#writer.housekeep()
    this.#readers?.housekeep()
    const { maintenanceIntervalMs, driver } = this.#options
    if (driver.maintain === undefined || maintenanceIntervalMs === 0 || this.#writesSinceMaintenance === 0) return
    if (now() - this.#lastMaintenanceAt < maintenanceIntervalMs) return
    const writer = this.#writer.takeIdleForMaintenance()
    if (writer === undefined) {
      this.#maintenanceDue = true // run when the writer is next released
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
      logger.warn({ event: 'maintenance-failed', pool: name, reason, error }, `maintenance (${reason}) failed: ${message(error)}`)
    }
    this.#lastMaintenanceAt = now()
    if (channels.maintenance.hasSubscribers) {
      channels.maintenance.publish({ pool: name, reason, ms: this.#lastMaintenanceAt - started, ...(failure === undefined ? {} : { error: failure }) })
    }
  }

  async #shutdown(timeoutMs: number): Promise<void> {
    this.#state = 'closing'
    this.#housekeeper.stop()
    const deadline = now() + timeoutMs
    await Promise.all([this.#writer.close(deadline), this.#readers?.close(deadline)])
    const forced = (this.#readers?.destroyAll() ?? 0) + (await this.#finalMaintenance())
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

function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
