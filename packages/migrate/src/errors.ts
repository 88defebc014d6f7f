import { PoolError } from '@litepool/pool-core'

/**
 * Every code a {@link MigrationError} can carry. Codes are stable across versions; branch on them
 * (or on the classes) rather than on messages.
 */
export type MigrationErrorCode =
  | 'LITEPOOL_MIGRATION'
  | 'LITEPOOL_MIGRATION_LOAD'
  | 'LITEPOOL_MIGRATION_CHECKSUM'
  | 'LITEPOOL_MIGRATION_MISSING'
  | 'LITEPOOL_MIGRATION_OUT_OF_ORDER'
  | 'LITEPOOL_MIGRATION_INVALID'
  | 'LITEPOOL_MIGRATION_NO_DOWN'
  | 'LITEPOOL_MIGRATION_FAILED'
  | 'LITEPOOL_MIGRATION_FOREIGN_KEY'
  | 'LITEPOOL_MIGRATION_LOCK_TIMEOUT'
  | 'LITEPOOL_MIGRATION_INTERRUPTED'
  | 'LITEPOOL_MIGRATION_NOT_BASELINED'
  | 'LITEPOOL_MIGRATION_BASELINE'
  | 'LITEPOOL_MIGRATION_TARGET'
  | 'LITEPOOL_MIGRATION_BACKUP'
  | 'LITEPOOL_MIGRATION_STATE'
  | 'LITEPOOL_MIGRATION_DRIVER'

/**
 * Base class of every error `@litepool/migrate` throws; a {@link PoolError}, so `name`, a stable
 * `code` and `cause` work as everywhere in litepool.
 *
 * @example
 * ```ts
 * try {
 *   await migrator.up()
 * } catch (error) {
 *   if (error instanceof MigrationError && error.code === 'LITEPOOL_MIGRATION_CHECKSUM') process.exit(3)
 *   throw error
 * }
 * ```
 */
export class MigrationError extends PoolError {
  declare readonly code: MigrationErrorCode

  constructor(message: string, options?: { code?: MigrationErrorCode; cause?: unknown }) {
    super(message, {
      code: options?.code ?? 'LITEPOOL_MIGRATION',
      ...(options?.cause === undefined ? {} : { cause: options.cause }),
    })
  }
}

/** A migration file could not be read, parsed or imported (`LITEPOOL_MIGRATION_LOAD`); `file` names it. */
export class MigrationLoadError extends MigrationError {
  /** The offending file or folder. */
  readonly file: string

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(message, { code: 'LITEPOOL_MIGRATION_LOAD', ...options })
    this.file = file
  }
}

/** What kind of inconsistency {@link MigrationValidationError} found. */
export type MigrationProblemKind = 'checksum' | 'missing' | 'out-of-order'

/** One inconsistency between the migrations folder and the history table. */
export interface MigrationProblem {
  readonly kind: MigrationProblemKind
  readonly version: number
  /** Migration name (file name without extension), e.g. `0002_add_email`. */
  readonly name: string
  /** The file on disk, when there is one. */
  readonly file?: string
  /** One line for humans. */
  readonly detail: string
}

const PROBLEM_CODES: Readonly<Record<MigrationProblemKind, MigrationErrorCode>> = {
  checksum: 'LITEPOOL_MIGRATION_CHECKSUM',
  missing: 'LITEPOOL_MIGRATION_MISSING',
  'out-of-order': 'LITEPOOL_MIGRATION_OUT_OF_ORDER',
}

/**
 * The folder and the history disagree. `problems` lists every one. The `code` is the kind's own
 * (`LITEPOOL_MIGRATION_CHECKSUM`, `…_MISSING`, `…_OUT_OF_ORDER`) when all problems are of one
 * kind, else `LITEPOOL_MIGRATION_INVALID`. Use {@link validationError} to get the right subclass.
 */
export class MigrationValidationError extends MigrationError {
  readonly problems: readonly MigrationProblem[]

  constructor(problems: readonly MigrationProblem[], code?: MigrationErrorCode) {
    const kinds = new Set(problems.map((p) => p.kind))
    const only = kinds.size === 1 ? [...kinds][0] : undefined
    const lines = problems.map((p) => `  - ${p.name}: ${p.detail}`)
    super(
      `migrations do not match the database's history (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      { code: code ?? (only === undefined ? 'LITEPOOL_MIGRATION_INVALID' : PROBLEM_CODES[only]) },
    )
    this.problems = problems
  }
}

/** An applied migration's file was edited afterwards (`LITEPOOL_MIGRATION_CHECKSUM`). Line endings alone never count. */
export class ChecksumMismatchError extends MigrationValidationError {}
/** An applied migration's file is gone from the folder (`LITEPOOL_MIGRATION_MISSING`). */
export class MissingMigrationError extends MigrationValidationError {}
/** A new file sorts below a migration that is already applied (`LITEPOOL_MIGRATION_OUT_OF_ORDER`). */
export class OutOfOrderMigrationError extends MigrationValidationError {}

/**
 * The error for a list of problems: the kind's own class when they share one kind, else a plain
 * {@link MigrationValidationError} with code `LITEPOOL_MIGRATION_INVALID`.
 *
 * @example
 * ```ts
 * throw validationError(analysis.problems)
 * ```
 */
export function validationError(problems: readonly MigrationProblem[]): MigrationValidationError {
  const kinds = new Set(problems.map((p) => p.kind))
  if (kinds.size !== 1) return new MigrationValidationError(problems)
  const [kind] = kinds
  if (kind === 'checksum') return new ChecksumMismatchError(problems)
  if (kind === 'missing') return new MissingMigrationError(problems)
  return new OutOfOrderMigrationError(problems)
}

/** A roll back needs down migrations that do not exist (`LITEPOOL_MIGRATION_NO_DOWN`); nothing ran. */
export class MissingDownError extends MigrationError {
  /** Every migration in the requested range without a down step. */
  readonly migrations: readonly string[]

  constructor(migrations: readonly string[]) {
    super(
      `cannot roll back: no down migration for ${migrations.join(', ')}. ` +
        'Add a `-- litepool:down` section (SQL) or a `down` export (JS/TS); nothing was rolled back.',
      { code: 'LITEPOOL_MIGRATION_NO_DOWN' },
    )
    this.migrations = migrations
  }
}

/**
 * A migration threw (`LITEPOOL_MIGRATION_FAILED`); `cause` is the original error. A migration in a
 * transaction was rolled back and left no trace. One that ran outside a transaction may have
 * changed the database partway: then `restoredFrom` names the backup that was restored, or
 * `partial` is true when no backup existed.
 */
export class MigrationFailedError extends MigrationError {
  readonly migration: string
  readonly direction: 'up' | 'down'
  /** Backup file the database was restored from, when a non-transactional step failed. */
  readonly restoredFrom: string | undefined
  /** True when the database may hold part of a non-transactional migration (no backup to restore). */
  readonly partial: boolean

  constructor(
    migration: string,
    direction: 'up' | 'down',
    cause: unknown,
    options: { transactional: boolean; restoredFrom?: string; restoreError?: unknown },
  ) {
    const why = cause instanceof Error ? cause.message : String(cause)
    const restoreFailed =
      options.restoreError === undefined
        ? ''
        : ` Restoring the backup failed too: ${options.restoreError instanceof Error ? options.restoreError.message : String(options.restoreError)}.`
    const after = options.transactional
      ? 'its transaction was rolled back; the history is unchanged'
      : options.restoredFrom !== undefined
        ? `it ran outside a transaction, so the database was restored from the backup ${options.restoredFrom}`
        : 'it ran outside a transaction and was not restored: the database may hold part of it; the migration lock stays set (interrupted) until you check it and run `litepool-migrate unlock`'
    super(`migration ${migration} (${direction}) failed: ${why} — ${after}.${restoreFailed}`, {
      code: 'LITEPOOL_MIGRATION_FAILED',
      cause,
    })
    this.migration = migration
    this.direction = direction
    this.restoredFrom = options.restoredFrom
    this.partial = !options.transactional && options.restoredFrom === undefined
  }
}

/** One row of `PRAGMA foreign_key_check`. */
export interface ForeignKeyViolation {
  readonly table: string
  readonly rowid: number | null
  readonly parent: string
  readonly fkid: number
}

/** `PRAGMA foreign_key_check` found rows whose parent is missing (`LITEPOOL_MIGRATION_FOREIGN_KEY`). */
export class ForeignKeyViolationError extends MigrationError {
  readonly violations: readonly ForeignKeyViolation[]

  constructor(violations: readonly ForeignKeyViolation[]) {
    const shown = violations
      .slice(0, 5)
      .map((v) => `${v.table} rowid ${v.rowid} → ${v.parent}`)
      .join(', ')
    const more = violations.length > 5 ? ` and ${violations.length - 5} more` : ''
    super(`foreign key check failed: ${shown}${more}`, { code: 'LITEPOOL_MIGRATION_FOREIGN_KEY' })
    this.violations = violations
  }
}

/** Who holds (or held) the run lock, as recorded in the lock table. */
export interface LockHolder {
  /** Random id of the run. */
  readonly owner: string
  readonly pid: number
  readonly host: string
  /** ISO 8601 time the lock was taken. */
  readonly acquiredAt: string
  /** `running`, or `interrupted` after a non-transactional step failed with nothing to restore. */
  readonly state: 'running' | 'interrupted'
  /** The migration running outside a transaction when the row was written, if any. */
  readonly step: string | null
  /** Backup made by that run, if any. */
  readonly backup: string | null
}

/**
 * Another run holds the migration lock: it did not finish before `lockTimeoutMs`
 * (`LITEPOOL_MIGRATION_LOCK_TIMEOUT`), or it died or failed in the middle of a step that ran
 * outside a transaction (`LITEPOOL_MIGRATION_INTERRUPTED`), which needs a person to look.
 */
export class MigrationLockError extends MigrationError {
  readonly holder: LockHolder

  constructor(
    message: string,
    holder: LockHolder,
    code: 'LITEPOOL_MIGRATION_LOCK_TIMEOUT' | 'LITEPOOL_MIGRATION_INTERRUPTED',
  ) {
    super(message, { code })
    this.holder = holder
  }
}
