import type { Fixtures } from './fixture.js'
import type { Progress } from './progress.js'
import type { BusyCell, Failure } from './results.js'
import type { Settings } from './settings.js'
import type { Subject } from './subjects/index.js'
import { isBusy } from './subjects/types.js'
import type { Workload } from './workloads.js'

/** What every suite gets from `main`. */
export interface SuiteContext {
  readonly settings: Settings
  readonly subjects: readonly Subject[]
  readonly workloads: readonly Workload[]
  readonly fixtures: Fixtures
  readonly progress: Progress
  readonly failures: Failure[]
  readonly busy: BusyCell[]
}

/**
 * Files an error of `subject`: SQLITE_BUSY from a peer is a result ({@link BusyCell}); anything
 * else, and any error of litepool, is a failure of the run.
 */
export function fileError(
  ctx: Pick<SuiteContext, 'busy' | 'failures'>,
  entry: { suite: string; subject: Pick<Subject, 'id' | 'family'>; where: string },
  error: unknown,
): void {
  const record = {
    suite: entry.suite,
    subject: entry.subject.id,
    where: entry.where,
    message: messageOf(error),
  }
  if (isBusy(error) && entry.subject.family !== 'litepool') ctx.busy.push(record)
  else ctx.failures.push(record)
}

/** The message of anything thrown. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error)
}

/** Thrown when a subject does not finish a step in time (a hang must not stall the whole run). */
export class StepTimeoutError extends Error {
  override readonly name = 'StepTimeoutError'
}

/** Resolves like `promise`, or rejects with {@link StepTimeoutError} after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new StepTimeoutError(`${what} did not finish within ${ms} ms`)),
          ms,
        )
        timer.unref()
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

/** How long any one step (open, one measured cell, close) may take before it counts as hung. */
export const STEP_TIMEOUT_MS = 60_000
