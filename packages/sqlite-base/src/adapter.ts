import type { Role } from '@litepool/pool-core'

/**
 * A value SQLite can bind or return. Blobs come back as `Uint8Array` (a `Buffer` on better-sqlite3).
 *
 * @example
 * ```ts
 * const values: SqliteValue[] = [1, 2n, 'text', new Uint8Array([1]), null]
 * ```
 */
export type SqliteValue = number | bigint | string | Uint8Array | null

/**
 * Statement parameters: positional (`?`) as an array, or named (`:name`, `@name`, `$name`) as an object.
 *
 * @example
 * ```ts
 * c.get('select ? as a', [1])            // positional
 * c.get('select :a as a', { a: 1 })       // named, bare keys
 * ```
 */
export type SqliteParams = readonly SqliteValue[] | Readonly<Record<string, SqliteValue>>

/**
 * What `run` reports. `lastInsertRowid` is a `bigint` when the driver has `safeIntegers`.
 *
 * @example
 * ```ts
 * const { changes, lastInsertRowid }: RunResult = c.run('delete from t where done')
 * ```
 */
export interface RunResult {
  readonly changes: number
  readonly lastInsertRowid: number | bigint
}

/**
 * The internal "native adapter" a driver package implements: the slice of a native SQLite binding
 * that sqlite-base needs, with the binding's quirks already papered over (parameters as one
 * argument, plain-object rows, `get`/`all` allowed on statements that return no rows).
 * {@link createSqliteDriver} builds the whole pool driver from it.
 *
 * @example
 * ```ts
 * const adapter: NativeAdapter<MyDb> = {
 *   name: 'my-sqlite',
 *   open: (filename, o) => wrap(new MyDb(filename, { readonly: o.readonly })),
 * }
 * ```
 */
export interface NativeAdapter<Raw> {
  /** Driver name for logs and errors, e.g. `better-sqlite3`. */
  readonly name: string
  /** Opens one native handle. May load the binding lazily (first call). */
  open(
    filename: string,
    options: NativeOpenOptions,
  ): NativeDatabase<Raw> | Promise<NativeDatabase<Raw>>
}

/**
 * How {@link NativeAdapter.open} should open a handle.
 *
 * @example
 * ```ts
 * adapter.open('/data/app.db', { role: 'reader', readonly: false, safeIntegers: false, busyTimeoutMs: 5 })
 * ```
 */
export interface NativeOpenOptions {
  readonly role: Role
  readonly readonly: boolean
  readonly safeIntegers: boolean
  readonly busyTimeoutMs: number
}

/**
 * One open native handle.
 *
 * @example
 * ```ts
 * const db: NativeDatabase<MyDb> = { raw, get inTransaction() { return raw.inTx }, prepare, exec, close }
 * ```
 */
export interface NativeDatabase<Raw> {
  /** The binding's own database object (exposed to users as `connection.raw`). */
  readonly raw: Raw
  /** True while a transaction is open (SQLite's autocommit is off). */
  readonly inTransaction: boolean
  /** Prepares one statement; integers read as bigint when the adapter was opened with `safeIntegers`. */
  prepare(sql: string): NativeStatement
  /** Runs zero or more `;`-separated statements. */
  exec(sql: string): void
  /** Closes the handle. Every statement prepared on it was dropped by the caller first. */
  close(): void | Promise<void>
}

/**
 * One prepared statement; `params` is passed through as given (`undefined` when absent).
 *
 * @example
 * ```ts
 * const row = statement.get([1]) // a plain object or undefined
 * ```
 */
export interface NativeStatement {
  run(params: SqliteParams | undefined): RunResult
  get(params: SqliteParams | undefined): unknown
  all(params: SqliteParams | undefined): unknown[]
  /** Rows one by one; `return()` must reset the statement (and release its read snapshot). */
  iterate(params: SqliteParams | undefined): Iterator<unknown>
}
