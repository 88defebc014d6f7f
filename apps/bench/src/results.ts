import type { KyselyRow } from './kysely.bench.js'
import type { SubjectInfo } from './subjects/index.js'
import type { ThreadsResult } from './threads.bench.js'
import type { WorkloadId } from './workloads.js'

/** One cell of the throughput suite. */
export interface ThroughputRow {
  readonly workload: WorkloadId
  readonly callers: number
  readonly subject: string
  /** Median over rounds of ops/s. */
  readonly opsPerSec: number
  /** ops/s of every round, in run order. */
  readonly rounds: readonly number[]
  readonly rme: number
  readonly samples: number
  readonly batch: number
  /** Mean latency of one operation as its caller saw it, µs. */
  readonly latencyUs: number
}

/** One subject's run of the contention suite. */
export interface ContentionRow {
  readonly subject: string
  readonly scope: 'in-process' | 'cross-process'
  /** How the subject's write transaction starts, when the bench chose it (hand-written ones). */
  readonly begin: string
  readonly processes: number
  readonly writers: number
  readonly readers: number
  readonly durationMs: number
  readonly busyTimeoutMs: number | 'default'
  readonly writes: {
    readonly ok: number
    readonly busy: number
    readonly p50Ms: number
    readonly p99Ms: number
  }
  readonly reads: {
    readonly ok: number
    readonly busy: number
    readonly p50Ms: number
    readonly p99Ms: number
  }
  /** Committed write transactions per second. */
  readonly writesPerSec: number
  readonly readsPerSec: number
  /** Worst process's event-loop delay (beyond the timer resolution), ms. */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number }
  /** The counter ended at the number of committed increments (no lost update), events likewise. */
  readonly verified: boolean
}

/** One point of the growth suite. */
export interface GrowthRow {
  readonly dimension: 'table-rows' | 'pool-size' | 'callers'
  readonly value: number
  readonly workload: WorkloadId
  readonly callers: number
  readonly subject: string
  readonly opsPerSec: number
}

/** Something that went wrong: the run exits non-zero when there is any. */
export interface Failure {
  readonly suite: string
  readonly subject: string
  readonly where: string
  readonly message: string
}

/**
 * A cell where a peer failed with SQLITE_BUSY: how that subject behaves under concurrency, not a
 * fault of the bench, so it is reported (in place of a figure) without failing the run. litepool
 * promises no BUSY under in-process contention, so a BUSY from litepool is a {@link Failure}.
 */
export type BusyCell = Failure

/** Where and on what the run happened. */
export interface Environment {
  readonly node: string
  readonly v8: string
  readonly platform: string
  readonly cpu: string
  readonly cores: number
  readonly memoryGiB: number
  readonly loadAverage: readonly number[]
  readonly sqlite: Readonly<Record<string, string>>
  readonly packages: Readonly<Record<string, string>>
  readonly git: string
}

/** The whole JSON file. */
export interface BenchResult {
  readonly schema: 1
  readonly mode: 'quick' | 'full'
  readonly startedAt: string
  readonly durationMs: number
  readonly environment: Environment
  readonly settings: unknown
  readonly baseline: string
  readonly subjects: readonly SubjectInfo[]
  readonly workloads: readonly {
    readonly id: WorkloadId
    readonly label: string
    readonly description: string
  }[]
  readonly throughput: readonly ThroughputRow[]
  readonly contention: readonly ContentionRow[]
  readonly growth: readonly GrowthRow[]
  /** Issue 7's Kysely suite (absent from results written before it existed). */
  readonly kysely?: readonly KyselyRow[]
  /** The threads suite: worker-thread readers (absent from results written before it existed). */
  readonly threads?: ThreadsResult
  readonly busy: readonly BusyCell[]
  readonly failures: readonly Failure[]
  readonly notes: readonly string[]
}
