import type { MaybePromise } from './driver.js'
import { AcquireAbortedError, isBusyError, LockTimeoutError } from './errors.js'
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

const now = (): number => performance.now()

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
        return untilUnlocked(op, wait)
      })
    }
    return undefined
  } catch (error) {
    if (!isBusyError(error)) throw error
    return untilUnlocked(op, wait)
  }
}

/**
 * Retries a lock-taking statement with backoff while another process holds the lock.
 * The wait is asynchronous: the driver's own busy timeout stays short, so the event loop never
 * sleeps inside the database while we wait.
 */
async function untilUnlocked(op: () => MaybePromise<void>, wait: LockWait): Promise<void> {
  const started = now()
  let delay = 1
  for (;;) {
    await sleep(Math.min(Math.max(0, wait.deadline - now()), delay * (0.5 + Math.random())))
    delay = Math.min(delay * 2, MAX_BACKOFF_MS)
    try {
      await op()
      return
    } catch (error) {
      if (!isBusyError(error)) throw error
      if (wait.signal?.aborted) {
        throw new AcquireAbortedError(`waiting for the lock on ${wait.target} was aborted`, {
          cause: wait.signal.reason,
        })
      }
      if (wait.deadline - now() <= 0) {
        throw new LockTimeoutError(
          `${wait.target} stayed locked by another connection for ${Math.round(now() - started)} ms; ` +
            `gave up on ${wait.what} at the deadline (acquireTimeoutMs ${wait.acquireTimeoutMs})`,
          { status: wait.status(), cause: error },
        )
      }
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}
