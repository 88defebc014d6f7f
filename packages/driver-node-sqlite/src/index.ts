/**
 * litepool driver for Node's built-in node:sqlite, with the @photostructure/sqlite shim on Node
 * versions that lack it.
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
  type NodeSqliteBackend,
  type NodeSqliteDatabase,
  type NodeSqliteDriver,
  type NodeSqliteOptions,
  type NodeSqliteStatement,
  nodeSqlite,
  nodeSqliteAdapter,
} from './node-sqlite.js'
