import { mkdirSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { quoteIdentifier, type SqliteConnection } from '@litepool/sqlite-base'
import { MigrationError } from './errors.js'
import { beginImmediate, commit, rollbackQuietly } from './lock.js'
import { MIGRATE_SQL, quoteString } from './sql.js'

const ALIAS = 'litepool_backup'
const B = quoteIdentifier(ALIAS)

/**
 * Where the backup of `database` at `version` goes: `<dir>/<file>.v<version>.<UTC time>.bak`,
 * `dir` defaulting to the database's own folder.
 *
 * @example
 * ```ts
 * backupFileName('/srv/app.db', undefined, 3) // '/srv/app.db.v3.20261125T120000123Z.bak'
 * ```
 */
export function backupFileName(
  database: string,
  dir: string | undefined,
  version: number,
  date: Date = new Date(),
): string {
  const stamp = date.toISOString().replace(/[-:]/g, '').replace('.', '')
  return join(
    dir === undefined ? dirname(database) : resolve(dir),
    `${basename(database)}.v${version}.${stamp}.bak`,
  )
}

/**
 * A consistent copy of the database with `VACUUM INTO` (a read transaction: it sees one snapshot and
 * blocks no writer in WAL mode). Runs in autocommit on the pinned connection; returns milliseconds.
 */
export function makeBackup(c: SqliteConnection, file: string): number {
  const started = performance.now()
  try {
    mkdirSync(dirname(file), { recursive: true })
    c.exec(MIGRATE_SQL.vacuumInto(file))
  } catch (error) {
    throw new MigrationError(
      `could not back up ${c.filename} to ${file}: ${error instanceof Error ? error.message : String(error)}`,
      {
        code: 'LITEPOOL_MIGRATION_BACKUP',
        cause: error,
      },
    )
  }
  return performance.now() - started
}

interface SchemaRow {
  type: string
  name: string
  sql: string | null
}

/**
 * Puts the content of a backup back into the live database, in one `BEGIN IMMEDIATE` transaction on
 * the pinned connection (foreign keys off around it): every schema object is dropped and recreated
 * from the backup, and every table's rows copied back, with `user_version`. Tables named in `keep`
 * (the migration lock) are left as they are. It is a logical restore
 * through SQLite, not a file copy, so other connections (readers of this pool, other processes)
 * stay valid and simply see the restored content after COMMIT; if anything fails, nothing changes.
 *
 * @example
 * ```ts
 * await restoreBackup(connection, '/srv/app.db.v3.20261125T120000123Z.bak', 30_000)
 * ```
 */
export async function restoreBackup(
  c: SqliteConnection,
  file: string,
  timeoutMs: number,
  keep: readonly string[] = [],
): Promise<void> {
  const fkWasOn =
    Number(c.get<{ foreign_keys: number }>(MIGRATE_SQL.foreignKeys)?.foreign_keys ?? 0) === 1
  try {
    c.exec(`ATTACH DATABASE ${quoteString(file)} AS ${B}`)
  } catch (error) {
    throw new MigrationError(
      `could not open the backup ${file}: ${error instanceof Error ? error.message : String(error)}`,
      {
        code: 'LITEPOOL_MIGRATION_BACKUP',
        cause: error,
      },
    )
  }
  try {
    if (fkWasOn) c.exec(MIGRATE_SQL.foreignKeysOff)
    const deadline = performance.now() + timeoutMs
    await beginImmediate(c, deadline)
    try {
      replaceContent(c, new Set(keep))
      await commit(c, deadline)
    } catch (error) {
      rollbackQuietly(c)
      throw new MigrationError(
        `could not restore ${c.filename} from ${file}: ${error instanceof Error ? error.message : String(error)}`,
        {
          code: 'LITEPOOL_MIGRATION_BACKUP',
          cause: error,
        },
      )
    }
  } finally {
    if (fkWasOn) c.exec(MIGRATE_SQL.foreignKeysOn)
    c.exec(`DETACH DATABASE ${B}`)
  }
}

const OWN = `name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`

function replaceContent(c: SqliteConnection, keep: ReadonlySet<string>): void {
  // Drop: views and triggers first, then virtual tables (which drop their shadow tables), then tables.
  const mine = (r: SchemaRow & { tbl_name?: string }) => !keep.has(r.tbl_name ?? r.name)
  const live = c
    .all<SchemaRow>(
      `SELECT type, name, tbl_name, sql FROM main.sqlite_schema WHERE ${OWN} ORDER BY rowid`,
    )
    .filter(mine)
  const order = (r: SchemaRow) =>
    r.type === 'view' || r.type === 'trigger' ? 0 : isVirtual(r) ? 1 : 2
  for (const row of [...live].sort((a, b) => order(a) - order(b))) {
    if (row.type === 'index') continue // dropped with their tables
    if (row.type === 'table' && !exists(c, 'main', row.name)) continue // a shadow table already gone
    c.exec(`DROP ${row.type.toUpperCase()} IF EXISTS main.${quoteIdentifier(row.name)}`)
  }
  // Recreate tables in creation order (a virtual table recreates its own shadow tables), copy rows.
  const saved = c
    .all<SchemaRow>(
      `SELECT type, name, tbl_name, sql FROM ${B}.sqlite_schema WHERE ${OWN} AND sql IS NOT NULL ORDER BY rowid`,
    )
    .filter(mine)
  for (const row of saved) {
    if (row.type === 'table' && !exists(c, 'main', row.name)) c.exec(row.sql as string)
  }
  for (const row of saved) {
    if (row.type !== 'table' || isVirtual(row)) continue
    copyTable(c, row.name)
  }
  if (exists(c, ALIAS, 'sqlite_sequence') && exists(c, 'main', 'sqlite_sequence')) {
    c.exec(
      `DELETE FROM main.sqlite_sequence; INSERT INTO main.sqlite_sequence SELECT * FROM ${B}.sqlite_sequence`,
    )
  }
  for (const row of saved) {
    if (row.type !== 'table') c.exec(row.sql as string)
  }
  const version = Number(
    c.get<{ user_version: number }>(`PRAGMA ${B}.user_version`)?.user_version ?? 0,
  )
  c.exec(MIGRATE_SQL.setUserVersion(version))
}

function copyTable(c: SqliteConnection, name: string): void {
  const columns = c
    .all<{ name: string }>(`SELECT name FROM pragma_table_info(?, ?)`, [name, ALIAS])
    .map((r) => quoteIdentifier(r.name))
    .join(', ')
  const table = quoteIdentifier(name)
  c.exec(`DELETE FROM main.${table}`)
  if (columns !== '')
    c.exec(`INSERT INTO main.${table} (${columns}) SELECT ${columns} FROM ${B}.${table}`)
}

function isVirtual(row: SchemaRow): boolean {
  return row.type === 'table' && /^\s*CREATE\s+VIRTUAL\b/i.test(row.sql ?? '')
}

function exists(c: SqliteConnection, schema: string, name: string): boolean {
  return (
    c.get(
      `SELECT 1 AS found FROM ${quoteIdentifier(schema)}.sqlite_schema WHERE type = 'table' AND name = ?`,
      [name],
    ) !== undefined
  )
}
