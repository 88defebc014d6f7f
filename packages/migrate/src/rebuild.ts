import type { Pool } from '@litepool/pool-core'
import { quoteIdentifier, type SqliteConnection } from '@litepool/sqlite-base'
import { type ForeignKeyViolation, ForeignKeyViolationError, MigrationError } from './errors.js'
import { beginImmediate, commit, rollbackQuietly } from './lock.js'
import { MIGRATE_SQL } from './sql.js'

/**
 * What {@link rebuildTable} builds. The new table gets the old one's name; its rows come from the
 * old table (same-named columns are copied unless `copy` says otherwise).
 */
export interface RebuildTableOptions {
  /** The table to rebuild. */
  readonly table: string
  /** The new column definitions and table constraints: what goes inside `CREATE TABLE x ( … )`. */
  readonly columns: string
  /** What follows the closing parenthesis, e.g. `STRICT` or `WITHOUT ROWID`. */
  readonly tableOptions?: string
  /**
   * New column → SQL expression over the old table's columns, e.g. `{ email: "lower(email)", kind: "'user'" }`.
   * New columns not listed are copied from the old column of the same name, or left to their default.
   */
  readonly copy?: Readonly<Record<string, string>>
  /** Indexes, triggers or views (by name) not to recreate, e.g. an index on a dropped column. */
  readonly drop?: readonly string[]
}

/** What {@link rebuildTable} did. */
export interface RebuildTableResult {
  /** Rows copied into the new table. */
  readonly rows: number
  /** Indexes, triggers and views recreated, by name. */
  readonly recreated: readonly string[]
}

interface SchemaObject {
  type: string
  name: string
  sql: string
}

const SQL = {
  tableExists: `SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = ? COLLATE NOCASE`,
  dependents: `SELECT type, name, sql FROM sqlite_schema WHERE tbl_name = ? COLLATE NOCASE AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY rowid`,
  views: `SELECT type, name, sql FROM sqlite_schema WHERE type = 'view' ORDER BY rowid`,
  columns: `SELECT name FROM pragma_table_info(?)`,
  referencedBy: `SELECT DISTINCT m.name AS name FROM sqlite_schema AS m, pragma_foreign_key_list(m.name) AS f WHERE m.type = 'table' AND f."table" = ? COLLATE NOCASE`,
  legacyAlter: 'PRAGMA legacy_alter_table',
  setLegacyAlter: (on: boolean) => `PRAGMA legacy_alter_table = ${on ? 'ON' : 'OFF'}`,
} as const

/**
 * SQLite's 12-step table rebuild (https://sqlite.org/lang_altertable.html#otheralter), steps 3–10,
 * inside the caller's transaction: remembers the table's indexes and triggers and the views that
 * mention it, creates the new table, copies the rows, drops the old table, renames the new one
 * into place, recreates indexes, triggers and views, then runs `PRAGMA foreign_key_check`.
 *
 * Foreign keys must be off (steps 1 and 12, outside the transaction) when other tables reference
 * this one: give the migration `-- litepool:foreign-keys off` (SQL) or `export const foreignKeys = false`
 * (module), and the runner switches them off on the pinned connection before BEGIN and back on after
 * COMMIT. Outside a migration use {@link rebuildTableOnPool}, which does all 12 steps.
 *
 * @example
 * ```ts
 * // migrations/0004_users_email_not_null.ts
 * export const foreignKeys = false
 * export const up: MigrationModule['up'] = (db, { rebuildTable }) => {
 *   rebuildTable({
 *     table: 'users',
 *     columns: 'id integer primary key, name text not null, email text not null',
 *     copy: { email: "coalesce(email, '')" },
 *   })
 * }
 * ```
 */
export function rebuildTable(
  c: SqliteConnection,
  options: RebuildTableOptions,
): RebuildTableResult {
  const { table } = options
  if (!c.inTransaction) {
    throw new MigrationError(
      `rebuildTable(${table}) must run inside a transaction (use rebuildTableOnPool outside a migration)`,
      {
        code: 'LITEPOOL_MIGRATION_STATE',
      },
    )
  }
  if (c.get(SQL.tableExists, [table]) === undefined) {
    throw new MigrationError(`rebuildTable: no table named ${table}`, {
      code: 'LITEPOOL_MIGRATION_STATE',
    })
  }
  assertForeignKeysSafe(c, table)
  const skip = new Set((options.drop ?? []).map((n) => n.toLowerCase()))
  // Step 3: remember indexes, triggers and the views that mention the table.
  const dependents = c.all<SchemaObject>(SQL.dependents, [table])
  const mentions = new RegExp(`(^|[^\\w$])["\`[]?${escapeRegExp(table)}["\`\\]]?($|[^\\w$])`, 'i')
  const views = c.all<SchemaObject>(SQL.views).filter((v) => mentions.test(v.sql))
  // Step 4: the new table under a temporary name.
  const temp = `_litepool_rebuild_${table}`
  c.exec(
    `CREATE TABLE ${quoteIdentifier(temp)} (${options.columns})${options.tableOptions ? ` ${options.tableOptions}` : ''}`,
  )
  // Step 5: copy the rows.
  const rows = copyRows(c, table, temp, options.copy ?? {})
  // Step 6: drop the old table (and the views that mention it, recreated in step 9).
  for (const view of views) c.exec(`DROP VIEW ${quoteIdentifier(view.name)}`)
  c.exec(`DROP TABLE ${quoteIdentifier(table)}`)
  // Step 7: rename into place. legacy_alter_table keeps SQLite from re-checking (and failing on)
  // triggers and views elsewhere that mention the old table while it is briefly gone.
  const legacy =
    Number(c.get<{ legacy_alter_table: number }>(SQL.legacyAlter)?.legacy_alter_table ?? 0) === 1
  if (!legacy) c.exec(SQL.setLegacyAlter(true))
  try {
    c.exec(`ALTER TABLE ${quoteIdentifier(temp)} RENAME TO ${quoteIdentifier(table)}`)
  } finally {
    if (!legacy) c.exec(SQL.setLegacyAlter(false))
  }
  // Steps 8 and 9: indexes, triggers, views.
  const recreated: string[] = []
  for (const object of [...dependents, ...views]) {
    if (skip.has(object.name.toLowerCase())) continue
    try {
      c.exec(object.sql)
    } catch (error) {
      throw new MigrationError(
        `rebuildTable(${table}): could not recreate ${object.type} ${object.name} (${error instanceof Error ? error.message : String(error)}); ` +
          `change it after the rebuild, or list it in \`drop\``,
        { code: 'LITEPOOL_MIGRATION_STATE', cause: error },
      )
    }
    recreated.push(object.name)
  }
  // Step 10.
  checkForeignKeys(c)
  return { rows, recreated }
}

function copyRows(
  c: SqliteConnection,
  from: string,
  to: string,
  copy: Readonly<Record<string, string>>,
): number {
  const oldColumns = new Set(
    c.all<{ name: string }>(SQL.columns, [from]).map((r) => r.name.toLowerCase()),
  )
  const newColumns = c.all<{ name: string }>(SQL.columns, [to]).map((r) => r.name)
  const known = new Set(newColumns.map((n) => n.toLowerCase()))
  const unknown = Object.keys(copy).filter((k) => !known.has(k.toLowerCase()))
  if (unknown.length > 0) {
    throw new MigrationError(
      `rebuildTable(${from}): copy names columns the new table does not have: ${unknown.join(', ')}`,
      {
        code: 'LITEPOOL_MIGRATION_STATE',
      },
    )
  }
  const byLower = new Map(Object.entries(copy).map(([k, v]) => [k.toLowerCase(), v]))
  const targets: string[] = []
  const sources: string[] = []
  for (const name of newColumns) {
    const expression =
      byLower.get(name.toLowerCase()) ??
      (oldColumns.has(name.toLowerCase()) ? quoteIdentifier(name) : undefined)
    if (expression === undefined) continue
    targets.push(quoteIdentifier(name))
    sources.push(expression)
  }
  if (targets.length === 0) return 0
  return c.run(
    `INSERT INTO ${quoteIdentifier(to)} (${targets.join(', ')}) SELECT ${sources.join(', ')} FROM ${quoteIdentifier(from)}`,
  ).changes
}

function assertForeignKeysSafe(c: SqliteConnection, table: string): void {
  if (Number(c.get<{ foreign_keys: number }>(MIGRATE_SQL.foreignKeys)?.foreign_keys ?? 0) !== 1)
    return
  const children = c.all<{ name: string }>(SQL.referencedBy, [table]).map((r) => r.name)
  if (children.length === 0) return
  throw new MigrationError(
    `rebuildTable(${table}): foreign keys are on and ${children.join(', ')} reference ${table}, so dropping it would delete or ` +
      'orphan their rows. Mark the migration "-- litepool:foreign-keys off" (SQL) or `export const foreignKeys = false` (module).',
    { code: 'LITEPOOL_MIGRATION_STATE' },
  )
}

/** `PRAGMA foreign_key_check` over the whole database; throws {@link ForeignKeyViolationError}. */
export function checkForeignKeys(c: SqliteConnection): void {
  const violations = c.all<ForeignKeyViolation>(MIGRATE_SQL.foreignKeyCheck)
  if (violations.length > 0) throw new ForeignKeyViolationError(violations)
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * All 12 steps of a table rebuild on the pool's writer, outside any migration: foreign keys off on
 * the pinned connection, `BEGIN IMMEDIATE` (retried asynchronously while another process writes),
 * {@link rebuildTable}, COMMIT, foreign keys back on.
 *
 * @example
 * ```ts
 * await rebuildTableOnPool(pool, { table: 'users', columns: 'id integer primary key, name text not null' })
 * ```
 */
export async function rebuildTableOnPool(
  pool: Pick<Pool<SqliteConnection>, 'acquire'>,
  options: RebuildTableOptions,
  lockTimeoutMs = 30_000,
): Promise<RebuildTableResult> {
  const c = await pool.acquire({ role: 'writer' })
  try {
    return await rebuildPinned(c, options, lockTimeoutMs)
  } finally {
    await c.release()
  }
}

async function rebuildPinned(
  c: SqliteConnection,
  options: RebuildTableOptions,
  lockTimeoutMs: number,
): Promise<RebuildTableResult> {
  if (c.inTransaction) {
    throw new MigrationError(
      'rebuildTableOnPool cannot run inside a transaction: call rebuildTable(connection, …) there',
      {
        code: 'LITEPOOL_MIGRATION_STATE',
      },
    )
  }
  const fkWasOn =
    Number(c.get<{ foreign_keys: number }>(MIGRATE_SQL.foreignKeys)?.foreign_keys ?? 0) === 1
  if (fkWasOn) c.exec(MIGRATE_SQL.foreignKeysOff)
  try {
    const deadline = performance.now() + lockTimeoutMs
    await beginImmediate(c, deadline)
    try {
      const result = rebuildTable(c, options)
      await commit(c, deadline)
      return result
    } catch (error) {
      rollbackQuietly(c)
      throw error
    }
  } finally {
    if (fkWasOn) c.exec(MIGRATE_SQL.foreignKeysOn)
  }
}
