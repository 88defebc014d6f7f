/**
 * A child process of the cross-process contention suite: receives a plan, reports `ready`, waits
 * for the shared start time, runs the plan and sends the outcome back.
 */
import { type ContentionOutcome, type ContentionPlan, runContention } from './contention.js'

/** Parent → child. */
export type ToWorker = {
  readonly type: 'run'
  readonly plan: ContentionPlan
  readonly startAt: number
}
/** Child → parent. */
export type FromWorker =
  | { readonly type: 'ready' }
  | { readonly type: 'done'; readonly outcome: ContentionOutcome }
  | { readonly type: 'failed'; readonly message: string }

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => process.send?.(message, undefined, {}, () => resolve()))
}

process.on('message', (message: ToWorker) => {
  if (message.type !== 'run') return
  runContention(message.plan, message.startAt).then(
    async (outcome) => {
      await send({ type: 'done', outcome })
      process.disconnect()
    },
    async (error: unknown) => {
      await send({ type: 'failed', message: String((error as Error)?.stack ?? error) })
      process.disconnect()
    },
  )
})
void send({ type: 'ready' })
