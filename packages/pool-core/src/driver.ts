/**
 * The contract between the pool and a database driver. The pool knows nothing about SQL: a
 * driver opens connections in a role, says what the database allows (`capabilities`), and
 * performs transaction control, health checks and maintenance when the pool asks.
 *
 * `C` is the connection type the driver hands to user callbacks (for the SQLite drivers, a
 * connection with `run`/`get`/`all`/`iterate`/`exec`/`prepare`). `W` is the type of its
 * worker-hosted readers (see {@link Driver.workers}), `unknown` when not named.
 */
export interface Driver<C, W = unknown> {
  /** Short driver name for logs and errors, e.g. `better-sqlite3`. */
  readonly name: string
  /** What the driver connects to (for SQLite, the file path); named in errors and events. */
  readonly target: string
  /** What the database allows; the pool enforces it. */
  readonly capabilities: DriverCapabilities
  /** Opens a connection in the given role. Readers must refuse writes (SQLite: `query_only`). */
  open(role: Role): Promise<C>
  /** Closes a connection and frees every handle it holds (statements first). */
  close(connection: C): MaybePromise<void>
  /** Cheap liveness check; throws when the connection is unusable. */
  ping(connection: C): MaybePromise<void>
  /** Makes a returned connection safe to reuse: rolls back an open transaction, resets state. */
  reset(connection: C): MaybePromise<void>
  /**
   * Optional: true when a returned connection changed state that `reset` must restore before
   * anyone else uses it, beyond an open transaction (which `transactions.isActive` reports) —
   * for SQLite, a pragma a callback set or an iteration it left unfinished. Checked on every
   * return of a connection, so it must be cheap.
   */
  needsReset?(connection: C): boolean
  /** Transaction control in the database's own dialect. */
  readonly transactions: TransactionControl<C>
  /**
   * Optional housekeeping the pool schedules off the hot path, on the writer connection while it
   * holds the writer lane (for SQLite: WAL checkpoints). `reason` says why it runs now.
   */
  maintain?(connection: C, reason: MaintenanceReason): MaybePromise<unknown>
  /**
   * Optional, asked after every commit on the writer (so it must be cheap): true runs
   * `maintain(connection, 'due')` as soon as that transaction returns the writer, before the next
   * write. Lets a driver keep each maintenance step small under sustained writes (sqlite-base:
   * a checkpoint every so many commits, sized to a time budget) instead of one large step per
   * `maintenanceIntervalMs`. Off when `maintenanceIntervalMs` is 0.
   */
  maintenanceDue?(connection: C): boolean
  /**
   * Optional: reader connections hosted off the main thread (for SQLite, each in its own worker
   * thread), so that a slow read never blocks the event loop. Their methods are asynchronous.
   * The pool keeps them in a lane of their own (`workers` pool option) and routes reads to them
   * per call or by measured cost.
   */
  readonly workers?: WorkerReaders<C, W>
}

/**
 * How a driver opens and looks after its worker-hosted readers (`W`), and how it presents a
 * main-thread connection (`C`) with the same asynchronous methods.
 */
export interface WorkerReaders<C, W> {
  /** Opens one worker-hosted reader (for SQLite: starts a thread that opens its own connection). */
  open(): Promise<W>
  /** Closes it and ends its thread. */
  close(connection: W): Promise<void>
  /** Cheap liveness check; rejects when the connection (or its thread) is gone. */
  ping(connection: W): Promise<void>
  /** Makes a returned connection safe to reuse (ends iterations, rolls back, restores state). */
  reset(connection: W): Promise<void>
  /** True when a returned connection must be `reset` first (cheap: checked on every return). */
  needsReset(connection: W): boolean
  /**
   * `connection` with `W`'s asynchronous methods, run on the main thread: a worker read inside a
   * transaction runs on the transaction's connection (it must see its writes), and a pool with
   * no worker lane (workers turned off, or a private in-memory database) runs it on a reader.
   */
  view(connection: C): W
}

/** What a database permits; the pool shapes its lanes from this. */
export interface DriverCapabilities {
  /**
   * Whether separate reader connections can be opened that see the writer's committed data.
   * False for a private in-memory database: the pool then runs every call on the writer lane.
   */
  readonly readers: boolean
}

/** Transaction control a driver provides; the pool decides when to call each. */
export interface TransactionControl<C> {
  begin(connection: C, mode: TransactionMode): MaybePromise<void>
  commit(connection: C): MaybePromise<void>
  rollback(connection: C): MaybePromise<void>
  savepoint(connection: C, name: string): MaybePromise<void>
  releaseSavepoint(connection: C, name: string): MaybePromise<void>
  rollbackToSavepoint(connection: C, name: string): MaybePromise<void>
  /** Whether a transaction is open on the connection right now. */
  isActive(connection: C): boolean
}

/** Which lane a connection serves. There is exactly one writer. */
export type Role = 'writer' | 'reader'

/**
 * How a transaction takes its locks. `immediate` (the default) takes the write lock at BEGIN, so
 * a transaction that writes cannot fail later because another connection wrote first.
 */
export type TransactionMode = 'deferred' | 'immediate' | 'exclusive'

/**
 * Why the pool runs driver maintenance now: the writer was idle, the interval passed while it
 * was busy, the driver said it is `due` (see `Driver.maintenanceDue`), or the pool is closing.
 */
export type MaintenanceReason = 'idle' | 'interval' | 'due' | 'close'

/** A value or a promise of it: sync drivers return values, async drivers promises. */
export type MaybePromise<T> = T | Promise<T>
