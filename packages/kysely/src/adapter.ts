import { SqliteAdapter } from 'kysely'

/**
 * Kysely's `SqliteAdapter` with two capability flags changed on purpose:
 *
 * - `supportsMultipleConnections`: true. Kysely 0.29 serialises every connection behind a mutex
 *   when an adapter says false (as `SqliteAdapter` does); this dialect pools its connections.
 * - `supportsTransactionalDdl`: true. SQLite runs DDL inside transactions, so Kysely's `Migrator`
 *   runs all pending migrations in one `BEGIN IMMEDIATE` transaction on the writer: the write lock
 *   is the migration lock (across processes too), and a failing migration leaves nothing behind.
 *   Opt out per migrator with `new Migrator({ …, disableTransactions: true })`.
 *
 * @example
 * ```ts
 * new LitepoolAdapter().supportsTransactionalDdl // true
 * ```
 */
export class LitepoolAdapter extends SqliteAdapter {
  get supportsMultipleConnections(): boolean {
    return true
  }

  override get supportsTransactionalDdl(): boolean {
    return true
  }
}
