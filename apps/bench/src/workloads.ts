import { BATCH_ROWS, type Item, makeItem, type NewItem, prng, RANGE_ROWS } from './model.js'
import type { Instance } from './subjects/index.js'

/** The throughput suite's workloads. */
export type WorkloadId = 'point-select' | 'range-select' | 'insert' | 'batch-insert' | 'mixed'

/** Thrown when a subject returns something other than what was asked for. */
export class VerificationError extends Error {
  override readonly name = 'VerificationError'
}

const KEY_COUNT = 1 << 16
const MASK = KEY_COUNT - 1

/** Pre-computed keys and rows, the same sequence for every subject. */
export class Keys {
  readonly point: Int32Array
  readonly range: Int32Array
  readonly items: readonly NewItem[]
  readonly batches: readonly (readonly NewItem[])[]

  constructor(tableRows: number) {
    const random = prng(0x5eed)
    this.point = Int32Array.from({ length: KEY_COUNT }, () => 1 + Math.floor(random() * tableRows))
    this.range = Int32Array.from(
      { length: KEY_COUNT },
      () => 1 + Math.floor(random() * (tableRows - RANGE_ROWS)),
    )
    this.items = Array.from({ length: 1024 }, (_, i) => makeItem(tableRows + i + 1, random))
    this.batches = Array.from({ length: 8 }, (_, b) =>
      Array.from({ length: BATCH_ROWS }, (_, i) => this.items[(b * BATCH_ROWS + i) & 1023]!),
    )
  }
}

/** Counts what an instance wrote, so the file can be checked afterwards. */
export interface WriteLog {
  rows: number
}

/**
 * One operation of a workload. `call` runs it — returning the value itself on a sync subject, a
 * promise on an async one — and `check` verifies the result and counts what it wrote. The timing
 * loop runs `check(i, await call(i))` (sync subjects at one caller: without the await), so a
 * sample costs the subject's call and its own promise, and no wrapper of the harness.
 */
export interface Op {
  /** True when `call` returns the value itself (the raw baseline runs as a plain loop). */
  readonly sync: boolean
  readonly call: (i: number) => unknown
  /** Throws {@link VerificationError} when the result of operation `i` is wrong. */
  readonly check: (i: number, result: unknown) => void
}

function checkPoint(row: Item | undefined, id: number): void {
  if (row?.id !== id) {
    throw new VerificationError(`point select of id ${id} returned ${JSON.stringify(row?.id)}`)
  }
}

function checkRange(rows: readonly Item[], from: number): void {
  if (
    rows.length !== RANGE_ROWS ||
    rows[0]?.id !== from ||
    rows[RANGE_ROWS - 1]?.id !== from + RANGE_ROWS - 1
  ) {
    throw new VerificationError(
      `range select from ${from} returned ${rows.length} rows (${rows[0]?.id}…${rows.at(-1)?.id})`,
    )
  }
}

/** A workload: what one operation is, and how many operations one timed sample runs. */
export interface Workload {
  readonly id: WorkloadId
  readonly label: string
  readonly description: string
  /** Operations per timed sample (at least the caller count). */
  readonly batch: number
  op(instance: Instance, keys: Keys, log: WriteLog): Op
}

export const WORKLOADS: readonly Workload[] = [
  {
    id: 'point-select',
    label: 'point select',
    description: 'select * from items where id = ? (random id, 100k-row table); checks the id',
    batch: 512,
    op(instance, keys) {
      const { point } = keys
      return {
        sync: instance.sync,
        call: (i) => instance.pointSelect(point[i & MASK]!),
        check: (i, row) => checkPoint(row as Item | undefined, point[i & MASK]!),
      }
    },
  },
  {
    id: 'range-select',
    label: 'range select',
    description: `${RANGE_ROWS} consecutive rows by primary key range; checks count and bounds`,
    batch: 128,
    op(instance, keys) {
      const { range } = keys
      return {
        sync: instance.sync,
        call: (i) => instance.rangeSelect(range[i & MASK]!, RANGE_ROWS),
        check: (i, rows) => checkRange(rows as readonly Item[], range[i & MASK]!),
      }
    },
  },
  {
    id: 'insert',
    label: 'single insert',
    description:
      'one-row insert (raw/pools: autocommit; litepool: pool.write = BEGIN IMMEDIATE … COMMIT)',
    batch: 128,
    op(instance, keys, log) {
      const { items } = keys
      return {
        sync: instance.sync,
        call: (i) => instance.insert(items[i & 1023]!),
        check: () => {
          log.rows++
        },
      }
    },
  },
  {
    id: 'batch-insert',
    label: `batch insert (${BATCH_ROWS} rows / tx)`,
    description: `${BATCH_ROWS} single-row inserts in one transaction`,
    batch: 8,
    op(instance, keys, log) {
      const { batches } = keys
      return {
        sync: instance.sync,
        call: (i) => instance.insertBatch(batches[i & 7]!),
        check: () => {
          log.rows += BATCH_ROWS
        },
      }
    },
  },
  {
    id: 'mixed',
    label: 'mixed 90/10',
    description: '9 point selects to 1 single-row insert',
    batch: 256,
    op(instance, keys, log) {
      const { point, items } = keys
      const isWrite = (i: number) => i % 10 === 9
      return {
        sync: instance.sync,
        call: (i) =>
          isWrite(i) ? instance.insert(items[i & 1023]!) : instance.pointSelect(point[i & MASK]!),
        check: (i, row) => {
          if (isWrite(i)) log.rows++
          else checkPoint(row as Item | undefined, point[i & MASK]!)
        },
      }
    },
  },
]

/** Looks a workload up by id. */
export function workload(id: WorkloadId): Workload {
  const found = WORKLOADS.find((w) => w.id === id)
  if (found === undefined) throw new RangeError(`unknown workload ${id}`)
  return found
}
