import { statSync } from 'node:fs'
import type { MaintenanceReason } from '@litepool/pool-core'
import type { SqliteConnection } from './connection.js'
import type { ResolvedSqliteOptions } from './options.js'
import { CHECKPOINT_SQL, type CheckpointMode } from './sql.js'

/**
 * What one WAL checkpoint did (SQLite's `wal_checkpoint` row plus the policy's inputs).
 *
 * @example
 * ```ts
 * await pool.close()
 * // writer.lastCheckpoint: { reason: 'close', mode: 'TRUNCATE', busy: 0, log: 0, checkpointed: 0, … }
 * ```
 */
export interface CheckpointResult {
  readonly reason: MaintenanceReason
  readonly mode: CheckpointMode
  /** Size of the `-wal` file before the checkpoint. */
  readonly walBytesBefore: number
  /** 1 when the checkpoint could not finish (readers or another writer in the way). */
  readonly busy: number
  /** Frames in the WAL. */
  readonly log: number
  /** Frames copied back into the database. */
  readonly checkpointed: number
  /** How long the checkpoint ran (on the event loop), ms. */
  readonly ms: number
  /** Commits since the previous checkpoint. */
  readonly commits: number
}

/** Bounds of the commit count between checkpoint steps. */
const MIN_STEP = 16
const MAX_STEP = 1 << 16

/**
 * The commit count until the next checkpoint step: the count at which the last checkpoint, which
 * took `ms` for `commits` commits, would have taken `targetMs` — moving at most 2× per step, so
 * one odd measurement (a noisy machine, a burst of large commits) cannot swing it far.
 *
 * @example
 * ```ts
 * nextCheckpointStep(256, 256, 40, 10) // 128: a step of 256 commits took 40 ms, aim at 10 ms
 * ```
 */
export function nextCheckpointStep(
  current: number,
  commits: number,
  ms: number,
  targetMs: number,
): number {
  const ideal = ms > 0 && commits > 0 ? (targetMs * commits) / ms : Number.POSITIVE_INFINITY
  const bounded = Math.min(Math.max(ideal, current / 2), current * 2)
  return Math.round(Math.min(Math.max(bounded, MIN_STEP), MAX_STEP))
}

/**
 * The checkpoint policy: `TRUNCATE` when closing or when the WAL is above `truncateAtBytes`,
 * `RESTART` above `restartAtBytes`, `PASSIVE` otherwise; nothing when the WAL is empty.
 * RESTART and TRUNCATE wait for readers only for `busy_timeout`, so when readers do not allow
 * it they report `busy` and act as a PASSIVE checkpoint; the next `maintain` tries again.
 *
 * @example
 * ```ts
 * chooseCheckpointMode('idle', 20 << 20, { restartAtBytes: 16 << 20, truncateAtBytes: 64 << 20, stepMs: 10 }) // 'RESTART'
 * ```
 */
export function chooseCheckpointMode(
  reason: MaintenanceReason,
  walBytes: number,
  thresholds: ResolvedSqliteOptions['checkpoint'],
): CheckpointMode | undefined {
  if (reason === 'close') return 'TRUNCATE'
  if (walBytes === 0) return undefined
  if (thresholds.truncateAtBytes > 0 && walBytes >= thresholds.truncateAtBytes) return 'TRUNCATE'
  if (thresholds.restartAtBytes > 0 && walBytes >= thresholds.restartAtBytes) return 'RESTART'
  return 'PASSIVE'
}

/**
 * Size of the database's `-wal` file in bytes (0 when it does not exist).
 *
 * @example
 * ```ts
 * walSize('/data/app.db') // 4_120_032
 * ```
 */
export function walSize(filename: string): number {
  try {
    return statSync(`${filename}-wal`).size
  } catch {
    return 0
  }
}

/** What the policy decided before a checkpoint runs. */
interface CheckpointPlan {
  readonly mode: CheckpointMode
  readonly walBytesBefore: number
  readonly commits: number
}

/** SQLite's `wal_checkpoint` row. */
interface CheckpointRow {
  readonly busy?: number
  readonly log?: number
  readonly checkpointed?: number
}

/** Decides the checkpoint (or none) and resets the writer's commit count. */
function planCheckpoint(
  connection: SqliteConnection,
  reason: MaintenanceReason,
  options: ResolvedSqliteOptions,
): CheckpointPlan | undefined {
  if (options.memory || options.readonly || connection.role !== 'writer') return undefined
  if (connection.inTransaction) return undefined
  const commits = connection.commitsSinceCheckpoint
  connection.commitsSinceCheckpoint = 0
  const walBytesBefore = walSize(options.filename)
  const mode = chooseCheckpointMode(reason, walBytesBefore, options.checkpoint)
  return mode === undefined ? undefined : { mode, walBytesBefore, commits }
}

/** Records what a checkpoint did on the writer and tunes the next checkpoint step. */
function finishCheckpoint(
  connection: SqliteConnection,
  reason: MaintenanceReason,
  options: ResolvedSqliteOptions,
  plan: CheckpointPlan,
  row: CheckpointRow | undefined,
  ms: number,
): CheckpointResult {
  if (options.checkpoint.stepMs > 0 && reason !== 'close') {
    connection.commitsPerCheckpoint = nextCheckpointStep(
      connection.commitsPerCheckpoint,
      plan.commits,
      ms,
      options.checkpoint.stepMs,
    )
  }
  const result: CheckpointResult = {
    reason,
    mode: plan.mode,
    walBytesBefore: plan.walBytesBefore,
    busy: Number(row?.busy ?? 0),
    log: Number(row?.log ?? 0),
    checkpointed: Number(row?.checkpointed ?? 0),
    ms,
    commits: plan.commits,
  }
  connection.lastCheckpoint = result
  return result
}

/**
 * Runs the checkpoint policy on the writer, on the main thread. Skips in-memory and read-only
 * databases, readers, and a connection inside a transaction.
 *
 * @example
 * ```ts
 * const result = runCheckpoint(writer, 'interval', options)
 * ```
 */
export function runCheckpoint(
  connection: SqliteConnection,
  reason: MaintenanceReason,
  options: ResolvedSqliteOptions,
): CheckpointResult | undefined {
  const plan = planCheckpoint(connection, reason, options)
  if (plan === undefined) return undefined
  const started = performance.now()
  const row = connection.getControl<CheckpointRow>(CHECKPOINT_SQL[plan.mode])
  return finishCheckpoint(connection, reason, options, plan, row, performance.now() - started)
}

/**
 * The checkpoint policy of {@link runCheckpoint}, with the checkpoint itself run by `execute`
 * — in the drivers, on a connection in a worker thread, so the event loop never waits for it.
 * `ms` is the checkpoint's duration where it ran.
 *
 * @example
 * ```ts
 * await runCheckpointWith(writer, 'idle', options, (mode) => worker.checkpoint(mode))
 * ```
 */
export async function runCheckpointWith(
  connection: SqliteConnection,
  reason: MaintenanceReason,
  options: ResolvedSqliteOptions,
  execute: (mode: CheckpointMode) => Promise<CheckpointRow & { readonly ms: number }>,
): Promise<CheckpointResult | undefined> {
  const plan = planCheckpoint(connection, reason, options)
  if (plan === undefined) return undefined
  const row = await execute(plan.mode)
  return finishCheckpoint(connection, reason, options, plan, row, row.ms)
}

/**
 * Whether the writer has committed enough since its last checkpoint for the next checkpoint step
 * (the driver's `maintenanceDue`; asked after every commit, so it only compares two numbers).
 *
 * @example
 * ```ts
 * checkpointDue(writer, options) // true after writer.commitsPerCheckpoint commits
 * ```
 */
export function checkpointDue(
  connection: SqliteConnection,
  options: ResolvedSqliteOptions,
): boolean {
  return (
    options.checkpoint.stepMs > 0 &&
    connection.commitsSinceCheckpoint >= connection.commitsPerCheckpoint
  )
}
