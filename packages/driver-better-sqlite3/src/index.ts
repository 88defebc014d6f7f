/**
 * litepool driver for better-sqlite3 12.x.
 *
 * @packageDocumentation
 */

export type { SqliteConnection, SqliteDriver, SqliteDriverOptions } from '@litepool/sqlite-base'
export {
  type BetterSqlite3Database,
  type BetterSqlite3Options,
  type BetterSqlite3Statement,
  betterSqlite3,
} from './better-sqlite3.js'
