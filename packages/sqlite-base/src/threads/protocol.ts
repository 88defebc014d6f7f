/**
 * The messages between a worker-hosted connection (`worker.ts`) and its main-thread handle
 * (`worker-connection.ts`), and how errors cross the thread boundary. Rows and parameters travel
 * by structured clone (numbers, bigints, strings, `Uint8Array`, null).
 */
import { DatabaseError, type DatabaseErrorKind, PoolError } from '@litepool/pool-core'
import type { SqliteParams } from '../adapter.js'
import type { ResolvedSqliteOptions } from '../options.js'
import type { CheckpointMode } from '../sql.js'

/**
 * Where a worker finds the driver's native adapter: a module it can `import()` (the driver
 * package's built entry), the name of the factory it exports, and that factory's argument
 * (structured-cloneable: a path, a backend name).
 *
 * @example
 * ```ts
 * const spec: WorkerAdapterSpec = { module: 'file:///app/node_modules/my-driver/dist/index.mjs', export: 'myAdapter', options: {}, terminable: true }
 * ```
 */
export interface WorkerAdapterSpec {
  readonly module: string
  readonly export: string
  readonly options?: unknown
  /**
   * Whether a worker thread may be ended while the binding runs a statement in it. True for
   * better-sqlite3 and Node's built-in node:sqlite. False for the `@photostructure/sqlite` shim
   * 1.2: ending its thread mid-statement (or exiting the process then) aborts the whole process
   * ("terminate called after throwing an instance of 'Napi::Error'"), so litepool lets its
   * statement finish before ending the thread.
   */
  readonly terminable: boolean
}

/** What a worker thread is started with (`workerData`). */
export interface WorkerStart {
  readonly adapter: WorkerAdapterSpec
  readonly options: ResolvedSqliteOptions
}

/** Rows a worker sends per message: `all` and `iterate` results arrive in chunks this size at most. */
export const ROWS_PER_MESSAGE = 256

export type Request =
  | {
      readonly id: number
      readonly op: 'get' | 'all' | 'run'
      readonly sql: string
      readonly params: SqliteParams | undefined
    }
  | { readonly id: number; readonly op: 'exec'; readonly sql: string }
  | {
      readonly id: number
      readonly op: 'iterate'
      readonly sql: string
      readonly params: SqliteParams | undefined
      readonly chunkSize: number
    }
  | {
      readonly id: number
      readonly op: 'next'
      readonly cursor: number
      readonly chunkSize: number
    }
  | { readonly id: number; readonly op: 'end'; readonly cursor: number }
  | { readonly id: number; readonly op: 'checkpoint'; readonly mode: CheckpointMode }
  | { readonly id: number; readonly op: 'ping' | 'reset' | 'close' }

/** A chunk of rows for the request that is still running (`all`). */
export interface RowsMessage {
  readonly id: number
  readonly rows: unknown[]
}

export type Reply =
  | { readonly id: number; readonly ok: true; readonly value: unknown }
  | { readonly id: number; readonly ok: false; readonly error: WireError }

/** The first message of a worker: its connection is open, or opening failed. */
export type StartMessage =
  | { readonly started: true }
  | { readonly started: false; readonly error: WireError }

/** One chunk of an iteration: its rows, and whether the statement has no more. */
export interface Chunk {
  readonly cursor: number
  readonly rows: unknown[]
  readonly done: boolean
}

/** An error as it crosses the thread boundary. */
export interface WireError {
  readonly message: string
  readonly code: string
  readonly kind?: DatabaseErrorKind
  readonly driverCode?: string
  readonly errno?: number
}

/** Flattens an error for `postMessage`: a `DatabaseError` keeps its kind and codes. */
export function toWire(error: unknown): WireError {
  if (error instanceof DatabaseError) {
    return {
      message: error.message,
      code: error.code,
      kind: error.kind,
      driverCode: error.driverCode,
      ...(error.errno === undefined ? {} : { errno: error.errno }),
    }
  }
  if (error instanceof PoolError) return { message: error.message, code: error.code }
  return {
    message: error instanceof Error ? error.message : String(error),
    code: 'LITEPOOL_ERROR',
  }
}

/** Rebuilds a thread-crossing error on the main thread, as the same kind of litepool error. */
export function fromWire(wire: WireError): PoolError {
  if (wire.kind !== undefined) {
    return new DatabaseError(wire.message, {
      kind: wire.kind,
      driverCode: wire.driverCode ?? 'Error',
      ...(wire.errno === undefined ? {} : { errno: wire.errno }),
    })
  }
  return new PoolError(wire.message, { code: wire.code })
}
