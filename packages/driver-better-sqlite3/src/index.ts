/**
 * litepool driver for better-sqlite3 12.x.
 *
 * @packageDocumentation
 */

export type {
  AsyncSqliteConnection,
  SqliteConnection,
  SqliteDriver,
  SqliteDriverOptions,
} from '@litepool/sqlite-base'
export {
  type BetterSqlite3Database,
  type BetterSqlite3Options,
  type BetterSqlite3Statement,
  betterSqlite3,
  betterSqlite3Adapter,
} from './better-sqlite3.js'
