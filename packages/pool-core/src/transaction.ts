import { now } from './clock.js'
import type { ResolvedOptions } from './config.js'
import {
  endTransaction,
  NOT_STARTED,
  RESOLVED,
  runTransaction,
  type Scope,
  storage,
} from './context.js'
import type { MaybePromise, TransactionControl, TransactionMode } from './driver.js'
import type { Entry } from './entry.js'
import { AcquireTimeoutError, type PoolClosedError, TransactionError } from './errors.js'
import { type LockWait, takeLock } from './lock.js'
import type { PoolStatus } from './status.js'

/** What running transactions needs from the pool. */
export interface TransactionHost<C> {
  readonly options: ResolvedOptions<C>
  status(): PoolStatus
  /** Returns the writer to its lane (or closes it when `error` says it is broken). */
  giveBack(entry: Entry<C>, error?: unknown): void
  /** Closes the writer instead of reusing it (its rollback failed). */
  discard(entry: Entry<C>): void
  /** Counts a committed transaction (scheduled maintenance runs only after writes). */
  committed(entry: Entry<C>): void
  /** The error for work whose connection `close()` closed under it. */
  closedUnder(cause?: unknown): PoolClosedError
}

const noop = (): void => {}

/**
 * Transactions on the writer: BEGIN (retried while another process holds the lock), the callback
 * in an AsyncLocalStorage scope, COMMIT or ROLLBACK; nested calls become savepoints.
 */
export class Transactions<C> {
  readonly #owner: object
  readonly #host: TransactionHost<C>
  #savepoints = 0

  constructor(owner: object, host: TransactionHost<C>) {
    this.#owner = owner
    this.#host = host
  }

  /**
   * Runs `fn` in a new transaction on the borrowed writer `entry`, then returns the writer. A
   * `bound` scope (from `bindContext`) becomes the transaction's scope, so the context it was
   * bound in joins the transaction too.
   */
  run<T>(
    entry: Entry<C>,
    fn: (connection: C) => T | Promise<T>,
    mode: TransactionMode,
    deadline: number,
    signal: AbortSignal | undefined,
    bound?: Scope,
  ): Promise<T> {
    const { transactions: tc } = this.#host.options.driver
    let locking: Promise<void> | undefined
    try {
      if (bound !== undefined && (bound.owner !== this.#owner || bound.entry !== NOT_STARTED)) {
        throw new TransactionError(
          'this bound context belongs to another pool or already started a transaction; call pool.bindContext() once per transaction',
        )
      }
      if (bound !== undefined) bound.entry = entry // claimed: a second start with it fails
      locking = this.#lock(
        () => tc.begin(entry.connection, mode),
        deadline,
        signal,
        `BEGIN ${mode.toUpperCase()}`,
      )
    } catch (error) {
      this.#host.giveBack(entry, error)
      return Promise.reject(error)
    }
    if (locking === undefined) return this.#body(entry, fn, deadline, bound)
    return locking.then(
      () => this.#body(entry, fn, deadline, bound),
      (error: unknown) => {
        this.#host.giveBack(entry, error)
        throw error
      },
    )
  }

  /**
   * A nested transaction, after its earlier siblings: a savepoint on the scope's connection, or
   * in a plain read's scope (see {@link plain}) a transaction of its own in `mode`. Waiting for
   * the siblings ends at `timeoutMs`, as waiting for a connection does: a sibling that waits for
   * a later one would otherwise hang both for good.
   */
  nested<T>(
    scope: Scope,
    fn: (connection: C) => T | Promise<T>,
    mode: TransactionMode,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = now() + timeoutMs
    const run = async (): Promise<T> => {
      if (!scope.active) {
        throw new TransactionError(
          'the enclosing transaction finished before this nested transaction could start',
        )
      }
      const tc = this.#host.options.driver.transactions
      const connection = scope.entry.connection as C
      const name = `litepool_sp_${++this.#savepoints}`
      if (!scope.plain) await tc.savepoint(connection, name)
      else
        await this.#lock(
          () => tc.begin(connection, mode),
          deadline,
          undefined,
          `BEGIN ${mode.toUpperCase()}`,
        )
      const child: Scope = { owner: this.#owner, entry: scope.entry, active: true, tail: RESOLVED }
      let result: T
      try {
        result = await storage.run(child, fn, connection)
        await settled(child)
      } catch (error) {
        child.active = false
        await settled(child)
        if (!scope.plain) await this.#undoSavepoint(connection, name, error)
        else await rollbackQuietly(tc, connection)
        throw error
      }
      child.active = false
      if (!scope.plain) await tc.releaseSavepoint(connection, name)
      else {
        try {
          await this.#lock(() => tc.commit(connection), deadline, undefined, 'COMMIT')
        } catch (error) {
          await rollbackQuietly(tc, connection)
          throw error
        }
        this.#host.committed(scope.entry as Entry<C>)
      }
      return result
    }
    const previous = scope.tail
    const result = this.#turn(previous, timeoutMs).then(run)
    // A sibling that gave up still leaves the ones after it waiting for the one it waited for.
    scope.tail =
      previous === RESOLVED ? result.catch(noop) : Promise.all([previous, result.catch(noop)])
    return result
  }

  /** Resolves when `previous` settles, or rejects with AcquireTimeoutError after `timeoutMs`. */
  #turn(previous: Promise<unknown>, timeoutMs: number): Promise<unknown> {
    if (previous === RESOLVED) return previous // nothing to wait for: no timer
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new AcquireTimeoutError(
            `a nested transaction waited ${timeoutMs} ms for an earlier one started in the same transaction (or read) to finish; nested calls from one scope run one at a time, so one that waits for a later one never ends`,
            { status: this.#host.status() },
          ),
        )
      }, timeoutMs)
      void previous.then(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }

  /**
   * Runs a plain callback (no BEGIN) in a scope of its own on `entry`, for a pool whose only
   * connection is the writer (a private in-memory database). Calls nested in the callback then
   * run on this connection — reads directly, writes and transactions as transactions of their
   * own — instead of queueing behind it until they time out. Settles once the nested work the
   * callback started has settled.
   */
  plain<T>(entry: Entry<C>, fn: (connection: C) => T | Promise<T>): T | Promise<T> {
    const scope: Scope = { owner: this.#owner, entry, active: true, tail: RESOLVED, plain: true }
    let result: T | Promise<T>
    try {
      result = runTransaction(scope, fn, entry.connection)
    } catch (error) {
      if (scope.tail === RESOLVED) {
        endTransaction(scope)
        throw error
      }
      result = Promise.reject(error)
    }
    // A synchronous callback that started nothing nested ends here, without a promise.
    if (!isThenable(result) && scope.tail === RESOLVED) {
      endTransaction(scope)
      return result
    }
    return Promise.resolve(result).then(
      async (value) => {
        await endScope(scope, false)
        return value
      },
      async (error: unknown) => {
        await endScope(scope, true)
        throw error
      },
    )
  }

  /** Runs the callback in its scope, then commits — synchronously when everything is synchronous. */
  #body<T>(
    entry: Entry<C>,
    fn: (connection: C) => T | Promise<T>,
    deadline: number,
    bound: Scope | undefined,
  ): Promise<T> {
    const scope: Scope = bound ?? { owner: this.#owner, entry, active: true, tail: RESOLVED }
    scope.active = true
    let result: T | Promise<T>
    try {
      result = runTransaction(scope, fn, entry.connection)
    } catch (error) {
      return this.#fail(entry, scope, error)
    }
    if (isThenable(result) || scope.tail !== RESOLVED) {
      return Promise.resolve(result).then(
        async (value) => {
          // Nested transactions the callback started and did not await finish before COMMIT.
          await settled(scope)
          return this.#commit(entry, scope, value, deadline)
        },
        (error: unknown) => this.#fail(entry, scope, error),
      )
    }
    return this.#commit(entry, scope, result, deadline)
  }

  /** Ends the scope, lets nested work started from it settle, rolls back, rethrows `error`. */
  async #fail<T>(entry: Entry<C>, scope: Scope, error: unknown): Promise<T> {
    await endScope(scope, true)
    if (entry.retireReason === 'forced') throw this.#host.closedUnder(error)
    await this.#rollback(entry, error)
    throw error
  }

  /** Called once nested work has settled: ends the scope and commits. */
  #commit<T>(entry: Entry<C>, scope: Scope, value: T, deadline: number): Promise<T> {
    endTransaction(scope)
    if (entry.retireReason === 'forced') return Promise.reject(this.#host.closedUnder())
    const { transactions: tc } = this.#host.options.driver
    let committing: Promise<void> | undefined
    try {
      committing = this.#lock(() => tc.commit(entry.connection), deadline, undefined, 'COMMIT')
    } catch (error) {
      return this.#rollback(entry, error).then(() => Promise.reject(error))
    }
    const done = (): T => {
      this.#host.committed(entry)
      this.#host.giveBack(entry)
      return value
    }
    if (committing === undefined) return Promise.resolve(done())
    return committing.then(done, (error: unknown) =>
      this.#rollback(entry, error).then(() => Promise.reject(error)),
    )
  }

  /** Rolls back after a failure and returns the writer (or discards it when rollback fails). */
  async #rollback(entry: Entry<C>, cause: unknown): Promise<void> {
    if (entry.state !== 'in-use') return // closed under us by close()
    const { driver, logger, name } = this.#host.options
    try {
      // SQLite rolls back by itself on some errors (disk full, I/O); don't roll back twice.
      if (driver.transactions.isActive(entry.connection))
        await driver.transactions.rollback(entry.connection)
    } catch (rollbackError) {
      logger.error(
        { event: 'rollback-failed', pool: name, connection: entry.id, error: rollbackError, cause },
        `ROLLBACK failed on connection #${entry.id}; the connection was closed`,
      )
      this.#host.discard(entry)
      return
    }
    this.#host.giveBack(entry, cause)
  }

  async #undoSavepoint(connection: C, name: string, cause: unknown): Promise<void> {
    const tc = this.#host.options.driver.transactions
    if (!tc.isActive(connection)) return // the database already rolled the whole transaction back
    try {
      await tc.rollbackToSavepoint(connection, name)
      await tc.releaseSavepoint(connection, name)
    } catch (error) {
      throw new TransactionError(`could not roll back savepoint ${name}: ${message(error)}`, {
        cause: error ?? cause,
      })
    }
  }

  #lock(
    op: () => MaybePromise<void>,
    deadline: number,
    signal: AbortSignal | undefined,
    what: string,
  ): Promise<void> | undefined {
    const { driver, acquireTimeoutMs } = this.#host.options
    const wait: LockWait = {
      deadline,
      signal,
      what,
      target: driver.target,
      acquireTimeoutMs,
      status: () => this.#host.status(),
    }
    return takeLock(op, wait)
  }
}

/**
 * Waits until the nested transactions started from `scope` have settled, including any that were
 * started (chained onto the scope) while waiting.
 */
async function settled(scope: Scope): Promise<void> {
  for (let tail = scope.tail; ; tail = scope.tail) {
    if (tail !== RESOLVED) await tail
    if (tail === scope.tail) return
  }
}

/**
 * Ends `scope` once the nested work started from it has settled. After a failure the scope goes
 * inactive first, so nested calls that have not started yet fail instead of outliving it.
 */
async function endScope(scope: Scope, failed: boolean): Promise<void> {
  if (failed) scope.active = false
  await settled(scope)
  endTransaction(scope)
}

/** Runs `fn` on the connection of the enclosing transaction (read-your-writes). */
export function runInScope<C, T>(scope: Scope, fn: (connection: C) => T | Promise<T>): Promise<T> {
  try {
    return Promise.resolve(fn(scope.entry.connection as C))
  } catch (error) {
    return Promise.reject(error)
  }
}

/**
 * Rolls back a transaction of a plain read's scope after a failure, keeping the failure as the
 * error: if the rollback fails too, the read's return resets (or discards) the connection.
 */
async function rollbackQuietly<C>(tc: TransactionControl<C>, connection: C): Promise<void> {
  try {
    if (tc.isActive(connection)) await tc.rollback(connection)
  } catch {
    // reported by the reset on return
  }
}

/** True for promises and other thenables. */
export function isThenable<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function'
}

/** An error's message, or the thrown value as text. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
