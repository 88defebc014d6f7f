import { ConfigError, type ConfigIssue, type Pool } from '@litepool/pool-core'
import { describeValue as describe, type SqliteConnection } from '@litepool/sqlite-base'
import type { MigrationEvent } from './types.js'

/** The part of a litepool pool the migrator uses: any pool over a litepool SQLite driver fits. */
export type MigratorPool = Pick<Pool<SqliteConnection>, 'acquire'>

/**
 * Options of {@link createMigrator}.
 *
 * @example
 * ```ts
 * const migrator = createMigrator({ pool, migrations: './migrations', backup: { dir: './backups' } })
 * ```
 */
export interface MigratorOptions {
  /** The pool to migrate; runs pin its writer connection. */
  readonly pool: MigratorPool
  /** Folder of `NNNN_name.sql` / `.js` / `.ts` migrations. */
  readonly migrations: string
  /** History table name; the lock table is `<table>_lock`. Default `litepool_migrations`. */
  readonly table?: string
  /**
   * Back up the database with `VACUUM INTO` before a run that changes something. `false` turns it
   * off; `{ dir }` puts backups there instead of next to the database. Default `true`.
   * In-memory databases are never backed up.
   */
  readonly backup?: boolean | { readonly dir?: string }
  /** How long a run waits for another process's run to finish. Default 300 000 (5 min). */
  readonly lockTimeoutMs?: number
  /** `busy_timeout` while a step runs outside a transaction. Default 30 000. */
  readonly stepBusyTimeoutMs?: number
  /** Progress: backup made, migration started/done, notes, waiting for another run. */
  readonly onEvent?: (event: MigrationEvent) => void
}

/** Options after validation and defaults. */
export interface ResolvedMigratorOptions {
  readonly pool: MigratorPool
  readonly migrations: string
  readonly table: string
  readonly backup: false | { readonly dir: string | undefined }
  readonly lockTimeoutMs: number
  readonly stepBusyTimeoutMs: number
  readonly onEvent: (event: MigrationEvent) => void
}

const KNOWN = [
  'pool',
  'migrations',
  'table',
  'backup',
  'lockTimeoutMs',
  'stepBusyTimeoutMs',
  'onEvent',
]
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/

/** Validates {@link MigratorOptions}; one {@link ConfigError} lists every bad field. */
export function resolveMigratorOptions(options: MigratorOptions): ResolvedMigratorOptions {
  const issues: ConfigIssue[] = []
  const bad = (path: string, expected: string, value: unknown) =>
    issues.push({ path, expected, received: describe(value) })
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('migrator options', [
      { path: '(root)', expected: 'an options object', received: describe(options) },
    ])
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key))
      bad(
        key,
        `no such option (known: ${KNOWN.join(', ')})`,
        (options as unknown as Record<string, unknown>)[key],
      )
  }
  if (typeof options.pool?.acquire !== 'function')
    bad('pool', 'a litepool pool (createPool({ driver }))', options.pool)
  if (typeof options.migrations !== 'string' || options.migrations === '')
    bad('migrations', 'a folder path', options.migrations)
  const table = options.table ?? 'litepool_migrations'
  if (typeof table !== 'string' || !IDENTIFIER.test(table))
    bad('table', 'a plain identifier ([A-Za-z_][A-Za-z0-9_]*)', options.table)
  const backup = options.backup ?? true
  let dir: string | undefined
  if (typeof backup === 'object' && backup !== null) {
    if (backup.dir !== undefined && (typeof backup.dir !== 'string' || backup.dir === ''))
      bad('backup.dir', 'a folder path', backup.dir)
    dir = backup.dir
  } else if (typeof backup !== 'boolean') {
    bad('backup', 'true, false or { dir }', backup)
  }
  const lockTimeoutMs = options.lockTimeoutMs ?? 300_000
  if (!Number.isSafeInteger(lockTimeoutMs) || lockTimeoutMs < 0)
    bad('lockTimeoutMs', 'an integer number of milliseconds >= 0', lockTimeoutMs)
  const stepBusyTimeoutMs = options.stepBusyTimeoutMs ?? 30_000
  if (!Number.isSafeInteger(stepBusyTimeoutMs) || stepBusyTimeoutMs < 0) {
    bad('stepBusyTimeoutMs', 'an integer number of milliseconds >= 0', stepBusyTimeoutMs)
  }
  if (options.onEvent !== undefined && typeof options.onEvent !== 'function')
    bad('onEvent', 'a function', options.onEvent)
  if (issues.length > 0) throw new ConfigError('migrator options', issues)
  return {
    pool: options.pool,
    migrations: options.migrations,
    table,
    backup: backup === false ? false : { dir },
    lockTimeoutMs,
    stepBusyTimeoutMs,
    onEvent: options.onEvent ?? (() => {}),
  }
}
