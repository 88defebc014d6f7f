import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import type { Item } from './model.js'
import { prng } from './model.js'
import { quantile, round } from './stats.js'
import { pickSubjects } from './subjects/index.js'
import { isBusy } from './subjects/types.js'

/** What one process of the contention suite runs. */
export interface ContentionPlan {
  readonly subject: string
  readonly file: string
  readonly tableRows: number
  readonly writers: number
  readonly readers: number
  readonly durationMs: number
  /** busy_timeout for subjects that leave lock waits to SQLite; undefined = library default. */
  readonly busyTimeoutMs: number | undefined
  /** Hand-written transactions start with BEGIN IMMEDIATE (subjects that write them by hand). */
  readonly beginImmediate: boolean
  /** Worker ids start here, so events from several processes stay distinct. */
  readonly workerBase: number
}

/** Raw outcome of one process: counts, latencies (ms) and event-loop delay. */
export interface ContentionOutcome {
  readonly writesOk: number
  readonly writesBusy: number
  readonly readsOk: number
  readonly readsBusy: number
  /** Errors that are neither BUSY nor expected: a failure of the run. */
  readonly otherErrors: readonly string[]
  /** Wrong rows returned by reads: a failure of the run. */
  readonly verificationErrors: readonly string[]
  readonly writeLatencyMs: readonly number[]
  readonly readLatencyMs: readonly number[]
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  readonly elapsedMs: number
}

const ELD_RESOLUTION_MS = 2

/** An `await` inside the transaction: the async work real code does between its statements. */
const work = (): Promise<void> => yieldToLoop()

/**
 * Runs several writers (read-modify-write transactions spanning an `await`) and readers (point
 * selects) against one subject until the deadline, recording what each caller experienced.
 */
export async function runContention(
  plan: ContentionPlan,
  startAt: number = Date.now(),
): Promise<ContentionOutcome> {
  const [subject] = pickSubjects([plan.subject])
  const instance = await subject!.open(plan.file, {
    ...(plan.busyTimeoutMs === undefined ? {} : { busyTimeoutMs: plan.busyTimeoutMs }),
    beginImmediate: plan.beginImmediate,
  })
  const workers = await Promise.all(
    Array.from({ length: plan.writers + plan.readers }, () => instance.worker()),
  )
  const writeLatencyMs: number[] = []
  const readLatencyMs: number[] = []
  const otherErrors: string[] = []
  const verificationErrors: string[] = []
  let writesOk = 0
  let writesBusy = 0
  let readsOk = 0
  let readsBusy = 0

  const wait = startAt - Date.now()
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  const eld = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS })
  eld.enable()
  // Its first tick only sets the baseline: let it tick before the workers start, or a freeze at
  // the very start would go unrecorded.
  await new Promise((resolve) => setTimeout(resolve, ELD_RESOLUTION_MS * 3))
  const started = performance.now()
  const deadline = started + plan.durationMs
  const other = (error: unknown) => {
    if (otherErrors.length < 5) otherErrors.push(String((error as Error)?.message ?? error))
  }

  const writer = async (index: number): Promise<void> => {
    const w = workers[index]!
    while (performance.now() < deadline) {
      const t0 = performance.now()
      try {
        await w.increment(work, plan.workerBase + index)
        writesOk++
      } catch (error) {
        if (isBusy(error)) writesBusy++
        else other(error)
      }
      writeLatencyMs.push(performance.now() - t0)
      await yieldToLoop() // the next request arrives as a new macrotask
    }
  }
  const reader = async (index: number): Promise<void> => {
    const w = workers[plan.writers + index]!
    const random = prng(plan.workerBase * 1000 + index)
    while (performance.now() < deadline) {
      const id = 1 + Math.floor(random() * plan.tableRows)
      const t0 = performance.now()
      try {
        const row: Item | undefined = await w.read(id)
        if (row?.id !== id && verificationErrors.length < 5) {
          verificationErrors.push(`read of id ${id} returned ${JSON.stringify(row?.id)}`)
        }
        readsOk++
      } catch (error) {
        if (isBusy(error)) readsBusy++
        else other(error)
      }
      readLatencyMs.push(performance.now() - t0)
      await yieldToLoop()
    }
  }

  await Promise.all([
    ...Array.from({ length: plan.writers }, (_, i) => writer(i)),
    ...Array.from({ length: plan.readers }, (_, i) => reader(i)),
  ])
  const elapsedMs = performance.now() - started
  // The histogram records a stall only when its timer next fires: give it that turn, or a freeze
  // that lasted until the deadline would go unrecorded.
  await new Promise((resolve) => setTimeout(resolve, ELD_RESOLUTION_MS * 3))
  eld.disable()
  for (const w of workers) await w.close()
  await instance.close()
  // The histogram records whole timer intervals; the delay is what exceeds the resolution.
  const delay = (ns: number) => round(Math.max(0, ns / 1e6 - ELD_RESOLUTION_MS), 3)
  return {
    writesOk,
    writesBusy,
    readsOk,
    readsBusy,
    otherErrors,
    verificationErrors,
    writeLatencyMs,
    readLatencyMs,
    eventLoopDelayMs: {
      p50: delay(eld.percentile(50)),
      p99: delay(eld.percentile(99)),
      max: delay(eld.max),
    },
    elapsedMs,
  }
}

/** p50/p99 of a latency list, rounded, in ms. */
export function latencySummary(values: readonly number[]): { p50: number; p99: number } {
  return { p50: round(quantile(values, 0.5), 3), p99: round(quantile(values, 0.99), 3) }
}
