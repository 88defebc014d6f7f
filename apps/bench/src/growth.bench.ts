import { fileError, STEP_TIMEOUT_MS, type SuiteContext, withTimeout } from './context.js'
import { countRows } from './fixture.js'
import { measure } from './measure.js'
import type { GrowthRow } from './results.js'
import { round } from './stats.js'
import type { OpenOptions, Subject } from './subjects/index.js'
import { Keys, type WorkloadId, workload } from './workloads.js'

/** Subjects of the growth suite: litepool, the baseline, and the two generic pools. */
export const GROWTH_SUBJECTS: readonly string[] = [
  'litepool-better-sqlite3',
  'raw-better-sqlite3',
  'generic-pool',
  'tarn',
]
/** Subjects whose pool size can vary (raw has one connection). */
const POOLED = new Set(['litepool-better-sqlite3', 'generic-pool', 'tarn'])
/** Callers of the pool-size sweep: enough that every connection could be busy. */
const POOL_SWEEP_CALLERS = 32

interface Point {
  readonly dimension: GrowthRow['dimension']
  readonly value: number
  readonly workload: WorkloadId
  readonly callers: number
  readonly tableRows: number
  readonly options: OpenOptions
}

function points(ctx: Pick<SuiteContext, 'settings'>): Point[] {
  const g = ctx.settings.growth
  const rows = ctx.settings.tableRows
  return [
    ...g.tableRows.flatMap((tableRows) =>
      (['point-select', 'insert'] as const).map((w) => ({
        dimension: 'table-rows' as const,
        value: tableRows,
        workload: w,
        callers: 1,
        tableRows,
        options: {},
      })),
    ),
    ...g.poolSizes.map((size) => ({
      dimension: 'pool-size' as const,
      value: size,
      workload: 'mixed' as const,
      callers: POOL_SWEEP_CALLERS,
      tableRows: rows,
      options: { poolSize: size },
    })),
    ...g.callers.map((callers) => ({
      dimension: 'callers' as const,
      value: callers,
      workload: 'point-select' as const,
      callers,
      tableRows: rows,
      options: {},
    })),
  ]
}

function subjectsAt(ctx: Pick<SuiteContext, 'subjects'>, point: Point): Subject[] {
  return ctx.subjects.filter(
    (s) => GROWTH_SUBJECTS.includes(s.id) && (point.dimension !== 'pool-size' || POOLED.has(s.id)),
  )
}

/** Steps this suite reports to the progress line. */
export function growthSteps(ctx: Pick<SuiteContext, 'subjects' | 'settings'>): number {
  return points(ctx).reduce((n, p) => n + subjectsAt(ctx, p).length, 0)
}

/**
 * How cost changes with table size (10k → 1M rows in full mode), pool size (litepool's
 * `readers.max`; the generic pools get as many connections plus one) and caller count.
 */
export async function runGrowth(ctx: SuiteContext): Promise<GrowthRow[]> {
  const rows: GrowthRow[] = []
  const keys = new Map<number, Keys>()
  for (const point of points(ctx)) {
    const k = keys.get(point.tableRows) ?? new Keys(point.tableRows)
    keys.set(point.tableRows, k)
    const w = workload(point.workload)
    for (const subject of subjectsAt(ctx, point)) {
      const where = `${point.dimension}=${point.value} ${point.workload} ×${point.callers}`
      ctx.progress.step(`growth ${where} ${subject.label}`)
      const file = ctx.fixtures.copy(point.tableRows, `growth-${subject.id}`)
      const log = { rows: 0 }
      try {
        const instance = await withTimeout(
          subject.open(file, point.options),
          STEP_TIMEOUT_MS,
          'open',
        )
        let opsPerSec = Number.NaN
        try {
          opsPerSec = (
            await measure(
              subject.id,
              w.op(instance, k, log),
              w.batch,
              point.callers,
              ctx.settings.growth.timing,
            )
          ).opsPerSec
        } finally {
          await instance.close()
        }
        const items = countRows(file).items
        if (items !== point.tableRows + log.rows) {
          throw new RangeError(
            `verification: ${items} rows in the file, expected ${point.tableRows + log.rows}`,
          )
        }
        rows.push({
          dimension: point.dimension,
          value: point.value,
          workload: point.workload,
          callers: point.callers,
          subject: subject.id,
          opsPerSec: round(opsPerSec),
        })
      } catch (error) {
        fileError(ctx, { suite: 'growth', subject, where }, error)
      } finally {
        ctx.fixtures.discard(file)
      }
    }
  }
  return rows
}
