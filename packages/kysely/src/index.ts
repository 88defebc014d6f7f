/**
 * `@litepool/kysely`: a Kysely dialect on the litepool pool. Reads run in parallel on reader
 * connections, writes and transactions on the single writer with `BEGIN IMMEDIATE`, savepoints
 * through Kysely's savepoint API, composition with litepool's own `pool.transaction`.
 *
 * @packageDocumentation
 */
export { LitepoolAdapter } from './adapter.js'
export type {
  BorrowedPoolConfig,
  LitepoolDialectCommonConfig,
  LitepoolDialectConfig,
  OwnedPoolConfig,
} from './config.js'
export { LitepoolDialect } from './dialect.js'
export type {
  AbortOptions,
  DialectConnection,
  DialectPool,
  DialectStatement,
  DialectWorkerConnection,
} from './types.js'
