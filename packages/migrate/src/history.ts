import { hostname, userInfo } from 'node:os'
import type { SqliteConnection } from '@litepool/sqlite-base'
import { MIGRATE_SQL, type TableSql } from './sql.js'
import type { AppliedMigration, MigrationKind } from './types.js'

interface HistoryRow {
  version: number
  name: string
  checksum: string | null
  kind: string
  in_transaction: number
  applied_at: string
  duration_ms: number
  applied_by: string
}

/** Whether `table` exists in the main database. */
export function tableExists(c: SqliteConnection, sql: TableSql, table: string): boolean {
  return c.get(sql.tableExists, [table]) !== undefined
}

/** Creates the history and lock tables when they are missing (inside the caller's transaction). */
export function ensureTables(c: SqliteConnection, sql: TableSql): void {
  c.exec(sql.create)
}

/**
 * The history, oldest first; empty when the table does not exist yet (so read-only commands such
 * as `status` and `plan` never create it).
 */
export function readHistory(c: SqliteConnection, sql: TableSql): AppliedMigration[] {
  if (!tableExists(c, sql, sql.history)) return []
  return c.all<HistoryRow>(sql.selectHistory).map((row) => ({
    version: Number(row.version),
    name: row.name,
    checksum: row.checksum,
    kind: row.kind as MigrationKind | 'baseline',
    transaction: Number(row.in_transaction) !== 0,
    appliedAt: row.applied_at,
    durationMs: Number(row.duration_ms),
    appliedBy: row.applied_by,
  }))
}

/** Whether `version` has a history row (read inside the migration's own transaction). */
export function isApplied(c: SqliteConnection, sql: TableSql, version: number): boolean {
  return c.get(sql.hasVersion, [version]) !== undefined
}

/** Records an applied migration and mirrors the newest version into `PRAGMA user_version`. */
export function recordApplied(c: SqliteConnection, sql: TableSql, row: AppliedMigration): void {
  c.run(sql.insertHistory, [
    row.version,
    row.name,
    row.checksum,
    row.kind,
    row.transaction ? 1 : 0,
    row.appliedAt,
    Math.round(row.durationMs),
    row.appliedBy,
  ])
  syncUserVersion(c, sql)
}

/** Removes a rolled-back migration and mirrors the newest remaining version into `user_version`. */
export function recordRolledBack(c: SqliteConnection, sql: TableSql, version: number): void {
  c.run(sql.deleteHistory, [version])
  syncUserVersion(c, sql)
}

/** `PRAGMA user_version`. */
export function userVersion(c: SqliteConnection): number {
  return Number(c.get<{ user_version: number }>(MIGRATE_SQL.userVersion)?.user_version ?? 0)
}

function syncUserVersion(c: SqliteConnection, sql: TableSql): void {
  const newest = Number(c.get<{ version: number }>(sql.maxVersion)?.version ?? 0)
  if (userVersion(c) !== newest) c.exec(MIGRATE_SQL.setUserVersion(newest))
}

/** Count of schema objects that are neither SQLite's own nor the migrator's tables. */
export function userObjectCount(c: SqliteConnection, sql: TableSql): number {
  return Number(c.get<{ n: number }>(MIGRATE_SQL.userObjects, [sql.history, sql.lock])?.n ?? 0)
}

let who: string | undefined

/** `user@host pid N`, recorded as `applied_by`. */
export function appliedBy(): string {
  if (who === undefined) {
    let user = process.env.USER ?? process.env.USERNAME ?? 'unknown'
    try {
      user = userInfo().username
    } catch {
      // no passwd entry (some containers): keep the environment's guess
    }
    who = `${user}@${hostname()}`
  }
  return `${who} pid ${process.pid}`
}
