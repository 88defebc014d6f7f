import {
  type BoundContext,
  createPool,
  TransactionError,
  trackAsyncContext,
} from '@litepool/pool-core'
import { SAVEPOINT_SQL } from '@litepool/sqlite-base'
import type { DatabaseConnection, Driver, TransactionSettings } from 'kysely'
import type { ResolvedDialectConfig } from './config.js'
import { LitepoolConnection } from './connection.js'
import { callOptions, DialectState, destroyedError } from './state.js'
import { beginSavepoint, beginSnapshot, beginWriter, type OpenTransaction } from './transactions.js'
import type { AbortOptions, DialectConnection, DialectPool } from './types.js'

/** Aborts at once: probing for an enclosing transaction must never wait for a connection. */
const NO_WAIT = { signal: AbortSignal.abort() }
const noop = (): void => {}

/**
 * Kysely's `Driver` on a litepool pool. Connections are routing handles (see
 * `LitepoolConnection`); transactions hold the writer (or a reader, or a savepoint) from
 * `beginTransaction` to `commitTransaction`/`rollbackTransaction`.
 */
export class LitepoolDriver implements Driver {
  readonly #config: ResolvedDialectConfig
  #state: DialectState | undefined
  /** Tracks async context from Kysely's first `init()` to its first `acquireConnection()`. */
  #untrackInit: (() => void) | undefined

  constructor(config: ResolvedDialectConfig) {
    this.#config = config
  }

  /** Creates the pool when the dialect owns it; a borrowed pool is used as it is. */
  async init(): Promise<void> {
    // Kysely's first query awaits init() before it acquires: track context from here already.
    this.#untrackInit ??= trackAsyncContext()
    try {
      this.#state ??= new DialectState(
        this.#config.pool ?? (createPool(this.#config.poolOptions) as DialectPool),
      )
    } catch (error) {
      this.#endInitTracking()
      throw error
    }
  }

  /**
   * Kysely calls this synchronously when a query or transaction starts, before the promises that
   * later run a `db.transaction()` callback exist; the connection tracks async context from here
   * until it is released, so `beginTransaction` can bind that callback's context (see there).
   */
  async acquireConnection(): Promise<DatabaseConnection> {
    const state = this.#open()
    const connection = new LitepoolConnection(state)
    this.#endInitTracking()
    return connection
  }

  /**
   * Inside a litepool transaction (found the way `pool.read` finds it): a savepoint on its
   * connection. Otherwise `read only` takes a snapshot on a reader, and anything else a
   * transaction on the writer in the configured mode (default `immediate`).
   *
   * Kysely runs the `db.transaction()` callback in the async context that calls this method, once
   * it resolves. Binding that context (synchronously, before the first await) to the writer
   * transaction makes `pool.write`, `pool.transaction` and `db` queries inside the callback join
   * it, as they do inside a `pool.transaction` callback, instead of waiting for the writer.
   */
  async beginTransaction(
    connection: DatabaseConnection,
    settings: TransactionSettings,
    options?: AbortOptions,
  ): Promise<void> {
    const state = this.#open()
    const handle = asLitepool(connection)
    if (handle.transaction?.active === true) {
      throw new TransactionError('a transaction is already open on this Kysely connection')
    }
    const context = settings.accessMode === 'read only' ? undefined : state.pool.bindContext()
    try {
      const transaction = await this.#begin(state, settings, options, context)
      if (state.destroyed) {
        await transaction.rollback()
        throw destroyedError()
      }
      state.transactions.add(transaction)
      handle.transaction = transaction
    } finally {
      handle.untrack() // the transaction (if any) now keeps the context store on
    }
  }

  async #begin(
    state: DialectState,
    settings: TransactionSettings,
    options: AbortOptions | undefined,
    context: BoundContext | undefined,
  ): Promise<OpenTransaction> {
    const enclosing = await enclosingTransaction(state.pool)
    if (enclosing !== undefined) return beginSavepoint(enclosing)
    if (settings.accessMode === 'read only') {
      return beginSnapshot(state.pool, callOptions(options))
    }
    return beginWriter(
      state.pool,
      this.#config.transactionMode,
      callOptions(options),
      context,
    ).catch((error: unknown) => {
      throw state.explainTimeout(error)
    })
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#end(connection, (t) => t.commit())
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#end(connection, (t) => t.rollback())
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await openTransactionOf(connection).runner.exec(SAVEPOINT_SQL.create(name))
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await openTransactionOf(connection).runner.exec(SAVEPOINT_SQL.rollbackTo(name))
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await openTransactionOf(connection).runner.exec(SAVEPOINT_SQL.release(name))
  }

  /** A transaction Kysely never ended is rolled back; otherwise there is nothing to release. */
  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const handle = asLitepool(connection)
    handle.untrack()
    const transaction = handle.transaction
    if (transaction === undefined) return
    handle.transaction = undefined
    this.#state?.transactions.delete(transaction)
    await transaction.rollback()
  }

  /**
   * Rolls back the transactions and ends the streams this Kysely instance still holds. A borrowed
   * pool stays open (other Kysely instances or code may share it); an owned pool is closed.
   */
  async destroy(): Promise<void> {
    this.#endInitTracking()
    const state = this.#state
    if (state === undefined || state.destroyed) return
    state.destroyed = true
    const transactions = [...state.transactions]
    state.transactions.clear()
    await Promise.all(transactions.map((t) => t.rollback().catch(noop)))
    const leases = [...state.leases]
    state.leases.clear()
    await Promise.all(leases.map((lease) => lease.release().catch(noop)))
    if (this.#config.pool === undefined) await state.pool.close()
  }

  #endInitTracking(): void {
    this.#untrackInit?.()
    this.#untrackInit = undefined
  }

  #open(): DialectState {
    const state = this.#state
    if (state === undefined) throw new TransactionError('the Kysely driver was used before init()')
    state.assertOpen()
    return state
  }

  async #end(
    connection: DatabaseConnection,
    end: (t: OpenTransaction) => Promise<void>,
  ): Promise<void> {
    const handle = asLitepool(connection)
    const transaction = handle.transaction
    if (transaction === undefined) return // already ended (e.g. a failed COMMIT, then Kysely's rollback)
    handle.transaction = undefined
    this.#state?.transactions.delete(transaction)
    await end(transaction)
  }
}

/**
 * The connection of the litepool transaction the caller runs inside, if any. `pool.read` runs its
 * callback on that connection when there is one; otherwise it would take an idle reader (returned
 * at once) or — with `NO_WAIT` — give up instead of waiting.
 */
async function enclosingTransaction(pool: DialectPool): Promise<DialectConnection | undefined> {
  try {
    return await pool.read((c) => (c.inTransaction ? c : undefined), NO_WAIT)
  } catch {
    return undefined // no idle reader: then we are not inside a transaction (that would not wait)
  }
}

function asLitepool(connection: DatabaseConnection): LitepoolConnection {
  if (connection instanceof LitepoolConnection) return connection
  throw new TransactionError('this connection does not belong to a litepool Kysely dialect')
}

function openTransactionOf(connection: DatabaseConnection): OpenTransaction {
  const transaction = asLitepool(connection).transaction
  if (transaction === undefined || !transaction.active) {
    throw new TransactionError('savepoints need an open transaction (db.startTransaction())')
  }
  return transaction
}
