import {
  type BoundContext,
  type CallOptions,
  TransactionError,
  type TransactionMode,
} from '@litepool/pool-core'
import { BEGIN_SQL, SAVEPOINT_SQL, SQL } from '@litepool/sqlite-base'
import { mainRunner, type QueryRunner, workerRunner } from './execute.js'
import type { DialectConnection, DialectPool } from './types.js'

/**
 * A Kysely transaction in progress: the connection its queries run on, and how it ends. Three
 * kinds: a litepool transaction held open on the writer, a savepoint inside an enclosing litepool
 * transaction, and a read-only snapshot on a reader.
 */
export interface OpenTransaction {
  readonly kind: 'writer' | 'savepoint' | 'snapshot'
  /** Runs the transaction's queries on its connection. */
  readonly runner: QueryRunner
  /** False once committed, rolled back, or rolled back by `db.destroy()`. */
  readonly active: boolean
  commit(): Promise<void>
  rollback(): Promise<void>
}

/** Thrown into the held `pool.transaction` body to make the pool roll back; never surfaces. */
const ROLLBACK = new TransactionError('rolled back by Kysely', { code: 'LITEPOOL_KYSELY_ROLLBACK' })
const noop = (): void => {}

function ended(kind: string): TransactionError {
  return new TransactionError(
    `this Kysely ${kind} transaction already ended (committed, rolled back, or rolled back by db.destroy())`,
  )
}

/**
 * `pool.transaction(…)` with a body that stays pending until Kysely commits or rolls back: the
 * pool's lane, BEGIN mode, busy retry and commit/rollback handling are reused as they are.
 */
class WriterTransaction implements OpenTransaction {
  readonly kind = 'writer'
  readonly runner: QueryRunner
  active = true
  readonly #settle: (error: unknown) => void
  /** Settles when the pool has committed (or rolled back) and released the writer. */
  readonly #outcome: Promise<void>

  constructor(
    connection: DialectConnection,
    settle: (error: unknown) => void,
    outcome: Promise<void>,
  ) {
    this.runner = mainRunner(connection)
    this.#settle = settle
    this.#outcome = outcome
  }

  commit(): Promise<void> {
    if (!this.active) return Promise.reject(ended(this.kind))
    this.active = false
    this.#settle(undefined)
    return this.#outcome
  }

  rollback(): Promise<void> {
    if (!this.active) return Promise.resolve() // a failed COMMIT was already rolled back by the pool
    this.active = false
    this.#settle(ROLLBACK)
    return this.#outcome.catch((error: unknown) => {
      if (error !== ROLLBACK) throw error
    })
  }
}

/**
 * Runs a pool call whose body stays open until Kysely ends the transaction: `call` starts it,
 * and its body calls `opened(transaction)` once the transaction began. Resolves with that
 * transaction; rejects when the pool gives up before it opened. `outcome` (given to `make`)
 * settles when the pool has ended the call (committed or rolled back, connection returned).
 */
function holdOpen(
  call: (opened: (make: (outcome: Promise<void>) => OpenTransaction) => void) => Promise<unknown>,
): Promise<OpenTransaction> {
  return new Promise<OpenTransaction>((resolve, reject) => {
    let began = false
    let settleOutcome: { resolve: () => void; reject: (error: unknown) => void } | undefined
    const outcome = new Promise<void>((res, rej) => {
      settleOutcome = { resolve: res, reject: rej }
    })
    outcome.catch(noop) // observed by commit/rollback; unobserved after destroy
    call((make) => {
      began = true
      resolve(make(outcome))
    }).then(
      () => settleOutcome?.resolve(),
      (error: unknown) => (began ? settleOutcome?.reject(error) : reject(error)),
    )
  })
}

/**
 * Begins a transaction on the writer lane in `mode`. Resolves once BEGIN succeeded (after waiting
 * for the writer and for other processes' locks); rejects when the pool gives up first.
 */
export function beginWriter(
  pool: DialectPool,
  mode: TransactionMode,
  options: CallOptions | undefined,
  context: BoundContext | undefined,
): Promise<OpenTransaction> {
  return holdOpen((opened) =>
    pool.transaction(
      (connection) =>
        new Promise<void>((commit, rollback) => {
          const settle = (error: unknown) => (error === undefined ? commit() : rollback(error))
          opened((outcome) => new WriterTransaction(connection, settle, outcome))
        }),
      { ...options, mode, context },
    ),
  )
}

let savepoints = 0

/** Kysely savepoints open on each connection, oldest first. */
const openSavepoints = new WeakMap<DialectConnection, SavepointTransaction[]>()

function overlapped(): TransactionError {
  return new TransactionError(
    'two Kysely transactions overlapped inside one litepool transaction (their savepoints ' +
      'interleaved); both were rolled back. Await each db.transaction() before starting the next',
    { code: 'LITEPOOL_KYSELY_OVERLAP' },
  )
}

/**
 * A Kysely transaction started inside a litepool transaction: a savepoint on that transaction's
 * connection. It is not queued behind the enclosing scope's nested calls (see decision 0030), so
 * `pool.write`, `pool.transaction` and `db` queries made inside it still run — on the same
 * connection, as savepoints nested inside this one.
 *
 * Savepoints nest by time, so two Kysely transactions running side by side on one connection
 * would end each other's work. When one ends while a later one is still open, both are rolled
 * back and both fail with `LITEPOOL_KYSELY_OVERLAP`, rather than one's rollback undoing the
 * other's reported commit.
 */
class SavepointTransaction implements OpenTransaction {
  readonly kind = 'savepoint'
  readonly runner: QueryRunner
  readonly connection: DialectConnection
  active = true
  /** Set when an earlier, overlapping savepoint's end destroyed this one. */
  #overlapped = false
  readonly #name: string

  constructor(connection: DialectConnection) {
    this.connection = connection
    this.runner = mainRunner(connection)
    this.#name = `litepool_kysely_${++savepoints}`
    connection.exec(SAVEPOINT_SQL.create(this.#name))
    const stack = openSavepoints.get(connection)
    if (stack === undefined) openSavepoints.set(connection, [this])
    else stack.push(this)
  }

  commit(): Promise<void> {
    if (!this.active) return Promise.reject(ended(this.kind))
    return this.#end(true)
  }

  rollback(): Promise<void> {
    if (!this.active) return Promise.resolve()
    return this.#end(false)
  }

  #end(commit: boolean): Promise<void> {
    this.active = false
    const c = this.connection
    const stack = openSavepoints.get(c) ?? []
    const at = stack.indexOf(this)
    const later = at < 0 ? [] : stack.splice(at)
    later.shift()
    for (const other of later) other.#overlapped = true
    try {
      if (this.#overlapped) {
        if (commit) throw overlapped()
        return Promise.resolve() // already undone by the savepoint it overlapped
      }
      // SQLite may already have rolled the whole transaction back (SQLITE_FULL, IOERR…).
      if (!commit || later.length > 0) {
        if (c.inTransaction) {
          c.exec(SAVEPOINT_SQL.rollbackTo(this.#name))
          c.exec(SAVEPOINT_SQL.release(this.#name))
        }
        if (commit) throw overlapped()
      } else {
        c.exec(SAVEPOINT_SQL.release(this.#name))
      }
      return Promise.resolve()
    } catch (error) {
      return Promise.reject(error)
    }
  }
}

/** Opens a savepoint on the connection of the enclosing litepool transaction. */
export function beginSavepoint(connection: DialectConnection): OpenTransaction {
  return new SavepointTransaction(connection)
}

/**
 * `setAccessMode('read only')` outside a litepool transaction: `BEGIN DEFERRED` on a reader in a
 * worker thread (`pool.read(…, { thread: 'worker' })`), so every query of the transaction sees
 * one snapshot while writes go on, and a long report never blocks the event loop. A pool without
 * worker readers runs it on a main-thread reader instead. Writes fail with `SQLITE_READONLY`
 * (readers are `query_only`).
 */
class SnapshotTransaction implements OpenTransaction {
  readonly kind = 'snapshot'
  readonly runner: QueryRunner
  active = true
  readonly #end: () => void
  /** Settles when the pool has taken the reader back (reset: whatever is left is rolled back). */
  readonly #outcome: Promise<void>

  constructor(runner: QueryRunner, end: () => void, outcome: Promise<void>) {
    this.runner = runner
    this.#end = end
    this.#outcome = outcome
  }

  async commit(): Promise<void> {
    if (!this.active) throw ended(this.kind)
    this.active = false
    try {
      await this.runner.exec(SQL.commit)
    } finally {
      this.#end()
      await this.#outcome
    }
  }

  async rollback(): Promise<void> {
    if (!this.active) return
    this.active = false
    try {
      await this.runner.exec(SQL.rollback)
    } catch {
      // the reader's reset on return rolls back whatever is left
    } finally {
      this.#end()
      await this.#outcome
    }
  }
}

/** Begins a read-only snapshot transaction on a (worker-hosted, when the pool has them) reader. */
export function beginSnapshot(
  pool: DialectPool,
  options: CallOptions | undefined,
): Promise<OpenTransaction> {
  return holdOpen((opened) =>
    pool.read(
      async (connection) => {
        await connection.exec(BEGIN_SQL.deferred)
        await new Promise<void>((end) =>
          opened((outcome) => new SnapshotTransaction(workerRunner(connection), end, outcome)),
        )
      },
      { ...options, thread: 'worker' },
    ),
  )
}
