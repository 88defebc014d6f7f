import type { CallOptions, IterateCallOptions, QueryOptions, ReadOptions } from './call-options.js'
import { checkCall } from './call-options.js'
import { now } from './clock.js'
import type { ResolvedOptions, ThreadChoice } from './config.js'
import type { Scope } from './context.js'
import type { Entry } from './entry.js'
import { ConfigError, PoolClosedError } from './errors.js'
import type { LaneContext } from './lane.js'
import { type Cost, CostRouter } from './router.js'
import { runInScope } from './transaction.js'
import { WorkerReads } from './workers.js'

/**
 * The two ways to run one routed read (see `Pool.routedRead`): on a main-thread connection,
 * synchronously, or on a worker reader.
 *
 * @example
 * ```ts
 * const run: RoutedRead<SqliteConnection, AsyncSqliteConnection, unknown[]> = {
 *   main: (c) => c.all(sql),
 *   worker: (w) => w.all(sql),
 * }
 * ```
 */
export interface RoutedRead<C, W, T> {
  main(connection: C): T
  worker(connection: W): Promise<T>
}

/** The statement methods the query helpers call, on a main-thread connection and on a worker. */
interface Queryable {
  get(sql: string, params?: unknown): unknown
  all(sql: string, params?: unknown): unknown[]
  iterate(sql: string, params?: unknown): IterableIterator<unknown>
}
interface AsyncQueryable {
  get(sql: string, params?: unknown): Promise<unknown>
  all(sql: string, params?: unknown): Promise<unknown[]>
  iterate(sql: string, params?: unknown, options?: { chunkSize?: number }): AsyncIterable<unknown>
}

/** `get` and `all` as routed reads. */
export function statementRead<C, W>(
  method: 'get' | 'all',
  sql: string,
  params: unknown,
): RoutedRead<C, W, unknown> {
  return {
    main: (c) => (c as unknown as Queryable)[method](sql, params),
    worker: (w) => (w as unknown as AsyncQueryable)[method](sql, params),
  }
}

/** What the query helpers need from their pool (its main-thread read path and state). */
export interface QueryHost<C> {
  scope(): Scope | undefined
  isOpen(): boolean
  /** Runs `fn` on a main-thread reader (the writer when there are none) and returns it. */
  readMain<T>(fn: (connection: C) => T | Promise<T>, options: CallOptions | undefined): Promise<T>
  /** Borrows a main-thread reader for an iteration; `done` gives it back. */
  borrowMain(
    options: CallOptions | undefined,
  ): Promise<{ entry: Entry<C>; done(failure: unknown): Promise<void> }>
}

/**
 * Reads that may leave the main thread: `pool.read(fn, { thread: 'worker' })`, the query helpers
 * (`get`, `all`, `iterate`) and `routedRead`, routed per call, per pool or by measured cost.
 */
export class Queries<C, W> {
  readonly workers: WorkerReads<C, W>
  readonly #router: CostRouter
  readonly #options: ResolvedOptions<C, W>
  readonly #host: QueryHost<C>

  constructor(options: ResolvedOptions<C, W>, ctx: LaneContext<W>, host: QueryHost<C>) {
    this.#options = options
    this.#host = host
    this.workers = new WorkerReads<C, W>(options, ctx)
    this.#router = new CostRouter(options.workers.slowMs)
  }

  /** Statements routed to workers now (see `Pool.slowStatements`). */
  get slowKeys(): string[] {
    return this.#router.slowKeys
  }

  readOnWorker<T>(fn: (connection: W) => T | Promise<T>, options: ReadOptions): Promise<T> {
    let readers: ReturnType<WorkerReads<C, W>['readers']>
    try {
      readers = this.workers.readers()
    } catch (error) {
      return Promise.reject(error)
    }
    const scope = this.#host.scope()
    if (scope) return runInScope(scope, (c: C) => fn(readers.view(c)))
    if (this.workers.lane === undefined) {
      return this.#host.readMain((c) => fn(readers.view(c)), options)
    }
    return this.#borrowWorker(options).then((entry) => this.workers.run(entry, fn))
  }

  routed<T>(key: string, run: RoutedRead<C, W, T>, options: QueryOptions | undefined): Promise<T> {
    if (typeof key !== 'string' || options !== undefined) {
      const invalid = check('query', key, options)
      if (invalid) return Promise.reject(invalid)
    }
    const scope = this.#host.scope()
    if (scope) return runInScope(scope, run.main)
    const cost = this.#router.of(key)
    const learn = this.#learns(options?.thread)
    if (this.#thread(cost, options?.thread) === 'worker') {
      if (!learn)
        return this.#borrowWorker(options).then((entry) => this.workers.run(entry, run.worker))
      return this.#borrowWorker(options).then((entry) =>
        this.workers.run(entry, (w) => {
          const started = now()
          return run.worker(w).then((value) => {
            this.#router.record(cost, now() - started)
            return value
          })
        }),
      )
    }
    if (!learn || !this.#router.shouldTime(cost)) return this.#host.readMain(run.main, options)
    return this.#host.readMain((c) => {
      const started = now()
      const value = run.main(c)
      this.#router.record(cost, now() - started)
      return value
    }, options)
  }

  async *iterate<Row>(
    sql: string,
    params: unknown,
    options: IterateCallOptions | undefined,
  ): AsyncGenerator<Row, void, undefined> {
    const invalid = check('iterate', sql, options)
    if (invalid) throw invalid
    const scope = this.#host.scope()
    if (scope) {
      yield* (scope.entry.connection as Queryable).iterate(sql, params) as IterableIterator<Row>
      return
    }
    const cost = this.#router.of(sql)
    if (this.#thread(cost, options?.thread) === 'worker') {
      yield* this.#iterateOnWorker<Row>(sql, params, cost, options)
      return
    }
    const { entry, done } = await this.#host.borrowMain(options)
    let failure: unknown
    let rows: Iterator<unknown> | undefined
    try {
      const started = now()
      rows = (entry.connection as Queryable).iterate(sql, params)
      let step = rows.next() // the first step does the work of a sort or scan: time it
      if (this.#learns(options?.thread)) this.#router.record(cost, now() - started)
      for (; step.done !== true; step = rows.next()) yield step.value as Row
    } catch (error) {
      failure = error
      if (entry.retireReason === 'forced') {
        // close() ended the connection under this iteration (its deadline passed): say so.
        throw new PoolClosedError(
          `the pool for ${this.#options.driver.target} was closed (close timeout passed) while this iteration was running; its connection was closed`,
          { cause: error },
        )
      }
      throw error
    } finally {
      rows?.return?.()
      await done(failure)
    }
  }

  async *#iterateOnWorker<Row>(
    sql: string,
    params: unknown,
    cost: Cost,
    options: IterateCallOptions | undefined,
  ): AsyncGenerator<Row, void, undefined> {
    const entry = await this.#borrowWorker(options)
    let failure: unknown
    try {
      const started = now()
      const chunkSize = options?.chunkSize
      const rows = (entry.connection as AsyncQueryable).iterate(
        sql,
        params,
        chunkSize === undefined ? {} : { chunkSize },
      )
      let first = true
      for await (const row of rows) {
        if (first && this.#learns(options?.thread)) this.#router.record(cost, now() - started)
        first = false
        yield row as Row
      }
    } catch (error) {
      failure = error
      if (entry.retireReason === 'forced') throw this.workers.closedUnder(error)
      throw error
    } finally {
      await this.workers.giveBack(entry, failure)
    }
  }

  /**
   * Whether this call's timing teaches the router: only calls routed `auto` (a forced call's
   * cost says nothing about where the statement belongs, and a first worker call would count
   * the new thread's warm-up against it).
   */
  #learns(choice: ThreadChoice | undefined): boolean {
    return this.workers.lane !== undefined && (choice ?? this.#options.workers.route) === 'auto'
  }

  /** Where a routed read runs: the call's choice, else the pool's, else the key's cost. */
  #thread(cost: Cost, choice: ThreadChoice | undefined): 'main' | 'worker' {
    if (this.workers.lane === undefined) return 'main'
    const thread = choice ?? this.#options.workers.route
    if (thread !== 'auto') return thread
    return cost.onWorker ? 'worker' : 'main'
  }

  #borrowWorker(options: CallOptions | undefined): Promise<Entry<W>> {
    return this.workers.borrow(
      'read',
      {
        timeoutMs: options?.timeoutMs ?? this.#options.acquireTimeoutMs,
        signal: options?.signal,
      },
      this.#host.isOpen(),
    )
  }
}

/** Checks a query helper's SQL and options; a `ConfigError` lists every bad field. */
function check(
  method: 'query' | 'iterate',
  sql: unknown,
  options: QueryOptions | undefined,
): ConfigError | undefined {
  const invalid = options === undefined ? undefined : checkCall(method, undefined, options)
  if (typeof sql === 'string' && invalid === undefined) return undefined
  // Named after the methods called (checkCall would name them `pool.query()`, which is none).
  const issues =
    typeof sql === 'string'
      ? []
      : [{ path: 'sql', expected: 'the SQL text (a string)', received: typeof sql }]
  return new ConfigError(`pool.${method === 'query' ? 'get/all' : method}() arguments`, [
    ...issues,
    ...(invalid?.issues ?? []),
  ])
}
