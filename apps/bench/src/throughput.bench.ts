import { fileError, messageOf, STEP_TIMEOUT_MS, type SuiteContext, withTimeout } from './context.js'
import { countRows } from './fixture.js'
import { type Measured, measure } from './measure.js'
import { cellWhere } from './report/ratios.js'
import type { ThroughputRow } from './results.js'
import { THROUGHPUT_PEER_BUSY_TIMEOUT_MS } from './settings.js'
import { median, round } from './stats.js'
import type { Instance, OpenOptions, Subject } from './subjects/index.js'
import { Keys, type Workload, type WriteLog } from './workloads.js'

/** Steps this suite reports to the progress line. */
export function throughputSteps(
  ctx: Pick<SuiteContext, 'settings' | 'subjects' | 'workloads'>,
): number {
  return (
    ctx.workloads.length * ctx.settings.callers.length * ctx.subjects.length * ctx.settings.rounds
  )
}

interface Open {
  readonly subject: Subject
  readonly file: string
  readonly instance: Instance
  readonly log: WriteLog
  readonly rounds: Measured[]
  failed: boolean
}

/**
 * Point select, range select, single insert, batch insert and mixed 90/10, each sequential (one
 * caller: the pool's overhead) and with 8/32/128 concurrent async callers (throughput). Every
 * subject gets its own fresh copy of the seeded file per cell; rounds interleave the subjects in a
 * rotating order so drift on a noisy machine hits them alike. After each cell the file is re-read
 * with a separate connection: the item count must equal the seed plus every row the subject said
 * it wrote.
 */
export async function runThroughput(ctx: SuiteContext): Promise<ThroughputRow[]> {
  const { settings } = ctx
  const keys = new Keys(settings.tableRows)
  const rows: ThroughputRow[] = []
  for (const workload of ctx.workloads) {
    for (const callers of settings.callers) {
      const where = cellWhere(workload.id, callers)
      const open = await openAll(ctx, where)
      for (let round = 0; round < settings.rounds; round++) {
        for (let k = 0; k < open.length; k++) {
          const o = open[(k + round) % open.length]!
          ctx.progress.step(
            `throughput ${where} ${o.subject.label}${settings.rounds > 1 ? ` (round ${round + 1})` : ''}`,
          )
          if (o.failed) continue
          try {
            const op = workload.op(o.instance, keys, o.log)
            o.rounds.push(
              await withTimeout(
                measure(o.subject.id, op, workload.batch, callers, settings.timing),
                STEP_TIMEOUT_MS,
                'measuring',
              ),
            )
          } catch (error) {
            o.failed = true
            fileError(ctx, { suite: 'throughput', subject: o.subject, where }, error)
          }
        }
      }
      for (const o of open) {
        await closeAndVerify(ctx, o, where)
        const row = o.failed ? undefined : summarise(workload, callers, o)
        if (row !== undefined) rows.push(row)
      }
    }
  }
  return rows
}

async function openAll(ctx: SuiteContext, where: string): Promise<Open[]> {
  const open: Open[] = []
  for (const subject of ctx.subjects) {
    const file = ctx.fixtures.copy(ctx.settings.tableRows, subject.id)
    try {
      const instance = await withTimeout(subject.open(file, peerOptions()), STEP_TIMEOUT_MS, 'open')
      open.push({ subject, file, instance, log: { rows: 0 }, rounds: [], failed: false })
    } catch (error) {
      ctx.failures.push({
        suite: 'throughput',
        subject: subject.id,
        where: `${where} open`,
        message: messageOf(error),
      })
      ctx.fixtures.discard(file)
    }
  }
  return open
}

async function closeAndVerify(ctx: SuiteContext, o: Open, where: string): Promise<void> {
  try {
    await withTimeout(o.instance.close(), STEP_TIMEOUT_MS, 'close')
    const counts = countRows(o.file)
    const expected = ctx.settings.tableRows + o.log.rows
    if (counts.items !== expected) {
      o.failed = true
      ctx.failures.push({
        suite: 'throughput',
        subject: o.subject.id,
        where,
        message: `verification: ${counts.items} rows in the file, expected ${expected} (${o.log.rows} written)`,
      })
    }
  } catch (error) {
    o.failed = true
    ctx.failures.push({
      suite: 'throughput',
      subject: o.subject.id,
      where: `${where} close`,
      message: messageOf(error),
    })
  } finally {
    ctx.fixtures.discard(o.file)
  }
}

function summarise(workload: Workload, callers: number, o: Open): ThroughputRow | undefined {
  const ops = o.rounds.map((r) => r.opsPerSec)
  const mid = o.rounds.find((r) => r.opsPerSec === median(ops)) ?? o.rounds[0]
  if (mid === undefined) return undefined
  return {
    workload: workload.id,
    callers,
    subject: o.subject.id,
    opsPerSec: round(median(ops)),
    rounds: ops.map((v) => round(v)),
    rme: round(mid.rme, 3),
    samples: o.rounds.reduce((n, r) => n + r.samples, 0),
    batch: mid.batch,
    latencyUs: round(median(o.rounds.map((r) => r.latencyUs))),
  }
}

/** Open options of the throughput cells. */
function peerOptions(): OpenOptions {
  return { busyTimeoutMs: THROUGHPUT_PEER_BUSY_TIMEOUT_MS }
}
