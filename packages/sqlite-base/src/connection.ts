import type { Role } from '@litepool/pool-core'
import type { NativeDatabase, RunResult, SqliteParams } from './adapter.js'
import type { CheckpointResult } from './checkpoint.js'
import { classifySqliteError } from './errors.js'
import { type DefaultRow, SqliteStatement, type StatementOwner } from './statement.js'

/**
 * Statements that change per-connection state (pragma assignments, ATTACH/DETACH). They are never
 * cached, and running one marks the connection so `reset` re-applies litepool's pragmas.
 */
const STATEFUL_SQL = /^\s*(?:PRAGMA\s+[\w.]+\s*[=(]|ATTACH\b|DETACH\b)/i
const STATEFUL_ANYWHERE = /\b(?:PRAGMA|ATTACH|DETACH)\b/i

/** Commits before the first checkpoint step, before any step was measured. */
const FIRST_CHECKPOINT_STEP = 256

/**
 * The connection users get in pool callbacks, the same on every litepool SQLite driver.
 * Statements come from a per-connection LRU cache, rows are plain objects, and every error is a
 * classified `DatabaseError` (`kind`, `driverCode` such as `SQLITE_CONSTRAINT_UNIQUE`, `cause`).
 *
 * @example
 * ```ts
 * await pool.write((c) => c.run('insert into users(name) values (?)', ['ada']))
 * const user = await pool.read((c) => c.get<{ id: number; name: string }>('select * from users where id = ?', [1]))
 * const names = await pool.read((c) => c.all('select name from users where name like :p', { p: 'a%' }))
 * ```
 */
export class SqliteConnection<Raw = unknown> implements StatementOwner {
  /** Which lane this connection serves: the single `writer`, or a `query_only` `reader`. */
  readonly role: Role
  /** The database file (absolute path) or `':memory:'`. */
  readonly filename: string
  /** Result of the last WAL checkpoint `maintain` ran on this connection, if any. */
  lastCheckpoint: CheckpointResult | undefined
  /** @internal Open `iterate` loops, ended by `reset` and `close`. */
  readonly iterators: Set<Generator<unknown, void, undefined>> = new Set()
  /** @internal True once a statement changed per-connection state (see `reset`). */
  stateChanged = false
  /** @internal Commits on this (writer) connection since its last checkpoint. */
  commitsSinceCheckpoint = 0
  /** @internal Commits between checkpoint steps, tuned by `runCheckpoint` (see `nextCheckpointStep`). */
  commitsPerCheckpoint: number = FIRST_CHECKPOINT_STEP

  private readonly db: NativeDatabase<Raw>
  private readonly cache = new Map<string, SqliteStatement<unknown>>()
  private readonly control = new Map<string, SqliteStatement<unknown>>()
  private readonly cacheSize: number
  private newest: SqliteStatement<unknown> | undefined
  /** The SQL of `newest`: a repeat of the last query skips the Map (see `statement`). */
  private newestSql: string | undefined
  private isClosed = false
  /**
   * False only while SQLite's last answer was "no transaction" and nothing since could have
   * begun one: every statement ran through this object and none was transaction control.
   */
  private transactionUnknown = true
  /** `raw` or a statement's `native` was handed out: SQL may run unseen, so always ask SQLite. */
  private exposed = false

  /** @internal Created by the driver's `open`; use `pool.read`/`pool.write`/`pool.acquire`. */
  constructor(db: NativeDatabase<Raw>, role: Role, filename: string, cacheSize: number) {
    this.db = db
    this.role = role
    this.filename = filename
    this.cacheSize = cacheSize
  }

  /**
   * The native handle (better-sqlite3 `Database`, node:sqlite `DatabaseSync`): an escape hatch.
   * SQL run on it bypasses litepool's bookkeeping, so once it was handed out, `inTransaction`
   * always asks SQLite.
   */
  get raw(): Raw {
    this.exposed = true
    return this.db.raw
  }

  /**
   * True while a transaction is open on this connection. The pool asks after every borrow, and
   * asking SQLite is a native call (measured: 0.4–0.7 % of a pooled point select on
   * better-sqlite3, 1.8 % on the node:sqlite shim; decision 0014), so the answer is kept
   * while it cannot have changed: until a statement that may begin or end a transaction runs
   * (anything but a query, DML or pragma — see `mayControlTransaction`), `exec` runs, or the
   * native handle is exposed (`raw`, a statement's `native`), after which SQLite is always asked.
   */
  get inTransaction(): boolean {
    if (this.isClosed) return false
    if (!this.transactionUnknown && !this.exposed) return false
    const open = this.db.inTransaction
    this.transactionUnknown = open
    return open
  }

  /** @internal A statement that may begin or end a transaction is about to run. */
  transactionMayChange(): void {
    this.transactionUnknown = true
  }

  /** @internal A statement's native handle was handed out. */
  nativeExposed(): void {
    this.exposed = true
  }

  /** True once the driver closed this connection. */
  get closed(): boolean {
    return this.isClosed
  }

  /**
   * Runs one statement and reports `{ changes, lastInsertRowid }`.
   *
   * @example
   * ```ts
   * const { lastInsertRowid } = c.run('insert into users(name) values (?)', ['ada'])
   * ```
   */
  run(sql: string, params?: SqliteParams): RunResult {
    return this.statement(sql).run(params)
  }

  /**
   * The first row of a query, or `undefined`.
   *
   * @example
   * ```ts
   * const user = c.get<{ name: string }>('select name from users where id = :id', { id: 1 })
   * ```
   */
  get<Row = DefaultRow>(sql: string, params?: SqliteParams): Row | undefined {
    return (this.statement(sql) as SqliteStatement<Row>).get(params)
  }

  /**
   * Every row of a query.
   *
   * @example
   * ```ts
   * const users = c.all<{ id: number }>('select id from users order by id')
   * ```
   */
  all<Row = DefaultRow>(sql: string, params?: SqliteParams): Row[] {
    return (this.statement(sql) as SqliteStatement<Row>).all(params)
  }

  /**
   * Rows one at a time; breaking out of the loop resets the statement.
   *
   * @example
   * ```ts
   * for (const row of c.iterate('select * from events order by id')) if (done(row)) break
   * ```
   */
  iterate<Row = DefaultRow>(sql: string, params?: SqliteParams): Generator<Row, void, undefined> {
    return (this.statement(sql) as SqliteStatement<Row>).iterate(params)
  }

  /**
   * Runs several `;`-separated statements without parameters (DDL, scripts). Not cached.
   *
   * @example
   * ```ts
   * c.exec('create table a(x); create table b(y)')
   * ```
   */
  exec(sql: string): void {
    if (STATEFUL_ANYWHERE.test(sql)) this.stateChanged = true
    this.execControl(sql)
  }

  /**
   * A prepared statement from this connection's LRU cache (the same object for the same SQL while
   * it stays cached). Valid until the connection is closed.
   *
   * @example
   * ```ts
   * const insert = c.prepare('insert into t(x) values (?)')
   * for (const x of xs) insert.run([x])
   * ```
   */
  prepare<Row = DefaultRow>(sql: string): SqliteStatement<Row> {
    return this.statement(sql) as SqliteStatement<Row>
  }

  private statement(sql: string): SqliteStatement<unknown> {
    // The same SQL as the last call (a hot loop) is answered without the Map: right after SQLite
    // ran, the Map's memory is cold, and the lookup measured ~2 % of a point select.
    if (sql === this.newestSql && this.newest !== undefined) return this.newest
    const hit = this.cache.get(sql)
    if (hit !== undefined) {
      this.cache.delete(sql)
      this.cache.set(sql, hit)
      this.newest = hit
      this.newestSql = sql
      return hit
    }
    return this.miss(sql)
  }

  private miss(sql: string): SqliteStatement<unknown> {
    const statement = new SqliteStatement<unknown>(this.prepareNative(sql), sql, this)
    if (STATEFUL_SQL.test(sql)) {
      this.stateChanged = true
      return statement
    }
    if (this.cacheSize === 0) return statement
    if (this.cache.size >= this.cacheSize) {
      const oldest = this.cache.keys().next().value
      if (oldest !== undefined) this.cache.delete(oldest)
    }
    this.cache.set(sql, statement)
    this.newest = statement
    this.newestSql = sql
    return statement
  }

  private prepareNative(sql: string) {
    try {
      return this.db.prepare(sql)
    } catch (error) {
      throw classifySqliteError(error, sql)
    }
  }

  /** @internal Runs litepool's own fixed statements (BEGIN, COMMIT…) outside the LRU cache. */
  runControl(sql: string): void {
    let statement = this.control.get(sql)
    if (statement === undefined) {
      statement = new SqliteStatement<unknown>(this.prepareNative(sql), sql, this)
      this.control.set(sql, statement)
    }
    statement.run()
  }

  /** @internal Reads one row with a fixed statement outside the LRU cache (pragmas, checkpoints). */
  getControl<Row>(sql: string): Row | undefined {
    let statement = this.control.get(sql)
    if (statement === undefined) {
      statement = new SqliteStatement<unknown>(this.prepareNative(sql), sql, this)
      this.control.set(sql, statement)
    }
    return statement.get() as Row | undefined
  }

  /** @internal Runs litepool's own SQL through `exec` without marking state as changed. */
  execControl(sql: string): void {
    this.transactionUnknown = true // a script may hold BEGIN anywhere
    try {
      this.db.exec(sql)
    } catch (error) {
      throw classifySqliteError(error, sql)
    }
  }

  /** @internal Ends every open `iterate` loop (each resets its statement). */
  endIterations(): void {
    for (const iterator of [...this.iterators]) iterator.return()
    this.iterators.clear()
  }

  /** @internal Number of statements in the LRU cache (tests and diagnostics). */
  get cachedStatements(): number {
    return this.cache.size
  }

  /** @internal Drops every statement, then closes the native handle. */
  async closeNative(): Promise<void> {
    if (this.isClosed) return
    this.endIterations()
    this.cache.clear()
    this.control.clear()
    this.newest = undefined
    this.newestSql = undefined
    this.isClosed = true
    try {
      await this.db.close()
    } catch (error) {
      throw classifySqliteError(error)
    }
  }
}
