import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import {
  type ContentionOutcome,
  type ContentionPlan,
  latencySummary,
  runContention,
} from './contention.js'
import type { FromWorker, ToWorker } from './contention-worker.js'
import { messageOf, STEP_TIMEOUT_MS, type SuiteContext, withTimeout } from './context.js'
import { countRows } from './fixture.js'
import type { ContentionRow } from './results.js'
import { round } from './stats.js'
import type { Subject } from './subjects/index.js'

/** Subjects also run across processes: litepool, the baseline and the two generic pools. */
export const CROSS_PROCESS_SUBJECTS: readonly string[] = [
  'litepool-better-sqlite3',
  'raw-better-sqlite3',
  'generic-pool',
  'tarn',
]
/**
 * Subjects also run with hand-written `BEGIN IMMEDIATE` transactions: the usual fix for the
 * BUSY_SNAPSHOT errors of deferred ones, which trades them for SQLite's busy handler blocking the
 * only thread while the lock holder (in the same process) cannot reach COMMIT.
 */
export const IMMEDIATE_SUBJECTS: readonly string[] = ['generic-pool', 'tarn']

interface Run {
  readonly subject: Subject
  readonly scope: ContentionRow['scope']
  readonly beginImmediate: boolean
}

/** Subjects that add nothing under contention (same connections and transactions as another). */
const NOT_CONTENDED: readonly string[] = ['raw-better-sqlite3-no-autocheckpoint']

function runs(ctx: Pick<SuiteContext, 'subjects'>): Run[] {
  return [
    ...ctx.subjects
      .filter((s) => !NOT_CONTENDED.includes(s.id))
      .map((subject) => ({
        subject,
        scope: 'in-process' as const,
        beginImmediate: false,
      })),
    ...ctx.subjects
      .filter((s) => IMMEDIATE_SUBJECTS.includes(s.id))
      .map((subject) => ({ subject, scope: 'in-process' as const, beginImmediate: true })),
    ...ctx.subjects
      .filter((s) => CROSS_PROCESS_SUBJECTS.includes(s.id))
      .map((subject) => ({ subject, scope: 'cross-process' as const, beginImmediate: false })),
  ]
}

/** Steps this suite reports to the progress line. */
export function contentionSteps(ctx: Pick<SuiteContext, 'subjects'>): number {
  return runs(ctx).length
}

/** How a run's write transaction begins, for the report. */
function beginOf(run: Run): string {
  if (run.subject.family === 'litepool') return 'pool.transaction (BEGIN IMMEDIATE, writer lane)'
  if (run.subject.family === 'builder') return `${run.subject.label} transaction API`
  if (run.subject.id === 'sqlite-pool') return 'db.tx (BEGIN)'
  return run.beginImmediate ? 'BEGIN IMMEDIATE by hand' : 'BEGIN by hand'
}

/**
 * Several writers and readers at once: first in one process (the subject's connections against
 * each other), then in several child processes on one file (SQLite's file lock). Counts BUSY
 * errors, p50/p99 latency per operation and event-loop delay, then checks the counter: it must
 * equal the increments reported committed, with one event row each (no lost update).
 */
export async function runContentionSuite(ctx: SuiteContext): Promise<ContentionRow[]> {
  const rows: ContentionRow[] = []
  const c = ctx.settings.contention
  for (const run of runs(ctx)) {
    const { subject, scope } = run
    const where = `${scope}${run.beginImmediate ? ' BEGIN IMMEDIATE' : ''}`
    const cross = scope === 'cross-process'
    ctx.progress.step(
      `contention ${cross ? `${c.processes} processes` : 'in-process'} ${subject.label}${run.beginImmediate ? ' (BEGIN IMMEDIATE)' : ''}`,
    )
    const file = ctx.fixtures.copy(ctx.settings.tableRows, `contention-${subject.id}`)
    const plan: ContentionPlan = {
      subject: subject.id,
      file,
      tableRows: ctx.settings.tableRows,
      // Across processes each process gets half the callers, so the file sees a similar load.
      writers: cross ? Math.max(1, Math.round(c.writers / 2)) : c.writers,
      readers: cross ? Math.max(1, Math.round(c.readers / 2)) : c.readers,
      durationMs: c.durationMs,
      busyTimeoutMs: ctx.settings.peerBusyTimeoutMs,
      beginImmediate: run.beginImmediate,
      workerBase: 0,
    }
    try {
      const outcomes = cross
        ? await withTimeout(runInChildren(plan, c.processes), STEP_TIMEOUT_MS, 'cross-process run')
        : [await withTimeout(runContention(plan), STEP_TIMEOUT_MS, 'contention run')]
      rows.push(summarise(ctx, run, where, plan, outcomes))
    } catch (error) {
      ctx.failures.push({
        suite: 'contention',
        subject: subject.id,
        where,
        message: messageOf(error),
      })
    } finally {
      ctx.fixtures.discard(file)
    }
  }
  return rows
}

function summarise(
  ctx: SuiteContext,
  run: Run,
  where: string,
  plan: ContentionPlan,
  outcomes: readonly ContentionOutcome[],
): ContentionRow {
  const sum = (f: (o: ContentionOutcome) => number) => outcomes.reduce((n, o) => n + f(o), 0)
  const writesOk = sum((o) => o.writesOk)
  const elapsedS = Math.max(...outcomes.map((o) => o.elapsedMs)) / 1000
  const counts = countRows(plan.file)
  const verified = counts.counter === writesOk && counts.events === writesOk
  const fail = (message: string) =>
    ctx.failures.push({ suite: 'contention', subject: plan.subject, where, message })
  if (!verified) {
    fail(
      `verification: counter ${counts.counter}, events ${counts.events}, committed increments reported ${writesOk}`,
    )
  }
  for (const o of outcomes) {
    for (const message of o.otherErrors) fail(`unexpected error: ${message}`)
    for (const message of o.verificationErrors) fail(`verification: ${message}`)
  }
  const busy = sum((o) => o.writesBusy + o.readsBusy)
  // litepool promises that no BUSY reaches the caller under in-process contention.
  if (run.subject.family === 'litepool' && run.scope === 'in-process' && busy > 0) {
    fail(`${busy} SQLITE_BUSY errors reached callers under in-process contention`)
  }
  const write = latencySummary(outcomes.flatMap((o) => o.writeLatencyMs))
  const read = latencySummary(outcomes.flatMap((o) => o.readLatencyMs))
  const worst = (f: (o: ContentionOutcome) => number) => Math.max(...outcomes.map(f))
  return {
    subject: plan.subject,
    scope: run.scope,
    begin: beginOf(run),
    processes: outcomes.length,
    writers: plan.writers,
    readers: plan.readers,
    durationMs: plan.durationMs,
    busyTimeoutMs: plan.busyTimeoutMs ?? 'default',
    writes: { ok: writesOk, busy: sum((o) => o.writesBusy), p50Ms: write.p50, p99Ms: write.p99 },
    reads: {
      ok: sum((o) => o.readsOk),
      busy: sum((o) => o.readsBusy),
      p50Ms: read.p50,
      p99Ms: read.p99,
    },
    writesPerSec: round(writesOk / elapsedS),
    readsPerSec: round(sum((o) => o.readsOk) / elapsedS),
    eventLoopDelayMs: {
      p50: worst((o) => o.eventLoopDelayMs.p50),
      p99: worst((o) => o.eventLoopDelayMs.p99),
      max: worst((o) => o.eventLoopDelayMs.max),
    },
    verified,
  }
}

/** The worker module next to this one: `.ts` under tsx, `.mjs` when built. */
function workerPath(): string {
  const here = fileURLToPath(import.meta.url)
  return fileURLToPath(
    new URL(`./contention-worker${here.endsWith('.ts') ? '.ts' : '.mjs'}`, import.meta.url),
  )
}

/** Runs `plan` in `count` child processes at once on the same file. */
async function runInChildren(plan: ContentionPlan, count: number): Promise<ContentionOutcome[]> {
  const children = Array.from({ length: count }, () =>
    fork(workerPath(), [], {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  )
  try {
    const outcomes = children.map(
      (child) =>
        new Promise<ContentionOutcome>((resolve, reject) => {
          child.on('message', (message: FromWorker) => {
            if (message.type === 'done') resolve(message.outcome)
            else if (message.type === 'failed') reject(new RangeError(message.message))
          })
          child.on('exit', (code) =>
            reject(new RangeError(`contention worker exited with code ${code}`)),
          )
        }),
    )
    for (const outcome of outcomes) outcome.catch(() => {}) // awaited below; never unhandled
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve, reject) => {
            child.on('message', (message: FromWorker) => message.type === 'ready' && resolve())
            child.on('error', reject)
          }),
      ),
    )
    // Everyone opens first, then all start at the same moment.
    const startAt = Date.now() + 500
    children.forEach((child, i) => {
      const message: ToWorker = {
        type: 'run',
        plan: { ...plan, workerBase: (i + 1) * 100 },
        startAt,
      }
      child.send(message)
    })
    return await Promise.all(outcomes)
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill()
  }
}
