import type { ResolvedOptions } from './config.js'
import type { Entry } from './entry.js'
import { isBroken, PoolClosedError } from './errors.js'
import type { Lane } from './lane.js'
import type { Maintenance } from './maintenance.js'
import { isThenable } from './transaction.js'

/** Runs a plain read's callback so that calls nested in it can join its connection. */
export type JoinableRun<C> = <T>(
  entry: Entry<C>,
  fn: (connection: C) => T | Promise<T>,
) => T | Promise<T>

/**
 * How borrowed main-thread connections come back: a plain read's callback run and its return,
 * the reset of a connection a callback left changed, closing the broken ones, and the
 * maintenance owed when the writer comes back.
 */
export class Returns<C> {
  readonly #options: ResolvedOptions<C, unknown>
  readonly #writer: Lane<C>
  readonly #maintenance: Maintenance<C>
  /** Set when the pool has no readers: a read borrows the only connection (decision 0008). */
  readonly #joinable: JoinableRun<C> | undefined

  constructor(
    options: ResolvedOptions<C, unknown>,
    writer: Lane<C>,
    maintenance: Maintenance<C>,
    joinable: JoinableRun<C> | undefined,
  ) {
    this.#options = options
    this.#writer = writer
    this.#maintenance = maintenance
    this.#joinable = joinable
  }

  /**
   * Runs a callback outside any transaction and returns the connection. A synchronous callback
   * (the usual `c => c.get(…)`) completes without any intermediate promise: on Node 20 every
   * promise costs extra once AsyncLocalStorage is active, and this is the hot path.
   */
  run<T>(lane: Lane<C>, entry: Entry<C>, fn: (connection: C) => T | Promise<T>): Promise<T> {
    let result: T | Promise<T>
    try {
      // Without readers this borrows the only connection: nested calls must be able to join it.
      result = this.#joinable === undefined ? fn(entry.connection) : this.#joinable(entry, fn)
    } catch (error) {
      return this.#plainFailed(lane, entry, error)
    }
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (value) => this.#plainDone(lane, entry, value),
        (error: unknown) => this.#plainFailed(lane, entry, error),
      )
    }
    return this.#plainDone(lane, entry, result)
  }

  #plainDone<T>(lane: Lane<C>, entry: Entry<C>, value: T): Promise<T> {
    if (entry.retireReason === 'forced') return Promise.reject(this.closedUnder())
    const resetting = this.returnPlain(lane, entry)
    return resetting === undefined ? Promise.resolve(value) : resetting.then(() => value)
  }

  #plainFailed<T>(lane: Lane<C>, entry: Entry<C>, error: unknown): Promise<T> {
    if (entry.retireReason === 'forced') return Promise.reject(this.closedUnder(error))
    const resetting = this.returnPlain(lane, entry, error)
    return (resetting ?? Promise.resolve()).then(() => Promise.reject(error))
  }

  /**
   * Returns a connection used outside a transaction. When the callback left a transaction open
   * (it threw, or forgot to end it), that is rolled back first, so the next borrower never
   * inherits a lock or a stale snapshot; returns the promise to wait for in that case only.
   */
  returnPlain(lane: Lane<C>, entry: Entry<C>, error?: unknown): Promise<void> | undefined {
    if (
      entry.state === 'in-use' &&
      !isBroken(error) &&
      this.#options.driver.transactions.isActive(entry.connection)
    ) {
      return this.#resetThenGiveBack(lane, entry, error)
    }
    this.giveBack(lane, entry, error)
    return undefined
  }

  /** `driver.reset`, then back to the lane; a connection that cannot be reset is closed. */
  #resetThenGiveBack(lane: Lane<C>, entry: Entry<C>, error?: unknown): Promise<void> {
    return Promise.resolve()
      .then(() => this.#options.driver.reset(entry.connection))
      .then(
        () => this.giveBack(lane, entry, error),
        () => lane.discard(entry, 'reset-failed'),
      )
  }

  /** Returns a connection to its lane: closes it if its error says it is broken, runs due maintenance. */
  giveBack(lane: Lane<C>, entry: Entry<C>, error?: unknown): void {
    if (entry.state !== 'in-use') return
    if (isBroken(error)) {
      lane.discard(entry, 'broken')
      return
    }
    if (this.#options.driver.needsReset?.(entry.connection) === true) {
      // The callback changed per-connection state (a pragma, an unfinished iteration).
      void this.#resetThenGiveBack(lane, entry, error)
      return
    }
    const due = lane === this.#writer ? this.#maintenance.takeDue() : undefined
    if (due !== undefined) {
      void this.#maintenance.run(entry, due).then(() => lane.release(entry))
      return
    }
    lane.release(entry)
  }

  closedUnder(cause?: unknown): PoolClosedError {
    return new PoolClosedError(
      `the pool for ${this.#options.driver.target} was closed (close timeout passed) while this work was running; its connection was closed and its transaction rolled back`,
      cause === undefined ? undefined : { cause },
    )
  }
}
