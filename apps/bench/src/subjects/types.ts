import type { Item, NewItem } from '../model.js'

/** A value, or a promise of it (sync subjects answer directly). */
export type MaybePromise<T> = T | Promise<T>

/** What a subject is, for the reports: every figure in the JSON carries this. */
export interface SubjectInfo {
  /** Stable key, e.g. `litepool-better-sqlite3`. */
  readonly id: string
  /** Human label for tables and charts. */
  readonly label: string
  /** `litepool`, a `raw` driver, a generic `pool`, or a query `builder` on a driver. */
  readonly family: 'litepool' | 'raw' | 'pool' | 'builder'
  /** The SQLite binding underneath, with its version. */
  readonly driver: string
  /** How it is configured: pragmas, pool sizes, transaction mode — stated, so nobody has to guess. */
  readonly config: Readonly<Record<string, string | number | boolean>>
}

/** Options of {@link Subject.open}. */
export interface OpenOptions {
  /** Connections for pools (litepool: `readers.max`); ignored by single-connection subjects. */
  readonly poolSize?: number
  /** `busy_timeout` in ms for subjects that leave lock waits to SQLite (contention suite). */
  readonly busyTimeoutMs?: number
  /**
   * Contention suite: start hand-written transactions with `BEGIN IMMEDIATE` instead of `BEGIN`
   * (subjects that write them by hand around a sync driver; others ignore it).
   */
  readonly beginImmediate?: boolean
}

/** One concurrent worker of the contention suite. */
export interface ContentionWorker {
  /**
   * One read-modify-write transaction spanning an `await`: read the counter, `await work()`, write
   * counter + 1 and insert an event — the shape of real code that calls something async mid-way.
   */
  increment(work: () => Promise<void>, worker: number): Promise<void>
  /** One point select. */
  read(id: number): Promise<Item | undefined>
  /** Releases what this worker holds (connection-per-worker subjects close it). */
  close(): Promise<void>
}

/** An open subject on one database file. */
export interface Instance {
  /** True when the operations below return values rather than promises (raw sync drivers). */
  readonly sync: boolean
  pointSelect(id: number): MaybePromise<Item | undefined>
  /** Rows with `from <= id < from + count`, in id order. */
  rangeSelect(from: number, count: number): MaybePromise<readonly Item[]>
  /** One single-row insert, as the subject's users would write it (autocommit where possible). */
  insert(item: NewItem): MaybePromise<unknown>
  /** Every row in one transaction. */
  insertBatch(items: readonly NewItem[]): MaybePromise<unknown>
  /** A handle for one worker of the contention suite. */
  worker(): Promise<ContentionWorker>
  /** Closes everything (pools drain first). */
  close(): Promise<void>
}

/** Something the bench measures: litepool, a raw driver, or a tool people use instead. */
export interface Subject extends SubjectInfo {
  open(filename: string, options?: OpenOptions): Promise<Instance>
}

/** True for SQLite's "busy"/"locked" failures, whatever library wrapped them. */
export function isBusy(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown }
    if (typeof code === 'string' && /SQLITE_(BUSY|LOCKED)|LITEPOOL_LOCK_TIMEOUT/.test(code))
      return true
    if (typeof message === 'string' && /database is locked|SQLITE_BUSY/i.test(message)) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
