import type { TransactionMode } from '@litepool/pool-core'

// Every piece of SQL text litepool sends on its own lives here, as frozen named constants.

/**
 * `BEGIN` statements by transaction mode. `immediate` takes the write lock at BEGIN, so a write
 * transaction never fails later with `SQLITE_BUSY_SNAPSHOT` because another connection wrote first.
 *
 * @example
 * ```ts
 * connection.run(BEGIN_SQL.immediate)
 * ```
 */
export const BEGIN_SQL: Readonly<Record<TransactionMode, string>> = Object.freeze({
  deferred: 'BEGIN DEFERRED',
  immediate: 'BEGIN IMMEDIATE',
  exclusive: 'BEGIN EXCLUSIVE',
})

/**
 * Fixed statements: transaction end, the health-check query and the pragma reads used by setup.
 *
 * @example
 * ```ts
 * connection.get(SQL.ping) // { ok: 1 }
 * ```
 */
export const SQL: Readonly<{
  commit: string
  rollback: string
  ping: string
  journalMode: string
}> = Object.freeze({
  commit: 'COMMIT',
  rollback: 'ROLLBACK',
  ping: 'SELECT 1 AS ok',
  journalMode: 'PRAGMA journal_mode',
})

/**
 * WAL checkpoint modes, from least to most intrusive.
 *
 * @example
 * ```ts
 * const mode: CheckpointMode = 'TRUNCATE'
 * ```
 */
export type CheckpointMode = 'PASSIVE' | 'FULL' | 'RESTART' | 'TRUNCATE'

/**
 * `PRAGMA wal_checkpoint(MODE)` by mode. Each returns one row `{ busy, log, checkpointed }`.
 *
 * - `PASSIVE` copies what it can without waiting for anyone.
 * - `RESTART` also waits (busy handler) for readers so the next writer starts the WAL from the top.
 * - `TRUNCATE` is `RESTART` and then truncates the `-wal` file to zero bytes.
 *
 * @example
 * ```ts
 * const row = connection.get(CHECKPOINT_SQL.TRUNCATE)
 * ```
 */
export const CHECKPOINT_SQL: Readonly<Record<CheckpointMode, string>> = Object.freeze({
  PASSIVE: 'PRAGMA wal_checkpoint(PASSIVE)',
  FULL: 'PRAGMA wal_checkpoint(FULL)',
  RESTART: 'PRAGMA wal_checkpoint(RESTART)',
  TRUNCATE: 'PRAGMA wal_checkpoint(TRUNCATE)',
})

/**
 * Quotes an SQL identifier (savepoint, table or pragma name) for SQLite: wraps it in double
 * quotes and doubles any double quote inside.
 *
 * @example
 * ```ts
 * quoteIdentifier('sp_1') // '"sp_1"'
 * ```
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/**
 * `SAVEPOINT` / `RELEASE` / `ROLLBACK TO` statements for a savepoint name chosen by the pool.
 *
 * @example
 * ```ts
 * SAVEPOINT_SQL.create('litepool_1') // 'SAVEPOINT "litepool_1"'
 * ```
 */
export const SAVEPOINT_SQL: Readonly<{
  create(name: string): string
  release(name: string): string
  rollbackTo(name: string): string
}> = Object.freeze({
  create: (name: string) => `SAVEPOINT ${quoteIdentifier(name)}`,
  release: (name: string) => `RELEASE ${quoteIdentifier(name)}`,
  rollbackTo: (name: string) => `ROLLBACK TO ${quoteIdentifier(name)}`,
})

/**
 * A pragma value litepool can render safely: numbers, booleans and bare keywords/identifiers.
 *
 * @example
 * ```ts
 * const pragmas: Record<string, PragmaValue> = { cache_size: -64000, temp_store: 'MEMORY', recursive_triggers: true }
 * ```
 */
export type PragmaValue = string | number | boolean

/**
 * Renders `PRAGMA name = value`. Names must be (optionally schema-qualified) identifiers and
 * values numbers, booleans or single keywords; option validation rejects anything else first.
 *
 * @example
 * ```ts
 * pragmaSql('synchronous', 'NORMAL') // 'PRAGMA synchronous = NORMAL'
 * ```
 */
export function pragmaSql(name: string, value: PragmaValue): string {
  const rendered = typeof value === 'boolean' ? (value ? 'ON' : 'OFF') : String(value)
  return `PRAGMA ${name} = ${rendered}`
}

/**
 * Pragma names: an identifier, optionally qualified by a schema (`main.cache_size`).
 *
 * @example
 * ```ts
 * PRAGMA_NAME_PATTERN.test('main.cache_size') // true
 * ```
 */
export const PRAGMA_NAME_PATTERN: RegExp = /^(?:[A-Za-z_][A-Za-z0-9_]*\.)?[A-Za-z_][A-Za-z0-9_]*$/
/**
 * Pragma string values: one keyword or identifier, or a signed integer written as text.
 *
 * @example
 * ```ts
 * PRAGMA_KEYWORD_PATTERN.test('WAL; drop table t') // false
 * ```
 */
export const PRAGMA_KEYWORD_PATTERN: RegExp = /^(?:[A-Za-z_][A-Za-z0-9_]*|-?\d+)$/
