/**
 * litepool driver for Node's built-in node:sqlite, with the @photostructure/sqlite shim on Node
 * versions that lack it.
 *
 * @packageDocumentation
 */

export type { SqliteConnection, SqliteDriver, SqliteDriverOptions } from '@litepool/sqlite-base'
export {
  type NodeSqliteBackend,
  type NodeSqliteDatabase,
  type NodeSqliteDriver,
  type NodeSqliteOptions,
  type NodeSqliteStatement,
  nodeSqlite,
} from './node-sqlite.js'
