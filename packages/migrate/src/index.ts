/**
 * `@litepool/migrate`: schema migrations for SQLite on a litepool pool (any driver). Versions with
 * line-ending-proof checksums, a migration lock that makes concurrent runs from many processes
 * safe, one transaction per migration (with a per-file opt-out), down migrations, baseline,
 * backup before migrating, a table-rebuild helper and the `litepool-migrate` CLI.
 *
 * @example
 * ```ts
 * import { createPool } from '@litepool/pool-core'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 * import { createMigrator } from '@litepool/migrate'
 *
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * const { steps } = await createMigrator({ pool, migrations: './migrations' }).up()
 * ```
 *
 * @packageDocumentation
 */
export { backupFileName, restoreBackup } from './backup.js'
export { checksum, normalizeText } from './checksum.js'
export { createMigrationFile, type MigrationTemplate } from './create.js'
export {
  ChecksumMismatchError,
  type ForeignKeyViolation,
  ForeignKeyViolationError,
  type LockHolder,
  MigrationError,
  type MigrationErrorCode,
  MigrationFailedError,
  MigrationLoadError,
  MigrationLockError,
  type MigrationProblem,
  type MigrationProblemKind,
  MigrationValidationError,
  MissingDownError,
  MissingMigrationError,
  OutOfOrderMigrationError,
  validationError,
} from './errors.js'
export { loadMigrations, parseFileName, parseSqlMigration } from './loader.js'
export {
  createMigrator,
  type MigrationPlan,
  type MigrationRun,
  type MigrationStatus,
  Migrator,
  type PlanStep,
  type TargetOptions,
} from './migrator.js'
export type { MigratorOptions, MigratorPool } from './options.js'
export {
  type Analysis,
  analyze,
  type DownStep,
  type MigrationState,
  type MigrationStatusEntry,
  planDown,
  planUp,
} from './planner.js'
export {
  checkForeignKeys,
  type RebuildTableOptions,
  type RebuildTableResult,
  rebuildTable,
  rebuildTableOnPool,
} from './rebuild.js'
export type { StepReport } from './runner.js'
export type {
  AppliedMigration,
  Migration,
  MigrationContext,
  MigrationDirectives,
  MigrationEvent,
  MigrationKind,
  MigrationModule,
} from './types.js'
