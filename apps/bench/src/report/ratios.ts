import type { KyselyRow } from '../kysely.bench.js'
import type { BenchResult, ThroughputRow } from '../results.js'
import { median } from '../stats.js'
import type { WorkloadId } from '../workloads.js'

/** ops/s of one cell, or undefined when the subject has no result there. */
export function opsOf(
  rows: readonly ThroughputRow[],
  subject: string,
  workload: WorkloadId,
  callers: number,
): number | undefined {
  return rows.find((r) => r.subject === subject && r.workload === workload && r.callers === callers)
    ?.opsPerSec
}

/** Where the throughput suite files a cell (`point-select ×32`), as used in busy/failure records. */
export function cellWhere(workload: WorkloadId, callers: number): string {
  return `${workload} ×${callers}`
}

/** What to show for a cell without a figure: BUSY for a peer that failed so, FAIL otherwise, – when not run. */
export function missingCell(
  result: Pick<BenchResult, 'busy' | 'failures'>,
  subject: string,
  workload: WorkloadId,
  callers: number,
): string {
  const where = cellWhere(workload, callers)
  const match = (f: { suite: string; subject: string; where: string }) =>
    f.suite === 'throughput' && f.subject === subject && f.where.startsWith(where)
  if (result.busy.some(match)) return 'BUSY'
  if (result.failures.some(match)) return 'FAIL'
  return '–'
}

/** Subjects with anything to show for a workload: a figure, a BUSY or a failure. */
export function subjectsIn(
  result: Pick<BenchResult, 'subjects' | 'throughput' | 'busy' | 'failures'>,
  workload: WorkloadId,
): BenchResult['subjects'] {
  const touched = (f: { suite: string; subject: string; where: string }, id: string) =>
    f.suite === 'throughput' && f.subject === id && f.where.startsWith(`${workload} `)
  return result.subjects.filter(
    (s) =>
      result.throughput.some((r) => r.subject === s.id && r.workload === workload) ||
      result.busy.some((f) => touched(f, s.id)) ||
      result.failures.some((f) => touched(f, s.id)),
  )
}

/**
 * `subject` ops/s ÷ `against` ops/s in the same cell; undefined when either is missing. When both
 * ran the same rounds (interleaved, so round i of each ran side by side), it is the median of the
 * per-round ratios: drift of the machine between rounds then cancels out.
 */
export function ratio(
  rows: readonly ThroughputRow[],
  subject: string,
  against: string,
  workload: WorkloadId,
  callers: number,
): number | undefined {
  const find = (id: string) =>
    rows.find((r) => r.subject === id && r.workload === workload && r.callers === callers)
  const a = find(subject)
  const b = find(against)
  if (a === undefined || b === undefined || b.opsPerSec === 0) return undefined
  if (a.rounds.length > 1 && a.rounds.length === b.rounds.length && b.rounds.every((v) => v > 0)) {
    return median(a.rounds.map((v, i) => v / b.rounds[i]!))
  }
  return a.opsPerSec / b.opsPerSec
}

/** A headline comparison, with the target it is held to when there is one. */
export interface Headline {
  readonly label: string
  readonly subject: string
  readonly against: string
  /** The ratio the issue asks for (≥, or > when `strict`); undefined = reported without a target. */
  readonly target: number | undefined
  readonly strict: boolean
  readonly ratio: number | undefined
  /** undefined when there is no target or no figure. */
  readonly met: boolean | undefined
}

interface HeadlineSpec {
  readonly label: string
  readonly subject: string
  readonly against: string
  readonly workload: WorkloadId
  readonly callers: number
  readonly target?: number
}

const LP = 'litepool-better-sqlite3'
const LPN = 'litepool-node-sqlite'
const RAW = 'raw-better-sqlite3'

/** The comparisons issue #4 names, plus the same view for the other driver and the peers. */
export const HEADLINES: readonly HeadlineSpec[] = [
  {
    label: 'pool.read(get) vs raw stmt.get',
    subject: LP,
    against: RAW,
    workload: 'point-select',
    callers: 1,
    target: 0.85,
  },
  {
    label: 'pool.write(insert) vs raw autocommit insert',
    subject: LP,
    against: RAW,
    workload: 'insert',
    callers: 1,
    target: 0.9,
  },
  {
    label: 'pool.write(insert) vs raw insert without auto-checkpoint',
    subject: LP,
    against: 'raw-better-sqlite3-no-autocheckpoint',
    workload: 'insert',
    callers: 1,
  },
  {
    label: 'generic-pool get vs raw stmt.get',
    subject: 'generic-pool',
    against: RAW,
    workload: 'point-select',
    callers: 1,
  },
  {
    label: 'tarn get vs raw stmt.get',
    subject: 'tarn',
    against: RAW,
    workload: 'point-select',
    callers: 1,
  },
  {
    label: 'pool.read vs generic-pool (point select)',
    subject: LP,
    against: 'generic-pool',
    workload: 'point-select',
    callers: 1,
  },
  {
    label: 'pool.read vs tarn (point select)',
    subject: LP,
    against: 'tarn',
    workload: 'point-select',
    callers: 1,
  },
  {
    label: 'node:sqlite driver: pool.read vs raw',
    subject: LPN,
    against: 'raw-node-sqlite',
    workload: 'point-select',
    callers: 1,
  },
  {
    label: 'node:sqlite driver: pool.write vs raw insert',
    subject: LPN,
    against: 'raw-node-sqlite',
    workload: 'insert',
    callers: 1,
  },
  {
    label: 'mixed 90/10, 32 callers: litepool vs raw',
    subject: LP,
    against: RAW,
    workload: 'mixed',
    callers: 32,
  },
  {
    label: 'mixed 90/10, 32 callers: litepool vs generic-pool',
    subject: LP,
    against: 'generic-pool',
    workload: 'mixed',
    callers: 32,
  },
  {
    label: 'mixed 90/10, 32 callers: litepool vs tarn',
    subject: LP,
    against: 'tarn',
    workload: 'mixed',
    callers: 32,
  },
]

/** The comparisons issue #7 names for the Kysely dialect. */
const KYSELY_HEADLINES: readonly {
  readonly label: string
  readonly scenario?: KyselyRow['scenario']
  readonly target: number
  readonly strict: boolean
}[] = [
  {
    label: 'Kysely, 1 caller: LitepoolDialect vs SqliteDialect select',
    target: 0.9,
    strict: false,
  },
  {
    label: 'Kysely, 8 callers + slow stream(): LitepoolDialect vs SqliteDialect',
    scenario: 'stream',
    target: 1,
    strict: true,
  },
  {
    label: 'Kysely, 8 callers + slow read transaction: LitepoolDialect vs SqliteDialect',
    scenario: 'snapshot',
    target: 1,
    strict: true,
  },
]

/** Fast-caller ops/s of `kysely-litepool` ÷ `kysely` in a Kysely-suite scenario (paired rounds). */
export function kyselyRatio(
  rows: readonly KyselyRow[],
  scenario: KyselyRow['scenario'],
): number | undefined {
  const a = rows.find((r) => r.scenario === scenario && r.subject === 'kysely-litepool')
  const b = rows.find((r) => r.scenario === scenario && r.subject === 'kysely')
  if (a === undefined || b === undefined || b.opsPerSec === 0) return undefined
  if (a.rounds.length > 1 && a.rounds.length === b.rounds.length && b.rounds.every((v) => v > 0)) {
    return median(a.rounds.map((v, i) => v / b.rounds[i]!))
  }
  return a.opsPerSec / b.opsPerSec
}

function judge(
  r: number | undefined,
  target: number | undefined,
  strict: boolean,
): boolean | undefined {
  if (target === undefined || r === undefined) return undefined
  return strict ? r > target : r >= target
}

/** The headline comparisons computed from a run (issue #4's, then issue #7's when present). */
export function headlines(result: Pick<BenchResult, 'throughput' | 'kysely'>): Headline[] {
  const rows = result.throughput
  const pool = HEADLINES.map((spec): Headline => {
    const r = ratio(rows, spec.subject, spec.against, spec.workload, spec.callers)
    return {
      label: spec.label,
      subject: spec.subject,
      against: spec.against,
      target: spec.target,
      strict: false,
      ratio: r,
      met: judge(r, spec.target, false),
    }
  })
  const kysely = KYSELY_HEADLINES.map((spec): Headline => {
    const r =
      spec.scenario === undefined
        ? ratio(rows, 'kysely-litepool', 'kysely', 'point-select', 1)
        : kyselyRatio(result.kysely ?? [], spec.scenario)
    return {
      label: spec.label,
      subject: 'kysely-litepool',
      against: 'kysely',
      target: spec.target,
      strict: spec.strict,
      ratio: r,
      met: judge(r, spec.target, spec.strict),
    }
  }).filter((h) => h.ratio !== undefined)
  return [...pool, ...kysely]
}

/** "≥ 0.85×" or "> 1.00×". */
export function formatTarget(h: Pick<Headline, 'target' | 'strict'>): string {
  return h.target === undefined ? '' : `${h.strict ? '>' : '≥'} ${h.target.toFixed(2)}×`
}
