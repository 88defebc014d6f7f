import { TransactionError, trackAsyncContext } from '@litepool/pool-core'
import type { CompiledQuery, DatabaseConnection, QueryResult } from 'kysely'
import { type Plan, planQuery } from './classify.js'
import { chunked, paramsOf, runCompiled, runCompiledOnWorker } from './execute.js'
import { callOptions, type DialectState, destroyedError } from './state.js'
import type { OpenTransaction } from './transactions.js'
import type { AbortOptions, DialectConnection } from './types.js'

const DEFAULT_CHUNK_SIZE = 100

/**
 * The connection Kysely gets from `acquireConnection`. Kysely acquires before it knows the query,
 * so outside a transaction this object holds no database connection: each query is routed when it
 * arrives — reads to `pool.read` (a reader, or the enclosing litepool transaction's connection),
 * writes to `pool.write`. Once Kysely begins a transaction on it, every query runs on that
 * transaction's connection until commit or rollback.
 */
export class LitepoolConnection implements DatabaseConnection {
  readonly #state: DialectState
  #transaction: OpenTransaction | undefined
  /**
   * Ends the async-context tracking this connection holds from acquire until its first plain
   * query, its transaction's begin, or its release, whichever comes first (decision 0030).
   */
  readonly untrack: () => void = trackAsyncContext()

  constructor(state: DialectState) {
    this.#state = state
  }

  /** The transaction Kysely began on this connection, if any. */
  get transaction(): OpenTransaction | undefined {
    return this.#transaction
  }

  /** @internal Set by the driver's begin, cleared by its commit and rollback. */
  set transaction(transaction: OpenTransaction | undefined) {
    this.#transaction = transaction
  }

  executeQuery<R>(compiled: CompiledQuery, options?: AbortOptions): Promise<QueryResult<R>> {
    const transaction = this.#transaction
    if (transaction !== undefined) return this.#inTransaction(transaction, compiled)
    this.untrack() // a plain query: no transaction callback's context to bind on this connection
    const state = this.#state
    if (state.destroyed) return Promise.reject(destroyedError())
    const plan = planQuery(compiled)
    const run = (c: DialectConnection) => runCompiled<R>(c, compiled, plan.shape)
    switch (plan.route) {
      case 'read':
        // On the main thread, or on a worker once this statement was seen to be slow.
        return state.pool.routedRead(
          compiled.sql,
          { main: run, worker: (w) => runCompiledOnWorker<R>(w, compiled, plan.shape) },
          callOptions(options),
        )
      case 'write':
        return state.pool.write(run, callOptions(options)).catch((error: unknown) => {
          throw state.explainTimeout(error)
        })
      case 'session':
        return this.#onWriterInAutocommit(plan, compiled, options)
      case 'refuse':
        return Promise.reject(refused(compiled.sql))
    }
  }

  async *streamQuery<R>(
    compiled: CompiledQuery,
    chunkSize?: number,
    options?: AbortOptions,
  ): AsyncIterableIterator<QueryResult<R>> {
    const size = chunkSize !== undefined && chunkSize >= 1 ? chunkSize : DEFAULT_CHUNK_SIZE
    const transaction = this.#transaction
    if (transaction !== undefined) {
      const check = () => assertActive(transaction)
      check()
      yield* transaction.runner.stream<R>(compiled, size, check)
      return
    }
    this.untrack()
    const state = this.#state
    state.assertOpen()
    if (planQuery(compiled).route !== 'read') {
      // A write with `returning`: run it once (in its own transaction) and hand out its rows.
      yield await this.executeQuery<R>(compiled, options)
      return
    }
    // Outside a litepool transaction this holds a reader (on the main thread or, for a
    // statement seen to be slow, a worker) for as long as the stream is read; inside one it is
    // the transaction's own connection.
    const rows = state.pool.iterate(compiled.sql, paramsOf(compiled), {
      ...callOptions(options),
      chunkSize: size,
    })
    const held = { release: async () => void (await rows.return?.(undefined)) }
    state.leases.add(held)
    try {
      yield* chunked<R>(rows, size, () => state.assertOpen())
    } finally {
      state.leases.delete(held)
      await rows.return?.(undefined)
    }
  }

  #inTransaction<R>(
    transaction: OpenTransaction,
    compiled: CompiledQuery,
  ): Promise<QueryResult<R>> {
    try {
      assertActive(transaction)
    } catch (error) {
      return Promise.reject(error)
    }
    return transaction.runner.query<R>(compiled, planQuery(compiled).shape)
  }

  /** VACUUM, PRAGMA, ATTACH: on the writer outside any transaction; the lease's reset undoes state. */
  async #onWriterInAutocommit<R>(
    plan: Plan,
    compiled: CompiledQuery,
    options: AbortOptions | undefined,
  ): Promise<QueryResult<R>> {
    const state = this.#state
    const lease = await state.pool
      .acquire({ ...callOptions(options), role: 'writer' })
      .catch((error: unknown) => {
        throw state.explainTimeout(error)
      })
    try {
      return runCompiled<R>(lease, compiled, plan.shape)
    } finally {
      await lease.release()
    }
  }
}

function assertActive(transaction: OpenTransaction): void {
  if (!transaction.active) {
    throw new TransactionError(
      `this Kysely ${transaction.kind} transaction already ended (committed, rolled back, or rolled back by db.destroy())`,
    )
  }
}

function refused(sql: string): TransactionError {
  const text = sql.length > 60 ? `${sql.slice(0, 57)}...` : sql
  return new TransactionError(
    `"${text}": transaction control cannot be sent as SQL through a pooled Kysely instance (each query may run on another connection); use db.transaction(), db.startTransaction() or trx.savepoint()`,
    { code: 'LITEPOOL_KYSELY_RAW_TRANSACTION' },
  )
}
