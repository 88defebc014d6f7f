import { Bench } from 'tinybench'
import type { Op } from './workloads.js'

/** How long tinybench runs each task. */
export interface Timing {
  /** Measured time per task, ms. */
  readonly timeMs: number
  /** Warm-up time per task, ms. */
  readonly warmupMs: number
}

/** One measured cell: a subject, a workload, a caller count. */
export interface Measured {
  /** Operations per second: ops per sample ÷ mean sample time. */
  readonly opsPerSec: number
  /** tinybench's relative margin of error of the sample time, %. */
  readonly rme: number
  /** Timed samples (each runs `batch` operations). */
  readonly samples: number
  /** Operations per sample. */
  readonly batch: number
  /** Mean time of one operation as a caller sees it, µs (sample time × callers ÷ batch). */
  readonly latencyUs: number
}

/**
 * Runs `batch` operations with `callers` concurrent async callers pulling from one counter. After
 * a failure the callers stop taking new operations, and the call rejects only once every operation
 * in flight has settled: a failing subject's leftovers must not run into the next subject's cell.
 */
export async function runConcurrent(
  op: Op,
  batch: number,
  callers: number,
  next: () => number,
): Promise<void> {
  const { call, check } = op
  let left = batch
  let failed = false
  let failure: unknown
  const caller = async (): Promise<void> => {
    while (left > 0) {
      left--
      try {
        const i = next()
        check(i, await call(i))
      } catch (error) {
        left = 0
        if (!failed) {
          failed = true
          failure = error
        }
      }
    }
  }
  const all: Promise<void>[] = []
  for (let c = 0; c < Math.min(callers, batch); c++) all.push(caller())
  await Promise.all(all)
  if (failed) throw failure
}

/**
 * The function tinybench times: one sample of `batch` operations. One caller runs a plain loop —
 * without any promise on a sync subject (the raw baseline), awaiting each call on an async one.
 */
export function sampleFn(
  op: Op,
  batch: number,
  callers: number,
): { fn: () => unknown; async: boolean } {
  let cursor = 0
  const next = (): number => cursor++
  const { call, check } = op
  if (callers === 1 && op.sync) {
    return {
      fn: () => {
        for (let k = 0; k < batch; k++) {
          const i = cursor++
          check(i, call(i))
        }
      },
      async: false,
    }
  }
  if (callers === 1) {
    return {
      fn: async () => {
        for (let k = 0; k < batch; k++) {
          const i = cursor++
          check(i, await call(i))
        }
      },
      async: true,
    }
  }
  return { fn: () => runConcurrent(op, batch, callers, next), async: true }
}

/** Measures one cell with tinybench; a failing operation rejects (with the subject's error). */
export async function measure(
  name: string,
  op: Op,
  batch: number,
  callers: number,
  timing: Timing,
): Promise<Measured> {
  // Let the event loop turn first: a synchronous subject's loop runs on microtasks only, so work
  // the previous subject deferred to the next turn (timers, setImmediate — litepool's context
  // store switch-off among them) would otherwise land in this subject's timed samples.
  await new Promise((resolve) => setImmediate(resolve))
  const size = Math.max(batch, callers)
  const bench = new Bench({
    time: timing.timeMs,
    warmupTime: timing.warmupMs,
    warmupIterations: 2,
    iterations: 3,
    throws: true,
  })
  const { fn, async } = sampleFn(op, size, callers)
  bench.add(name, fn, { async })
  await bench.run()
  const result = bench.tasks[0]?.result
  if (result === undefined || result.state !== 'completed') {
    throw new RangeError(`${name}: tinybench finished in state ${result?.state ?? 'missing'}`)
  }
  const meanMs = result.latency.mean
  return {
    opsPerSec: (size * 1000) / meanMs,
    rme: result.latency.rme,
    samples: result.latency.samplesCount,
    batch: size,
    latencyUs: (meanMs * 1000 * Math.min(callers, size)) / size,
  }
}
