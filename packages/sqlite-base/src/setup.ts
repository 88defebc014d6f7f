import { ConnectionHealthError, isBusyError, type Role } from '@litepool/pool-core'
import type { SqliteConnection } from './connection.js'
import type { ResolvedSqliteOptions } from './options.js'
import { pragmaSql, SQL } from './sql.js'

/**
 * The pragmas a connection gets in a role, in order (after WAL is on). `reset` re-applies them when
 * a statement changed per-connection state:
 *
 * - `busy_timeout`: short (see `busyTimeoutMs`), so SQLite never sleeps long on the JS thread;
 * - `synchronous = NORMAL`: durable across application crashes in WAL mode, fsync at checkpoints;
 * - `foreign_keys = ON`;
 * - `journal_size_limit`: the `-wal` file is cut back to this size whenever it restarts;
 * - writer: `wal_autocheckpoint` (0 = the pool schedules checkpoints through `maintain`);
 * - reader: `query_only = ON`, so a reader refuses writes with `SQLITE_READONLY`;
 * - then the user's `pragmas`.
 *
 * @example
 * ```ts
 * connectionPragmas('reader', options)
 * // ['PRAGMA busy_timeout = 5', 'PRAGMA synchronous = NORMAL', …, 'PRAGMA query_only = ON']
 * ```
 */
export function connectionPragmas(role: Role, options: ResolvedSqliteOptions): readonly string[] {
  const list = [
    pragmaSql('busy_timeout', options.busyTimeoutMs),
    pragmaSql('synchronous', 'NORMAL'),
    pragmaSql('foreign_keys', true),
  ]
  if (!options.memory) list.push(pragmaSql('journal_size_limit', options.journalSizeLimitBytes))
  if (role === 'writer') list.push(pragmaSql('wal_autocheckpoint', options.autoCheckpointPages))
  else list.push(pragmaSql('query_only', true))
  for (const [name, value] of Object.entries(options.pragmas)) list.push(pragmaSql(name, value))
  return list
}

/** How long opening retries setup that failed with SQLITE_BUSY (another process converting to WAL). */
const SETUP_RETRY_MS = 5_000

/**
 * Prepares a fresh connection: WAL on the writer (checked first, switched only when needed), then
 * {@link connectionPragmas}. A BUSY during setup is retried with async backoff (the event loop stays
 * free) for a few seconds; any other failure is thrown.
 *
 * @example
 * ```ts
 * await setupConnection(connection, options)
 * ```
 */
export async function setupConnection(
  connection: SqliteConnection,
  options: ResolvedSqliteOptions,
): Promise<void> {
  const deadline = Date.now() + SETUP_RETRY_MS
  for (let attempt = 0; ; attempt++) {
    try {
      applySetup(connection, options)
      return
    } catch (error) {
      if (!isBusyError(error) || Date.now() >= deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, Math.min(100, 2 ** attempt)))
    }
  }
}

function applySetup(connection: SqliteConnection, options: ResolvedSqliteOptions): void {
  connection.execControl(pragmaSql('busy_timeout', options.busyTimeoutMs))
  if (connection.role === 'writer' && !options.memory && !options.readonly) {
    const mode = connection.getControl<{ journal_mode: string }>(SQL.journalMode)?.journal_mode
    if (mode?.toLowerCase() !== 'wal') {
      connection.execControl('PRAGMA journal_mode = WAL')
      const now = connection.getControl<{ journal_mode: string }>(SQL.journalMode)?.journal_mode
      if (now?.toLowerCase() !== 'wal') {
        throw new ConnectionHealthError(
          `could not switch ${options.filename} to WAL mode (journal_mode is ${now}); litepool's reader connections need WAL`,
        )
      }
    }
  }
  for (const sql of connectionPragmas(connection.role, options)) connection.execControl(sql)
}

/**
 * Makes a returned connection safe to reuse: ends open `iterate` loops, rolls back an open
 * transaction and, when a statement changed per-connection state (a pragma assignment, ATTACH),
 * re-applies {@link connectionPragmas}. Ad-hoc pragmas litepool does not set are not undone.
 *
 * @example
 * ```ts
 * restoreConnection(connection, options)
 * ```
 */
export function restoreConnection(
  connection: SqliteConnection,
  options: ResolvedSqliteOptions,
): void {
  connection.endIterations()
  if (connection.inTransaction) connection.runControl(SQL.rollback)
  if (connection.stateChanged) {
    for (const sql of connectionPragmas(connection.role, options)) connection.execControl(sql)
    connection.stateChanged = false
  }
}
