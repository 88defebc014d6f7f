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

/** One operation of a workload, in the two shapes a subject can need. */
export interface Op {
  /** Present for sync subjects: the operation without a promise (the raw baseline). */
  readonly sync: ((i: number) => void) | undefined
  readonly async: (i: number) => Promise<void>
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
        sync: instance.sync
          ? (i) => {
              const id = point[i & MASK]!
              checkPoint(instance.pointSelect(id) as Item | undefined, id)
            }
          : undefined,
        async: async (i) => {
          const id = point[i & MASK]!
          checkPoint(await instance.pointSelect(id), id)
        },
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
        sync: instance.sync
          ? (i) => {
              const from = range[i & MASK]!
              checkRange(instance.rangeSelect(from, RANGE_ROWS) as readonly Item[], from)
            }
          : undefined,
        async: async (i) => {
          const from = range[i & MASK]!
          checkRange(await instance.rangeSelect(from, RANGE_ROWS), from)
        },
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
        sync: instance.sync
          ? (i) => {
              instance.insert(items[i & 1023]!)
              log.rows++
            }
          : undefined,
        async: async (i) => {
          await instance.insert(items[i & 1023]!)
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
        sync: instance.sync
          ? (i) => {
              instance.insertBatch(batches[i & 7]!)
              log.rows += BATCH_ROWS
            }
          : undefined,
        async: async (i) => {
          await instance.insertBatch(batches[i & 7]!)
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
      return {
        sync: instance.sync
          ? (i) => {
              if (i % 10 === 9) {
                instance.insert(items[i & 1023]!)
                log.rows++
              } else {
                const id = point[i & MASK]!
                checkPoint(instance.pointSelect(id) as Item | undefined, id)
              }
            }
          : undefined,
        async: async (i) => {
          if (i % 10 === 9) {
            await instance.insert(items[i & 1023]!)
            log.rows++
          } else {
            const id = point[i & MASK]!
            checkPoint(await instance.pointSelect(id), id)
          }
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
