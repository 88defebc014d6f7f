import type { PoolStatus } from './status.js'

/**
 * Every error litepool throws. `code` is stable across versions (`LITEPOOL_…`) and is what
 * programs should branch on; `name` is the class name; `cause` holds the error that was wrapped.
 *
 * `instanceof` works even when two copies of `@litepool/pool-core` end up installed (a driver
 * and the app resolving different versions): classes are matched by a global brand, not identity.
 *
 * @example
 * ```ts
 * try {
 *   await pool.read((c) => c.get('select 1'))
 * } catch (error) {
 *   if (error instanceof AcquireTimeoutError) console.log(error.status.waiting)
 * }
 * ```
 */
export class PoolError extends Error {
  /** Stable machine-readable code, e.g. `LITEPOOL_ACQUIRE_TIMEOUT`. */
  readonly code: string

  constructor(message: string, options?: { code?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = options?.code ?? 'LITEPOOL_ERROR'
    Object.defineProperty(this, BRAND, { value: brandsOf(new.target) })
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    if (typeof value !== 'object' || value === null) return false
    const brands = (value as { [BRAND]?: readonly string[] })[BRAND]
    // biome-ignore lint/complexity/noThisInStatic: `this` is the class on the right of instanceof (a subclass too)
    return Array.isArray(brands) ? brands.includes(this.name) : false
  }
}

const BRAND: unique symbol = Symbol.for('litepool.error.brands') as never

function brandsOf(ctor: abstract new (...args: never[]) => unknown): readonly string[] {
  const names: string[] = []
  for (
    let c: unknown = ctor;
    typeof c === 'function' && c !== Error;
    c = Object.getPrototypeOf(c)
  ) {
    names.push((c as { name: string }).name)
  }
  return names
}

/** `pool.close()` was called: no new work is accepted, and work still running at the deadline is rejected. */
export class PoolClosedError extends PoolError {
  constructor(message = 'the pool is closed', options?: { cause?: unknown }) {
    super(message, { code: 'LITEPOOL_CLOSED', ...options })
  }
}

/**
 * No connection became available within `acquireTimeoutMs`. `status` is the pool's state at that
 * moment (who holds the writer and for how long, how many wait); `cause` is the last connect
 * failure, when there was one.
 */
export class AcquireTimeoutError extends PoolError {
  /** The pool's status when the wait gave up. */
  readonly status: PoolStatus

  constructor(message: string, options: { status: PoolStatus; cause?: unknown; code?: string }) {
    super(message, { code: options.code ?? 'LITEPOOL_ACQUIRE_TIMEOUT', cause: options.cause })
    this.status = options.status
  }
}

/**
 * The database stayed locked by another process until the deadline: the pool retried the lock
 * with backoff (without blocking the event loop) and gave up. The message names the database.
 */
export class LockTimeoutError extends AcquireTimeoutError {
  constructor(message: string, options: { status: PoolStatus; cause?: unknown }) {
    super(message, { ...options, code: 'LITEPOOL_LOCK_TIMEOUT' })
  }
}

/** The caller's `AbortSignal` fired while it waited for a connection. `cause` is `signal.reason`. */
export class AcquireAbortedError extends PoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'LITEPOOL_ACQUIRE_ABORTED', ...options })
  }
}

/** A connection could not be opened, or failed its health check. */
export class ConnectionHealthError extends PoolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { code: 'LITEPOOL_CONNECTION_HEALTH', ...options })
  }
}

/** A connection handed out by `pool.acquire()` was used after it was released. */
export class ConnectionReleasedError extends PoolError {
  constructor(message = 'this connection was released back to the pool and can no longer be used') {
    super(message, { code: 'LITEPOOL_RELEASED' })
  }
}

/** BEGIN, COMMIT, ROLLBACK or a savepoint failed, or a transaction was used wrongly. */
export class TransactionError extends PoolError {
  constructor(message: string, options?: { cause?: unknown; code?: string }) {
    super(message, { code: options?.code ?? 'LITEPOOL_TRANSACTION', cause: options?.cause })
  }
}

/** One invalid field of a configuration object. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `readers.max`. */
  readonly path: string
  /** What was expected, e.g. `an integer >= 1`. */
  readonly expected: string
  /** What was received, rendered for humans. */
  readonly received: string
}

/** The options object was invalid. `issues` lists every invalid field, not only the first. */
export class ConfigError extends PoolError {
  readonly issues: readonly ConfigIssue[]

  constructor(subject: string, issues: readonly ConfigIssue[]) {
    const lines = issues.map((i) => `  - ${i.path}: expected ${i.expected}, received ${i.received}`)
    super(
      `invalid ${subject} (${issues.length} issue${issues.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
      {
        code: 'LITEPOOL_CONFIG',
      },
    )
    this.issues = issues
  }
}

/**
 * What kind of failure a database error is. Drivers classify their native errors into these
 * kinds; the pool retries `busy` locks and evicts connections whose errors are `broken`.
 */
export type DatabaseErrorKind =
  | 'busy'
  | 'locked'
  | 'constraint'
  | 'readonly'
  | 'broken'
  | 'corrupt'
  | 'full'
  | 'misuse'
  | 'other'

/**
 * A statement failed in the database. `kind` is the driver-independent classification,
 * `driverCode` the database's own code (for SQLite e.g. `SQLITE_CONSTRAINT_UNIQUE`) and
 * `cause` the driver's original error.
 */
export class DatabaseError extends PoolError {
  readonly kind: DatabaseErrorKind
  /** The database's own error code, e.g. `SQLITE_BUSY`. */
  readonly driverCode: string
  /** The database's numeric error code when it has one (SQLite extended result code). */
  readonly errno: number | undefined

  constructor(
    message: string,
    options: { kind: DatabaseErrorKind; driverCode: string; errno?: number; cause?: unknown },
  ) {
    super(message, { code: `LITEPOOL_DB_${options.kind.toUpperCase()}`, cause: options.cause })
    this.kind = options.kind
    this.driverCode = options.driverCode
    this.errno = options.errno
  }
}

/** True when `error` is a database error meaning "another connection holds the lock; try later". */
export function isBusyError(error: unknown): error is DatabaseError {
  return error instanceof DatabaseError && error.kind === 'busy'
}

/** @internal Errors after which a connection must not be reused (it is closed instead). */
export function isBroken(error: unknown): boolean {
  return error instanceof DatabaseError && (error.kind === 'broken' || error.kind === 'corrupt')
}
