import type { Role } from '@litepool/pool-core'
import type { RunResult, SqliteParams } from '../adapter.js'
import type { SqliteConnection } from '../connection.js'
import type { DefaultRow } from '../statement.js'

/**
 * Options of {@link AsyncSqliteConnection.iterate}.
 *
 * @example
 * ```ts
 * for await (const row of w.iterate('select * from events', [], { chunkSize: 500 })) handle(row)
 * ```
 */
export interface IterateOptions {
  /** Rows fetched from the worker per round trip (one chunk is fetched ahead). Default 256. */
  readonly chunkSize?: number
}

/**
 * The connection handed to `pool.read(fn, { thread: 'worker' })`: the statement methods of
 * `SqliteConnection`, asynchronous because the statements run on a connection in a worker thread
 * while the event loop stays free. Inside a transaction (and on a private `:memory:` database,
 * which a worker cannot open) it is an asynchronous view of the main-thread connection instead,
 * so the same callback works everywhere; `thread` says which.
 *
 * @example
 * ```ts
 * const report = await pool.read(async (w) => {
 *   const totals = await w.all('select day, sum(amount) as total from sales group by day')
 *   const count = await w.get<{ n: number }>('select count(*) as n from sales')
 *   return { totals, count: count?.n }
 * }, { thread: 'worker' })
 * ```
 */
export interface AsyncSqliteConnection {
  /** `reader` for a worker-hosted reader; the transaction's `writer` when it views one. */
  readonly role: Role
  /** The database file. */
  readonly filename: string
  /** Where the statements run: `worker` (a worker thread) or `main` (a view of a main-thread connection). */
  readonly thread: 'main' | 'worker'
  /** The first row of a query, or `undefined`. */
  get<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row | undefined>
  /** Every row of a query (sent from a worker in chunks, so no single message is large). */
  all<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row[]>
  /** Runs one statement (readers refuse writes with `SQLITE_READONLY`). */
  run(sql: string, params?: SqliteParams): Promise<RunResult>
  /** Runs several `;`-separated statements without parameters. */
  exec(sql: string): Promise<void>
  /**
   * Rows one at a time, fetched in chunks with one chunk ahead (back-pressure: nothing more is
   * fetched until you read on). Leaving the loop early ends the statement in the worker.
   */
  iterate<Row = DefaultRow>(
    sql: string,
    params?: SqliteParams,
    options?: IterateOptions,
  ): AsyncGenerator<Row, void, undefined>
}

/**
 * The asynchronous view of a main-thread connection, for a `{ thread: 'worker' }` read that runs
 * inside a transaction (it must see the transaction's writes) or on a database no worker can
 * open. Statements run on the main thread; only the calling convention is asynchronous.
 */
export class MainThreadView implements AsyncSqliteConnection {
  readonly thread = 'main'
  readonly #connection: SqliteConnection

  constructor(connection: SqliteConnection) {
    this.#connection = connection
  }

  get role(): Role {
    return this.#connection.role
  }

  get filename(): string {
    return this.#connection.filename
  }

  async get<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row | undefined> {
    return this.#connection.get<Row>(sql, params)
  }

  async all<Row = DefaultRow>(sql: string, params?: SqliteParams): Promise<Row[]> {
    return this.#connection.all<Row>(sql, params)
  }

  async run(sql: string, params?: SqliteParams): Promise<RunResult> {
    return this.#connection.run(sql, params)
  }

  async exec(sql: string): Promise<void> {
    this.#connection.exec(sql)
  }

  async *iterate<Row = DefaultRow>(
    sql: string,
    params?: SqliteParams,
  ): AsyncGenerator<Row, void, undefined> {
    yield* this.#connection.iterate<Row>(sql, params)
  }
}
