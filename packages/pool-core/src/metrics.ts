import type { LaneStatus } from './status.js'

/**
 * Pool metrics named after the OpenTelemetry database-client semantic conventions
 * (`db.client.connection.*`). Durations are recorded in seconds, as the conventions ask.
 * An exporter (Prometheus, OpenTelemetry) lives outside the core and reads `pool.metrics()`.
 */
export interface PoolMetrics {
  /** `db.client.connection.pool.name` */
  readonly poolName: string
  /** `db.client.connection.count`, by `db.client.connection.state`. */
  readonly 'db.client.connection.count': { readonly idle: number; readonly used: number }
  /** `db.client.connection.max` */
  readonly 'db.client.connection.max': number
  /** `db.client.connection.idle.min` */
  readonly 'db.client.connection.idle.min': number
  /** `db.client.connection.pending_requests` */
  readonly 'db.client.connection.pending_requests': number
  /** `db.client.connection.timeouts` (counter) */
  readonly 'db.client.connection.timeouts': number
  /** `db.client.connection.create_time` (histogram, s) */
  readonly 'db.client.connection.create_time': HistogramSnapshot
  /** `db.client.connection.wait_time` (histogram, s) */
  readonly 'db.client.connection.wait_time': HistogramSnapshot
  /** `db.client.connection.use_time` (histogram, s) */
  readonly 'db.client.connection.use_time': HistogramSnapshot
}

/** A histogram: `counts[i]` observations were ≤ `boundaries[i]`; the last count is the overflow. */
export interface HistogramSnapshot {
  readonly count: number
  readonly sum: number
  readonly boundaries: readonly number[]
  readonly counts: readonly number[]
}

/** OpenTelemetry's advisory buckets for connection durations, in seconds. */
const BOUNDARIES = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10] as const

/** A fixed-bucket histogram; `record` is a few comparisons and no allocation. */
export class Histogram {
  #count = 0
  #sum = 0
  readonly #counts: number[] = new Array(BOUNDARIES.length + 1).fill(0)

  /** Records a duration given in milliseconds. */
  recordMs(ms: number): void {
    const s = ms / 1000
    this.#count++
    this.#sum += s
    let i = 0
    while (i < BOUNDARIES.length && s > (BOUNDARIES[i] as number)) i++
    this.#counts[i] = (this.#counts[i] as number) + 1
  }

  snapshot(): HistogramSnapshot {
    return { count: this.#count, sum: this.#sum, boundaries: BOUNDARIES, counts: [...this.#counts] }
  }
}

/** The mutable counters a pool keeps; `pool.metrics()` turns them into a {@link PoolMetrics}. */
export class MetricsRecorder {
  /** Switched on by the first `pool.metrics()`: the duration histograms are recorded from then. */
  timing = false
  timeouts = 0
  readonly createTime: Histogram = new Histogram()
  readonly waitTime: Histogram = new Histogram()
  readonly useTime: Histogram = new Histogram()
}

/** Builds `pool.metrics()` from the recorder and the lanes' status. */
export function poolMetrics(
  poolName: string,
  recorder: MetricsRecorder,
  writer: LaneStatus,
  readers: LaneStatus | undefined,
  workers?: LaneStatus,
): PoolMetrics {
  return {
    poolName,
    'db.client.connection.count': {
      idle: writer.idle + (readers?.idle ?? 0) + (workers?.idle ?? 0),
      used: writer.inUse + (readers?.inUse ?? 0) + (workers?.inUse ?? 0),
    },
    'db.client.connection.max': 1 + (readers?.max ?? 0) + (workers?.max ?? 0),
    'db.client.connection.idle.min': 1 + (readers?.min ?? 0) + (workers?.min ?? 0),
    'db.client.connection.pending_requests':
      writer.waiting + (readers?.waiting ?? 0) + (workers?.waiting ?? 0),
    'db.client.connection.timeouts': recorder.timeouts,
    'db.client.connection.create_time': recorder.createTime.snapshot(),
    'db.client.connection.wait_time': recorder.waitTime.snapshot(),
    'db.client.connection.use_time': recorder.useTime.snapshot(),
  }
}
