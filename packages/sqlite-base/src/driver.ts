import type {
  ConfigIssue,
  Driver,
  MaintenanceReason,
  Role,
  TransactionMode,
} from '@litepool/pool-core'
import type { NativeAdapter } from './adapter.js'
import {
  type CheckpointResult,
  checkpointDue,
  runCheckpoint,
  runCheckpointWith,
} from './checkpoint.js'
import type { SqliteConnection } from './connection.js'
import { openSqliteConnection } from './open.js'
import { type ResolvedSqliteOptions, resolveSqliteOptions } from './options.js'
import { restoreConnection } from './setup.js'
import { BEGIN_SQL, SAVEPOINT_SQL, SQL } from './sql.js'
import { type AsyncSqliteConnection, MainThreadView } from './threads/async-connection.js'
import type { WorkerAdapterSpec } from './threads/protocol.js'
import { WorkerConnection } from './threads/worker-connection.js'

/**
 * A litepool driver for SQLite: `Driver<SqliteConnection>` plus the options it resolved.
 *
 * @example
 * ```ts
 * const driver: SqliteDriver = betterSqlite3({ filename: 'app.db' })
 * driver.capabilities.readers // true (false for ':memory:')
 * ```
 */
export interface SqliteDriver<Raw = unknown>
  extends Driver<SqliteConnection<Raw>, AsyncSqliteConnection> {
  /** The validated options with defaults applied. */
  readonly options: ResolvedSqliteOptions
  /**
   * WAL checkpoint policy on the writer (see `runCheckpoint`). With worker threads available the
   * checkpoint runs on a connection in a worker thread of its own, so the event loop never
   * waits for it; resolves with what it did (undefined when nothing was due).
   */
  maintain(
    connection: SqliteConnection<Raw>,
    reason: MaintenanceReason,
  ): Promise<CheckpointResult | undefined>
}

/**
 * What a driver package hands to {@link createSqliteDriver}.
 *
 * @example
 * ```ts
 * createSqliteDriver({ adapter, options, subject: 'my driver options', knownKeys: ['nativeBinding'] })
 * ```
 */
export interface SqliteDriverSpec<Raw> {
  /** The driver's native adapter (one small file per driver package). */
  readonly adapter: NativeAdapter<Raw>
  /** The user's options, validated here (shared fields) together with the driver's own. */
  readonly options: unknown
  /** Subject named in `ConfigError`, e.g. `better-sqlite3 driver options`. */
  readonly subject: string
  /** Option keys only this driver knows, and the issues the driver found in them. */
  readonly knownKeys?: readonly string[]
  readonly issues?: readonly ConfigIssue[]
  /**
   * How a worker thread loads this adapter (the driver package's built module and the factory it
   * exports). Without it the driver has no worker readers and checkpoints on the main thread.
   */
  readonly worker?: WorkerAdapterSpec
}

/**
 * Builds a complete pool driver from a native adapter: validates options (one `ConfigError` with
 * every bad field), opens connections lazily with WAL and role pragmas, runs transactions and
 * savepoints, resets and closes connections (statements dropped first, so no zombie handle keeps
 * the file open) and checkpoints the WAL in `maintain`.
 *
 * `':memory:'` (and `''`) is private to one connection, so such a driver reports
 * `capabilities.readers = false` and the pool runs everything on its writer.
 *
 * @example
 * ```ts
 * export function myDriver(options: SqliteDriverOptions): SqliteDriver<MyDb> {
 *   return createSqliteDriver({ adapter: myAdapter, options, subject: 'my driver options' })
 * }
 * ```
 */
export function createSqliteDriver<Raw>(spec: SqliteDriverSpec<Raw>): SqliteDriver<Raw> {
  const { adapter } = spec
  const options = resolveSqliteOptions(spec.options, spec.subject, {
    knownKeys: spec.knownKeys ?? [],
    issues: spec.issues ?? [],
  })
  type C = SqliteConnection<Raw>

  const open = (role: Role): Promise<C> => openSqliteConnection(adapter, options, role)
  const worker = spec.worker === undefined || options.memory ? undefined : spec.worker
  const startWorker = (spec: WorkerAdapterSpec) => WorkerConnection.open({ adapter: spec, options })
  const checkpoints = new Checkpointers(
    worker === undefined ? undefined : () => startWorker(worker),
  )

  const savepoint = (build: (name: string) => string) => (c: C, name: string) => {
    c.execControl(build(name))
  }

  return {
    get name() {
      return adapter.name
    },
    target: options.filename,
    capabilities: Object.freeze({ readers: !options.memory }),
    options,
    open,
    close: async (c: C) => {
      await checkpoints.close(c)
      await c.closeNative()
    },
    ping: (c: C) => {
      c.getControl(SQL.ping)
    },
    reset: (c: C) => restoreConnection(c, options),
    // A pragma set by a callback, or an iteration left open (it pins a read snapshot).
    needsReset: (c: C) => c.stateChanged || c.iterators.size > 0,
    maintain: (c: C, reason: MaintenanceReason) => checkpoints.run(c, reason, options),
    // A checkpoint step every so many commits, sized to `checkpoint.stepMs` (decision 0013).
    // Offered only when steps are on, so the pool asks nothing after each commit otherwise.
    ...(options.checkpoint.stepMs > 0
      ? { maintenanceDue: (c: C) => checkpointDue(c, options) }
      : {}),
    ...(spec.worker === undefined
      ? {}
      : {
          workers: Object.freeze({
            open: () => startWorker(spec.worker as WorkerAdapterSpec),
            close: (w: AsyncSqliteConnection) => (w as WorkerConnection).close(),
            ping: (w: AsyncSqliteConnection) => (w as WorkerConnection).ping(),
            reset: (w: AsyncSqliteConnection) => (w as WorkerConnection).reset(),
            needsReset: (w: AsyncSqliteConnection) => (w as WorkerConnection).needsReset,
            view: (c: C) => new MainThreadView(c),
          }),
        }),
    transactions: Object.freeze({
      begin: (c: C, mode: TransactionMode) => c.runControl(BEGIN_SQL[mode]),
      commit: (c: C) => {
        c.runControl(SQL.commit)
        c.commitsSinceCheckpoint++
      },
      rollback: (c: C) => {
        // SQLite may already have rolled back (after SQLITE_FULL, IOERR, a BUSY in COMMIT…).
        if (c.inTransaction) c.runControl(SQL.rollback)
      },
      savepoint: savepoint(SAVEPOINT_SQL.create),
      releaseSavepoint: savepoint(SAVEPOINT_SQL.release),
      rollbackToSavepoint: savepoint(SAVEPOINT_SQL.rollbackTo),
      isActive: (c: C) => c.inTransaction,
    }),
  }
}

/**
 * Each writer's checkpoint connection: a reader in a worker thread of its own, started on the
 * first checkpoint and closed with the writer. If it cannot start (or its thread died), that
 * checkpoint runs on the main thread and the next one tries a new thread.
 */
class Checkpointers {
  readonly #start: (() => Promise<WorkerConnection>) | undefined
  readonly #byWriter = new WeakMap<SqliteConnection, Promise<WorkerConnection | undefined>>()

  constructor(start: (() => Promise<WorkerConnection>) | undefined) {
    this.#start = start
  }

  async run(
    writer: SqliteConnection,
    reason: MaintenanceReason,
    options: ResolvedSqliteOptions,
  ): Promise<CheckpointResult | undefined> {
    const start = this.#start
    if (start === undefined || options.readonly || writer.role !== 'writer') {
      return runCheckpoint(writer, reason, options)
    }
    let pending = this.#byWriter.get(writer)
    if (pending === undefined) {
      pending = start().catch(() => undefined)
      this.#byWriter.set(writer, pending)
    }
    const thread = await pending
    if (thread === undefined || thread.closed) {
      this.#byWriter.delete(writer)
      if (thread !== undefined) await thread.close()
      return runCheckpoint(writer, reason, options)
    }
    return runCheckpointWith(writer, reason, options, (mode) => thread.checkpoint(mode))
  }

  /** Ends the writer's checkpoint thread (before the writer itself closes). */
  async close(writer: SqliteConnection): Promise<void> {
    const pending = this.#byWriter.get(writer)
    this.#byWriter.delete(writer)
    await (await pending)?.close()
  }
}
