/**
 * Helpers of the threads suite (`threads.bench.ts`): the operation schedule, the caller runner,
 * event-loop delay, the WAL/worker sampler and the round summaries. Kept apart from the suite so
 * the arithmetic can be tested without a database.
 */
import { statSync } from 'node:fs'
import { type IntervalHistogram, monitorEventLoopDelay } from 'node:perf_hooks'
import { setImmediate as yieldToLoop } from 'node:timers/promises'
import { median, quantile, round } from './stats.js'
import type { MixRow, ThreadsTarget } from './threads.bench.js'

/** One slow read in this many operations of the slow-read cell (2 %). */
export const SLOW_EVERY = 50
/** One write in this many operations of the read/write cell (10 %). */
export const WRITE_EVERY = 10

/** What one operation of a caller-driven cell is. */
export type Kind = 'point' | 'slow' | 'write'

/** Operation `i` of the slow-read cell: the last of every {@link SLOW_EVERY} is a slow read. */
export function slowMixKind(i: number): Kind {
  return i % SLOW_EVERY === SLOW_EVERY - 1 ? 'slow' : 'point'
}

/** Operation `i` of the 90/10 cell: the last of every {@link WRITE_EVERY} is a write. */
export function writeMixKind(i: number): Kind {
  return i % WRITE_EVERY === WRITE_EVERY - 1 ? 'write' : 'point'
}

/** A group of callers pulling operation numbers from one counter. */
export interface CallerGroup {
  readonly callers: number
  readonly kindOf: (i: number) => Kind
}

/** Runs operation `i` of kind `kind` and verifies its result (throws when it is wrong). */
export type RunOp = (kind: Kind, i: number) => Promise<void>

/** What a window of callers did: per-kind counts and latencies (ms) and the elapsed time. */
export interface WindowOutcome {
  readonly counts: Record<Kind, number>
  readonly latencyMs: Record<Kind, number[]>
  readonly elapsedMs: number
}

/**
 * Runs every group's callers until `durationMs` has passed: each caller runs one operation,
 * records its latency, then yields to the event loop (`setImmediate`: the next request arrives
 * as a new macrotask, as in a server). Callers stop taking operations at the deadline; the
 * window ends when the last operation in flight has settled. A failure stops every caller and
 * rejects once they have all settled.
 */
export async function runWindow(
  groups: readonly CallerGroup[],
  durationMs: number,
  run: RunOp,
): Promise<WindowOutcome> {
  const counts: Record<Kind, number> = { point: 0, slow: 0, write: 0 }
  const latencyMs: Record<Kind, number[]> = { point: [], slow: [], write: [] }
  const started = performance.now()
  const deadline = started + durationMs
  let failed = false
  let failure: unknown
  const callers: Promise<void>[] = []
  for (const group of groups) {
    let next = 0
    const caller = async (): Promise<void> => {
      while (!failed && performance.now() < deadline) {
        const i = next++
        const kind = group.kindOf(i)
        const t0 = performance.now()
        try {
          await run(kind, i)
        } catch (error) {
          if (!failed) failure = error
          failed = true
          return
        }
        latencyMs[kind].push(performance.now() - t0)
        counts[kind]++
        await yieldToLoop()
      }
    }
    for (let c = 0; c < group.callers; c++) callers.push(caller())
  }
  await Promise.all(callers)
  if (failed) throw failure
  return { counts, latencyMs, elapsedMs: performance.now() - started }
}

/** Timer resolution of the event-loop delay histogram, ms. */
export const ELD_RESOLUTION_MS = 1

/** Event-loop delay beyond the timer resolution, ms. */
export interface Delay {
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/**
 * The delay a histogram of timer intervals (ns) shows: what exceeds the timer's resolution
 * (`monitorEventLoopDelay` records whole intervals), in ms, never below 0.
 */
export function delayOf(
  h: Pick<IntervalHistogram, 'percentile' | 'max' | 'count'>,
  resolutionMs: number = ELD_RESOLUTION_MS,
): Delay {
  if (h.count === 0) return { p50: Number.NaN, p99: Number.NaN, max: Number.NaN }
  const ms = (ns: number) => round(Math.max(0, ns / 1e6 - resolutionMs), 3)
  return { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) }
}

/** `monitorEventLoopDelay({ resolution: 1 })` around a measured window. */
export class LoopDelay {
  readonly #histogram = monitorEventLoopDelay({ resolution: ELD_RESOLUTION_MS })

  /** Enables the histogram and lets its timer tick first (its first tick only sets a baseline). */
  async start(): Promise<void> {
    this.#histogram.enable()
    await new Promise((resolve) => setTimeout(resolve, ELD_RESOLUTION_MS * 3))
  }

  /** Gives the timer one more turn (a stall up to the end is recorded only then) and stops. */
  async stop(): Promise<Delay> {
    await new Promise((resolve) => setTimeout(resolve, ELD_RESOLUTION_MS * 3))
    this.#histogram.disable()
    return delayOf(this.#histogram)
  }
}

/** Size of `file`-wal in bytes; undefined when there is none. */
export function walBytes(file: string): number | undefined {
  try {
    return statSync(`${file}-wal`).size
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw error
  }
}

/** What a {@link Sampler} watches: the database file, and (litepool) its pool's worker lane. */
export interface Watched {
  readonly file: string | undefined
  /** `pool.status().workers.open`; undefined when the subject has no worker readers. */
  workersOpen(): number | undefined
  /** `pool.slowStatements`; undefined when the subject has no router. */
  slowStatements(): readonly string[] | undefined
}

/** What a {@link Sampler} saw. */
export interface Sampled {
  /** The largest -wal file seen, bytes (0 when there was none). */
  readonly walMaxBytes: number
  /** Most worker readers open at once; undefined when the subject has none. */
  readonly workersMax: number | undefined
  /** Every statement seen routed to workers, with the number of samples that saw it there. */
  readonly routed: Readonly<Record<string, number>>
  /** Samples taken. */
  readonly samples: number
}

/**
 * Samples the -wal size, the open worker readers and the statements routed to workers every
 * `everyMs` while a window runs.
 */
export class Sampler {
  #walMax = 0
  #workersMax: number | undefined
  readonly #routed = new Map<string, number>()
  #samples = 0
  #timer: NodeJS.Timeout | undefined
  readonly #watched: Watched

  constructor(watched: Watched, everyMs: number = 50) {
    this.#watched = watched
    this.sample()
    this.#timer = setInterval(() => this.sample(), everyMs)
  }

  /** Takes one sample now. */
  sample(): void {
    const { file } = this.#watched
    if (file !== undefined) this.#walMax = Math.max(this.#walMax, walBytes(file) ?? 0)
    const open = this.#watched.workersOpen()
    if (open !== undefined) this.#workersMax = Math.max(this.#workersMax ?? 0, open)
    this.#samples++
    for (const sql of this.#watched.slowStatements() ?? []) {
      this.#routed.set(sql, (this.#routed.get(sql) ?? 0) + 1)
    }
  }

  /** Stops, after a last sample. */
  stop(): Sampled {
    clearInterval(this.#timer)
    this.#timer = undefined
    this.sample()
    return {
      walMaxBytes: this.#walMax,
      workersMax: this.#workersMax,
      routed: Object.fromEntries(this.#routed),
      samples: this.#samples,
    }
  }
}

/** p50 and p99 (nearest rank) of a latency list, ms; NaN for an empty list. */
export function percentiles(values: readonly number[]): { p50: number; p99: number } {
  return { p50: round(quantile(values, 0.5), 3), p99: round(quantile(values, 0.99), 3) }
}

/**
 * `a` ÷ `b` where both ran the same rounds side by side: the median of the per-round ratios
 * (drift of the machine between rounds cancels out), else the ratio of the medians. `lower`:
 * the figures are costs (latency, µs/op), so the ratio is `b ÷ a` — above 1 means `a` is better.
 */
export function pairedRatio(
  a: readonly number[],
  b: readonly number[],
  lower: boolean = false,
): number | undefined {
  if (a.length === 0 || b.length === 0) return undefined
  const div = (x: number, y: number) => (lower ? y / x : x / y)
  if (a.length > 1 && a.length === b.length && a.every((v, i) => v > 0 && b[i]! > 0)) {
    return round(median(a.map((v, i) => div(v, b[i]!))))
  }
  const r = div(median(a), median(b))
  return Number.isFinite(r) ? round(r) : undefined
}

/**
 * Rows to scan so the slow read takes about `targetMs`: a full scan of `rows` measured
 * `fullScanMs`, and the cost is linear in the rows scanned (an id range of a full-table filter).
 * Never fewer than a tenth of the table, never more than all of it.
 */
export function scanBound(fullScanMs: number, targetMs: number, rows: number): number {
  if (!(fullScanMs > 0)) return rows
  const bound = Math.round((rows * targetMs) / fullScanMs)
  return Math.min(rows, Math.max(Math.ceil(rows / 10), bound))
}

/** The litepool subjects the issue's targets are held to. */
const TARGET_SUBJECTS: readonly string[] = ['litepool-better-sqlite3', 'litepool-node-sqlite']

/**
 * The issue's targets for litepool, from a run's rows: point-read p99 ≤ 3 ms and throughput
 * ≥ 2× the best peer beside slow reads; event-loop delay max < 5 ms under the 90/10 mix and
 * < 10 ms under sustained writes; no -wal file left after close (0 bytes or absent).
 */
export function threadsTargets(rows: readonly MixRow[]): ThreadsTarget[] {
  const out: ThreadsTarget[] = []
  const judge = (value: number | undefined, ok: (v: number) => boolean) =>
    value === undefined || Number.isNaN(value) ? undefined : ok(value)
  for (const subject of TARGET_SUBJECTS) {
    const find = (cell: MixRow['cell']) =>
      rows.find((r) => r.cell === cell && r.subject === subject)
    const slow = find('slow-reads')
    if (slow !== undefined) {
      out.push({
        label: 'slow reads beside point reads: point-read p99',
        subject,
        value: slow.pointMs.p99,
        unit: 'ms',
        target: '≤ 3 ms',
        met: judge(slow.pointMs.p99, (v) => v <= 3),
      })
      out.push({
        label: `slow reads beside point reads: throughput vs the best peer${slow.bestPeer ? ` (${slow.bestPeer})` : ''}`,
        subject,
        value: slow.ratios.opsVsBestPeer,
        unit: '×',
        target: '≥ 2×',
        met: judge(slow.ratios.opsVsBestPeer, (v) => v >= 2),
      })
    }
    const mixed = find('read-write')
    if (mixed !== undefined) {
      out.push({
        label: '90/10 read/write: event-loop delay max',
        subject,
        value: mixed.eventLoopDelayMs.max,
        unit: 'ms',
        target: '< 5 ms',
        met: judge(mixed.eventLoopDelayMs.max, (v) => v < 5),
      })
    }
    const sustained = find('sustained-writes')
    if (sustained !== undefined) {
      out.push({
        label: 'sustained writes + 8 readers: event-loop delay max',
        subject,
        value: sustained.eventLoopDelayMs.max,
        unit: 'ms',
        target: '< 10 ms',
        met: judge(sustained.eventLoopDelayMs.max, (v) => v < 10),
      })
      const after = sustained.walAfterCloseBytes
      out.push({
        label: 'sustained writes: -wal file after pool.close()',
        subject,
        value: after === null ? 0 : after,
        ...(after === null ? { display: 'absent' } : {}),
        unit: 'bytes',
        target: '0 or absent',
        met: after === undefined ? undefined : after === null || after === 0,
      })
    }
  }
  return out
}
