/**
 * The threads suite (issue "off the main thread"): litepool's worker-thread readers.
 *
 * 1. `slow-reads`: 32 async callers, 98 % point selects by random id and 2 % slow reads (an
 *    aggregate no index serves, calibrated to ~15 ms), litepool with its defaults (`pool.get`,
 *    routed by measured cost) beside every peer that can run it: point/slow latency, throughput,
 *    event-loop delay.
 * 2. `read-write`: 32 callers, 90 % point selects and 10 % single-row updates: event-loop delay.
 * 3. `sustained-writes`: one writer loop of single-row inserts and 8 point-select readers on a
 *    fresh file per round: event-loop delay, the largest -wal file seen, the -wal after close.
 * 4. `round-trip`: `pool.get('select ? as x', [i], { thread })` on a worker vs the main thread,
 *    1 and 32 callers (tinybench), and the first worker call of a fresh pool (thread start-up).
 * 5. `loop`: one caller, sequential ids, `stmt.get(i)` vs `await stmt.get(i)` vs
 *    `await pool.read(c => c.get(…))` vs `await pool.get(…)`.
 *
 * Every caller-driven operation is verified (ids, the slow read's count and sum), every file is
 * re-read after its subject closed (rows, the sum of scores the updates raised), rounds rotate
 * the subjects' order and each figure is the median round.
 */
import Database from 'better-sqlite3'
import { fileError, STEP_TIMEOUT_MS, type SuiteContext, withTimeout } from './context.js'
import { measure } from './measure.js'
import { type Item, SQL } from './model.js'
import { median, round } from './stats.js'
import { BetterSqlite3Connection } from './subjects/better-sqlite3-connection.js'
import type { SubjectInfo } from './subjects/index.js'
import {
  type CallerGroup,
  type Delay,
  type Kind,
  LoopDelay,
  pairedRatio,
  percentiles,
  type RunOp,
  runWindow,
  Sampler,
  SLOW_EVERY,
  scanBound,
  slowMixKind,
  threadsTargets,
  type WindowOutcome,
  WRITE_EVERY,
  walBytes,
  writeMixKind,
} from './threads.js'
import {
  LITEPOOL_DRIVERS,
  type LitepoolPool,
  MIX_SUBJECTS,
  type MixInstance,
  type MixSubject,
  openLitepool,
  SLOW_PATTERN,
  SLOW_SQL,
  type SlowRow,
  UPDATE_SQL,
} from './threads-subjects.js'
import { Keys, VerificationError } from './workloads.js'

const LP = 'litepool-better-sqlite3'
const LPN = 'litepool-node-sqlite'
const RAW = 'raw-better-sqlite3'
/** Subjects built on litepool: never "peers" when the best peer is picked. */
const LITEPOOL_BASED: ReadonlySet<string> = new Set([LP, LPN, 'kysely-litepool'])
/** The read/write and sustained-writes cells: litepool on both drivers and the raw baseline. */
const WRITE_CELL_SUBJECTS: readonly string[] = [LP, LPN, RAW]
const LITEPOOL_SUBJECTS: readonly string[] = [LP, LPN]
/** What one slow read should take on this machine, ms (the issue asks for ~10–25 ms). */
const SLOW_TARGET_MS = 15
const CALLERS = 32
const SUSTAINED_READERS = 8
const ROUND_TRIP_CALLERS: readonly number[] = [1, 32]
const ROUND_TRIP_SQL = 'select ? as x'
const KEY_MASK = (1 << 16) - 1

/** A cell driven by async callers (1–3). */
export type MixCell = 'slow-reads' | 'read-write' | 'sustained-writes'

/** One subject in one caller-driven cell: medians over its rounds unless said otherwise. */
export interface MixRow {
  readonly cell: MixCell
  readonly subject: string
  /** Who calls: `32 callers`, `1 writer + 8 readers`. */
  readonly callers: string
  readonly rounds: number
  readonly windowMs: number
  /** Operations completed per second, all kinds (median round). */
  readonly opsPerSec: number
  readonly roundsOpsPerSec: readonly number[]
  /** Completed operations per second by kind (median round). */
  readonly perSec: Readonly<Record<Kind, number>>
  /** Operations counted in the measured windows, over all rounds. */
  readonly ops: Readonly<Record<Kind, number>>
  /** Point-select latency as the caller saw it, ms. */
  readonly pointMs: { readonly p50: number; readonly p99: number }
  readonly roundsPointP99Ms: readonly number[]
  /** Slow-read latency (queueing included), ms. */
  readonly slowP50Ms: number | undefined
  readonly writeMs: { readonly p50: number; readonly p99: number } | undefined
  /** Event-loop delay beyond the 1 ms timer resolution (median round of each figure), ms. */
  readonly eventLoopDelayMs: Delay
  readonly roundsEldMaxMs: readonly number[]
  /** The largest -wal file sampled (every 50 ms) in any round, bytes. */
  readonly walMaxBytes: number | undefined
  /** The -wal file after the subject closed (largest over rounds); null: absent. */
  readonly walAfterCloseBytes: number | null | undefined
  /** Most worker readers open at once (`pool.status().workers.open`); null: not litepool. */
  readonly workersOpen: number | null
  /** Statements litepool routed to workers when the cell ended (`pool.slowStatements`). */
  readonly slowStatements: readonly string[] | undefined
  /**
   * Every statement seen routed to workers during the measured windows (sampled every 50 ms),
   * with the share of samples that saw it there (0..1).
   */
  readonly routedDuringCell: Readonly<Record<string, number>> | undefined
  /** Statements seen routed to workers during the unmeasured warm-ups (cells 1 and 2). */
  readonly routedInWarmups: readonly string[] | undefined
  /** Ratios within this cell (paired rounds). */
  readonly ratios: {
    /** ops/s ÷ raw better-sqlite3's. */
    readonly opsVsRaw: number | undefined
    /** ops/s ÷ the best peer's (litepool-based subjects). */
    readonly opsVsBestPeer: number | undefined
    /** Point p99 ÷ raw better-sqlite3's (lower is better). */
    readonly pointP99VsRaw: number | undefined
    /** Event-loop delay max ÷ raw better-sqlite3's (lower is better). */
    readonly eldMaxVsRaw: number | undefined
  }
  readonly bestPeer: string | undefined
  readonly verified: boolean
}

/** The event loop with nothing to do, measured in the rotation of a cell: the machine's floor. */
export interface IdleRow {
  readonly cell: MixCell
  readonly rounds: number
  readonly windowMs: number
  /** Median round of each figure, ms. */
  readonly eventLoopDelayMs: Delay
  readonly roundsEldMaxMs: readonly number[]
}

/** The first worker call of a fresh pool: the worker thread's start-up. */
export interface StartupRow {
  readonly subject: string
  readonly rounds: number
  /** `await pool.get('select ? as x', [0], { thread: 'worker' })` right after `ready()`, ms. */
  readonly firstCallMs: number
  readonly roundsFirstCallMs: readonly number[]
  /** The call after it (the thread is up), ms. */
  readonly secondCallMs: number
  /** Event-loop delay max during the first call (median round), ms. */
  readonly eldMaxMs: number
  readonly workersOpen: number
}

/** One variant of the worker round-trip cell. */
export interface RoundTripRow {
  readonly subject: string
  readonly thread: 'main' | 'worker'
  readonly callers: number
  /** Mean time of one call as its caller sees it, µs (median round). */
  readonly usPerOp: number
  readonly opsPerSec: number
  readonly rounds: readonly number[]
  /** ops/s ÷ the same call with `{ thread: 'main' }` (paired rounds). */
  readonly vsMain: number | undefined
  readonly workersOpen: number
}

/** One method of the one-caller loop cell. */
export interface LoopRow {
  readonly method: string
  readonly label: string
  readonly subject: string
  readonly ops: number
  /** µs per operation (median round). */
  readonly usPerOp: number
  readonly opsPerSec: number
  readonly rounds: readonly number[]
  /** ops/s ÷ raw `stmt.get(i)` (paired rounds). */
  readonly vsRaw: number | undefined
  readonly workersOpen: number | null
}

/** A figure the issue sets a target for. */
export interface ThreadsTarget {
  readonly label: string
  readonly subject: string
  readonly value: number | undefined
  readonly unit: 'ms' | '×' | 'bytes'
  /** `≤ 3 ms`, `≥ 2×`, `< 5 ms`, `0 or absent`. */
  readonly target: string
  /** Shown instead of the value when set (`absent` for a -wal file that is not there). */
  readonly display?: string
  readonly met: boolean | undefined
}

/** Everything the threads suite reports. */
export interface ThreadsResult {
  readonly calibration: {
    readonly slowSql: string
    readonly slowParams: readonly [number, string]
    readonly pointSql: string
    readonly updateSql: string
    readonly tableRows: number
    /** One full-table run of the slow aggregate, ms (median of 5, raw better-sqlite3). */
    readonly fullScanMs: number
    readonly targetMs: number
    /** The id bound chosen so one run takes ~targetMs. */
    readonly bound: number
    /** One run with that bound, ms (median of 7, raw better-sqlite3, alone on the main thread). */
    readonly slowReadMs: number
    readonly expected: SlowRow
    readonly slowShare: string
    readonly writeShare: string
  }
  readonly subjects: readonly SubjectInfo[]
  readonly mix: readonly MixRow[]
  /** Event-loop delay of an idle loop in each cell's rotation (the machine's noise floor). */
  readonly idle: readonly IdleRow[]
  readonly startup: readonly StartupRow[]
  readonly roundTrip: readonly RoundTripRow[]
  readonly loop: readonly LoopRow[]
  readonly targets: readonly ThreadsTarget[]
  readonly notes: readonly string[]
}

function present(ctx: Pick<SuiteContext, 'subjects'>, ids?: readonly string[]): MixSubject[] {
  return MIX_SUBJECTS.filter(
    (s) => ctx.subjects.some((c) => c.id === s.id) && (ids === undefined || ids.includes(s.id)),
  )
}

const LOOP_METHODS = [
  {
    method: 'raw-stmt-get',
    label: 'stmt.get(i) (raw better-sqlite3, sync loop)',
    subject: RAW,
  },
  { method: 'raw-await-stmt-get', label: 'await stmt.get(i) (raw better-sqlite3)', subject: RAW },
  { method: 'pool-read', label: 'await pool.read(c => c.get(sql, [i]))', subject: LP },
  { method: 'pool-get', label: 'await pool.get(sql, [i])', subject: LP },
] as const

function loopMethods(ctx: Pick<SuiteContext, 'subjects'>) {
  return LOOP_METHODS.filter((m) => ctx.subjects.some((s) => s.id === m.subject))
}

/** Steps this suite reports to the progress line. */
export function threadsSteps(ctx: Pick<SuiteContext, 'settings' | 'subjects'>): number {
  const t = ctx.settings.threads
  const writeCell = present(ctx, WRITE_CELL_SUBJECTS).length
  const litepools = present(ctx, LITEPOOL_SUBJECTS).length
  return (
    1 +
    (present(ctx).length + 1) * t.rounds +
    (writeCell + 1) * t.rounds +
    (writeCell + 1) * t.sustainedRounds +
    litepools * t.rounds * (1 + ROUND_TRIP_CALLERS.length * 2) +
    loopMethods(ctx).length * t.loopRounds
  )
}

type Calibration = ThreadsResult['calibration']

/** Times the slow aggregate on a fresh copy with raw better-sqlite3 and picks its id bound. */
function calibrate(ctx: SuiteContext): Calibration & { seedScoreSum: number } {
  const rows = ctx.settings.tableRows
  const file = ctx.fixtures.copy(rows, 'threads-calibrate')
  const db = new Database(file)
  try {
    db.pragma('journal_mode = WAL')
    const stmt = db.prepare<[number, string], SlowRow>(SLOW_SQL)
    const time = (bound: number, runs: number) => {
      stmt.get(bound, SLOW_PATTERN)
      const ms: number[] = []
      let row: SlowRow | undefined
      for (let k = 0; k < runs; k++) {
        const t0 = performance.now()
        row = stmt.get(bound, SLOW_PATTERN)
        ms.push(performance.now() - t0)
      }
      return { ms: median(ms), row: row as SlowRow }
    }
    const full = time(rows, 5)
    const bound = scanBound(full.ms, SLOW_TARGET_MS, rows)
    const chosen = time(bound, 7)
    const seedScoreSum = (db.prepare('select sum(score) as s from items').get() as { s: number }).s
    return {
      slowSql: SLOW_SQL,
      slowParams: [bound, SLOW_PATTERN],
      pointSql: SQL.point,
      updateSql: UPDATE_SQL,
      tableRows: rows,
      fullScanMs: round(full.ms, 3),
      targetMs: SLOW_TARGET_MS,
      bound,
      slowReadMs: round(chosen.ms, 3),
      expected: { n: chosen.row.n, s: chosen.row.s },
      slowShare: `1 in ${SLOW_EVERY} (${100 / SLOW_EVERY} %)`,
      writeShare: `1 in ${WRITE_EVERY} (${100 / WRITE_EVERY} %)`,
      seedScoreSum,
    }
  } finally {
    db.close()
    ctx.fixtures.discard(file)
  }
}

/** What one file holds, read with a separate connection after its subject closed. */
function fileTotals(file: string): { items: number; scoreSum: number } {
  const db = new Database(file, { readonly: true })
  try {
    const r = db.prepare('select count(*) as n, sum(score) as s from items').get() as {
      n: number
      s: number
    }
    return { items: r.n, scoreSum: r.s }
  } finally {
    db.close()
  }
}

/** What a subject wrote (checked against its file afterwards). */
interface WriteLog {
  updates: number
  inserts: number
  /** Sum of the scores of the inserted rows (the file's score sum must rise by it). */
  insertedScore: number
}

/** The operation runner of a caller-driven cell: runs, verifies, and logs what it wrote. */
function runner(
  instance: MixInstance,
  keys: Keys,
  calibration: Calibration,
  log: WriteLog,
  write: 'update' | 'insert',
): RunOp {
  const { point, items } = keys
  const { bound, expected } = calibration
  return async (kind, i) => {
    if (kind === 'point') {
      const id = point[i & KEY_MASK]!
      const row: Item | undefined = await instance.point(id)
      if (row?.id !== id) {
        throw new VerificationError(`point select of id ${id} returned ${JSON.stringify(row?.id)}`)
      }
    } else if (kind === 'slow') {
      const row = await instance.slow(bound)
      if (Number(row?.n) !== expected.n || Number(row?.s) !== expected.s) {
        throw new VerificationError(
          `slow read returned ${JSON.stringify(row)}, expected ${JSON.stringify(expected)}`,
        )
      }
    } else if (write === 'insert') {
      const item = items[i & 1023]!
      await instance.insert(item)
      log.inserts++
      log.insertedScore += item[2]
    } else {
      const result = (await instance.update(point[i & KEY_MASK]!)) as { changes?: number }
      if (result?.changes !== undefined && result.changes !== 1) {
        throw new VerificationError(`update changed ${result.changes} rows, expected 1`)
      }
      log.updates++
    }
  }
}

/** One measured round of a caller-driven cell. */
interface MixRound {
  readonly opsPerSec: number
  readonly perSec: Record<Kind, number>
  readonly counts: Record<Kind, number>
  readonly point: { p50: number; p99: number }
  readonly slowP50: number
  readonly write: { p50: number; p99: number }
  readonly delay: Delay
  readonly walMaxBytes: number
  readonly workersMax: number | undefined
  readonly routed: Readonly<Record<string, number>>
  readonly samples: number
  /** Sustained-writes cell: the -wal after close (null: absent). */
  walAfterCloseBytes?: number | null
}

/** One measured window, with the event-loop monitor and the WAL/worker sampler running. */
async function measuredWindow(
  groups: readonly CallerGroup[],
  ms: number,
  run: RunOp,
  file: string | undefined,
  instance: MixInstance,
): Promise<MixRound> {
  const eld = new LoopDelay()
  await eld.start()
  const sampler = new Sampler({
    file,
    workersOpen: () => instance.workersOpen(),
    slowStatements: () => instance.slowStatements(),
  })
  let outcome: WindowOutcome
  try {
    outcome = await runWindow(groups, ms, run)
  } catch (error) {
    sampler.stop()
    await eld.stop()
    throw error
  }
  const sampled = sampler.stop()
  const delay = await eld.stop()
  const total = outcome.counts.point + outcome.counts.slow + outcome.counts.write
  return {
    opsPerSec: (total * 1000) / outcome.elapsedMs,
    perSec: {
      point: (outcome.counts.point * 1000) / outcome.elapsedMs,
      slow: (outcome.counts.slow * 1000) / outcome.elapsedMs,
      write: (outcome.counts.write * 1000) / outcome.elapsedMs,
    },
    counts: outcome.counts,
    point: percentiles(outcome.latencyMs.point),
    slowP50: percentiles(outcome.latencyMs.slow).p50,
    write: percentiles(outcome.latencyMs.write),
    delay,
    walMaxBytes: sampled.walMaxBytes,
    workersMax: sampled.workersMax,
    routed: sampled.routed,
    samples: sampled.samples,
  }
}

/** One window of an event loop with nothing to do. */
async function idleWindow(ms: number): Promise<Delay> {
  const eld = new LoopDelay()
  await eld.start()
  await new Promise((resolve) => setTimeout(resolve, ms))
  return eld.stop()
}

function idleRow(cell: MixCell, windowMs: number, rounds: readonly Delay[]): IdleRow | undefined {
  if (rounds.length === 0) return undefined
  const med = (f: (d: Delay) => number) => round(median(rounds.map(f)), 4)
  return {
    cell,
    rounds: rounds.length,
    windowMs,
    eventLoopDelayMs: { p50: med((d) => d.p50), p99: med((d) => d.p99), max: med((d) => d.max) },
    roundsEldMaxMs: rounds.map((d) => d.max),
  }
}

/** A subject open on its own copy for a whole cell. */
interface Opened {
  readonly subject: MixSubject
  readonly file: string
  readonly instance: MixInstance
  readonly log: WriteLog
  readonly run: RunOp
  readonly rounds: MixRound[]
  /** Statements seen routed to workers during the (unmeasured) warm-ups. */
  readonly warmupRouted: Set<string>
  failed: boolean
}

/** An unmeasured run of the workload, noting the statements litepool routes to workers. */
async function warmUp(
  groups: readonly CallerGroup[],
  ms: number,
  o: Pick<Opened, 'instance' | 'run' | 'warmupRouted'>,
): Promise<void> {
  const sampler = new Sampler({
    file: undefined,
    workersOpen: () => undefined,
    slowStatements: () => o.instance.slowStatements(),
  })
  try {
    await withTimeout(runWindow(groups, ms, o.run), STEP_TIMEOUT_MS, 'warm-up')
  } finally {
    for (const sql of Object.keys(sampler.stop().routed)) o.warmupRouted.add(sql)
  }
}

/** The check after a subject closed: its file holds the seed plus what it reported writing. */
function verifyFile(
  ctx: SuiteContext,
  subject: MixSubject,
  where: string,
  file: string,
  log: WriteLog,
  seedScoreSum: number,
): boolean {
  const totals = fileTotals(file)
  const items = ctx.settings.tableRows + log.inserts
  const sum = seedScoreSum + log.updates + log.insertedScore
  if (totals.items === items && totals.scoreSum === sum) return true
  ctx.failures.push({
    suite: 'threads',
    subject: subject.id,
    where,
    message: `verification: ${totals.items} rows and score sum ${totals.scoreSum} in the file, expected ${items} (${log.inserts} inserted) and ${sum} (${log.updates} updates)`,
  })
  return false
}

function roundLabel(rounds: number, r: number): string {
  return rounds > 1 ? ` (round ${r + 1})` : ''
}

/**
 * Cells 1 and 2: every subject opens on its own copy, warms up (litepool starts its worker
 * threads here), then the rounds run with the subjects in a rotating order.
 */
async function sharedFileCell(
  ctx: SuiteContext,
  cell: 'slow-reads' | 'read-write',
  subjects: readonly MixSubject[],
  groups: readonly CallerGroup[],
  calibration: Calibration & { seedScoreSum: number },
  keys: Keys,
): Promise<{ rows: MixRow[]; idle: IdleRow | undefined }> {
  const t = ctx.settings.threads
  const opened: Opened[] = []
  const idle: Delay[] = []
  for (const subject of subjects) {
    const file = ctx.fixtures.copy(ctx.settings.tableRows, `threads-${cell}-${subject.id}`)
    let instance: MixInstance
    try {
      instance = await withTimeout(subject.open(file), STEP_TIMEOUT_MS, 'open')
    } catch (error) {
      fileError(ctx, { suite: 'threads', subject, where: `${cell} open` }, error)
      ctx.fixtures.discard(file)
      continue
    }
    const log: WriteLog = { updates: 0, inserts: 0, insertedScore: 0 }
    const run = runner(instance, keys, calibration, log, 'update')
    const o: Opened = {
      subject,
      file,
      instance,
      log,
      run,
      rounds: [],
      warmupRouted: new Set(),
      failed: false,
    }
    opened.push(o)
    try {
      await warmUp(groups, t.openWarmupMs, o)
    } catch (error) {
      o.failed = true
      fileError(ctx, { suite: 'threads', subject, where: `${cell} warm-up` }, error)
    }
  }
  // The idle loop takes a turn in the rotation like a subject.
  const slots = opened.length + 1
  for (let r = 0; r < t.rounds; r++) {
    for (let k = 0; k < slots; k++) {
      const slot = (k + r) % slots
      if (slot === opened.length) {
        ctx.progress.step(`threads ${cell} idle event loop${roundLabel(t.rounds, r)}`)
        idle.push(await idleWindow(t.windowMs))
        continue
      }
      const o = opened[slot]!
      ctx.progress.step(`threads ${cell} ${o.subject.label}${roundLabel(t.rounds, r)}`)
      if (o.failed) continue
      try {
        await warmUp(groups, t.warmupMs, o)
        const file = cell === 'read-write' ? o.file : undefined
        o.rounds.push(
          await withTimeout(
            measuredWindow(groups, t.windowMs, o.run, file, o.instance),
            STEP_TIMEOUT_MS,
            'measuring',
          ),
        )
      } catch (error) {
        o.failed = true
        fileError(ctx, { suite: 'threads', subject: o.subject, where: cell }, error)
      }
    }
  }
  const rows: MixRow[] = []
  for (const o of opened) {
    const workersAtEnd = o.instance.workersOpen()
    const slowStatements = o.instance.slowStatements()
    let verified = false
    try {
      await withTimeout(o.instance.close(), STEP_TIMEOUT_MS, 'close')
      verified = verifyFile(ctx, o.subject, cell, o.file, o.log, calibration.seedScoreSum)
    } catch (error) {
      fileError(ctx, { suite: 'threads', subject: o.subject, where: `${cell} close` }, error)
    } finally {
      ctx.fixtures.discard(o.file)
    }
    if (o.failed || o.rounds.length === 0) continue
    rows.push(
      mixRow(cell, o.subject.id, `${CALLERS} callers`, t.windowMs, o.rounds, {
        workersAtEnd,
        slowStatements,
        warmupRouted: o.warmupRouted,
        verified,
        wal: cell === 'read-write',
      }),
    )
  }
  return { rows, idle: idleRow(cell, t.windowMs, idle) }
}

/**
 * Cell 3: per round and subject a fresh copy, one writer loop of single-row inserts and 8
 * point-select readers from the moment the pool is ready (nothing warmed up: litepool's
 * checkpoint thread starts inside the window), then close and look at the -wal file.
 */
async function sustainedCell(
  ctx: SuiteContext,
  subjects: readonly MixSubject[],
  calibration: Calibration & { seedScoreSum: number },
  keys: Keys,
): Promise<{ rows: MixRow[]; idle: IdleRow | undefined }> {
  const t = ctx.settings.threads
  const idle: Delay[] = []
  const groups: CallerGroup[] = [
    { callers: 1, kindOf: () => 'write' },
    { callers: SUSTAINED_READERS, kindOf: () => 'point' },
  ]
  const state = subjects.map((subject) => ({
    subject,
    rounds: [] as MixRound[],
    failed: false,
    verified: true,
    workersAtEnd: undefined as number | undefined,
    slowStatements: undefined as readonly string[] | undefined,
  }))
  const slots = state.length + 1
  for (let r = 0; r < t.sustainedRounds; r++) {
    for (let k = 0; k < slots; k++) {
      const slot = (k + r) % slots
      if (slot === state.length) {
        ctx.progress.step(
          `threads sustained-writes idle event loop${roundLabel(t.sustainedRounds, r)}`,
        )
        idle.push(await idleWindow(t.sustainedMs))
        continue
      }
      const s = state[slot]!
      ctx.progress.step(
        `threads sustained-writes ${s.subject.label}${roundLabel(t.sustainedRounds, r)}`,
      )
      if (s.failed) continue
      const file = ctx.fixtures.copy(ctx.settings.tableRows, `threads-sustained-${s.subject.id}`)
      const log: WriteLog = { updates: 0, inserts: 0, insertedScore: 0 }
      let instance: MixInstance | undefined
      try {
        instance = await withTimeout(s.subject.open(file), STEP_TIMEOUT_MS, 'open')
        const run = runner(instance, keys, calibration, log, 'insert')
        // The first write to a fresh copy creates its -wal file (~12 ms on this disk, for every
        // subject alike): done before the window, with one point read.
        await withTimeout(
          run('write', 0).then(() => run('point', 0)),
          STEP_TIMEOUT_MS,
          'first write',
        )
        const round = await withTimeout(
          measuredWindow(groups, t.sustainedMs, run, file, instance),
          STEP_TIMEOUT_MS,
          'measuring',
        )
        s.workersAtEnd = Math.max(s.workersAtEnd ?? 0, instance.workersOpen() ?? 0)
        s.slowStatements = instance.slowStatements()
        const closing = instance
        instance = undefined
        await withTimeout(closing.close(), STEP_TIMEOUT_MS, 'close')
        round.walAfterCloseBytes = walBytes(file) ?? null
        s.rounds.push(round)
        s.verified &&= verifyFile(
          ctx,
          s.subject,
          'sustained-writes',
          file,
          log,
          calibration.seedScoreSum,
        )
      } catch (error) {
        s.failed = true
        fileError(ctx, { suite: 'threads', subject: s.subject, where: 'sustained-writes' }, error)
        await instance?.close().catch(() => {})
      } finally {
        ctx.fixtures.discard(file)
      }
    }
  }
  const rows = state
    .filter((s) => !s.failed && s.rounds.length > 0)
    .map((s) =>
      mixRow(
        'sustained-writes',
        s.subject.id,
        `1 writer + ${SUSTAINED_READERS} readers`,
        t.sustainedMs,
        s.rounds,
        {
          workersAtEnd: s.subject.family === 'litepool' ? s.workersAtEnd : undefined,
          slowStatements: s.slowStatements,
          verified: s.verified,
          wal: true,
        },
      ),
    )
  return { rows, idle: idleRow('sustained-writes', t.sustainedMs, idle) }
}

/** A cell's row from its rounds: each figure the median over rounds (counts: the total). */
function mixRow(
  cell: MixCell,
  subject: string,
  callers: string,
  windowMs: number,
  rounds: readonly MixRound[],
  extra: {
    workersAtEnd: number | undefined
    slowStatements: readonly string[] | undefined
    warmupRouted?: ReadonlySet<string>
    verified: boolean
    wal: boolean
  },
): MixRow {
  const med = (f: (r: MixRound) => number) => round(median(rounds.map(f)), 4)
  const sum = (k: Kind) => rounds.reduce((n, r) => n + r.counts[k], 0)
  const workers = rounds.map((r) => r.workersMax).filter((v) => v !== undefined)
  const workersMax =
    workers.length === 0 && extra.workersAtEnd === undefined
      ? null
      : Math.max(0, ...workers, extra.workersAtEnd ?? 0)
  const after = rounds.map((r) => r.walAfterCloseBytes).filter((v) => v !== undefined)
  const hasSlow = rounds.some((r) => r.counts.slow > 0)
  const hasWrite = rounds.some((r) => r.counts.write > 0)
  return {
    cell,
    subject,
    callers,
    rounds: rounds.length,
    windowMs,
    opsPerSec: med((r) => r.opsPerSec),
    roundsOpsPerSec: rounds.map((r) => round(r.opsPerSec)),
    perSec: {
      point: med((r) => r.perSec.point),
      slow: med((r) => r.perSec.slow),
      write: med((r) => r.perSec.write),
    },
    ops: { point: sum('point'), slow: sum('slow'), write: sum('write') },
    pointMs: { p50: med((r) => r.point.p50), p99: med((r) => r.point.p99) },
    roundsPointP99Ms: rounds.map((r) => r.point.p99),
    slowP50Ms: hasSlow ? med((r) => r.slowP50) : undefined,
    writeMs: hasWrite ? { p50: med((r) => r.write.p50), p99: med((r) => r.write.p99) } : undefined,
    eventLoopDelayMs: {
      p50: med((r) => r.delay.p50),
      p99: med((r) => r.delay.p99),
      max: med((r) => r.delay.max),
    },
    roundsEldMaxMs: rounds.map((r) => r.delay.max),
    walMaxBytes: extra.wal ? Math.max(...rounds.map((r) => r.walMaxBytes)) : undefined,
    walAfterCloseBytes:
      after.length === 0
        ? undefined
        : after.every((v) => v === null)
          ? null
          : Math.max(...after.map((v) => v ?? 0)),
    workersOpen: workersMax,
    slowStatements: extra.slowStatements === undefined ? undefined : [...extra.slowStatements],
    routedDuringCell: extra.slowStatements === undefined ? undefined : routedShare(rounds),
    routedInWarmups:
      extra.slowStatements === undefined || extra.warmupRouted === undefined
        ? undefined
        : [...extra.warmupRouted],
    ratios: {
      opsVsRaw: undefined,
      opsVsBestPeer: undefined,
      pointP99VsRaw: undefined,
      eldMaxVsRaw: undefined,
    },
    bestPeer: undefined,
    verified: extra.verified,
  }
}

/** Per statement, the share of all samples of the rounds that saw it routed to workers. */
function routedShare(rounds: readonly MixRound[]): Record<string, number> {
  const samples = rounds.reduce((n, r) => n + r.samples, 0)
  const seen: Record<string, number> = {}
  for (const r of rounds) {
    for (const [sql, n] of Object.entries(r.routed)) seen[sql] = (seen[sql] ?? 0) + n
  }
  return Object.fromEntries(
    Object.entries(seen).map(([sql, n]) => [sql, samples === 0 ? 0 : round(n / samples, 3)]),
  )
}

/**
 * The ratios of a cell's rows: against raw better-sqlite3, and for litepool-based subjects
 * against the peer with the highest median throughput (paired rounds).
 */
export function withRatios(rows: readonly MixRow[]): MixRow[] {
  const raw = rows.find((r) => r.subject === RAW)
  const peers = rows.filter((r) => !LITEPOOL_BASED.has(r.subject))
  const best = peers.reduce<MixRow | undefined>(
    (a, r) => (a === undefined || r.opsPerSec > a.opsPerSec ? r : a),
    undefined,
  )
  return rows.map((row) => {
    const litepoolBased = LITEPOOL_BASED.has(row.subject)
    return {
      ...row,
      ratios: {
        opsVsRaw: raw && pairedRatio(row.roundsOpsPerSec, raw.roundsOpsPerSec),
        opsVsBestPeer:
          litepoolBased && best
            ? pairedRatio(row.roundsOpsPerSec, best.roundsOpsPerSec)
            : undefined,
        pointP99VsRaw: raw && pairedRatio(row.roundsPointP99Ms, raw.roundsPointP99Ms),
        eldMaxVsRaw: raw && pairedRatio(row.roundsEldMaxMs, raw.roundsEldMaxMs),
      },
      bestPeer: litepoolBased ? best?.subject : undefined,
    }
  })
}

/** Cell 4a: the first worker call of a fresh pool (the thread starts), per round. */
async function startupCell(
  ctx: SuiteContext,
  subjects: readonly MixSubject[],
): Promise<StartupRow[]> {
  const t = ctx.settings.threads
  const state = subjects.map((subject) => ({
    subject,
    first: [] as number[],
    second: [] as number[],
    eldMax: [] as number[],
    workers: 0,
    failed: false,
  }))
  for (let r = 0; r < t.rounds; r++) {
    for (let k = 0; k < state.length; k++) {
      const s = state[(k + r) % state.length]!
      ctx.progress.step(`threads worker start-up ${s.subject.label}${roundLabel(t.rounds, r)}`)
      if (s.failed) continue
      const file = ctx.fixtures.copy(ctx.settings.tableRows, `threads-startup-${s.subject.id}`)
      let pool: LitepoolPool | undefined
      try {
        pool = await withTimeout(
          openLitepool(LITEPOOL_DRIVERS[s.subject.id]!(file)),
          STEP_TIMEOUT_MS,
          'open',
        )
        const p = pool
        const eld = new LoopDelay()
        await eld.start()
        const call = async (x: number) => {
          const t0 = performance.now()
          const row = await p.get<{ x: number }>(ROUND_TRIP_SQL, [x], { thread: 'worker' })
          const ms = performance.now() - t0
          if (row?.x !== x) throw new VerificationError(`select ${x} returned ${row?.x}`)
          return ms
        }
        const first = await withTimeout(call(7), STEP_TIMEOUT_MS, 'first worker call')
        const second = await call(8)
        const delay = await eld.stop()
        s.first.push(round(first, 4))
        s.second.push(round(second, 4))
        s.eldMax.push(delay.max)
        s.workers = Math.max(s.workers, p.status().workers.open)
        pool = undefined
        await withTimeout(p.close(), STEP_TIMEOUT_MS, 'close')
        if (fileTotals(file).items !== ctx.settings.tableRows) {
          throw new VerificationError('the file lost rows')
        }
      } catch (error) {
        s.failed = true
        fileError(ctx, { suite: 'threads', subject: s.subject, where: 'worker start-up' }, error)
        await pool?.close().catch(() => {})
      } finally {
        ctx.fixtures.discard(file)
      }
    }
  }
  return state
    .filter((s) => !s.failed && s.first.length > 0)
    .map((s) => ({
      subject: s.subject.id,
      rounds: s.first.length,
      firstCallMs: round(median(s.first), 4),
      roundsFirstCallMs: s.first,
      secondCallMs: round(median(s.second), 4),
      eldMaxMs: round(median(s.eldMax), 4),
      workersOpen: s.workers,
    }))
}

/** Cell 4b: `pool.get('select ? as x', [i], { thread })`, worker vs main, 1 and 32 callers. */
async function roundTripCell(
  ctx: SuiteContext,
  subjects: readonly MixSubject[],
): Promise<RoundTripRow[]> {
  const t = ctx.settings.threads
  interface Variant {
    readonly subject: MixSubject
    readonly pool: LitepoolPool
    readonly thread: 'main' | 'worker'
    readonly callers: number
    readonly rounds: { opsPerSec: number; latencyUs: number }[]
    failed: boolean
  }
  const pools: { subject: MixSubject; pool: LitepoolPool; file: string }[] = []
  for (const subject of subjects) {
    const file = ctx.fixtures.copy(ctx.settings.tableRows, `threads-round-trip-${subject.id}`)
    try {
      const pool = await withTimeout(
        openLitepool(LITEPOOL_DRIVERS[subject.id]!(file)),
        STEP_TIMEOUT_MS,
        'open',
      )
      pools.push({ subject, pool, file })
    } catch (error) {
      fileError(ctx, { suite: 'threads', subject, where: 'round-trip open' }, error)
      ctx.fixtures.discard(file)
    }
  }
  const variants: Variant[] = pools.flatMap(({ subject, pool }) =>
    (['worker', 'main'] as const).flatMap((thread) =>
      ROUND_TRIP_CALLERS.map((callers) => ({
        subject,
        pool,
        thread,
        callers,
        rounds: [],
        failed: false,
      })),
    ),
  )
  for (let r = 0; r < t.rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = variants[(k + r) % variants.length]!
      ctx.progress.step(
        `threads round trip ${v.subject.label} thread ${v.thread} ×${v.callers}${roundLabel(t.rounds, r)}`,
      )
      if (v.failed) continue
      const options = { thread: v.thread }
      try {
        const m = await withTimeout(
          measure(
            `${v.subject.id} ${v.thread} ×${v.callers}`,
            {
              sync: false,
              call: (i) => v.pool.get<{ x: number }>(ROUND_TRIP_SQL, [i], options),
              check: (i, row) => {
                if ((row as { x?: number } | undefined)?.x !== i) {
                  throw new VerificationError(`select ${i} as x returned ${JSON.stringify(row)}`)
                }
              },
            },
            256,
            v.callers,
            t.timing,
          ),
          STEP_TIMEOUT_MS,
          'measuring',
        )
        v.rounds.push({ opsPerSec: m.opsPerSec, latencyUs: m.latencyUs })
      } catch (error) {
        v.failed = true
        fileError(
          ctx,
          { suite: 'threads', subject: v.subject, where: `round-trip ${v.thread} ×${v.callers}` },
          error,
        )
      }
    }
  }
  const workers = new Map<string, number>()
  for (const { subject, pool, file } of pools) {
    workers.set(subject.id, pool.status().workers.open)
    try {
      await withTimeout(pool.close(), STEP_TIMEOUT_MS, 'close')
      if (fileTotals(file).items !== ctx.settings.tableRows) {
        throw new VerificationError('the file lost rows')
      }
    } catch (error) {
      fileError(ctx, { suite: 'threads', subject, where: 'round-trip close' }, error)
    } finally {
      ctx.fixtures.discard(file)
    }
  }
  return variants
    .filter((v) => !v.failed && v.rounds.length > 0)
    .map((v) => {
      const main = variants.find(
        (m) => m.subject === v.subject && m.thread === 'main' && m.callers === v.callers,
      )
      const ops = v.rounds.map((x) => round(x.opsPerSec))
      return {
        subject: v.subject.id,
        thread: v.thread,
        callers: v.callers,
        usPerOp: round(median(v.rounds.map((x) => x.latencyUs)), 4),
        opsPerSec: round(median(ops)),
        rounds: ops,
        vsMain:
          main === undefined || main.failed
            ? undefined
            : pairedRatio(
                ops,
                main.rounds.map((x) => x.opsPerSec),
              ),
        workersOpen: workers.get(v.subject.id) ?? 0,
      }
    })
}

/** Cell 5: one caller, sequential ids, a tight loop of `loopOps` point selects per round. */
async function loopCell(ctx: SuiteContext): Promise<LoopRow[]> {
  const t = ctx.settings.threads
  const methods = loopMethods(ctx)
  if (methods.length === 0) return []
  const rows = ctx.settings.tableRows
  const rawFile = ctx.fixtures.copy(rows, 'threads-loop-raw')
  const poolFile = ctx.fixtures.copy(rows, 'threads-loop-litepool')
  const raw = new BetterSqlite3Connection(rawFile)
  const lp = MIX_SUBJECTS.find((s) => s.id === LP)!
  let pool: LitepoolPool | undefined
  const failed = new Set<string>()
  const fail = (method: string, subject: string, error: unknown) => {
    failed.add(method)
    const s = MIX_SUBJECTS.find((x) => x.id === subject) ?? lp
    fileError(ctx, { suite: 'threads', subject: s, where: `loop ${method}` }, error)
  }
  const wrong = (id: number, row: Item | undefined) =>
    new VerificationError(`point select of id ${id} returned ${JSON.stringify(row?.id)}`)
  try {
    if (methods.some((m) => m.subject === LP)) {
      pool = await withTimeout(
        openLitepool(LITEPOOL_DRIVERS[LP]!(poolFile)),
        STEP_TIMEOUT_MS,
        'open',
      )
    }
    const p = pool
    const idOf = (k: number) => 1 + (k % rows)
    const loops: Record<
      (typeof LOOP_METHODS)[number]['method'],
      (n: number, from: number) => unknown
    > = {
      'raw-stmt-get': (n, from) => {
        for (let k = from; k < from + n; k++) {
          const id = idOf(k)
          const row = raw.point.get(id)
          if (row?.id !== id) throw wrong(id, row)
        }
      },
      'raw-await-stmt-get': async (n, from) => {
        for (let k = from; k < from + n; k++) {
          const id = idOf(k)
          const row = await raw.point.get(id)
          if (row?.id !== id) throw wrong(id, row)
        }
      },
      'pool-read': async (n, from) => {
        for (let k = from; k < from + n; k++) {
          const id = idOf(k)
          const row = await (p as LitepoolPool).read((c) => c.get<Item>(SQL.point, [id]))
          if (row?.id !== id) throw wrong(id, row)
        }
      },
      'pool-get': async (n, from) => {
        for (let k = from; k < from + n; k++) {
          const id = idOf(k)
          const row = await (p as LitepoolPool).get<Item>(SQL.point, [id])
          if (row?.id !== id) throw wrong(id, row)
        }
      },
    }
    for (const m of methods) {
      try {
        await loops[m.method](Math.min(t.loopOps, 10_000), 0)
      } catch (error) {
        fail(m.method, m.subject, error)
      }
    }
    const rounds = new Map<string, number[]>(methods.map((m) => [m.method, []]))
    for (let r = 0; r < t.loopRounds; r++) {
      for (let k = 0; k < methods.length; k++) {
        const m = methods[(k + r) % methods.length]!
        ctx.progress.step(`threads loop ${m.label}${roundLabel(t.loopRounds, r)}`)
        if (failed.has(m.method)) continue
        // Let the event loop turn: deferred work of the previous method lands outside the timing.
        await new Promise((resolve) => setImmediate(resolve))
        try {
          const t0 = performance.now()
          await withTimeout(
            Promise.resolve(loops[m.method](t.loopOps, r * t.loopOps)),
            STEP_TIMEOUT_MS,
            'measuring',
          )
          rounds.get(m.method)!.push((t.loopOps * 1000) / (performance.now() - t0))
        } catch (error) {
          fail(m.method, m.subject, error)
        }
      }
    }
    const base = rounds.get('raw-stmt-get')
    const workersOpen = pool?.status().workers.open
    return methods
      .filter((m) => !failed.has(m.method) && (rounds.get(m.method)?.length ?? 0) > 0)
      .map((m) => {
        const ops = rounds.get(m.method)!
        const mid = median(ops)
        return {
          method: m.method,
          label: m.label,
          subject: m.subject,
          ops: t.loopOps,
          usPerOp: round(1e6 / mid, 4),
          opsPerSec: round(mid),
          rounds: ops.map((v) => round(v)),
          vsRaw:
            base === undefined || base.length === 0 || failed.has('raw-stmt-get')
              ? undefined
              : pairedRatio(ops, base),
          workersOpen: m.subject === LP ? (workersOpen ?? 0) : null,
        }
      })
  } finally {
    raw.close()
    await pool?.close().catch((error: unknown) => fail('pool-close', LP, error))
    for (const [file, subject] of [
      [rawFile, RAW],
      [poolFile, LP],
    ] as const) {
      if (fileTotals(file).items !== rows)
        fail('verify', subject, new VerificationError(`${file} lost rows`))
      ctx.fixtures.discard(file)
    }
  }
}

const NOTES: readonly string[] = [
  'Callers are closed loops (as in the rest of the bench): each runs one operation, awaits it, records its latency, then yields to the event loop with setImmediate (the next request arrives as a new macrotask, as in a server) — without that yield a loop of already-resolved promises would starve the timers for every subject alike. Operation kinds follow one counter per cell, so the mix is exact (slow reads: 1 in 50; writes: 1 in 10).',
  'Event-loop delay: perf_hooks.monitorEventLoopDelay({ resolution: 1 }) over the measured window; the figures are what exceeds the 1 ms timer interval (as in the contention suite). Each figure is the median over rounds; "max" is the median round’s maximum, the worst round is in the JSON (roundsEldMaxMs).',
  'Throughput counts every completed operation of the window (a window ends when its last operation settles, so queued slow reads are included); slow-read latency includes waiting for a connection or a worker.',
  'Ratios are paired: the median over rounds of subject ÷ reference in the same round. ops ratios above 1 are better; latency and delay ratios (p99 ÷ raw, ELD ÷ raw) below 1 are better. "best peer" is the subject not built on litepool with the highest median ops/s in the cell.',
  'Worker threads: pool.status().workers.open counts litepool’s worker readers (most seen during the cell, sampled every 50 ms, and at its end); the thread that runs WAL checkpoints for the writer is not part of that lane and not counted.',
  'Sustained writes: a fresh file per round and subject; after one insert and one point read (the first write to a fresh copy creates the -wal file, ~12 ms for every subject) the window starts with nothing else warmed up, so litepool’s checkpoint thread starts inside it. The -wal size is sampled with fs.statSync every 50 ms, and read again after close().',
  'Idle event loop: in each caller-driven cell the rotation also runs a window in which the process does nothing (a timer waits): its event-loop delay is the floor this shared machine sets for every subject.',
]

/** Runs the threads suite's five cells. */
export async function runThreadsSuite(ctx: SuiteContext): Promise<ThreadsResult> {
  const keys = new Keys(ctx.settings.tableRows)
  ctx.progress.step('threads calibrating the slow read')
  const calibration = calibrate(ctx)
  const slowReads = await sharedFileCell(
    ctx,
    'slow-reads',
    present(ctx),
    [{ callers: CALLERS, kindOf: slowMixKind }],
    calibration,
    keys,
  )
  const readWrite = await sharedFileCell(
    ctx,
    'read-write',
    present(ctx, WRITE_CELL_SUBJECTS),
    [{ callers: CALLERS, kindOf: writeMixKind }],
    calibration,
    keys,
  )
  const sustained = await sustainedCell(ctx, present(ctx, WRITE_CELL_SUBJECTS), calibration, keys)
  const litepools = present(ctx, LITEPOOL_SUBJECTS)
  const startup = await startupCell(ctx, litepools)
  const roundTrip = await roundTripCell(ctx, litepools)
  const loop = await loopCell(ctx)
  const cells = [slowReads, readWrite, sustained]
  const mix = cells.flatMap((c) => withRatios(c.rows))
  const idle = cells.flatMap((c) => (c.idle === undefined ? [] : [c.idle]))
  const { seedScoreSum: _, ...reported } = calibration
  return {
    calibration: reported,
    subjects: present(ctx).map(({ id, label, family, driver, config }) => ({
      id,
      label,
      family,
      driver,
      config,
    })),
    mix,
    idle,
    startup,
    roundTrip,
    loop,
    targets: threadsTargets(mix),
    notes: NOTES,
  }
}
