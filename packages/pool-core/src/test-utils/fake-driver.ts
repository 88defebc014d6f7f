/**
 * An in-memory driver for pool-core's own tests. It models what the pool relies on — roles,
 * transactions with savepoints, a cross-process write lock — and injects faults the real
 * databases cannot produce on demand (failed opens and pings, a lock held by "another process").
 * The pool is also tested on real SQLite files through the drivers' contract suites.
 */

import type { WorkerReaders } from '../driver.js'
import { DatabaseError, type Driver, type Role, type TransactionMode } from '../index.js'

export interface FakeDatabase {
  committed: Map<string, number>
  /**
   * Set to hold the write lock as another process would: BEGIN IMMEDIATE fails busy. (Set it only
   * while `writeLockHolder` is undefined, as another process could only take a free lock.)
   */
  externalLock: boolean
  /** The connection holding the in-process write lock. */
  writeLockHolder: FakeConnection | undefined
  opened: FakeConnection[]
  /** Next N opens fail. */
  failOpens: number
  /** Opens take this long (ms, real timers). */
  openDelayMs: number
  /** Pings of these connections fail. */
  failPing: (c: FakeConnection) => boolean
  /** Calls to maintain(), by reason. */
  maintenance: string[]
  /** Every BEGIN/COMMIT/ROLLBACK/SAVEPOINT statement, in order. */
  log: string[]
  /** Calls to open(), failed ones included, by role. */
  openAttempts: { reader: number; writer: number }
  /** When > 0, close() is asynchronous and takes this long (ms, current timers). */
  closeDelayMs: number
  /** When > 0, ping() is asynchronous and takes this long (ms, current timers). */
  pingDelayMs: number
  /** Makes maintain() throw. */
  failMaintenance: boolean
  /** Most writer connections that were open at the same time. */
  maxLiveWriters: number
  // ---- worker readers (a driver made with `workers: true`) -----------------------------------
  /** Every worker connection opened, in order. */
  workers: FakeWorkerConnection[]
  /** Calls to `workers.open()`, failed ones included. */
  workerOpenAttempts: number
  /** Next N worker opens fail. */
  failWorkerOpens: number
  /** Pings of these worker connections fail. */
  failWorkerPing: (w: FakeWorkerConnection) => boolean
  /** Resets of these worker connections fail. */
  failWorkerReset: (w: FakeWorkerConnection) => boolean
  /** Every statement the worker connections received, in order. */
  workerCalls: WorkerCall[]
  /**
   * Called for each worker statement before it answers: a promise returned holds the answer
   * until it settles (a rejection becomes the statement's error). For gates in tests.
   */
  workerHold: ((call: WorkerCall) => Promise<unknown> | undefined) | undefined
  /**
   * Called synchronously when a statement does its work — a main connection's `get`, `all` or
   * the first step of `iterate`, a worker's statement once it is let through: a test advances
   * the (fake) clock here to make a statement "slow", or throws to make it fail.
   */
  onQuery: ((sql: string, thread: 'main' | 'worker') => void) | undefined
}

/** A row of the fake's `all` and `iterate`: one committed (or transaction's) key. */
export interface FakeRow {
  readonly key: string
  readonly value: number
}

/** One statement a worker connection received. */
export interface WorkerCall {
  /** The worker connection's id. */
  readonly connection: number
  readonly method: 'get' | 'all' | 'iterate'
  readonly sql: string
  readonly params: unknown
  /** `iterate` only: the options the pool passed (chunkSize). */
  readonly options?: { readonly chunkSize?: number }
}

export class FakeConnection {
  tx: Map<string, number> | undefined
  savepoints: { name: string; snapshot: Map<string, number> }[] = []
  closed = false
  resets = 0
  pings = 0
  /** Set by a test to model per-connection state a callback changed (a pragma, say). */
  dirty = false
  /** How many times close() was called on this connection (must end at exactly 1). */
  closeCount = 0

  constructor(
    readonly db: FakeDatabase,
    readonly role: Role,
    readonly id: number,
  ) {}

  /** Iterations started by `iterate` and not yet finished or returned. */
  openIterators = 0

  get(key: string): number | undefined {
    this.#alive()
    this.db.onQuery?.(key, 'main')
    return (this.tx ?? this.db.committed).get(key)
  }

  /** Every key starting with `prefix`, as rows (what the connection sees: its transaction's too). */
  all(prefix = ''): FakeRow[] {
    this.#alive()
    this.db.onQuery?.(prefix, 'main')
    return rowsOf(this.tx ?? this.db.committed, prefix)
  }

  /** `all`, one row at a time; the hook runs on the first step (which does the work). */
  *iterate(prefix = ''): Generator<FakeRow, void, undefined> {
    this.openIterators++
    try {
      this.#alive()
      this.db.onQuery?.(prefix, 'main')
      for (const row of rowsOf(this.tx ?? this.db.committed, prefix)) {
        this.#alive()
        yield row
      }
    } finally {
      this.openIterators--
    }
  }

  set(key: string, value: number): void {
    this.#alive()
    if (this.role === 'reader') {
      throw new DatabaseError('attempt to write a readonly database', {
        kind: 'readonly',
        driverCode: 'FAKE_READONLY',
      })
    }
    if (this.tx) {
      this.#takeWriteLock()
      this.tx.set(key, value)
    } else {
      if (this.db.externalLock) throw busy()
      this.db.committed.set(key, value)
    }
  }

  #takeWriteLock(): void {
    if (this.db.writeLockHolder === this) return
    if (this.db.writeLockHolder || this.db.externalLock) throw busy()
    this.db.writeLockHolder = this
  }

  #alive(): void {
    if (this.closed)
      throw new DatabaseError('the connection is closed', {
        kind: 'misuse',
        driverCode: 'FAKE_CLOSED',
      })
  }

  begin(mode: TransactionMode): void {
    this.#alive()
    if (this.tx)
      throw new DatabaseError('cannot start a transaction within a transaction', {
        kind: 'misuse',
        driverCode: 'FAKE_MISUSE',
      })
    if (mode !== 'deferred') this.#takeWriteLock()
    this.db.log.push(`#${this.id} BEGIN ${mode}`)
    this.tx = new Map(this.db.committed)
  }

  end(commit: boolean): void {
    this.#alive()
    if (!this.tx)
      throw new DatabaseError('no transaction is active', {
        kind: 'misuse',
        driverCode: 'FAKE_MISUSE',
      })
    this.db.log.push(`#${this.id} ${commit ? 'COMMIT' : 'ROLLBACK'}`)
    if (commit) this.db.committed = this.tx
    this.tx = undefined
    this.savepoints = []
    if (this.db.writeLockHolder === this) this.db.writeLockHolder = undefined
  }
}

function rowsOf(map: Map<string, number>, prefix: string): FakeRow[] {
  return [...map].filter(([key]) => key.startsWith(prefix)).map(([key, value]) => ({ key, value }))
}

/**
 * What `pool.read(fn, { thread: 'worker' })` hands to `fn`: a worker connection, or a view of a
 * main-thread connection (inside a transaction, or on a pool without a worker lane).
 */
export interface FakeAsyncConnection {
  /** `worker` for a worker connection, `view` for a view of a main-thread connection. */
  readonly thread: 'worker' | 'view'
  /** The worker connection's id, or the viewed main connection's. */
  readonly id: number
  get(key: string, params?: unknown): Promise<number | undefined>
  all(prefix?: string, params?: unknown): Promise<FakeRow[]>
  iterate(
    prefix?: string,
    params?: unknown,
    options?: { chunkSize?: number },
  ): AsyncGenerator<FakeRow, void, undefined>
}

/** The error of a call to a worker whose thread is gone (it died, or was closed under the call). */
export function workerExit(): DatabaseError {
  return new DatabaseError('the worker thread exited', {
    kind: 'broken',
    driverCode: 'LITEPOOL_WORKER_EXIT',
  })
}

/**
 * A reader "in a worker thread": asynchronous statements over the committed data (a worker
 * never sees a transaction's writes). `die()` models the thread crashing: every pending and
 * later call rejects with {@link workerExit}; `close()` (the driver's) ends it the same way.
 */
export class FakeWorkerConnection implements FakeAsyncConnection {
  readonly thread = 'worker'
  closed = false
  dead = false
  /** Set by a test to model state a callback changed: `needsReset` reports it. */
  dirty = false
  pings = 0
  resets = 0
  /** How many times the driver closed it (must end at exactly 1). */
  closeCount = 0
  /** Iterations started and not yet ended. */
  openIterators = 0
  /** How each iteration ended: ran out of rows, was left early (`return`), or failed. */
  readonly iterations: ('done' | 'return' | 'error')[] = []
  readonly #exit: Promise<never>
  #end!: (error: unknown) => void

  constructor(
    readonly db: FakeDatabase,
    readonly id: number,
  ) {
    this.#exit = new Promise<never>((_, reject) => {
      this.#end = reject
    })
    this.#exit.catch(() => {}) // observed by the calls that race it
  }

  get(key: string, params?: unknown): Promise<number | undefined> {
    return this.#answer({ connection: this.id, method: 'get', sql: key, params }, () =>
      this.db.committed.get(key),
    )
  }

  all(prefix = '', params?: unknown): Promise<FakeRow[]> {
    return this.#answer({ connection: this.id, method: 'all', sql: prefix, params }, () =>
      rowsOf(this.db.committed, prefix),
    )
  }

  async *iterate(
    prefix = '',
    params?: unknown,
    options?: { chunkSize?: number },
  ): AsyncGenerator<FakeRow, void, undefined> {
    const call: WorkerCall = { connection: this.id, method: 'iterate', sql: prefix, params }
    this.openIterators++
    let ended: 'done' | 'return' | 'error' = 'return'
    try {
      const rows = await this.#answer(options === undefined ? call : { ...call, options }, () =>
        rowsOf(this.db.committed, prefix),
      )
      for (const row of rows) {
        yield row
        this.#check() // it died while the consumer held the row
      }
      ended = 'done'
    } catch (error) {
      ended = 'error'
      throw error
    } finally {
      this.openIterators--
      this.iterations.push(ended)
    }
  }

  /** The thread crashes: every pending and later call rejects with a broken DatabaseError. */
  die(): void {
    this.dead = true
    this.#end(workerExit())
  }

  /** Ends the thread (the driver's `close`); pending calls reject as if it had died. */
  end(): void {
    this.closed = true
    this.#end(workerExit())
  }

  #check(): void {
    if (this.dead || this.closed) throw workerExit()
  }

  async #answer<T>(call: WorkerCall, compute: () => T): Promise<T> {
    this.db.workerCalls.push(call)
    this.#check()
    const hold = this.db.workerHold?.(call)
    await Promise.race([hold, this.#exit])
    this.#check()
    this.db.onQuery?.(call.sql, 'worker')
    return compute()
  }
}

/** A main-thread connection with the worker connection's asynchronous methods (`workers.view`). */
export class FakeView implements FakeAsyncConnection {
  readonly thread = 'view'

  constructor(readonly connection: FakeConnection) {}

  get id(): number {
    return this.connection.id
  }

  async get(key: string): Promise<number | undefined> {
    return this.connection.get(key)
  }

  async all(prefix?: string): Promise<FakeRow[]> {
    return this.connection.all(prefix)
  }

  async *iterate(prefix?: string): AsyncGenerator<FakeRow, void, undefined> {
    yield* this.connection.iterate(prefix)
  }
}

/** The fake driver's worker readers over `db`. */
function fakeWorkerReaders(db: FakeDatabase): WorkerReaders<FakeConnection, FakeAsyncConnection> {
  return {
    async open() {
      db.workerOpenAttempts++
      if (db.failWorkerOpens > 0) {
        db.failWorkerOpens--
        throw new DatabaseError('the worker thread failed to start', {
          kind: 'other',
          driverCode: 'FAKE_WORKER_CANTOPEN',
        })
      }
      const w = new FakeWorkerConnection(db, db.workers.length + 1)
      db.workers.push(w)
      return w
    },
    async close(connection) {
      const w = connection as FakeWorkerConnection
      w.closeCount++
      w.end()
    },
    async ping(connection) {
      const w = connection as FakeWorkerConnection
      w.pings++
      if (w.closed || w.dead || db.failWorkerPing(w)) throw workerExit()
    },
    async reset(connection) {
      const w = connection as FakeWorkerConnection
      w.resets++
      if (db.failWorkerReset(w))
        throw new DatabaseError('reset failed', { kind: 'other', driverCode: 'FAKE_RESET' })
      w.dirty = false
    },
    needsReset: (connection) => (connection as FakeWorkerConnection).dirty,
    view: (c) => new FakeView(c),
  }
}

function busy(): DatabaseError {
  return new DatabaseError('database is locked', { kind: 'busy', driverCode: 'FAKE_BUSY' })
}

export function fakeDatabase(): FakeDatabase {
  return {
    committed: new Map(),
    externalLock: false,
    writeLockHolder: undefined,
    opened: [],
    failOpens: 0,
    openDelayMs: 0,
    failPing: () => false,
    maintenance: [],
    log: [],
    openAttempts: { reader: 0, writer: 0 },
    closeDelayMs: 0,
    pingDelayMs: 0,
    failMaintenance: false,
    maxLiveWriters: 0,
    workers: [],
    workerOpenAttempts: 0,
    failWorkerOpens: 0,
    failWorkerPing: () => false,
    failWorkerReset: () => false,
    workerCalls: [],
    workerHold: undefined,
    onQuery: undefined,
  }
}

/**
 * A driver over `db`. `readers: false` behaves like a private in-memory database; `workers: true`
 * adds worker readers ({@link FakeWorkerConnection}, views {@link FakeView}).
 */
export function fakeDriver(
  db?: FakeDatabase,
  options?: { readers?: boolean; workers?: false },
): Driver<FakeConnection> & { db: FakeDatabase }
export function fakeDriver(
  db: FakeDatabase,
  options: { readers?: boolean; workers: boolean },
): Driver<FakeConnection, FakeAsyncConnection> & { db: FakeDatabase }
export function fakeDriver(
  db: FakeDatabase = fakeDatabase(),
  options: { readers?: boolean; workers?: boolean } = {},
): Driver<FakeConnection, FakeAsyncConnection> & { db: FakeDatabase } {
  return {
    db,
    ...(options.workers === true ? { workers: fakeWorkerReaders(db) } : {}),
    name: 'fake',
    target: 'fake.db',
    capabilities: { readers: options.readers ?? true },
    async open(role) {
      db.openAttempts[role]++
      if (db.openDelayMs > 0) await new Promise((r) => setTimeout(r, db.openDelayMs))
      if (db.failOpens > 0) {
        db.failOpens--
        throw new DatabaseError('unable to open database file', {
          kind: 'other',
          driverCode: 'FAKE_CANTOPEN',
        })
      }
      const c = new FakeConnection(db, role, db.opened.length + 1)
      db.opened.push(c)
      db.maxLiveWriters = Math.max(db.maxLiveWriters, liveConnections(db).writer)
      return c
    },
    close(c) {
      c.closeCount++
      const finish = () => {
        if (c.tx) c.end(false)
        c.closed = true
      }
      if (db.closeDelayMs <= 0) return finish()
      return new Promise<void>((r) => setTimeout(r, db.closeDelayMs)).then(finish)
    },
    ping(c) {
      c.pings++
      const check = () => {
        if (c.closed || db.failPing(c)) {
          throw new DatabaseError('disk I/O error', { kind: 'broken', driverCode: 'FAKE_IOERR' })
        }
      }
      if (db.pingDelayMs <= 0) return check()
      return new Promise<void>((r) => setTimeout(r, db.pingDelayMs)).then(check)
    },
    reset(c) {
      c.resets++
      c.dirty = false
      if (c.tx) c.end(false)
    },
    needsReset: (c) => c.dirty,
    transactions: {
      begin: (c, mode) => c.begin(mode),
      commit: (c) => c.end(true),
      rollback: (c) => c.end(false),
      savepoint(c, name) {
        if (!c.tx)
          throw new DatabaseError('no transaction', { kind: 'misuse', driverCode: 'FAKE_MISUSE' })
        db.log.push(`#${c.id} SAVEPOINT ${name}`)
        c.savepoints.push({ name, snapshot: new Map(c.tx) })
      },
      releaseSavepoint(c, name) {
        const at = c.savepoints.findLastIndex((s) => s.name === name)
        if (at < 0)
          throw new DatabaseError(`no such savepoint: ${name}`, {
            kind: 'misuse',
            driverCode: 'FAKE_MISUSE',
          })
        db.log.push(`#${c.id} RELEASE ${name}`)
        c.savepoints.length = at
      },
      rollbackToSavepoint(c, name) {
        const sp = c.savepoints.findLast((s) => s.name === name)
        if (!sp)
          throw new DatabaseError(`no such savepoint: ${name}`, {
            kind: 'misuse',
            driverCode: 'FAKE_MISUSE',
          })
        db.log.push(`#${c.id} ROLLBACK TO ${name}`)
        c.tx = new Map(sp.snapshot)
        c.savepoints.length = c.savepoints.indexOf(sp) + 1
      },
      isActive: (c) => c.tx !== undefined,
    },
    maintain(_c, reason) {
      db.maintenance.push(reason)
      if (db.failMaintenance)
        throw new DatabaseError('checkpoint failed', { kind: 'other', driverCode: 'FAKE_MAINT' })
    },
  }
}

/** Counts of live connections by role. */
export function liveConnections(db: FakeDatabase): { reader: number; writer: number } {
  const live = db.opened.filter((c) => !c.closed)
  return {
    reader: live.filter((c) => c.role === 'reader').length,
    writer: live.filter((c) => c.role === 'writer').length,
  }
}
