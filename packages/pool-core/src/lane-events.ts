/**
 * What a lane reports about its connections: metrics, `diagnostics_channel` events (published
 * only while someone listens) and log lines — for borrows, returns, timeouts, opens and closes.
 */
import { now, turnNow } from './clock.js'
import type { ResolvedOptions } from './config.js'
import type { MaybePromise } from './driver.js'
import type { CloseReason, Entry } from './entry.js'
import { AcquireTimeoutError } from './errors.js'
import { channels } from './events.js'
import { captureBorrowStack, endLeakWatch, watchForLeak } from './leak.js'
import type { MetricsRecorder } from './metrics.js'
import { describeStatus, type LaneRole, type PoolStatus, type Purpose } from './status.js'

/** What a lane needs from its pool. */
export interface LaneContext<C> {
  /** The pool's options (shared by every lane, whatever its connection type). */
  readonly options: ResolvedOptions<unknown>
  /** Never read: keeps `C` in the type so each lane's helpers stay typed by its connections. */
  readonly connection?: C
  readonly metrics: MetricsRecorder
  /** The pool's status, for timeout errors. */
  status(): PoolStatus
}

/** How a lane opens, closes and pings its connections (the driver's, or its worker readers'). */
export interface LaneOps<C> {
  open(): Promise<C>
  close(connection: C): MaybePromise<void>
  ping(connection: C): MaybePromise<void>
}

/**
 * Whether borrows are timed precisely: once `pool.metrics()` was called, with leak detection on,
 * or while someone listens to borrow events. Otherwise the hot path reads no clock (see
 * `turnNow`): two precise reads per borrow cost 4–5 % of a point select.
 */
function wantsDurations<C>(ctx: LaneContext<C>): boolean {
  return (
    ctx.metrics.timing ||
    ctx.options.leakDetectionMs > 0 ||
    channels.acquire.hasSubscribers ||
    channels.release.hasSubscribers ||
    channels.slow.hasSubscribers
  )
}

/**
 * Marks `entry` borrowed for `purpose`, after waiting since `requestedAt` (undefined: taken at
 * once); records the wait and starts the leak watch when leak detection is on. `turn` is the
 * caller's `turnNow()`, when it has one.
 */
export function recordBorrow<C>(
  ctx: LaneContext<C>,
  entry: Entry<C>,
  purpose: Purpose,
  requestedAt: number | undefined,
  stack: string | undefined,
  turn?: number,
): void {
  entry.purpose = purpose
  const timed = wantsDurations(ctx)
  entry.timed = timed
  if (!timed) {
    entry.borrowedAt = turn ?? turnNow()
    return
  }
  const t = now()
  entry.borrowedAt = t
  const waitMs = requestedAt === undefined ? 0 : t - requestedAt
  const { leakDetectionMs, name, logger } = ctx.options
  if (ctx.metrics.timing) ctx.metrics.waitTime.recordMs(waitMs)
  if (leakDetectionMs > 0) {
    entry.borrowStack = stack ?? captureBorrowStack()
    watchForLeak(entry, leakDetectionMs, name, logger)
  }
  if (channels.acquire.hasSubscribers) {
    channels.acquire.publish({
      pool: name,
      role: entry.role,
      purpose,
      connection: entry.id,
      waitMs,
    })
  }
}

/**
 * Marks the end of a borrow: last use, and for a timed borrow the use time, leak watch, release
 * and slow events. Returns the time it used (precise for a timed borrow).
 */
export function recordReturn<C>(ctx: LaneContext<C>, entry: Entry<C>): number {
  if (!entry.timed) {
    entry.lastUsedAt = turnNow()
    return entry.lastUsedAt
  }
  const t = now()
  entry.lastUsedAt = t
  const held = t - entry.borrowedAt
  const { name, logger, slowThresholdMs } = ctx.options
  if (ctx.metrics.timing) ctx.metrics.useTime.recordMs(held)
  if (entry.leakTimer !== undefined) endLeakWatch(entry, held, name, logger)
  const slow = slowThresholdMs > 0 && held > slowThresholdMs && channels.slow.hasSubscribers
  if (channels.release.hasSubscribers || slow) {
    const event = {
      pool: name,
      role: entry.role,
      purpose: entry.purpose,
      connection: entry.id,
      useMs: held,
    }
    if (channels.release.hasSubscribers) channels.release.publish(event)
    if (slow) channels.slow.publish(event)
  }
  return t
}

/** Counts and publishes a waiter's timeout, and builds its error (status, last connect failure). */
export function timeoutError<C>(
  ctx: LaneContext<C>,
  role: LaneRole,
  timeoutMs: number,
  lastConnectError: unknown,
): AcquireTimeoutError {
  const { name, driver } = ctx.options
  ctx.metrics.timeouts++
  const status = ctx.status()
  if (channels.timeout.hasSubscribers) {
    channels.timeout.publish({ pool: name, role, waitMs: timeoutMs, status })
  }
  const cause = lastConnectError
  return new AcquireTimeoutError(
    `timed out after ${timeoutMs} ms waiting for a ${role} connection to ${driver.target} (${describeStatus(status)})` +
      (cause === undefined ? '' : `; last connect failure: ${errorMessage(cause)}`),
    cause === undefined ? { status } : { status, cause },
  )
}

export function reportConnect<C>(ctx: LaneContext<C>, role: LaneRole, createMs: number): void {
  ctx.metrics.createTime.recordMs(createMs)
  if (channels.connect.hasSubscribers)
    channels.connect.publish({ pool: ctx.options.name, role, createMs })
}

export function reportConnectFailure<C>(
  ctx: LaneContext<C>,
  role: LaneRole,
  attempt: number,
  error: unknown,
): void {
  const { name, logger, driver } = ctx.options
  logger.warn(
    { event: 'connect-failed', pool: name, role, attempt, error },
    `could not open a ${role} connection to ${driver.target} (attempt ${attempt})`,
  )
  if (channels.connectError.hasSubscribers)
    channels.connectError.publish({ pool: name, role, error })
}

export function reportHealthFailure<C>(ctx: LaneContext<C>, entry: Entry<C>, error: unknown): void {
  const { name, logger } = ctx.options
  logger.warn(
    { event: 'health-failed', pool: name, connection: entry.id, role: entry.role, error },
    `connection #${entry.id} (${entry.role}) failed its health check and was closed`,
  )
  if (channels.healthFailure.hasSubscribers) {
    channels.healthFailure.publish({ pool: name, role: entry.role, error })
  }
}

export function reportEvict<C>(ctx: LaneContext<C>, entry: Entry<C>, reason: CloseReason): void {
  const { name, logger } = ctx.options
  if (channels.evict.hasSubscribers) {
    channels.evict.publish({ pool: name, role: entry.role, connection: entry.id, reason })
  }
  logger.debug?.(
    { event: 'evict', pool: name, connection: entry.id, role: entry.role, reason },
    `closing connection #${entry.id}: ${reason}`,
  )
}

export function reportCloseFailure<C>(ctx: LaneContext<C>, entry: Entry<C>, error: unknown): void {
  ctx.options.logger.error(
    { event: 'close-failed', pool: ctx.options.name, connection: entry.id, error },
    `closing connection #${entry.id} failed`,
  )
}

/** An error's message, or the thrown value as text. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
