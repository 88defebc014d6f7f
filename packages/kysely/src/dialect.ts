import {
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'
import { LitepoolAdapter } from './adapter.js'
import {
  type LitepoolDialectConfig,
  type ResolvedDialectConfig,
  resolveDialectConfig,
} from './config.js'
import { LitepoolDriver } from './driver.js'

/**
 * A Kysely dialect on a litepool pool (either SQLite driver). Reads outside a transaction run on
 * reader connections, in parallel; writes run on the single writer in `BEGIN IMMEDIATE`
 * transactions; `db.transaction()` holds the writer from BEGIN to COMMIT. SQL generation,
 * introspection and adapter flags are Kysely's SQLite ones (see {@link LitepoolAdapter}).
 *
 * @example
 * ```ts
 * import { Kysely } from 'kysely'
 * import { createPool } from '@litepool/pool-core'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 * import { LitepoolDialect } from '@litepool/kysely'
 *
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }) })
 * const db = new Kysely<Database>({ dialect: new LitepoolDialect({ pool }) })
 * const people = await db.selectFrom('person').selectAll().execute() // on a reader
 * await db.transaction().execute(async (trx) => {                   // BEGIN IMMEDIATE
 *   await trx.insertInto('person').values({ name: 'Ada' }).execute()
 * })
 * await db.destroy() // the pool stays open: you created it, you close it
 * await pool.close()
 * ```
 */
export class LitepoolDialect implements Dialect {
  readonly #config: ResolvedDialectConfig

  /** Validates `config` at once: a `ConfigError` lists every invalid field. */
  constructor(config: LitepoolDialectConfig) {
    this.#config = resolveDialectConfig(config)
  }

  createDriver(): Driver {
    return new LitepoolDriver(this.#config)
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new LitepoolAdapter()
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    // biome-ignore lint/suspicious/noExplicitAny: Kysely's introspector takes Kysely<any>
    return new SqliteIntrospector(db as Kysely<any>)
  }
}
