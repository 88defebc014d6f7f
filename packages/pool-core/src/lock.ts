import { now } from './clock.js'
import type { MaybePromise } from './driver.js'
import { AcquireAbortedError, type DatabaseError, isBusyError, LockTimeoutError } from './errors.js'
import type { PoolStatus } from './status.js'

/** What a lock wait is about, for its errors. */
export interface LockWait {
  /** Give up at this time (performance.now clock). */
  readonly deadline: number
  readonly signal: AbortSignal | undefined
  /** The statement, e.g. `BEGIN IMMEDIATE`; named in the timeout error. */
  readonly what: string
  /** The database, named in the timeout error. */
  readonly target: string
  readonly acquireTimeoutMs: number
  /** The pool's status, carried by the timeout error. */
  status(): PoolStatus
}

/** Longest pause between two attempts (before the ±50 % jitter). */
const MAX_BACKOFF_MS = 50

/**
 * Runs a lock-taking statement once, synchronously when the driver is synchronous; only when the
 * database is busy (another process holds the lock) or the driver is async does it return a
 * promise to wait for. Errors other than "busy" are thrown as they are.
 */
export function takeLock(op: () => MaybePromise<void>, wait: LockWait): Promise<void> | undefined {
  try {
    const result = op()
    if (result instanceof Promise) {
      return result.catch((error: unknown) => {
        if (!isBusyError(error)) throw error
        return retryWhileBusy(op, lockRetry(wait), true)
      })
    }
    return undefined
  } catch (error) {
    if (!isBusyError(error)) throw error
    return retryWhileBusy(op, lockRetry(wait), true)
  }
}

function lockRetry(wait: LockWait): BusyRetry {
  const started = now()
  return {
    deadline: wait.deadline,
    signal: wait.signal,
    what: `the lock on ${wait.target}`,
    onDeadline: (error) =>
      new LockTimeoutError(
        `${wait.target} stayed locked by another connection for ${Math.round(now() - started)} ms; ` +
          `gave up on ${wait.what} at the deadline (acquireTimeoutMs ${wait.acquireTimeoutMs})`,
        { status: wait.status(), cause: error },
      ),
  }
}

/** How {@link retryWhileBusy} waits. */
export interface BusyRetry {
  /** Give up at this time (`performance.now()` clock). */
  readonly deadline: number
  /** Stop waiting when this aborts (`AcquireAbortedError`). */
  readonly signal?: AbortSignal | undefined
  /** What is waited for, named when the wait is aborted. */
  readonly what: string
  /** The error to throw at the deadline, given the last busy error. */
  onDeadline(lastError: DatabaseError): unknown
}

/**
 * Runs `op` until it stops failing with a busy error (another connection or process holds the
 * lock), waiting between attempts with jittered exponential backoff (1 ms doubling to 50 ms) — an
 * asynchronous wait, so the driver's own busy timeout can stay short and the event loop never
 * sleeps inside the database. Other errors are thrown as they are; at `deadline`,
 * `onDeadline(lastError)` is thrown. `afterFailure`: the caller already tried once, wait first.
 *
 * @example
 * ```ts
 * await retryWhileBusy(() => connection.exec('BEGIN IMMEDIATE'), {
 *   deadline: performance.now() + 5_000,
 *   what: 'BEGIN IMMEDIATE',
 *   onDeadline: (error) => error,
 * })
 * ```
 */
export async function retryWhileBusy<T>(
  op: () => MaybePromise<T>,
  retry: BusyRetry,
  afterFailure = false,
): Promise<T> {
  const { signal } = retry
  let delay = 1
  for (let waitFirst = afterFailure; ; waitFirst = true) {
    if (waitFirst) {
      if (signal?.aborted) throw aborted(retry, signal)
      await sleep(
        Math.min(Math.max(0, retry.deadline - now()), delay * (0.5 + Math.random())),
        signal,
      )
      if (signal?.aborted) throw aborted(retry, signal)
      delay = Math.min(delay * 2, MAX_BACKOFF_MS)
    }
    try {
      return await op()
    } catch (error) {
      if (!isBusyError(error)) throw error
      if (signal?.aborted) throw aborted(retry, signal)
      if (now() >= retry.deadline) throw retry.onDeadline(error)
    }
  }
}

function aborted(retry: BusyRetry, signal: AbortSignal): AcquireAbortedError {
  return new AcquireAbortedError(`waiting for ${retry.what} was aborted`, { cause: signal.reason })
}

/** Waits `ms`, or less when `signal` aborts meanwhile: an abort is answered at once. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal === undefined) {
      setTimeout(resolve, ms)
      return
    }
    const done = (): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
