import { type ConfigIssue, ConnectionHealthError } from '@litepool/pool-core'
import {
  createSqliteDriver,
  describeValue,
  type NativeAdapter,
  type NativeDatabase,
  type NativeOpenOptions,
  type NativeStatement,
  type RunResult,
  type SqliteDriver,
  type SqliteDriverOptions,
  type SqliteParams,
} from '@litepool/sqlite-base'

// The slice of better-sqlite3 12.x this adapter uses, typed here so nobody needs @types/better-sqlite3.

/**
 * The part of better-sqlite3's `Database` litepool uses; `connection.raw` has this type.
 *
 * @example
 * ```ts
 * await pool.read((c) => (c.raw as BetterSqlite3Database).inTransaction)
 * ```
 */
export interface BetterSqlite3Database {
  readonly inTransaction: boolean
  readonly open: boolean
  prepare(sql: string): BetterSqlite3Statement
  exec(sql: string): unknown
  close(): unknown
  defaultSafeIntegers(toggle?: boolean): unknown
}

/**
 * The part of better-sqlite3's `Statement` litepool uses.
 *
 * @example
 * ```ts
 * const statement: BetterSqlite3Statement = connection.raw.prepare('select 1')
 * ```
 */
export interface BetterSqlite3Statement {
  /** True when the statement returns rows (better-sqlite3 refuses `get`/`all` otherwise). */
  readonly reader: boolean
  run(...params: unknown[]): RunResult
  get(...params: unknown[]): unknown
  all(...params: unknown[]): unknown[]
  iterate(...params: unknown[]): Iterator<unknown>
}

type BetterSqlite3Constructor = new (
  filename: string,
  options: { readonly: boolean; timeout: number; nativeBinding?: string },
) => BetterSqlite3Database

/**
 * Options of {@link betterSqlite3}: every {@link SqliteDriverOptions} field plus `nativeBinding`.
 *
 * @example
 * ```ts
 * const options: BetterSqlite3Options = { filename: 'app.db', safeIntegers: true }
 * ```
 */
export interface BetterSqlite3Options extends SqliteDriverOptions {
  /** Path of a prebuilt `better_sqlite3.node`, passed through to better-sqlite3. */
  readonly nativeBinding?: string
}

const EMPTY: Iterator<unknown> = Object.freeze({
  next: (): IteratorResult<unknown> => ({ done: true, value: undefined }),
  return: (): IteratorResult<unknown> => ({ done: true, value: undefined }),
})

/**
 * Positional parameters are spread (better-sqlite3 also takes one array, but walking it in C++ is
 * ~10 % slower on a point query); a named object passes as is. better-sqlite3 refuses
 * `get`/`all`/`iterate` on statements without rows; node:sqlite allows them, so here such calls
 * run the statement and return no rows.
 */
class Statement implements NativeStatement {
  private readonly s: BetterSqlite3Statement
  private readonly reader: boolean

  constructor(statement: BetterSqlite3Statement) {
    this.s = statement
    this.reader = statement.reader
  }

  run(params: SqliteParams | undefined): RunResult {
    return params === undefined
      ? this.s.run()
      : Array.isArray(params)
        ? this.s.run(...params)
        : this.s.run(params)
  }

  get(params: SqliteParams | undefined): unknown {
    if (!this.reader) {
      this.run(params)
      return undefined
    }
    return params === undefined
      ? this.s.get()
      : Array.isArray(params)
        ? this.s.get(...params)
        : this.s.get(params)
  }

  all(params: SqliteParams | undefined): unknown[] {
    if (!this.reader) {
      this.run(params)
      return []
    }
    return params === undefined
      ? this.s.all()
      : Array.isArray(params)
        ? this.s.all(...params)
        : this.s.all(params)
  }

  iterate(params: SqliteParams | undefined): Iterator<unknown> {
    if (!this.reader) {
      this.run(params)
      return EMPTY
    }
    return params === undefined
      ? this.s.iterate()
      : Array.isArray(params)
        ? this.s.iterate(...params)
        : this.s.iterate(params)
  }
}

class Database implements NativeDatabase<BetterSqlite3Database> {
  readonly raw: BetterSqlite3Database

  constructor(raw: BetterSqlite3Database) {
    this.raw = raw
  }

  get inTransaction(): boolean {
    return this.raw.inTransaction
  }

  prepare(sql: string): NativeStatement {
    return new Statement(this.raw.prepare(sql))
  }

  exec(sql: string): void {
    this.raw.exec(sql)
  }

  close(): void {
    // better-sqlite3 finalizes every statement of the handle in close(), so no zombie remains.
    this.raw.close()
  }
}

/** This package's built entry, which a worker thread imports (from src/ too: coverage runs). */
const BUILT_ENTRY = new URL('../dist/index.mjs', import.meta.url).href

let loaded: Promise<BetterSqlite3Constructor> | undefined
// A variable specifier: loaded at run time (peer dependency), never resolved for types or bundled.
const BETTER_SQLITE3 = 'better-sqlite3'

/** Loads better-sqlite3 on first open (peer dependency); a failure is not memoised. */
function loadBetterSqlite3(): Promise<BetterSqlite3Constructor> {
  loaded ??= import(BETTER_SQLITE3).then(
    (module: { default: unknown }) => module.default as BetterSqlite3Constructor,
    (error: unknown) => {
      loaded = undefined
      throw new ConnectionHealthError(
        'cannot load better-sqlite3: install it next to @litepool/driver-better-sqlite3 (npm i better-sqlite3@12)',
        { cause: error },
      )
    },
  )
  return loaded
}

/**
 * The native adapter of this driver. Exported for the worker threads that host reader
 * connections: each one imports this package and builds its own adapter from this factory.
 *
 * @example
 * ```ts
 * const adapter = betterSqlite3Adapter({ nativeBinding: undefined })
 * ```
 */
export function betterSqlite3Adapter(options: {
  readonly nativeBinding?: string | undefined
}): NativeAdapter<BetterSqlite3Database> {
  const { nativeBinding } = options
  return {
    name: 'better-sqlite3',
    async open(filename: string, options: NativeOpenOptions) {
      const Constructor = await loadBetterSqlite3()
      const raw = new Constructor(filename, {
        readonly: options.readonly,
        timeout: options.busyTimeoutMs,
        ...(nativeBinding === undefined ? {} : { nativeBinding }),
      })
      if (options.safeIntegers) raw.defaultSafeIntegers(true)
      return new Database(raw)
    },
  }
}

/**
 * A litepool driver over [better-sqlite3](https://github.com/WiseLibs/better-sqlite3) 12.x (a peer
 * dependency, loaded on the first `open`). Options are validated at once: a `ConfigError` lists
 * every invalid field.
 *
 * @example
 * ```ts
 * import { createPool } from '@litepool/pool-core'
 * import { betterSqlite3 } from '@litepool/driver-better-sqlite3'
 *
 * const pool = createPool({ driver: betterSqlite3({ filename: 'app.db' }), readers: { min: 1, max: 4 } })
 * const user = await pool.read((c) => c.get('select * from users where id = ?', [1]))
 * ```
 */
export function betterSqlite3(options: BetterSqlite3Options): SqliteDriver<BetterSqlite3Database> {
  const issues: ConfigIssue[] = []
  const nativeBinding = (options as { nativeBinding?: unknown } | null)?.nativeBinding
  if (nativeBinding !== undefined && typeof nativeBinding !== 'string') {
    issues.push({
      path: 'nativeBinding',
      expected: 'a path to better_sqlite3.node',
      received: describeValue(nativeBinding),
    })
  }
  const adapterOptions = {
    nativeBinding: typeof nativeBinding === 'string' ? nativeBinding : undefined,
  }
  return createSqliteDriver({
    adapter: betterSqlite3Adapter(adapterOptions),
    worker: {
      module: BUILT_ENTRY,
      export: 'betterSqlite3Adapter',
      options: adapterOptions,
      terminable: true,
    },
    options,
    subject: 'better-sqlite3 driver options',
    knownKeys: ['nativeBinding'],
    issues,
  })
}
