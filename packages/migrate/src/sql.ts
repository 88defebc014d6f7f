import { quoteIdentifier } from '@litepool/sqlite-base'

// Every piece of SQL text the migrator sends on its own, in one place. Transaction control
// (BEGIN IMMEDIATE, COMMIT, ROLLBACK) comes from @litepool/sqlite-base.

/** SQL string literal: single quotes, inner quotes doubled. */
export function quoteString(value: string): string {
  return `'${value.replaceAll("'", "''")}'`
}

/** The statements that touch the history and lock tables, for a given history table name. */
export interface TableSql {
  readonly history: string
  readonly lock: string
  readonly create: string
  readonly tableExists: string
  readonly selectHistory: string
  readonly hasVersion: string
  readonly insertHistory: string
  readonly deleteHistory: string
  readonly maxVersion: string
  readonly selectLock: string
  readonly insertLock: string
  readonly deleteLock: string
  readonly deleteOwnLock: string
  readonly setStep: string
  readonly setInterrupted: string
}

/**
 * The history table `<table>` (one row per applied migration) and the lock table `<table>_lock`
 * (at most one row: the run that holds the migration lock).
 */
export function tableSql(table: string): TableSql {
  const history = quoteIdentifier(table)
  const lock = quoteIdentifier(`${table}_lock`)
  return {
    history: table,
    lock: `${table}_lock`,
    create: `CREATE TABLE IF NOT EXISTS ${history} (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  checksum TEXT,
  kind TEXT NOT NULL,
  in_transaction INTEGER NOT NULL DEFAULT 1,
  applied_at TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  applied_by TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ${lock} (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  owner TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  acquired_at TEXT NOT NULL,
  state TEXT NOT NULL DEFAULT 'running',
  step TEXT,
  backup TEXT
);`,
    tableExists: `SELECT 1 AS found FROM sqlite_schema WHERE type = 'table' AND name = ?`,
    selectHistory: `SELECT version, name, checksum, kind, in_transaction, applied_at, duration_ms, applied_by FROM ${history} ORDER BY version`,
    hasVersion: `SELECT 1 AS found FROM ${history} WHERE version = ?`,
    insertHistory: `INSERT INTO ${history} (version, name, checksum, kind, in_transaction, applied_at, duration_ms, applied_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    deleteHistory: `DELETE FROM ${history} WHERE version = ?`,
    maxVersion: `SELECT coalesce(max(version), 0) AS version FROM ${history}`,
    selectLock: `SELECT owner, pid, host, acquired_at, state, step, backup FROM ${lock} WHERE id = 1`,
    insertLock: `INSERT INTO ${lock} (id, owner, pid, host, acquired_at, state, step, backup) VALUES (1, ?, ?, ?, ?, 'running', NULL, NULL)`,
    deleteLock: `DELETE FROM ${lock} WHERE id = 1`,
    deleteOwnLock: `DELETE FROM ${lock} WHERE id = 1 AND owner = ?`,
    setStep: `UPDATE ${lock} SET step = ?, backup = coalesce(?, backup) WHERE id = 1 AND owner = ?`,
    setInterrupted: `UPDATE ${lock} SET state = 'interrupted' WHERE id = 1 AND owner = ?`,
  }
}

/** Fixed statements that do not depend on the table name. */
export const MIGRATE_SQL: Readonly<{
  userVersion: string
  setUserVersion: (version: number) => string
  foreignKeys: string
  foreignKeysOn: string
  foreignKeysOff: string
  foreignKeyCheck: string
  busyTimeout: (ms: number) => string
  userObjects: string
  vacuumInto: (file: string) => string
}> = Object.freeze({
  userVersion: 'PRAGMA user_version',
  setUserVersion: (version: number) => `PRAGMA user_version = ${Math.trunc(version)}`,
  foreignKeys: 'PRAGMA foreign_keys',
  foreignKeysOn: 'PRAGMA foreign_keys = ON',
  foreignKeysOff: 'PRAGMA foreign_keys = OFF',
  foreignKeyCheck: 'PRAGMA foreign_key_check',
  busyTimeout: (ms: number) => `PRAGMA busy_timeout = ${Math.trunc(ms)}`,
  /** Objects other than SQLite's own and the two given tables (history, lock). */
  userObjects: `SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND tbl_name NOT IN (?, ?)`,
  vacuumInto: (file: string) => `VACUUM INTO ${quoteString(file)}`,
})
