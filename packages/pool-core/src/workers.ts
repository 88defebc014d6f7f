import type { ResolvedOptions } from './config.js'
import type { WorkerReaders } from './driver.js'
import type { Entry } from './entry.js'
import { ConfigError, isBroken, PoolClosedError } from './errors.js'
import { Lane, type LaneContext } from './lane.js'
import { captureBorrowStack } from './leak.js'
import type { Purpose } from './status.js'

/** What a borrow from the worker lane needs from its pool. */
export interface WorkerBorrow {
  readonly timeoutMs: number
  readonly signal: AbortSignal | undefined
}

/**
 * The pool's readers in worker threads: their lane, and running a callback on one of them. The
 * lane exists when the driver offers worker readers, the database can have readers at all, and
 * `workers.max` is above 0; otherwise worker-style reads run on a main-thread view (`view`).
 */
export class WorkerReads<C, W> {
  readonly lane: Lane<W> | undefined
  readonly #driver: WorkerReaders<C, W> | undefined
  readonly #options: ResolvedOptions<C, W>

  constructor(options: ResolvedOptions<C, W>, ctx: LaneContext<W>) {
    this.#options = options
    const driver = options.driver.workers
    this.#driver = driver
    const { min, max } = options.workers
    this.lane =
      driver !== undefined && options.driver.capabilities.readers && max > 0
        ? new Lane<W>('worker', min, max, ctx, {
            open: () => driver.open(),
            close: (w) => driver.close(w),
            ping: (w) => driver.ping(w),
          })
        : undefined
  }

  /** The driver's worker readers, or the error for a driver without them. */
  readers(): WorkerReaders<C, W> {
    if (this.#driver === undefined) {
      throw new ConfigError('read options', [
        {
          path: 'thread',
          expected: `"main" (the ${this.#options.driver.name} driver has no worker readers)`,
          received: '"worker"',
        },
      ])
    }
    return this.#driver
  }

  /** Borrows a worker reader: an idle one now, or the next one free (FIFO, with the call's deadline). */
  borrow(purpose: Purpose, call: WorkerBorrow, open: boolean): Promise<Entry<W>> {
    const lane = this.lane as Lane<W>
    if (!open) {
      return Promise.reject(
        new PoolClosedError(`the pool for ${this.#options.driver.target} is closed`),
      )
    }
    const stack = this.#options.leakDetectionMs > 0 ? captureBorrowStack() : undefined
    if (call.signal?.aborted !== true) {
      const entry = lane.tryTake(purpose, stack)
      if (entry) return Promise.resolve(entry)
    }
    return lane.acquire(purpose, call.timeoutMs, call.signal, stack)
  }

  /** Runs `fn` on a borrowed worker reader, then gives it back (reset first when it needs it). */
  async run<T>(entry: Entry<W>, fn: (connection: W) => T | Promise<T>): Promise<T> {
    let value: T
    try {
      value = await fn(entry.connection)
    } catch (error) {
      if (entry.retireReason === 'forced') throw this.closedUnder(error)
      await this.giveBack(entry, error)
      throw error
    }
    if (entry.retireReason === 'forced') throw this.closedUnder()
    await this.giveBack(entry)
    return value
  }

  /**
   * Returns a worker reader to its lane: closed when its error says it is broken (its thread
   * died, say), reset when it needs it (closed if that fails), otherwise straight back.
   */
  async giveBack(entry: Entry<W>, error?: unknown): Promise<void> {
    const lane = this.lane as Lane<W>
    const driver = this.#driver as WorkerReaders<C, W>
    if (entry.state !== 'in-use') return
    if (isBroken(error)) {
      lane.discard(entry, 'broken')
      return
    }
    if (driver.needsReset(entry.connection)) {
      try {
        await driver.reset(entry.connection)
      } catch {
        lane.discard(entry, 'reset-failed')
        return
      }
    }
    lane.release(entry)
  }

  /** The error of a holder whose worker `close()` ended under it (the close deadline passed). */
  closedUnder(cause?: unknown): PoolClosedError {
    return new PoolClosedError(
      `the pool for ${this.#options.driver.target} was closed (close timeout passed) while this worker read was running; its worker was ended`,
      cause === undefined ? undefined : { cause },
    )
  }
}
