import { now, turnNow } from './clock.js'
import { type CloseReason, Entry, lastSeenAlive, transition } from './entry.js'
import { AcquireAbortedError, ConnectionHealthError, PoolClosedError } from './errors.js'
import {
  errorMessage,
  type LaneContext,
  type LaneOps,
  recordBorrow,
  recordReturn,
  reportCloseFailure,
  reportConnect,
  reportConnectFailure,
  reportEvict,
  reportHealthFailure,
  timeoutError,
} from './lane-events.js'
import type { LaneRole, LaneStatus, Purpose } from './status.js'
import { type Waiter, WaiterQueue } from './waiters.js'

/** Longest pause between attempts to open a connection after consecutive failures. */
const MAX_CONNECT_BACKOFF_MS = 5_000

/**
 * A bounded set of connections of one role with FIFO waiters. The pool has two: the writer lane
 * (max 1) and the reader lane. Idle connections are a stack (the warmest is reused first; the
 * coldest sit at the bottom where the idle timeout finds them).
 */
export type { LaneContext, LaneOps } from './lane-events.js'

export class Lane<C> {
  readonly #all = new Set<Entry<C>>()
  readonly #idle: Entry<C>[] = []
  readonly #waiters = new WaiterQueue<Entry<C>>()
  readonly #ctx: LaneContext<C>
  #opening = 0
  #closing = false
  #consecutiveFailures = 0
  #nextOpenAt = 0
  #lastConnectError: unknown
  #retryTimer: NodeJS.Timeout | undefined
  #drained: (() => void) | undefined
  #openedTotal = 0
  #closedTotal = 0
  /** Asynchronous `driver.close()` calls still running. */
  readonly #closes = new Set<Promise<void>>()

  readonly #ops: LaneOps<C>

  constructor(
    readonly role: LaneRole,
    readonly min: number,
    readonly max: number,
    ctx: LaneContext<C>,
    ops: LaneOps<C>,
  ) {
    this.#ctx = ctx
    this.#ops = ops
  }

  /** The last error from opening a connection, cleared by the next success. */
  get lastConnectError(): unknown {
    return this.#lastConnectError
  }

  /** Callers waiting right now. */
  get waiting(): number {
    return this.#waiters.size
  }

  /** Connections handed out and not yet released. */
  get inUse(): number {
    let n = 0
    for (const e of this.#all) if (e.state === 'in-use') n++
    return n
  }

  /** The entry in use, when this lane has exactly one (the writer). */
  holder(): Entry<C> | undefined {
    for (const e of this.#all) if (e.state === 'in-use') return e
    return undefined
  }

  /**
   * Hands out a connection now if one is idle, fresh (used within `validateAfterIdleMs`) and
   * nobody is queued ahead; otherwise `undefined`. The hot path of `read` and `write`.
   */
  tryTake(purpose: Purpose, stack?: string): Entry<C> | undefined {
    if (this.#waiters.size > 0 || this.#closing) return undefined
    const entry = this.#idle[this.#idle.length - 1]
    if (entry === undefined) return undefined
    const t = turnNow()
    if (this.#stale(entry, t) || t >= entry.retireAt) return undefined
    this.#idle.pop()
    transition(entry, 'in-use')
    recordBorrow(this.#ctx, entry, purpose, undefined, stack, t)
    return entry
  }

  /** Waits (FIFO) for a connection, up to `timeoutMs` or until `signal` aborts. */
  acquire(
    purpose: Purpose,
    timeoutMs: number,
    signal?: AbortSignal,
    stack?: string,
  ): Promise<Entry<C>> {
    if (this.#closing)
      return Promise.reject(
        new PoolClosedError(`the pool for ${this.#ctx.options.driver.target} is closed`),
      )
    if (signal?.aborted) {
      return Promise.reject(
        new AcquireAbortedError(`acquiring a ${this.role} connection was aborted`, {
          cause: signal.reason,
        }),
      )
    }
    const fast = this.tryTake(purpose, stack)
    if (fast) return Promise.resolve(fast)
    return new Promise<Entry<C>>((resolve, reject) => {
      const waiter: Waiter<Entry<C>> = {
        resolve,
        reject,
        purpose,
        stack,
        enqueuedAt: now(),
        timer: undefined,
        signal,
        onAbort: undefined,
      }
      // Not unref'd: a caller awaiting a connection is work in progress, and its timeout must
      // fire (and reject) even when nothing else keeps the process alive.
      waiter.timer = setTimeout(() => this.#expire(waiter, timeoutMs), timeoutMs)
      if (signal) {
        waiter.onAbort = () => {
          if (this.#waiters.remove(waiter)) {
            waiter.reject(
              new AcquireAbortedError(`acquiring a ${this.role} connection was aborted`, {
                cause: signal.reason,
              }),
            )
          }
        }
        signal.addEventListener('abort', waiter.onAbort, { once: true })
      }
      this.#waiters.push(waiter)
      this.#dispatch()
    })
  }

  /**
   * Takes back a borrowed connection: hands it to the next waiter, parks it idle, or closes it
   * when it must retire. A second release of the same borrow is a warned no-op.
   */
  release(entry: Entry<C>): void {
    if (entry.state !== 'in-use') {
      if (entry.retireReason !== 'forced') {
        this.#ctx.options.logger.warn(
          {
            event: 'double-release',
            pool: this.#ctx.options.name,
            connection: entry.id,
            state: entry.state,
          },
          `connection #${entry.id} was released twice; the second release was ignored`,
        )
      }
      return
    }
    const t = recordReturn(this.#ctx, entry)
    if (this.#closing) {
      // Parked, not closed: the pool still runs its final maintenance on the writer.
      transition(entry, 'idle')
      this.#idle.push(entry)
      this.#checkDrained()
      return
    }
    if (entry.retireReason !== undefined || t >= entry.retireAt) {
      this.#destroy(entry, entry.retireReason ?? 'max-lifetime')
      this.#dispatch()
      return
    }
    const waiter = this.#waiters.shift()
    if (waiter) {
      this.#give(entry, waiter)
      return
    }
    transition(entry, 'idle')
    this.#idle.push(entry)
  }

  /** Closes a borrowed or idle connection that must not be reused (broken, reset failed). */
  discard(entry: Entry<C>, reason: CloseReason): void {
    if (entry.state === 'in-use') recordReturn(this.#ctx, entry)
    this.#destroy(entry, reason)
    if (this.#closing) this.#checkDrained()
    else this.#dispatch()
  }

  /**
   * Periodic upkeep (called by the housekeeper): retire idle connections past max lifetime,
   * close those idle past the idle timeout while above `min`, ping those idle longer than the
   * health-check interval, and open connections up to `min`.
   */
  housekeep(): void {
    if (this.#closing) return
    const { idleTimeoutMs, healthCheckIntervalMs } = this.#ctx.options
    const t = now()
    for (const entry of [...this.#idle]) {
      // A keepalive ping is not a use: the idle timeout counts from the last borrow.
      const idleFor = t - entry.lastUsedAt
      if (t >= entry.retireAt) this.#destroy(entry, 'max-lifetime')
      else if (idleTimeoutMs > 0 && idleFor >= idleTimeoutMs && this.#all.size > this.min) {
        this.#destroy(entry, 'idle-timeout')
      } else if (healthCheckIntervalMs > 0 && t - lastSeenAlive(entry) >= healthCheckIntervalMs) {
        this.#idle.splice(this.#idle.indexOf(entry), 1)
        this.#check(entry)
      }
    }
    if (t >= this.#nextOpenAt) {
      while (this.#all.size + this.#opening < this.min) this.#open()
    }
    this.#dispatch()
  }

  /** Opens connections up to `min` (at least `atLeast`) now; resolves when they are open (`pool.ready()`). */
  async fill(atLeast = 1): Promise<void> {
    const wanted = Math.max(this.min, atLeast) - this.#all.size - this.#opening
    if (wanted <= 0) return
    // Borrow the idle ones too, so that `wanted` new ones must be opened; all come back through
    // release(), so waiters that arrived meanwhile are served.
    const entries = await Promise.all(
      Array.from({ length: wanted + this.#idle.length }, () =>
        this.acquire('maintenance', this.#ctx.options.acquireTimeoutMs),
      ),
    )
    for (const e of entries) this.release(e)
  }

  /**
   * Stops taking work: rejects every waiter, then resolves when all borrowed connections are
   * back or `deadline` (performance.now clock) has passed. Connections stay open until
   * {@link destroyAll}, so the pool can run final maintenance first.
   */
  async close(deadline: number): Promise<void> {
    if (!this.#closing) {
      this.#closing = true
      clearTimeout(this.#retryTimer)
      for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
        w.reject(
          new PoolClosedError(
            `the pool for ${this.#ctx.options.driver.target} was closed while waiting for a ${this.role} connection`,
          ),
        )
      }
    }
    if (this.#busyCount() === 0) return
    let timer: NodeJS.Timeout | undefined
    await new Promise<void>((resolve) => {
      this.#drained = resolve
      // Not unref'd: the deadline must end close() even if the work it waits for is stuck.
      timer = setTimeout(resolve, Math.max(0, deadline - now()))
    })
    clearTimeout(timer)
    this.#drained = undefined
  }

  /**
   * Closes every connection. Those still borrowed (the close deadline passed) are closed under
   * their holders, whose work then fails; returns how many that were.
   */
  destroyAll(): number {
    let forced = 0
    for (const entry of [...this.#all]) {
      if (entry.state === 'in-use') {
        entry.retireReason = 'forced'
        recordReturn(this.#ctx, entry)
        this.#destroy(entry, 'forced')
        forced++
      } else {
        this.#destroy(entry, 'pool-closed')
      }
    }
    return forced
  }

  /** Resolves when every `driver.close()` started so far has finished. */
  async closed(): Promise<void> {
    while (this.#closes.size > 0) await Promise.all(this.#closes)
  }

  /** Takes the idle connection for a pool-internal job (maintenance, final checkpoint), if any. */
  takeIdleForMaintenance(): Entry<C> | undefined {
    if (this.#waiters.size > 0) return undefined
    const entry = this.#idle.pop()
    if (entry === undefined) return undefined
    transition(entry, 'in-use')
    recordBorrow(this.#ctx, entry, 'maintenance', undefined, undefined)
    return entry
  }

  status(): LaneStatus & { readonly openedTotal: number; readonly closedTotal: number } {
    const inUse = this.inUse
    return {
      open: this.#all.size,
      idle: this.#idle.length,
      inUse,
      opening: this.#opening,
      waiting: this.#waiters.size,
      min: this.min,
      max: this.max,
      openedTotal: this.#openedTotal,
      closedTotal: this.#closedTotal,
    }
  }

  // ---- internals ---------------------------------------------------------------------------

  #busyCount(): number {
    let n = this.#opening
    for (const e of this.#all) if (e.state === 'in-use' || e.state === 'checking') n++
    return n
  }

  #checkDrained(): void {
    if (this.#drained && this.#busyCount() === 0) this.#drained()
  }

  /** Matches idle connections to waiters, validating stale ones, then opens more if needed. */
  #dispatch(): void {
    while (this.#waiters.size > 0 && this.#idle.length > 0) {
      const entry = this.#idle.pop() as Entry<C>
      const t = now()
      if (t >= entry.retireAt) {
        this.#destroy(entry, 'max-lifetime')
        continue
      }
      if (this.#stale(entry, t)) {
        this.#check(entry)
        continue
      }
      transition(entry, 'in-use')
      this.#give(entry, this.#waiters.shift() as Waiter<Entry<C>>)
    }
    if (this.#closing || this.#retryTimer !== undefined) return
    let wanted = this.#waiters.size - this.#opening
    let room = this.max - this.#all.size - this.#opening
    while (wanted > 0 && room > 0) {
      this.#open()
      wanted--
      room--
    }
  }

  /** Whether a connection must be pinged before it is handed out (`validateAfterIdleMs`, 0 = never). */
  #stale(entry: Entry<C>, t: number): boolean {
    const { validateAfterIdleMs } = this.#ctx.options
    return validateAfterIdleMs > 0 && t - lastSeenAlive(entry) > validateAfterIdleMs
  }

  /** Pings an idle connection (off the idle list); good ones go back idle, bad ones are closed. */
  #check(entry: Entry<C>): void {
    transition(entry, 'checking')
    const done = (error: unknown): void => {
      // close() may have closed the connection while the ping was out; it is gone already.
      if (entry.state !== 'checking') return
      if (error === undefined) {
        entry.lastCheckedAt = now()
        transition(entry, 'idle')
        this.#idle.push(entry)
      } else {
        reportHealthFailure(this.#ctx, entry, error)
        this.#destroy(entry, 'health-failed')
      }
      if (this.#closing) this.#checkDrained()
      else this.#dispatch()
    }
    let result: unknown
    try {
      result = this.#ops.ping(entry.connection)
    } catch (error) {
      done(error ?? 'ping failed')
      return
    }
    if (result instanceof Promise)
      result.then(
        () => done(undefined),
        (error: unknown) => done(error ?? 'ping failed'),
      )
    else done(undefined)
  }

  #open(): void {
    this.#opening++
    const { driver, maxLifetimeMs } = this.#ctx.options
    const started = now()
    Promise.resolve()
      .then(() => this.#ops.open())
      .then(
        (connection) => {
          this.#opening--
          this.#openedTotal++
          this.#consecutiveFailures = 0
          this.#nextOpenAt = 0
          this.#lastConnectError = undefined
          const t = now()
          const entry = new Entry(connection, this.role, t, maxLifetimeMs)
          this.#all.add(entry)
          reportConnect(this.#ctx, this.role, t - started)
          if (this.#closing) {
            this.#destroy(entry, 'pool-closed')
            this.#checkDrained()
            return
          }
          const waiter = this.#waiters.shift()
          if (waiter) this.#give(entry, waiter)
          else {
            transition(entry, 'idle')
            this.#idle.push(entry)
          }
          this.#dispatch()
        },
        (error: unknown) => {
          this.#opening--
          this.#consecutiveFailures++
          this.#lastConnectError = error
          const backoff = Math.min(MAX_CONNECT_BACKOFF_MS, 10 * 2 ** this.#consecutiveFailures)
          this.#nextOpenAt = now() + backoff
          reportConnectFailure(this.#ctx, this.role, this.#consecutiveFailures, error)
          if (this.#closing) {
            this.#checkDrained()
            return
          }
          if (this.#all.size === 0 && this.#opening === 0) {
            // Nothing else can serve the waiters: fail them now with the cause instead of letting
            // them hang until their timeout while we retry in a loop.
            const message = `could not open a ${this.role} connection to ${driver.target}: ${errorMessage(error)}`
            for (let w = this.#waiters.shift(); w; w = this.#waiters.shift()) {
              w.reject(new ConnectionHealthError(message, { cause: error }))
            }
            return
          }
          // Other connections exist and may serve the waiters; try opening again after a pause.
          clearTimeout(this.#retryTimer)
          this.#retryTimer = setTimeout(() => {
            this.#retryTimer = undefined
            this.#dispatch()
          }, backoff)
          this.#retryTimer.unref()
        },
      )
  }

  #give(entry: Entry<C>, waiter: Waiter<Entry<C>>): void {
    recordBorrow(this.#ctx, entry, waiter.purpose, waiter.enqueuedAt, waiter.stack)
    waiter.resolve(entry)
  }

  #expire(waiter: Waiter<Entry<C>>, timeoutMs: number): void {
    if (!this.#waiters.remove(waiter)) return
    waiter.reject(timeoutError(this.#ctx, this.role, timeoutMs, this.#lastConnectError))
  }

  #destroy(entry: Entry<C>, reason: CloseReason): void {
    if (entry.state === 'closing' || entry.state === 'closed') return
    const idleAt = this.#idle.indexOf(entry)
    if (idleAt >= 0) this.#idle.splice(idleAt, 1)
    transition(entry, 'closing')
    this.#all.delete(entry)
    if (entry.leakTimer !== undefined) clearTimeout(entry.leakTimer)
    reportEvict(this.#ctx, entry, reason)
    const closed = (error?: unknown): void => {
      transition(entry, 'closed')
      this.#closedTotal++
      if (error !== undefined) reportCloseFailure(this.#ctx, entry, error)
    }
    try {
      const result = this.#ops.close(entry.connection)
      if (result instanceof Promise) {
        const closing = result.then(
          () => closed(),
          (error: unknown) => closed(error ?? 'close failed'),
        )
        this.#closes.add(closing)
        void closing.then(() => this.#closes.delete(closing))
      } else closed()
    } catch (error) {
      closed(error ?? 'close failed')
    }
  }
}
