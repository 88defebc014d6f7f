/**
 * An in-memory driver for pool-core's own tests. It models what the pool relies on — roles,
 * transactions with savepoints, a cross-process write lock — and injects faults the real
 * databases cannot produce on demand (failed opens and pings, a lock held by "another process").
 * The pool is also tested on real SQLite files through the drivers' contract suites.
 */
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

  get(key: string): number | undefined {
    this.#alive()
    return (this.tx ?? this.db.committed).get(key)
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
  }
}

/** A driver over `db`. `readers: false` behaves like a private in-memory database. */
export function fakeDriver(
  db: FakeDatabase = fakeDatabase(),
  options: { readers?: boolean } = {},
): Driver<FakeConnection> & { db: FakeDatabase } {
  return {
    db,
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
