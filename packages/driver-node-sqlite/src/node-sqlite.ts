import { isBuiltin } from 'node:module'
import { type ConfigIssue, ConnectionHealthError } from '@litepool/pool-core'
import {
  createSqliteDriver,
  describeValue,
  type NativeAdapter,
  type NativeDatabase,
  type NativeOpenOptions,
  type NativeStatement,
  type RunResult,
  reclaimZombieHandles,
  type SqliteDriver,
  type SqliteDriverOptions,
  type SqliteParams,
} from '@litepool/sqlite-base'

// The slice of node:sqlite (and of @photostructure/sqlite, which copies its API) this adapter uses.

/**
 * The part of `DatabaseSync` litepool uses; `connection.raw` has this type.
 *
 * @example
 * ```ts
 * await pool.read((c) => (c.raw as NodeSqliteDatabase).isTransaction)
 * ```
 */
export interface NodeSqliteDatabase {
  readonly isTransaction: boolean
  prepare(sql: string): NodeSqliteStatement
  exec(sql: string): void
  close(): void
}

/**
 * The part of `StatementSync` litepool uses.
 *
 * @example
 * ```ts
 * const statement: NodeSqliteStatement = connection.raw.prepare('select 1')
 * ```
 */
export interface NodeSqliteStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint }
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  iterate(...params: unknown[]): Iterator<unknown>
  setReadBigInts(enabled: boolean): void
  setAllowUnknownNamedParameters?(enabled: boolean): void
}

type DatabaseSyncConstructor = new (
  path: string,
  options: { readOnly: boolean; timeout: number; enableForeignKeyConstraints: boolean },
) => NodeSqliteDatabase

/**
 * Which SQLite binding runs: Node's built-in module, or the shim for Node versions without it.
 *
 * @example
 * ```ts
 * const backend: NodeSqliteBackend = nodeSqlite({ filename: 'app.db' }).backend
 * ```
 */
export type NodeSqliteBackend = 'node:sqlite' | '@photostructure/sqlite'

/**
 * Options of {@link nodeSqlite}: every {@link SqliteDriverOptions} field plus `backend`.
 *
 * @example
 * ```ts
 * const options: NodeSqliteOptions = { filename: 'app.db', backend: 'auto' }
 * ```
 */
export interface NodeSqliteOptions extends SqliteDriverOptions {
  /** `auto` (default): node:sqlite when this Node has it, else `@photostructure/sqlite`. */
  readonly backend?: 'auto' | NodeSqliteBackend
}

/**
 * The node-sqlite driver: a SQLite driver that also says which backend it runs on.
 *
 * @example
 * ```ts
 * const driver: NodeSqliteDriver = nodeSqlite({ filename: 'app.db' })
 * console.log(driver.backend) // 'node:sqlite' on Node 24, '@photostructure/sqlite' on Node 20
 * ```
 */
export interface NodeSqliteDriver extends SqliteDriver<NodeSqliteDatabase> {
  /** The backend in use (before the first open: the one that will be tried first). */
  readonly backend: NodeSqliteBackend
}

const SHIM = '@photostructure/sqlite'

/** Rows come back with a null prototype; litepool hands out plain objects on every driver. */
function plain(row: unknown): unknown {
  if (row === undefined) return undefined
  const out: Record<string, unknown> = {}
  for (const key in row as Record<string, unknown>) out[key] = (row as Record<string, unknown>)[key]
  return out
}

/**
 * node:sqlite takes `(named?, ...positional)`: a first argument that is an object (other than a
 * typed array) is read as named parameters. A positional array starting with such a value (a
 * Date, by mistake) gets an empty named object in front so the value is refused, not bound as NULL.
 */
const NO_NAMED = Object.freeze({})
const ambiguous = (params: readonly unknown[]) => {
  const first = params[0]
  return typeof first === 'object' && first !== null && !ArrayBuffer.isView(first)
}

type Method = (this: NodeSqliteStatement, ...args: unknown[]) => unknown
function call(s: NodeSqliteStatement, method: Method, params: SqliteParams | undefined): unknown {
  if (params === undefined) return method.call(s)
  if (!Array.isArray(params)) return method.call(s, params)
  return ambiguous(params) ? method.call(s, NO_NAMED, ...params) : method.call(s, ...params)
}

/** node:sqlite wants positional parameters spread; named ones come as one object. */
class Statement implements NativeStatement {
  private readonly s: NodeSqliteStatement
  private readonly safeIntegers: boolean

  constructor(statement: NodeSqliteStatement, safeIntegers: boolean) {
    this.s = statement
    this.safeIntegers = safeIntegers
    if (safeIntegers) statement.setReadBigInts(true)
    // better-sqlite3 ignores unused keys of a named-parameter object; node:sqlite throws by default.
    statement.setAllowUnknownNamedParameters?.(true)
  }

  run(params: SqliteParams | undefined): RunResult {
    const r = call(this.s, this.s.run, params) as RunResult
    // With readBigInts node:sqlite reports `changes` as bigint too; better-sqlite3 keeps a number.
    return this.safeIntegers
      ? { changes: Number(r.changes), lastInsertRowid: r.lastInsertRowid }
      : r
  }

  get(params: SqliteParams | undefined): unknown {
    const s = this.s
    if (params === undefined) return plain(s.get())
    if (!Array.isArray(params)) return plain(s.get(params))
    return plain(ambiguous(params) ? s.get(NO_NAMED, ...params) : s.get(...params))
  }

  all(params: SqliteParams | undefined): unknown[] {
    const rows = call(this.s, this.s.all, params) as unknown[]
    for (let i = 0; i < rows.length; i++) rows[i] = plain(rows[i])
    return rows
  }

  iterate(params: SqliteParams | undefined): Iterator<unknown> {
    const it = call(this.s, this.s.iterate, params) as Iterator<unknown>
    return {
      next: () => {
        const step = it.next()
        return step.done === true ? step : { done: false, value: plain(step.value) }
      },
      return: () => it.return?.() ?? { done: true, value: undefined },
    }
  }
}

class Database implements NativeDatabase<NodeSqliteDatabase> {
  readonly raw: NodeSqliteDatabase
  private readonly backend: NodeSqliteBackend
  private readonly safeIntegers: boolean

  constructor(raw: NodeSqliteDatabase, backend: NodeSqliteBackend, safeIntegers: boolean) {
    this.raw = raw
    this.backend = backend
    this.safeIntegers = safeIntegers
  }

  get inTransaction(): boolean {
    return this.raw.isTransaction
  }

  prepare(sql: string): NativeStatement {
    return new Statement(this.raw.prepare(sql), this.safeIntegers)
  }

  exec(sql: string): void {
    this.raw.exec(sql)
  }

  close(): void | Promise<void> {
    this.raw.close() // node:sqlite finalizes its statements here; the shim does not
    return this.backend === SHIM ? reclaimZombieHandles() : undefined
  }
}

/** The backend `auto` picks, decided without loading anything. */
function predictBackend(choice: 'auto' | NodeSqliteBackend): NodeSqliteBackend {
  if (choice !== 'auto') return choice
  return typeof process.getBuiltinModule === 'function' && isBuiltin('node:sqlite')
    ? 'node:sqlite'
    : SHIM
}

async function loadBackend(
  choice: 'auto' | NodeSqliteBackend,
): Promise<{ backend: NodeSqliteBackend; DatabaseSync: DatabaseSyncConstructor }> {
  if (choice !== SHIM) {
    const builtin =
      typeof process.getBuiltinModule === 'function'
        ? (process.getBuiltinModule('node:sqlite') as { DatabaseSync?: unknown } | undefined)
        : undefined
    if (builtin?.DatabaseSync !== undefined) {
      return {
        backend: 'node:sqlite',
        DatabaseSync: builtin.DatabaseSync as DatabaseSyncConstructor,
      }
    }
    if (choice === 'node:sqlite') {
      throw new ConnectionHealthError(
        `node:sqlite is not available in Node ${process.version} (it needs Node 22.13+, 23.4+ or 24); use backend 'auto' to fall back to ${SHIM}`,
      )
    }
  }
  try {
    const shim = (await import(SHIM)) as { DatabaseSync: DatabaseSyncConstructor }
    return { backend: SHIM, DatabaseSync: shim.DatabaseSync }
  } catch (error) {
    throw new ConnectionHealthError(
      `Node ${process.version} has no node:sqlite and ${SHIM} could not be loaded: install it (npm i ${SHIM}) or run Node 22.13+`,
      { cause: error },
    )
  }
}

/** This package's built entry, which a worker thread imports (from src/ too: coverage runs). */
const BUILT_ENTRY = new URL('../dist/index.mjs', import.meta.url).href

/**
 * The native adapter of this driver, and the backend it runs on (before the first open: the one
 * it will try first). Exported for the worker threads that host reader connections: each one
 * imports this package and builds its own adapter, on the same backend choice.
 *
 * @example
 * ```ts
 * const adapter = nodeSqliteAdapter({ backend: 'auto' })
 * ```
 */
export function nodeSqliteAdapter(options: {
  readonly backend: 'auto' | NodeSqliteBackend
}): NativeAdapter<NodeSqliteDatabase> & { readonly backend: NodeSqliteBackend } {
  const choice = options.backend
  let backend = predictBackend(choice)
  let loaded: ReturnType<typeof loadBackend> | undefined
  return {
    get name() {
      return `node-sqlite (${backend})`
    },
    get backend() {
      return backend
    },
    async open(filename: string, o: NativeOpenOptions) {
      loaded ??= loadBackend(choice).catch((error: unknown) => {
        loaded = undefined
        throw error
      })
      const { backend: used, DatabaseSync } = await loaded
      backend = used
      const db = new DatabaseSync(filename, {
        readOnly: o.readonly,
        timeout: o.busyTimeoutMs,
        enableForeignKeyConstraints: true,
      })
      return new Database(db, used, o.safeIntegers)
    },
  }
}

/**
 * A litepool driver over Node's built-in `node:sqlite`, or, on Node versions without it, the
 * [`@photostructure/sqlite`](https://github.com/photostructure/node-sqlite) shim (an optional
 * dependency with the same API). The module loads on the first `open`; `driver.backend` says which
 * one runs. Both drivers behave the same through litepool: plain-object rows, parameters as one
 * array or object, numeric error codes mapped to `SQLITE_…` names, a short busy timeout.
 *
 * @example
 * ```ts
 * import { createPool } from '@litepool/pool-core'
 * import { nodeSqlite } from '@litepool/driver-node-sqlite'
 *
 * const pool = createPool({ driver: nodeSqlite({ filename: 'app.db' }) })
 * const user = await pool.read((c) => c.get('select * from users where id = ?', [1]))
 * ```
 */
export function nodeSqlite(options: NodeSqliteOptions): NodeSqliteDriver {
  const issues: ConfigIssue[] = []
  const raw = (options as { backend?: unknown } | null)?.backend
  const choices = ['auto', 'node:sqlite', SHIM]
  if (raw !== undefined && !choices.includes(raw as string)) {
    issues.push({
      path: 'backend',
      expected: choices.map((c) => `"${c}"`).join(' | '),
      received: describeValue(raw),
    })
  }
  const choice = (raw === undefined || issues.length > 0 ? 'auto' : raw) as
    | 'auto'
    | NodeSqliteBackend
  const adapter = nodeSqliteAdapter({ backend: choice })
  const driver = createSqliteDriver({
    adapter,
    worker: {
      module: BUILT_ENTRY,
      export: 'nodeSqliteAdapter',
      options: { backend: choice },
      // The shim aborts the process when its thread is ended mid-statement (WorkerAdapterSpec).
      terminable: adapter.backend === 'node:sqlite',
    },
    options,
    subject: 'node-sqlite driver options',
    knownKeys: ['backend'],
    issues,
  })
  return Object.defineProperty(driver, 'backend', {
    get: () => adapter.backend,
    enumerable: true,
  }) as NodeSqliteDriver
}
