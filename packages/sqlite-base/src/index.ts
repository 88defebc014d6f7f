/**
 * What every litepool SQLite driver shares, written once: connection setup (WAL, pragmas by
 * role), BEGIN modes and savepoints, error classification, the per-connection statement cache,
 * the WAL checkpoint policy and the `:memory:` rule. A driver package supplies only a small
 * {@link NativeAdapter} and calls {@link createSqliteDriver}.
 *
 * @packageDocumentation
 */
export type {
  NativeAdapter,
  NativeDatabase,
  NativeOpenOptions,
  NativeStatement,
  RunResult,
  SqliteParams,
  SqliteValue,
} from './adapter.js'
export {
  type CheckpointResult,
  checkpointDue,
  chooseCheckpointMode,
  nextCheckpointStep,
  runCheckpoint,
  runCheckpointWith,
  walSize,
} from './checkpoint.js'
export { SqliteConnection } from './connection.js'
export { createSqliteDriver, type SqliteDriver, type SqliteDriverSpec } from './driver.js'
export { classifySqliteError, sqliteCodeName, sqliteErrorKind } from './errors.js'
export { openSqliteConnection } from './open.js'
export {
  type CheckpointThresholds,
  describeValue,
  type ExtraOptionIssues,
  type ResolvedSqliteOptions,
  resolveSqliteOptions,
  SQLITE_DEFAULTS,
  type SqliteDriverOptions,
} from './options.js'
export { SQLITE_RESULT_CODES } from './result-codes.js'
export { connectionPragmas, restoreConnection, setupConnection } from './setup.js'
export {
  BEGIN_SQL,
  CHECKPOINT_SQL,
  type CheckpointMode,
  PRAGMA_KEYWORD_PATTERN,
  PRAGMA_NAME_PATTERN,
  type PragmaValue,
  pragmaSql,
  quoteIdentifier,
  SAVEPOINT_SQL,
  SQL,
} from './sql.js'
export { type DefaultRow, SqliteStatement } from './statement.js'
export {
  type AsyncSqliteConnection,
  type IterateOptions,
  MainThreadView,
} from './threads/async-connection.js'
export type { WorkerAdapterSpec } from './threads/protocol.js'
export {
  WORKER_EXIT,
  type WorkerCheckpoint,
  WorkerConnection,
} from './threads/worker-connection.js'
export { reclaimZombieHandles } from './zombies.js'
