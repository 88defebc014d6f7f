import type {
  ConfigIssue,
  Driver,
  MaintenanceReason,
  Role,
  TransactionMode,
} from '@litepool/pool-core'
import type { NativeAdapter } from './adapter.js'
import { checkpointDue, runCheckpoint } from './checkpoint.js'
import { SqliteConnection } from './connection.js'
import { classifySqliteError } from './errors.js'
import { type ResolvedSqliteOptions, resolveSqliteOptions } from './options.js'
import { restoreConnection, setupConnection } from './setup.js'
import { BEGIN_SQL, SAVEPOINT_SQL, SQL } from './sql.js'

/**
 * A litepool driver for SQLite: `Driver<SqliteConnection>` plus the options it resolved.
 *
 * @example
 * ```ts
 * const driver: SqliteDriver = betterSqlite3({ filename: 'app.db' })
 * driver.capabilities.readers // true (false for ':memory:')
 * ```
 */
export interface SqliteDriver<Raw = unknown> extends Driver<SqliteConnection<Raw>> {
  /** The validated options with defaults applied. */
  readonly options: ResolvedSqliteOptions
  /** WAL checkpoint policy on the writer; see `runCheckpoint`. */
  maintain(connection: SqliteConnection<Raw>, reason: MaintenanceReason): void
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

  const open = async (role: Role): Promise<C> => {
    const native = await adapter.open(options.filename, {
      role,
      readonly: options.readonly,
      safeIntegers: options.safeIntegers,
      busyTimeoutMs: options.busyTimeoutMs,
    })
    const connection = new SqliteConnection<Raw>(
      native,
      role,
      options.filename,
      options.statementCacheSize,
    )
    try {
      await setupConnection(connection, options)
    } catch (error) {
      await connection.closeNative().catch(() => undefined)
      throw classifySqliteError(error)
    }
    return connection
  }

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
    close: (c: C) => c.closeNative(),
    ping: (c: C) => {
      c.getControl(SQL.ping)
    },
    reset: (c: C) => restoreConnection(c, options),
    // A pragma set by a callback, or an iteration left open (it pins a read snapshot).
    needsReset: (c: C) => c.stateChanged || c.iterators.size > 0,
    maintain: (c: C, reason: MaintenanceReason) => {
      runCheckpoint(c, reason, options)
    },
    // A checkpoint step every so many commits, sized to `checkpoint.stepMs` (decision 0013).
    // Offered only when steps are on, so the pool asks nothing after each commit otherwise.
    ...(options.checkpoint.stepMs > 0
      ? { maintenanceDue: (c: C) => checkpointDue(c, options) }
      : {}),
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
