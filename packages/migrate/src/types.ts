import type { SqliteConnection } from '@litepool/sqlite-base'
import type { RebuildTableOptions } from './rebuild.js'

/** How a migration file is written. */
export type MigrationKind = 'sql' | 'module'

/**
 * One migration found in the folder: `NNNN_name.sql`, or a `.js`/`.mjs`/`.cjs`/`.ts`/`.mts` module.
 * The version is the number before the first `_`; the name is the file name without extension.
 */
export interface Migration {
  readonly version: number
  /** File name without extension, e.g. `0002_add_email`; recorded in the history. */
  readonly name: string
  /** Absolute path of the file. */
  readonly file: string
  readonly kind: MigrationKind
  /** SHA-256 (hex) of the file text with line endings normalised to `\n` and any BOM removed. */
  readonly checksum: string
  /** SQL files only: the up SQL (the text before `-- litepool:down`). */
  readonly upSql?: string
  /** SQL files only: the down SQL, when the file has a `-- litepool:down` section. */
  readonly downSql?: string
  /** SQL files only: the file's directives. Modules say the same through exports. */
  readonly directives?: MigrationDirectives
}

/** Per-file switches: SQL `-- litepool:…` comment lines, or module exports of the same name. */
export interface MigrationDirectives {
  /** `false` (`-- litepool:no-transaction`): run without a transaction (VACUUM, `journal_mode`). */
  readonly transaction: boolean
  /**
   * `false` (`-- litepool:foreign-keys off`): switch foreign keys off on the pinned connection
   * before BEGIN, run `PRAGMA foreign_key_check` before COMMIT, switch them back on after. Needed
   * for table rebuilds.
   */
  readonly foreignKeys: boolean
}

/**
 * What a `.js`/`.ts` migration module exports.
 *
 * @example
 * ```ts
 * // migrations/0003_backfill_slugs.ts
 * import type { MigrationModule } from '@litepool/migrate'
 *
 * export const up: MigrationModule['up'] = (db) => {
 *   for (const row of db.all<{ id: number; title: string }>('select id, title from posts')) {
 *     db.run('update posts set slug = ? where id = ?', [slugify(row.title), row.id])
 *   }
 * }
 * export const down: MigrationModule['down'] = (db) => {
 *   db.run('update posts set slug = null')
 * }
 * ```
 */
export interface MigrationModule {
  up(db: SqliteConnection, context: MigrationContext): void | Promise<void>
  down?(db: SqliteConnection, context: MigrationContext): void | Promise<void>
  /** `false`: run outside a transaction. Default `true`. */
  transaction?: boolean
  /** `false`: foreign keys off around this migration (see {@link MigrationDirectives}). Default `true`. */
  foreignKeys?: boolean
}

/** The second argument of a module migration's `up`/`down`. */
export interface MigrationContext {
  readonly migration: { readonly version: number; readonly name: string; readonly file: string }
  readonly direction: 'up' | 'down'
  /** Whether this step runs inside a transaction. */
  readonly transaction: boolean
  /** The 12-step table rebuild on this connection (needs `foreignKeys = false` on the migration). */
  rebuildTable(options: RebuildTableOptions): void
  /** A progress note, shown by the CLI under the migration's line. */
  log(message: string): void
}

/** One row of the history table. */
export interface AppliedMigration {
  readonly version: number
  readonly name: string
  /** `null` for a baseline row. */
  readonly checksum: string | null
  readonly kind: MigrationKind | 'baseline'
  /** Whether it ran inside a transaction. */
  readonly transaction: boolean
  /** ISO 8601 (UTC). */
  readonly appliedAt: string
  readonly durationMs: number
  /** `user@host pid N`. */
  readonly appliedBy: string
}

/** Progress of a run, for logs and the CLI. */
export type MigrationEvent =
  | { readonly type: 'backup'; readonly file: string; readonly ms: number }
  | {
      readonly type: 'start'
      readonly direction: 'up' | 'down'
      readonly migration: string
      readonly transaction: boolean
      readonly foreignKeys: boolean
    }
  | { readonly type: 'log'; readonly migration: string; readonly message: string }
  | {
      readonly type: 'done'
      readonly direction: 'up' | 'down'
      readonly migration: string
      readonly ms: number
      readonly transaction: boolean
    }
  | { readonly type: 'skipped'; readonly migration: string; readonly reason: string }
  | { readonly type: 'restored'; readonly file: string }
  | { readonly type: 'waiting'; readonly holder: string }
