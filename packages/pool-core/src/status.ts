import { now } from './clock.js'
import type { Role } from './driver.js'
import type { Lane } from './lane.js'

/** The pool's lifecycle state. */
export type PoolState = 'open' | 'closing' | 'closed'

/**
 * Which lane a connection belongs to: the `writer`, a main-thread `reader`, or a `worker`
 * (a reader hosted in a worker thread). Events and logs carry it as `role`.
 */
export type LaneRole = Role | 'worker'

/** What a connection is being used for, recorded when it is borrowed. */
export type Purpose = 'read' | 'write' | 'transaction' | 'acquire' | 'maintenance'

/** A snapshot of one lane of connections. */
export interface LaneStatus {
  /** Open connections (idle + in use). */
  readonly open: number
  readonly idle: number
  readonly inUse: number
  /** Connections being opened right now. */
  readonly opening: number
  /** Callers waiting for a connection of this lane. */
  readonly waiting: number
  readonly min: number
  readonly max: number
}

/** Who holds a connection, for how long and, with leak detection on, from where. */
export interface HolderStatus {
  readonly role: Role
  readonly purpose: Purpose
  /** Milliseconds since the connection was borrowed. */
  readonly heldForMs: number
  /** The borrower's stack; recorded only when `leakDetectionMs` is set. */
  readonly stack?: string
}

/**
 * A snapshot of the pool, returned by `pool.status()` and carried by `AcquireTimeoutError`.
 *
 * @example
 * ```ts
 * const { readers, writer, waiting } = pool.status()
 * console.log(`${readers.inUse}/${readers.max} readers busy, ${writer.queued} writes queued, ${waiting} waiting`)
 * ```
 */
export interface PoolStatus {
  readonly state: PoolState
  /** True once `close()` has finished. */
  readonly closed: boolean
  /** What the driver connects to (the database file). */
  readonly target: string
  readonly readers: LaneStatus
  /** Readers hosted in worker threads (all zero when the pool has none). */
  readonly workers: LaneStatus
  readonly writer: {
    readonly open: boolean
    readonly inUse: boolean
    /** Callers waiting for the writer lane. */
    readonly queued: number
    /** The current holder of the writer, when it is held. */
    readonly holder: HolderStatus | undefined
  }
  /** Every caller waiting for any connection. */
  readonly waiting: number
  /** The last failure to open a connection, if the most recent attempt failed. */
  readonly lastConnectError: string | undefined
}

/** One line for error messages: "writer held 1234 ms by transaction, 3 queued; readers 4/4 in use, 2 waiting". */
export function describeStatus(status: PoolStatus): string {
  const w = status.writer
  const writer = w.holder
    ? `writer held ${Math.round(w.holder.heldForMs)} ms by ${w.holder.purpose}, ${w.queued} queued`
    : `writer ${w.open ? 'idle' : 'not open'}, ${w.queued} queued`
  const r = status.readers
  const readers = `readers ${r.inUse} in use, ${r.idle} idle, ${r.opening} opening (max ${r.max}), ${r.waiting} waiting`
  const k = status.workers
  const workers =
    k.max === 0
      ? ''
      : `; worker readers ${k.inUse} in use, ${k.idle} idle, ${k.opening} opening (max ${k.max}), ${k.waiting} waiting`
  return `${writer}; ${readers}${workers}; ${status.waiting} waiting in total`
}

const NO_READERS: LaneStatus = {
  open: 0,
  idle: 0,
  inUse: 0,
  opening: 0,
  waiting: 0,
  min: 0,
  max: 0,
}

/** Builds the pool's status from its lanes (no reader lane for a private in-memory database). */
export function poolStatus<C, W>(
  state: PoolState,
  target: string,
  writer: Lane<C>,
  readerLane: Lane<C> | undefined,
  workerLane: Lane<W> | undefined,
): PoolStatus {
  const { open, idle, inUse, opening, waiting, min, max } = readerLane?.status() ?? NO_READERS
  const workers = laneStatus(workerLane)
  const holder = writer.holder()
  const lastError =
    writer.lastConnectError ?? readerLane?.lastConnectError ?? workerLane?.lastConnectError
  return {
    state,
    closed: state === 'closed',
    target,
    readers: { open, idle, inUse, opening, waiting, min, max },
    workers,
    writer: {
      open: writer.status().open > 0,
      inUse: holder !== undefined,
      queued: writer.waiting,
      holder:
        holder === undefined
          ? undefined
          : {
              role: 'writer',
              purpose: holder.purpose,
              heldForMs: now() - holder.borrowedAt,
              ...(holder.borrowStack === undefined ? {} : { stack: holder.borrowStack }),
            },
    },
    waiting: writer.waiting + waiting + workers.waiting,
    lastConnectError:
      lastError === undefined
        ? undefined
        : lastError instanceof Error
          ? lastError.message
          : String(lastError),
  }
}

/** A lane's plain status (zeros for a lane that does not exist). */
function laneStatus<C>(lane: Lane<C> | undefined): LaneStatus {
  if (lane === undefined) return NO_READERS
  const { open, idle, inUse, opening, waiting, min, max } = lane.status()
  return { open, idle, inUse, opening, waiting, min, max }
}
