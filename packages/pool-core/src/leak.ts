import type { Entry } from './entry.js'
import type { Logger } from './logger.js'

/**
 * Captures the current stack without throwing, for "who borrowed this connection" reports.
 * Called synchronously inside the borrower's call so the user's frame is on the stack.
 */
export function captureBorrowStack(): string {
  const holder: { stack?: string } = {}
  Error.captureStackTrace(holder, captureBorrowStack)
  // The header is "Error" in plain Node and "Error: " under some source-map hooks: drop either.
  return (holder.stack ?? '').replace(/^Error\b[^\n]*\n/, '')
}

/**
 * Starts the leak timer of a borrowed connection (HikariCP's ProxyLeakTask): if it is still held
 * after `ms`, a warning is logged with the borrower's stack; when it finally comes back, that is
 * logged too, so the two lines can be matched.
 */
export function watchForLeak(
  entry: Entry<unknown>,
  ms: number,
  pool: string,
  logger: Logger,
): void {
  entry.leakReported = false
  const timer = setTimeout(() => {
    entry.leakReported = true
    logger.warn(
      {
        event: 'leak',
        pool,
        connection: entry.id,
        role: entry.role,
        purpose: entry.purpose,
        heldMs: ms,
        stack: entry.borrowStack,
      },
      `connection #${entry.id} (${entry.role}, ${entry.purpose}) has been held for more than ${ms} ms: possible leak; borrowed at:\n${entry.borrowStack ?? '(stack not captured)'}`,
    )
  }, ms)
  timer.unref()
  entry.leakTimer = timer
}

/** Stops the leak timer; logs the return of a connection that was reported as leaked. */
export function endLeakWatch(
  entry: Entry<unknown>,
  heldMs: number,
  pool: string,
  logger: Logger,
): void {
  if (entry.leakTimer === undefined) return
  clearTimeout(entry.leakTimer)
  entry.leakTimer = undefined
  if (entry.leakReported) {
    entry.leakReported = false
    logger.warn(
      { event: 'leak-returned', pool, connection: entry.id, heldMs: Math.round(heldMs) },
      `connection #${entry.id} previously reported as leaked was returned after ${Math.round(heldMs)} ms`,
    )
  }
}
