import {
  AcquireTimeoutError,
  type CallOptions,
  LockTimeoutError,
  PoolClosedError,
} from '@litepool/pool-core'
import type { OpenTransaction } from './transactions.js'
import type { AbortOptions, DialectPool } from './types.js'

/** Something the dialect holds on the pool and gives back on `db.destroy()`. */
export interface Held {
  release(): Promise<void>
}

/**
 * What one Kysely instance's driver shares with its connections: the pool, what it holds (open
 * transactions, streaming leases) and whether `db.destroy()` was called.
 */
export class DialectState {
  readonly pool: DialectPool
  readonly transactions: Set<OpenTransaction> = new Set()
  readonly leases: Set<Held> = new Set()
  destroyed = false

  constructor(pool: DialectPool) {
    this.pool = pool
  }

  /**
   * Adds the likely cause to a writer-lane timeout while a transaction of this Kysely instance
   * holds the writer: work started through `db` (not `trx`) while a `db.startTransaction()` is
   * open — or from code the `db.transaction()` callback did not start itself — waits for the
   * transaction that waits for it. Other errors pass through.
   */
  explainTimeout(error: unknown): unknown {
    if (!(error instanceof AcquireTimeoutError) || error instanceof LockTimeoutError) return error
    let held = false
    for (const t of this.transactions) if (t.kind === 'writer' && t.active) held = true
    if (!held) return error
    return new AcquireTimeoutError(
      `${error.message}. A transaction of this Kysely instance holds the writer: a write through ` +
        '`db` (not `trx`) while a db.startTransaction() is open, or made from code that did not ' +
        'start inside the db.transaction() callback, waits for it until this timeout. Use `trx`, ' +
        'or run the work inside the callback (or inside pool.transaction) so it joins',
      { status: error.status, cause: error },
    )
  }

  /** Throws once `db.destroy()` was called on this Kysely instance. */
  assertOpen(): void {
    if (this.destroyed) throw destroyedError()
  }
}

/** The error for any use of a Kysely instance (its connections, streams) after `db.destroy()`. */
export function destroyedError(): PoolClosedError {
  return new PoolClosedError('this Kysely instance was destroyed (db.destroy()); create a new one')
}

/** Pool call options carrying Kysely 0.29's abort signal; undefined when there is none. */
export function callOptions(options: AbortOptions | undefined): CallOptions | undefined {
  return options?.signal === undefined ? undefined : { signal: options.signal }
}
