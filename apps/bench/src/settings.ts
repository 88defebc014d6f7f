import type { Timing } from './measure.js'

/** Everything that differs between `--quick` and the full run. */
export interface Settings {
  readonly mode: 'quick' | 'full'
  /** Rows in the table of the throughput and contention suites. */
  readonly tableRows: number
  readonly callers: readonly number[]
  readonly timing: Timing
  /** Rounds per cell (subjects interleaved in a rotating order); the median round is reported. */
  readonly rounds: number
  /**
   * Contention suite: busy_timeout for subjects that leave lock waits to SQLite (the raw drivers
   * and the peers); undefined = their own default (better-sqlite3: 5000 ms). Shortened in --quick
   * only, so a peer that stalls in SQLite's busy handler costs milliseconds there, not seconds.
   */
  readonly peerBusyTimeoutMs: number | undefined
  readonly contention: {
    readonly writers: number
    readonly readers: number
    readonly durationMs: number
    readonly processes: number
  }
  readonly growth: {
    readonly tableRows: readonly number[]
    readonly poolSizes: readonly number[]
    readonly callers: readonly number[]
    readonly timing: Timing
  }
  /** The threads suite (worker-thread readers): windows of the caller-driven cells, loop sizes. */
  readonly threads: ThreadsSettings
}

/** Settings of the threads suite (`src/threads.bench.ts`). */
export interface ThreadsSettings {
  /** Rounds of every cell (subjects in a rotating order; the median round is reported). */
  readonly rounds: number
  /** Measured window of one round of the slow-read and read/write cells, ms. */
  readonly windowMs: number
  /** Unmeasured run of the workload before each round, ms. */
  readonly warmupMs: number
  /** Unmeasured run right after a subject opens (worker threads start here), ms. */
  readonly openWarmupMs: number
  /** One round of the sustained-writes cell, ms (a fresh file per round). */
  readonly sustainedMs: number
  /** Rounds of the sustained-writes cell. */
  readonly sustainedRounds: number
  /** tinybench timing of the worker round-trip cell. */
  readonly timing: Timing
  /** Operations per round of the one-caller loop cell, and its rounds. */
  readonly loopOps: number
  readonly loopRounds: number
}

export const QUICK: Settings = {
  mode: 'quick',
  tableRows: 100_000,
  callers: [1, 32],
  timing: { timeMs: 60, warmupMs: 15 },
  rounds: 1,
  peerBusyTimeoutMs: 200,
  contention: { writers: 4, readers: 8, durationMs: 600, processes: 2 },
  growth: {
    tableRows: [10_000, 100_000],
    poolSizes: [1, 4],
    callers: [1, 256],
    timing: { timeMs: 60, warmupMs: 15 },
  },
  threads: {
    rounds: 1,
    windowMs: 300,
    warmupMs: 50,
    openWarmupMs: 500,
    sustainedMs: 800,
    sustainedRounds: 1,
    timing: { timeMs: 60, warmupMs: 15 },
    loopOps: 20_000,
    loopRounds: 3,
  },
}

export const FULL: Settings = {
  mode: 'full',
  tableRows: 100_000,
  callers: [1, 8, 32, 128],
  timing: { timeMs: 160, warmupMs: 40 },
  rounds: 5,
  peerBusyTimeoutMs: undefined,
  contention: { writers: 4, readers: 8, durationMs: 4000, processes: 3 },
  growth: {
    tableRows: [10_000, 100_000, 1_000_000],
    poolSizes: [1, 2, 4, 8],
    callers: [1, 4, 16, 64, 256, 1024],
    timing: { timeMs: 300, warmupMs: 100 },
  },
  threads: {
    rounds: 5,
    windowMs: 2_000,
    warmupMs: 250,
    openWarmupMs: 1_500,
    sustainedMs: 4_000,
    sustainedRounds: 3,
    timing: { timeMs: 160, warmupMs: 40 },
    loopOps: 100_000,
    loopRounds: 7,
  },
}

/**
 * busy_timeout of the peers in the throughput suite. Only a peer whose connections contend (sqlite-pool's
 * async `tx`, under concurrent batch inserts) ever waits on it, and fails with BUSY either way; a
 * short wait keeps each such failure from freezing the run for seconds. The contention suite
 * measures those freezes with the libraries' defaults.
 */
export const THROUGHPUT_PEER_BUSY_TIMEOUT_MS = 100

/** How the peers' busy_timeout is set, for their stated configuration. */
export const PEER_BUSY_TIMEOUT: string = `5000 ms (better-sqlite3 default) in the contention (--quick: ${QUICK.peerBusyTimeoutMs} ms) and growth suites; ${THROUGHPUT_PEER_BUSY_TIMEOUT_MS} ms in throughput cells`
